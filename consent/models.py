"""HIPAA authorizations, the accounting of disclosures, e-mail waivers and preferences.

Nothing here is ever deleted: an authorization is revoked or superseded by a corrected
version, a waiver is revoked, and each disclosure stays in the accounting (45 CFR
164.530(j): six years). Who the recipient is, what may be disclosed and why are
encrypted; categories, purposes and dates stay clear because the disclosure decision
and the officer's lists filter on them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from encryption.fields import EncryptedTextField
from encryption.models import EncryptedFile, EncryptedModel


class RecordCategory(models.TextChoices):
    """What an authorization may cover and what a disclosure contains."""

    ALL = "all", _("All records (health and billing)")
    MESSAGES = "messages", _("Secure messages")
    VISIT_NOTES = "visit_notes", _("Visit and progress notes")
    LAB_RESULTS = "lab_results", _("Laboratory results")
    IMAGING = "imaging", _("Imaging reports")
    MEDICATIONS = "medications", _("Medications and allergies")
    IMMUNIZATIONS = "immunizations", _("Immunizations")
    BILLING = "billing", _("Billing and insurance records")


class Purpose(models.TextChoices):
    # 45 CFR 164.508(c)(1)(iv): "at the request of the individual" suffices when the
    # patient initiates the authorization.
    INDIVIDUAL_REQUEST = "individual_request", _("At the request of the patient")
    CONTINUITY_OF_CARE = "continuity_of_care", _("Care by another doctor or clinic")
    INSURANCE = "insurance", _("Insurance or benefits")
    LEGAL = "legal", _("Legal matter")
    EMPLOYMENT = "employment", _("Employment or school")
    RESEARCH = "research", _("Research")
    OTHER = "other", _("Other (described)")


class LegalBasis(models.TextChoices):
    """Why a disclosure made outside the portal was permitted without the patient's
    authorization: the purposes of 45 CFR 164.512 that the accounting must list
    (164.528(a)). Worded for the patient, who reads them in the accounting; the staff
    form adds each paragraph's citation (``LEGAL_BASIS_CITATIONS``)."""

    REQUIRED_BY_LAW = "required_by_law", _("Required by law")
    PUBLIC_HEALTH = "public_health", _("Public health (such as reporting a disease)")
    ABUSE_NEGLECT = "abuse_neglect", _("Report of abuse, neglect or domestic violence")
    HEALTH_OVERSIGHT = "health_oversight", _("Health oversight (such as an audit or inspection)")
    JUDICIAL = "judicial", _("Court order, subpoena or other legal proceeding")
    LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
    DECEDENTS = "decedents", _("Coroner, medical examiner or funeral director")
    ORGAN_DONATION = "organ_donation", _("Organ, eye or tissue donation")
    RESEARCH = "research", _("Research approved without your authorization")
    SERIOUS_THREAT = "serious_threat", _("To prevent a serious threat to health or safety")
    WORKERS_COMPENSATION = "workers_compensation", _("Workers' compensation")


LEGAL_BASIS_CITATIONS = {
    LegalBasis.REQUIRED_BY_LAW: "164.512(a)",
    LegalBasis.PUBLIC_HEALTH: "164.512(b)",
    LegalBasis.ABUSE_NEGLECT: "164.512(c)",
    LegalBasis.HEALTH_OVERSIGHT: "164.512(d)",
    LegalBasis.JUDICIAL: "164.512(e)",
    LegalBasis.LAW_ENFORCEMENT: "164.512(f)",
    LegalBasis.DECEDENTS: "164.512(g)",
    LegalBasis.ORGAN_DONATION: "164.512(h)",
    LegalBasis.RESEARCH: "164.512(i)",
    LegalBasis.SERIOUS_THREAT: "164.512(j)",
    LegalBasis.WORKERS_COMPENSATION: "164.512(l)",
}

# 164.528(a)(2): only a health oversight agency or a law enforcement official may ask
# for the patient's accounting of their disclosure to be suspended.
SUSPENDABLE_BASES = (LegalBasis.HEALTH_OVERSIGHT, LegalBasis.LAW_ENFORCEMENT)


class SuspensionBasis(models.TextChoices):
    # 164.528(a)(2)(i): a written statement names how long; (ii): an oral one holds
    # the entry back for at most 30 days from the statement.
    WRITTEN = "written", _("Written statement from the agency or official")
    ORAL = "oral", _("Oral statement (at most 30 days)")


