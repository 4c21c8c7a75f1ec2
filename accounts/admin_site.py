from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse

from accounts.models import Role


class PrivacyOfficerAdminSite(admin.AdminSite):
    """The Django admin, for privacy officers whose second factor is verified; 404 for others."""

    site_header = "Portal administration"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and getattr(user, "role", None) == Role.PRIVACY_OFFICER
            and user.is_verified()
        )

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        raise Http404

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not self.has_permission(request):
                raise Http404
            return inner(request, *args, **kwargs)

        return guarded
