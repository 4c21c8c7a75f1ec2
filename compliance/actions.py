from django.db import models


class ComplianceAction(models.TextChoices):
    """Compliance events. Stable codes: never rename or reuse one."""

    POLICY_PUBLISHED = "compliance.policy_published", "Workforce policy published"
    POLICY_ACKNOWLEDGED = "compliance.policy_acknowledged", "Workforce policy acknowledged"
    POLICY_READ = "compliance.policy_read", "Workforce policy opened for acknowledgement"
    POLICIES_LISTED = "compliance.policies_listed", "Workforce policies listed"
    POLICY_VIEWED = "compliance.policy_viewed", "Workforce policy and its acknowledgements viewed"
    ASSOCIATE_ADDED = "compliance.associate_added", "Business associate added"
    ASSOCIATE_RENEWED = "compliance.associate_renewed", "Business associate agreement renewed"
    ASSOCIATE_ENDED = "compliance.associate_ended", "Business associate agreement ended"
    ASSOCIATES_LISTED = "compliance.associates_listed", "Business associates listed"
    AGREEMENT_DOWNLOADED = (
        "compliance.agreement_downloaded",
        "Business associate agreement downloaded",
    )
    RENEWAL_ALERTED = "compliance.renewal_alerted", "Business associate renewal alert raised"


TARGET_TYPES = {
    "compliance.policydocument": "Workforce policy",
    "compliance.businessassociate": "Business associate",
}