class Source(models.TextChoices):
    PORTAL = "portal", _("Signed in the portal")
    PAPER = "paper", _("Signed paper form, scanned")


class RevocationSource(models.TextChoices):
    PORTAL = "portal", _("By the patient in the portal")
    WRITTEN = "written", _("Written request recorded by staff")


class AuthorizationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Replaced by a correction")


class Authorization(EncryptedModel):
    """One version of a patient's HIPAA authorization (45 CFR 164.508(c)).

    Every core element is a field: what may be disclosed (``categories``, the records'
    date range and ``description``), who may disclose it (``discloser``), the recipient,
    each purpose, the expiry (``expires_at``, ``expiry_event`` or both: whichever comes
    first), and the signature (``signer_name``, ``signed_at``; a personal
    representative's ``representative_authority``). ``statements_version`` names the
    wording of the required statements (164.508(c)(2)) the signer was shown.

    A correction is a new row with the same ``lineage`` and the next ``version``; the
    old one gets ``superseded_at``. Revocation stamps ``revoked_at`` on the current
    version: it covers nothing from that second on, and what was disclosed before stays
    in the accounting (164.508(b)(5)).
    """

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authorizations"
    )
    lineage = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveSmallIntegerField(default=1)
    source = models.CharField(max_length=16, choices=Source.choices)
    # (c)(1)(i) the information
    categories = ArrayField(models.CharField(max_length=32, choices=RecordCategory.choices))
    records_from = models.DateField(null=True, blank=True)
    records_to = models.DateField(null=True, blank=True)
    description = EncryptedTextField(max_length=2000)
    # (c)(1)(ii) who may disclose
    discloser = EncryptedTextField(max_length=200)
    # (c)(1)(iii) who may receive
    recipient_name = EncryptedTextField(max_length=200)
    recipient_organization = EncryptedTextField(max_length=200, blank=True)
    recipient_email = EncryptedTextField(max_length=254)
    recipient_address = EncryptedTextField(max_length=500, blank=True)
    # (c)(1)(iv) each purpose
    purposes = ArrayField(models.CharField(max_length=32, choices=Purpose.choices))
    purpose_detail = EncryptedTextField(max_length=1000, blank=True)
    # (c)(1)(v) expiry date or event
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_event = EncryptedTextField(max_length=500, blank=True)
    # When staff recorded that the expiry event happened: it covers nothing from then on.
    expiry_event_at = models.DateTimeField(null=True, blank=True)
    # (c)(1)(vi) signature and date, and a representative's authority
    signer_name = EncryptedTextField(max_length=200)
    signed_at = models.DateTimeField()
    signed_by_representative = models.BooleanField(default=False)
    representative_authority = EncryptedTextField(max_length=500, blank=True)
    statements_version = models.CharField(max_length=32)
    signature_ip = models.GenericIPAddressField(null=True, blank=True)
    scan = models.ForeignKey(  # a correction keeps the scan it corrects
        EncryptedFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    superseded_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revocation_source = models.CharField(
        max_length=16, choices=RevocationSource.choices, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"], name="consent_auth_version"),
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="consent_auth_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(source="portal") | Q(scan__isnull=False),
                name="consent_auth_paper_has_scan",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revocation_source=""),
                name="consent_auth_revocation_source",
            ),
            models.CheckConstraint(
                condition=Q(records_from__isnull=True)
                | Q(records_to__isnull=True)
                | Q(records_from__lte=models.F("records_to")),
                name="consent_auth_record_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient"],
                condition=Q(superseded_at__isnull=True),
                name="consent_auth_current",
            ),
            models.Index(fields=["expires_at"], name="consent_auth_expiry"),
        ]

    def __str__(self) -> str:
        return f"Authorization {self.pk} v{self.version}"

    def status(self, at: datetime | None = None) -> str:
        at = at or timezone.now()
        if self.superseded_at is not None and self.superseded_at <= at:
            return AuthorizationStatus.SUPERSEDED
        if self.revoked_at is not None and self.revoked_at <= at:
            return AuthorizationStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= at:
            return AuthorizationStatus.EXPIRED
        if self.expiry_event_at is not None and self.expiry_event_at <= at:
            return AuthorizationStatus.EXPIRED
        return AuthorizationStatus.ACTIVE

    @property
    def status_label(self) -> str:
        return str(AuthorizationStatus(self.status()).label)


