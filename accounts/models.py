from __future__ import annotations

import hmac
import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models, transaction
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from encryption.fields import EncryptedTextField
from encryption.models import EncryptedFile, EncryptedModel


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINICIAN = "clinician", "Clinician"
    RECORDS_CLERK = "records_clerk", "Records clerk"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    # Acts for one or more patients through ``ProxyLink`` (45 CFR 164.502(g)); an account
    # of its own, signed in and protected as a patient's, never a member of staff.
    PROXY = "proxy", "Proxy"


STAFF_ROLES = frozenset({Role.CLINICIAN, Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})
# Who uses the portal's pages (in their own language): patients and their proxies.
PORTAL_ROLES = frozenset({Role.PATIENT, Role.PROXY})


def _new_security_stamp() -> str:
    return secrets.token_hex(16)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("role", Role.PRIVACY_OFFICER)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a patient or a member of staff, told apart by ``role``.

    E-mail is the sign-in name, unique regardless of case. ``security_stamp`` is part
    of the session hash: changing it (password or second-factor changes) ends every
    other session of the user on their next request. Staff access to the Django admin
    follows from the privacy-officer role, not from a separate flag.
    """

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200)
    role = models.CharField(max_length=32, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Set when the first second factor is confirmed. After that, losing every factor
    # means staff-assisted recovery, never a fresh self-enrollment behind the password.
    mfa_enrolled_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    security_stamp = models.CharField(max_length=32, default=_new_security_stamp)
    # The language of the person's pages, e-mails and letters (settings.LANGUAGES). Staff
    # pages stay in English whatever it says.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            # The patient search's "any part of the name" (icontains is UPPER(..) LIKE
            # '%..%'): trigrams find the few matches among a million patients. Without
            # GIN's pending list (fastupdate): a new patient is indexed at once, so a
            # search never reads an unmerged list, and the planner's cost stays steady.
            GinIndex(
                OpClass(Upper("full_name"), name="gin_trgm_ops"),
                name="accounts_user_name_trgm",
                fastupdate=False,
            ),
            # Staff by role (the queue's assignee list, the staff directory), in name
            # order, without reading past the patients.
            models.Index(
                fields=["role", "full_name"],
                condition=~models.Q(role="patient"),
                name="accounts_user_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    if TYPE_CHECKING:  # added to request.user by django_otp.middleware.OTPMiddleware

        def is_verified(self) -> bool: ...

    @property
    def is_staff(self) -> bool:  # the Django admin's gate; see accounts.admin_site too
        return self.is_active and self.role == Role.PRIVACY_OFFICER

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_proxy(self) -> bool:
        return self.role == Role.PROXY

    @property
    def uses_portal(self) -> bool:
        return self.role in PORTAL_ROLES

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        # The privacy officer administers everything; nobody else has model permissions.
        return self.is_active and self.role == Role.PRIVACY_OFFICER

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.role == Role.PRIVACY_OFFICER

    @property
    def audit_patient_id(self) -> int | None:
        """The patient an account event concerns: the account itself, when it is a patient's."""
        return self.pk if self.role == Role.PATIENT else None

    def audit_label(self) -> str:
        """How the audit log names this actor, kept if the account is later deleted."""
        return f"{self.full_name} ({self.get_role_display()})"

    def get_session_auth_hash(self) -> str:
        return super().get_session_auth_hash() + self.security_stamp

    def rotate_security_stamp(self) -> None:
        self.security_stamp = _new_security_stamp()


class IdentityMethod(models.TextChoices):
    PHOTO_ID_IN_PERSON = "photo_id_in_person", "Government photo ID, in person"
    PHOTO_ID_VIDEO = "photo_id_video", "Government photo ID, on a video call"
    KNOWN_TO_STAFF = "known_to_staff", "Known to the care team, in person"


