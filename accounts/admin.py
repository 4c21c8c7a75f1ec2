from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.actions import AccountsAction
from accounts.models import Invitation, PatientProfile, Role, User
from audit.services import event_record


class AuditedAdmin(admin.ModelAdmin):
    """Every change made through the admin is an audit event (ids and field names only)."""

    def _record(self, obj: Model, operation: str, fields: list[str] | None = None) -> None:
        patient_id = None
        if isinstance(obj, User) and obj.role == Role.PATIENT:
            patient_id = obj.pk
        elif isinstance(obj, PatientProfile):
            patient_id = obj.user_id
        event_record(
            action=AccountsAction.ADMIN_CHANGE,
            target=obj,
            patient_id=patient_id,
            details={"operation": operation, "fields": sorted(fields or [])},
        )

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
