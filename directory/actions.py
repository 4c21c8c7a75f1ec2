from django.db import models


class DirectoryAction(models.TextChoices):
    """Reads of the directory. Stable codes: never rename or reuse one."""

    PATIENT_PAGE_VIEWED = "directory.patient_page_viewed", "Patient page viewed"
    STAFF_LISTED = "directory.staff_listed", "Staff accounts listed"
    STAFF_PAGE_VIEWED = "directory.staff_page_viewed", "Staff account viewed"
    PROXY_EVIDENCE_DOWNLOADED = (
        "directory.proxy_evidence_downloaded",
        "Proxy's document of authority downloaded",
    )
