from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINICIAN = "clinician", "Clinician"
    RECORDS_CLERK = "records_clerk", "Records clerk"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"


STAFF_ROLES = frozenset({Role.CLINICIAN, Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


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

    def __str__(self) -> str:
        return f"Care team member #{self.pk}"


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
