from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.actions import AccountsAction
from accounts.models import Invitation, PatientProfile, Role, User
from audit.services import event_record


def _patient_of(obj: Model) -> int | None:
    if isinstance(obj, User) and obj.role == Role.PATIENT:
        return obj.pk
    if isinstance(obj, PatientProfile):
        return obj.user_id
    return None


class AuditedAdmin(admin.ModelAdmin):
    """Every change made through the admin is an audit event (ids and field names only)."""

    def _record(self, obj: Model, operation: str, fields: list[str] | None = None) -> None:
        event_record(
            action=AccountsAction.ADMIN_CHANGE,
            target=obj,
            patient_id=_patient_of(obj),
            details={"operation": operation, "fields": sorted(fields or [])},
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        """Opening a record in the admin is a read like any other: audited."""
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                event_record(
                    action=AccountsAction.ADMIN_VIEWED,
                    target=obj,
                    patient_id=_patient_of(obj),
                    details={"model": obj._meta.label_lower},
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if isinstance(obj, User) and change and "email" in form.changed_data:
            # A link sent to the old address must not work for the new one.
            obj.invitations.filter(used_at__isnull=True, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        self._record(obj, "change" if change else "add", list(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._record(obj, "delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self._record(obj, "delete")
        super().delete_queryset(request, queryset)


@admin.register(User)
class UserAdmin(AuditedAdmin):
    list_display = ("id", "email", "full_name", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    readonly_fields = ("password", "security_stamp", "last_login", "date_joined")
    exclude = ("groups", "user_permissions")


@admin.register(PatientProfile)
class PatientProfileAdmin(AuditedAdmin):
    list_display = ("id", "user", "mrn", "identity_method", "identity_verified_at")
    readonly_fields = ("identity_verified_by", "identity_verified_at")


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin):
    list_display = ("id", "user", "created_at", "expires_at", "used_at", "revoked_at")
    readonly_fields = ("nonce_hash",)


# Third-party admins would show second-factor secrets and sign-in records, unaudited:
# passkeys (django-otp-webauthn) and lockout records (django-axes) are managed in the app's
# own screens instead. (django-otp's own TOTP and static plugins are not installed.)
def _unregister_third_party() -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp_webauthn.models import (
        WebAuthnAttestation,
        WebAuthnCredential,
        WebAuthnUserHandle,
    )

    third_party = (
        WebAuthnCredential,
        WebAuthnAttestation,
        WebAuthnUserHandle,
        AccessAttempt,
        AccessLog,
        AccessFailureLog,
    )
    for model in third_party:
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_third_party()