class PatientProfile(models.Model):
    """The patient behind a patient account, and how their identity was verified.

    Identity verification (who, how, when) is recorded before the invitation goes out
    (45 CFR 164.514(h)). The notification address is the account e-mail; it counts as
    verified once the patient has followed the invitation link sent to it.
    """

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="patient_profile")
    legal_name = models.CharField(max_length=200)
    date_of_birth = models.DateField()
    mrn = models.CharField("MRN", max_length=32, unique=True)
    identity_verified_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    identity_method = models.CharField(max_length=32, choices=IdentityMethod.choices)
    identity_verified_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The patient search: a part of the legal name, the MRN in any case, a birth date.
        indexes: ClassVar[list[Any]] = [
            GinIndex(
                OpClass(Upper("legal_name"), name="gin_trgm_ops"),
                name="accounts_profile_name_trgm",
                fastupdate=False,  # as the account's name index
            ),
            models.Index(Upper("mrn"), name="accounts_profile_mrn_ci"),
            models.Index(fields=["date_of_birth"], name="accounts_profile_born"),
        ]

    def __str__(self) -> str:
        return f"Patient #{self.pk}"


class Invitation(models.Model):
    """A single-use, expiring link that lets a new account set its password.

    The link carries a signed (invitation id, nonce) pair; only a hash of the nonce is
    stored, so the table alone cannot be turned into working links.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    nonce_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Invitation #{self.pk}"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


class CareTeamMember(models.Model):
    """A member of staff on a patient's care team: who may message the patient and read
    their threads, when their role limits them to their own patients (clinicians)."""

    patient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_team")
    staff = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_patients")
    added_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "staff"], name="accounts_careteam_unique")
        ]
        ordering = ("added_at",)

    def __str__(self) -> str:
        return f"Care team member #{self.pk}"


class ProxyKind(models.TextChoices):
    """Whose authority a proxy acts under. The first three are personal representatives
    (45 CFR 164.502(g)): treated as the patient for what their authority covers; an
    invited caregiver is not, and reaches only what the patient grants."""

    PARENT = "parent", _("Parent of a minor")
    GUARDIAN = "guardian", _("Legal guardian")
    POWER_OF_ATTORNEY = "power_of_attorney", _("Health-care power of attorney")
    CAREGIVER = "caregiver", _("Caregiver invited by the patient")


REPRESENTATIVE_KINDS = frozenset(
    {ProxyKind.PARENT, ProxyKind.GUARDIAN, ProxyKind.POWER_OF_ATTORNEY}
)


class ProxyScope(models.TextChoices):
    """What a proxy may do for the patient, each granted separately."""

    READ_MESSAGES = "read_messages", _("Read messages")
    SEND_MESSAGES = "send_messages", _("Send messages")
    REQUEST_RECORDS = "request_records", _("Request records")
    MANAGE_SHARING = "manage_sharing", _("Manage sharing and authorizations")
    SEE_ACCOUNTING = "see_accounting", _("See the accounting of disclosures")


class EvidenceKind(models.TextChoices):
    BIRTH_CERTIFICATE = "birth_certificate", "Birth certificate"
    COURT_ORDER = "court_order", "Court order of guardianship"
    POWER_OF_ATTORNEY = "power_of_attorney", "Signed health-care power of attorney"
    OTHER = "other", "Other document (described in the scan)"


class ProxyLink(EncryptedModel):
    """``proxy`` may act for ``patient`` within ``scopes`` from ``starts_on`` until
    ``ends_on`` (inclusive), unless revoked, suspended or aged out.

    Staff create the representatives' links (parent, guardian, power of attorney) after
    verifying the proxy's identity and the authority's evidence (a scan, encrypted as
    scans are); an adult patient invites a caregiver. The privacy officer may suspend any
    link at once (164.502(g)(5)); the reason is encrypted with the link. For a parent of
    a minor, the organisation's age rules (``accounts.proxies``) narrow the scope at the
    first threshold and end the link at the second, whatever the stored scope says.
    """

    proxy = models.ForeignKey(User, on_delete=models.PROTECT, related_name="proxy_links")
    patient = models.ForeignKey(User, on_delete=models.PROTECT, related_name="proxies")
    kind = models.CharField(max_length=32, choices=ProxyKind.choices)
    scopes = ArrayField(models.CharField(max_length=32, choices=ProxyScope.choices), default=list)
    starts_on = models.DateField(default=timezone.localdate)
    ends_on = models.DateField(null=True, blank=True)
    # How the proxy's identity and the authority were checked (a representative's link).
    identity_method = models.CharField(
        max_length=32, choices=IdentityMethod.choices, blank=True, default=""
    )
    evidence_kind = models.CharField(
        max_length=32, choices=EvidenceKind.choices, blank=True, default=""
    )
    evidence = models.ForeignKey(
        EncryptedFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    suspension_reason = EncryptedTextField(blank=True, default="")
    # Set by the daily age job: when a parent's scope was narrowed at the first threshold,
    # and when the link ended at the second (the proxy and the patient were told).
    narrowed_at = models.DateTimeField(null=True, blank=True)
    aged_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ProxyKind.values), name="accounts_proxy_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=ProxyScope.values),
                name="accounts_proxy_scopes_valid",
            ),
            # A representative's authority is on file and was checked by someone.
            models.CheckConstraint(
                condition=models.Q(kind=ProxyKind.CAREGIVER)
                | models.Q(evidence__isnull=False, verified_by__isnull=False),
                name="accounts_proxy_evidence",
            ),
            models.CheckConstraint(
                condition=~models.Q(proxy=models.F("patient")), name="accounts_proxy_not_self"
            ),
            # One live link per pair: a new one replaces a revoked or ended one.
            models.UniqueConstraint(
                fields=["proxy", "patient"],
                condition=models.Q(revoked_at__isnull=True, aged_out_at__isnull=True),
                name="accounts_proxy_one_live",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["patient", "created_at"], name="accounts_proxy_patient"),
        ]

    def __str__(self) -> str:
        return f"Proxy link #{self.pk}"

    @property
    def is_representative(self) -> bool:
        return self.kind in REPRESENTATIVE_KINDS


class FactorRecovery(models.Model):
    """Getting back in after losing every second factor, through a person (45 CFR
    164.514(h)): staff verified the account holder's identity (who, how, when) and sent a
    single-use link, valid 24 hours, to the account's confirmed address. Following it and
    then the password removes the old factors and asks for a new one. Only a hash of the
    link's nonce is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recoveries")
    verified_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )  # empty: issued on the server (manage.py recovery_issue)
    identity_method = models.CharField(max_length=32, choices=IdentityMethod.choices)
    verified_at = models.DateTimeField(default=timezone.now)
    nonce_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Recovery #{self.pk}"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


