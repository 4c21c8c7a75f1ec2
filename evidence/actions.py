from django.db import models


class EvidenceAction(models.TextChoices):
    """Reads of the compliance evidence. Stable codes: never rename or reuse one."""

    DASHBOARD_VIEWED = "evidence.dashboard_viewed", "Compliance dashboard viewed"
    PACK_EXPORTED = "evidence.pack_exported", "Evidence pack downloaded"


TARGET_TYPES = {
    "evidence.dashboard": "Compliance dashboard",
    "evidence.pack": "Evidence pack",
}
