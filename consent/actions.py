from django.db import models


class ConsentAction(models.TextChoices):
    """Consent events. Stable codes: never rename or reuse one."""

    AUTHORIZATION_SIGNED = "consent.authorization_signed", "Authorization signed in the portal"
    AUTHORIZATION_RECORDED = "consent.authorization_recorded", "Paper authorization recorded"
    AUTHORIZATION_CORRECTED = "consent.authorization_corrected", "Authorization corrected"
    AUTHORIZATION_REFUSED = "consent.authorization_refused", "Authorization form refused"
    AUTHORIZATION_REVOKED = "consent.authorization_revoked", "Authorization revoked"
    AUTHORIZATION_EVENT_EXPIRED = (
        "consent.authorization_event_expired",
        "Authorization's expiry event recorded",
    )
    AUTHORIZATION_VIEWED = "consent.authorization_viewed", "Authorization viewed"
    AUTHORIZATIONS_LISTED = "consent.authorizations_listed", "Authorizations listed"
    AUTHORIZATION_EXPORTED = "consent.authorization_exported", "Authorization exported (FHIR)"
    SCAN_DOWNLOADED = "consent.scan_downloaded", "Authorization scan downloaded"
    DISCLOSURE_REFUSED = "consent.disclosure_refused", "Disclosure refused"
    DISCLOSURE_RECORDED = "consent.disclosure_recorded", "Disclosure recorded"
    OUTSIDE_DISCLOSURE_RECORDED = (
        "consent.outside_disclosure_recorded",
        "Disclosure made outside the portal recorded",
    )
    ACCOUNTING_VIEWED = "consent.accounting_viewed", "Accounting of disclosures viewed"
    ACCOUNTING_EXPORTED = "consent.accounting_exported", "Accounting of disclosures exported"
    WAIVER_STATEMENT_PUBLISHED = (
        "consent.waiver_statement_published",
        "E-mail risk statement published",
    )
    WAIVER_ACCEPTED = "consent.waiver_accepted", "Unencrypted e-mail waiver accepted"
    WAIVER_REVOKED = "consent.waiver_revoked", "Unencrypted e-mail waiver revoked"
    PREFERENCES_CHANGED = "consent.preferences_changed", "Communication preferences changed"
    PREFERENCES_VIEWED = "consent.preferences_viewed", "Communication preferences viewed"
    CONSENT_OVERVIEW_VIEWED = "consent.overview_viewed", "Patient's consent overview viewed"