class EmailChange(models.Model):
    """A pending change of an account's notification address, proven by a link sent to it.

    The patient follows the link while signed in, which proves both who they are and
    that they control the new mailbox; the old address is then told, without health
    information. As with invitations, only a hash of the link's nonce is stored.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
    new_email = models.EmailField(max_length=254)
    old_email = models.EmailField(max_length=254, blank=True)  # set on confirmation
    nonce_hash = models.CharField(max_length=64, unique=True)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"E-mail change #{self.pk}"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.confirmed_at is None and self.revoked_at is None and now < self.expires_at


# Who acts in a service, a selector or a policy: a signed-in account. (Work done by the
# system itself runs under audit.context.system_actor and passes no account.)
Actor: TypeAlias = User


# --- second factors whose secrets nobody can read back ------------------------------------
# Second factors whose secrets nobody can read back: an authenticator app (TOTP) whose
# key is encrypted at rest, and backup codes kept only as keyed hashes.
#
# django-otp's own TOTP and static-token devices store the key and the codes in clear, so a
# database dump would hand out second factors. These are django-otp devices all the same
# (``match_token``, ``otp_login``, persistent ids and throttling work as for any device).
#

KEY_BYTES = 20
BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
BACKUP_CODE_LENGTH = 10


def totp_key_new() -> str:
    return secrets.token_hex(KEY_BYTES)


class AuthenticatorKey(EncryptedModel):
    """The shared key of one authenticator app, encrypted with its own data key like any
    health record, so a database dump, a backup or the admin shows no key. A row of its
    own because django-otp gives devices integer ids and encrypted rows have UUIDs.
    Deleting the app deletes (shreds) its key: ``accounts.signals``."""

    key = EncryptedTextField(default=totp_key_new)  # hex

    def __str__(self) -> str:
        return f"authenticator key {self.pk}"


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238) of one account: a django-otp device whose
    key is in ``AuthenticatorKey``, encrypted. Codes are 6 digits every 30 seconds; one
    step of clock drift either way is tolerated, a code works once (``last_t``), and wrong
    codes are throttled (django-otp's mixin).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="authenticator_apps")
    secret = models.OneToOneField(
        AuthenticatorKey, on_delete=models.PROTECT, related_name="device", editable=False
    )
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = "authenticator app"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every app is made with its key: a key-less device could never verify.
        if self.secret_id is None:
            self.secret = AuthenticatorKey.objects.create()
        super().save(*args, **kwargs)

    @property
    def key(self) -> str:
        return str(self.secret.key)

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            value = int(str(token).strip())
        except ValueError:
            value = None
        verified = False
        if value is not None:
            totp = TOTP(self.bin_key, self.step, 0, self.digits, self.drift)
            totp.time = time.time()
            verified = bool(totp.verify(value, self.tolerance, self.last_t + 1))
            if verified:
                self.last_t, self.drift = totp.t(), totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return int(settings.OTP_TOTP_THROTTLE_FACTOR)

    @property
    def config_url(self) -> str:
        """The otpauth:// address an app reads from the QR code."""
        issuer = settings.OTP_TOTP_ISSUER
        label = quote(f"{issuer}:{self.user.get_username()}")
        secret = b32encode(self.bin_key).decode().rstrip("=")
        query = urlencode(
            {"secret": secret, "issuer": issuer, "digits": self.digits, "period": self.step}
        )
        return f"otpauth://totp/{label}?{query}"


