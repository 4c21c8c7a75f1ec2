from django.db import models


class RetentionAction(models.TextChoices):
    """Retention events. Stable codes: never rename or reuse one."""

    POLICY_CHANGED = "retention.policy_changed", "Retention policy changed"
    POLICY_REFUSED = "retention.policy_refused", "Retention policy change refused"
    HOLD_PLACED = "retention.hold_placed", "Legal hold placed"
    HOLD_RELEASED = "retention.hold_released", "Legal hold released"
    PURGE_STARTED = "retention.purge_started", "Retention purge started"
    PURGE_FINISHED = "retention.purge_finished", "Retention purge finished"
    OBJECT_PURGED = "retention.object_purged", "Erased under the retention policy"
    OVERVIEW_VIEWED = "retention.overview_viewed", "Retention policies and forecast viewed"
    HOLDS_LISTED = "retention.holds_listed", "Legal holds listed"


TARGET_TYPES = {
    "retention.retentionpolicy": "Retention policy",
    "retention.legalhold": "Legal hold",
    "retention.purgerun": "Retention purge",
}