class Disclosure(EncryptedModel):
    """One entry of the accounting of disclosures (45 CFR 164.528(b)(2)).

    Written by the service that released the information, in the same transaction:
    date, recipient name and address, a brief description, the purpose and the
    authorization relied on. ``accounting_required`` is False for disclosures the rule
    excludes (those under an authorization, 164.528(a)(1)(iv)); we record them anyway
    and show them to the patient. ``source_type``/``source_id`` name what was released.

    Disclosures made outside the portal (a report to the health department, records
    handed over under a subpoena) are recorded by staff: ``legal_basis`` names the
    164.512 purpose, ``purpose_detail`` holds the statement of purpose, there is no
    authorization, ``source_type`` is ``OUTSIDE_SOURCE`` and the accounting is required.
    ``suspended_until`` keeps such an entry out of what the patient sees until that day
    (164.528(a)(2)); staff see it throughout, marked.
    """

    OUTSIDE_SOURCE = "consent.outside"

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disclosures"
    )
    disclosed_at = models.DateTimeField(default=timezone.now)
    recipient_name = EncryptedTextField(max_length=400)
    recipient_address = EncryptedTextField(max_length=800)
    description = EncryptedTextField(max_length=1000)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    purpose_detail = EncryptedTextField(max_length=1000, blank=True)
    categories = ArrayField(models.CharField(max_length=32, choices=RecordCategory.choices))
    authorization = models.ForeignKey(
        Authorization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disclosures",
    )
    disclosed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accounting_required = models.BooleanField(default=False)
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=64)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices, blank=True)
    suspended_until = models.DateField(null=True, blank=True)
    suspension_basis = models.CharField(max_length=16, choices=SuspensionBasis.choices, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-disclosed_at"], name="consent_disclosure_patient")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"], name="consent_disclosure_once_per_source"
            ),
            models.CheckConstraint(
                condition=Q(legal_basis="") | Q(legal_basis__in=LegalBasis.values),
                name="consent_disclosure_basis_valid",
            ),
            models.CheckConstraint(
                condition=Q(suspended_until__isnull=True)
                | (
                    Q(legal_basis__in=[b.value for b in SUSPENDABLE_BASES])
                    & Q(suspension_basis__in=SuspensionBasis.values)
                ),
                name="consent_disclosure_suspension_basis",
            ),
        ]

    def __str__(self) -> str:
        return f"Disclosure {self.pk}"

    @property
    def purpose_label(self) -> str:
        """The 164.512 purpose for a disclosure staff recorded, else the authorization's."""
        if self.legal_basis:
            return str(LegalBasis(self.legal_basis).label)
        return str(Purpose(self.purpose).label)

    @property
    def legal_basis_citation(self) -> str:
        return (
            LEGAL_BASIS_CITATIONS.get(LegalBasis(self.legal_basis), "") if self.legal_basis else ""
        )


class WaiverStatement(models.Model):
    """One published version of the risk statement shown before a patient may choose
    unencrypted e-mail (HHS guidance; 78 FR 5634). Published versions never change."""

    version = models.PositiveIntegerField(unique=True)
    text = models.TextField(max_length=5000)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"E-mail risk statement v{self.version}"


class WaiverMethod(models.TextChoices):
    PORTAL = "portal", _("In the portal")
    PAPER = "paper", _("On paper, recorded by staff")


class EmailWaiver(models.Model):
    """A patient's acceptance of unencrypted e-mail after reading ``statement``, and its
    revocation. At most one is in force per patient; the portal stays the default."""

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="email_waivers"
    )
    statement = models.ForeignKey(WaiverStatement, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=16, choices=WaiverMethod.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(revoked_at__isnull=True),
                name="consent_one_waiver_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"E-mail waiver {self.pk}"


class CommunicationPreference(EncryptedModel):
    """How the patient asks to be told of new messages (45 CFR 164.522(b)): e-mail to the
    account's confirmed address (the default), or postal mail only, to ``postal_address``."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="communication_preference"
    )
    postal_only = models.BooleanField(default=False)
    postal_address = EncryptedTextField(max_length=500, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Communication preferences {self.pk}"
