from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from accounts.access import PRE_MFA_VIEWS, PUBLIC_PATH_PREFIXES, PUBLIC_VIEWS
from accounts.actions import AccountsAction
from accounts.models import User
from accounts.selectors import has_second_factor
from audit.services import event_record
from core.sessions import SESSION_AUTH_AT, SESSION_LAST_SEEN, last_seen_resolution, now_ts


class SessionLifetimeMiddleware:
    """Idle and absolute session limits, enforced on the server (45 CFR 164.312(a)(2)(iii))."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = now_ts()
            # A session without a last-seen time gets one now (and written): never "no timer".
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is None:
                request.session[SESSION_LAST_SEEN] = last_seen = now
            auth_at = request.session.get(SESSION_AUTH_AT, now)
            reason = None
            if now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                reason = "idle"
            elif now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT:
                reason = "absolute"
            if reason:
                event_record(
                    action=AccountsAction.SESSION_EXPIRED,
                    actor=request.user,
                    target=request.user,
                    patient_id=request.user.audit_patient_id,
                    details={"reason": reason},
                )
                logout(request)
                return redirect(f"{reverse('accounts:sign_in')}?{urlencode({'expired': reason})}")
            # Written at most every few seconds: a session write on every request would cost
            # a database UPDATE per page and buy a timer no one can tell apart from this.
            if now - last_seen >= last_seen_resolution():
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class RequireVerifiedMiddleware:
    """Deny by default: only views listed in accounts.access skip sign-in and MFA."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.path_info.startswith(PUBLIC_PATH_PREFIXES):
            return None
        match = request.resolver_match
        name = match.view_name if match else ""
        if name in PUBLIC_VIEWS:
            return None
        user = request.user
        if not user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:sign_in')}?{query}")
        if user.is_verified():
            return None
        if name in PRE_MFA_VIEWS:
            return None
        if not has_second_factor(user):
            return redirect("accounts:mfa_enroll")
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:mfa_verify')}?{query}")


# Features no page of ours uses, switched off for every origin; passkeys stay ours.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "bluetooth=()",
        "interest-cohort=()",
        "publickey-credentials-get=(self)",
        "publickey-credentials-create=(self)",
    ]
)


class PrivacyHeadersMiddleware:
    """No browser, proxy or shared cache keeps a page, and other sites embed nothing.

    ``Cache-Control: no-store`` on every response a view makes, unless the view chose its
    own caching (the one way to opt out); static files are answered before this runs.
    Also ``Permissions-Policy`` and ``Cross-Origin-Resource-Policy: same-origin``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store, max-age=0"
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class AccountLanguageMiddleware:
    """A signed-in patient's (or proxy's) pages come in the language on their account,
    whatever the browser says; staff pages are English. Before sign-in, LocaleMiddleware's
    choice (the language cookie, then Accept-Language) stands."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            account_language_activate(request, user)
        return self.get_response(request)


def account_language_activate(request: HttpRequest, user: User) -> None:
    """Show the rest of this request in ``user``'s language (a patient's choice; staff
    English). Also for a page a link opened before sign-in that names its account (a
    password reset, an invitation): the e-mail came in that language, so does the page."""
    language = user.language if user.uses_portal else settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = language