def backup_code_digest(code: str) -> str:
    """HMAC-SHA256 of the normalized code under a key derived from SECRET_KEY (which never
    enters the database). Rotating SECRET_KEY retires every backup code."""
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return salted_hmac("accounts.backup-code", normalized, algorithm="sha256").hexdigest()


def backup_code_new() -> str:
    raw = "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


class BackupCodes(ThrottlingMixin, Device):
    """An account's single-use backup codes, kept only as keyed hashes (``BackupCode``).

    A code is shown once, when issued; what is stored cannot give it back. Checking a code
    compares its keyed hash with each remaining one in constant time, then deletes the
    match, so a code works once even when two sign-ins race.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="backup_codes")

    class Meta:
        verbose_name = "backup codes"

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = backup_code_digest(str(token))
        with transaction.atomic():
            codes = list(self.codes.select_for_update().values_list("pk", "digest"))
            match = None
            for pk, stored in codes:  # every comparison runs: no early exit on a match
                if hmac.compare_digest(stored, digest):
                    match = pk
            if match is not None:
                self.codes.filter(pk=match).delete()
                self.throttle_reset(commit=True)
                return True
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self) -> int:
        return int(settings.OTP_STATIC_THROTTLE_FACTOR)


class BackupCode(models.Model):
    """One unused backup code, as its keyed hash."""

    device = models.ForeignKey(BackupCodes, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["device", "digest"], name="accounts_backup_code_once")
        ]

    def __str__(self) -> str:
        return f"Backup code #{self.pk}"
