"""Signing in and out: password, second factor (and its first enrollment), invitations."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp_webauthn.models import WebAuthnCredential

from accounts import services
from accounts.errors import AccountsError
from accounts.forms import (
    CodeForm,
    NewPasswordForm,
    SignInForm,
    TOTPConfirmForm,
)
from accounts.lockout import (
    ip_failure_add,
    ip_is_blocked,
    lockout_response,
    second_factor_failed,
    second_factor_succeeded,
)
from accounts.middleware import account_language_activate
from accounts.models import AuthenticatorApp, User
from accounts.selectors import has_second_factor
from accounts.throttle import link_try_allowed, too_many_response
from accounts.views.backup_codes import backup_codes_page
from audit.middleware import request_client_ip
from core.forms import posted
from core.sessions import (
    SESSION_AUTH_AT,
    SESSION_INVITATION,
    SESSION_LAST_SEEN,
    SESSION_RECOVERY,
    mark_otp_verified,
    now_ts,
    otp_is_fresh,
    pending_download_set,
    safe_local_url,
)

# English here (a test matches it); the form shows it in the reader\'s language.
SIGN_IN_FAILED_MESSAGE = gettext_noop(
    "That e-mail and password do not match an account we can sign in."
)
SESSION_TOTP_PENDING = "totp_pending_device"


def _safe_next(request: HttpRequest, fallback: str = "accounts:home") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(fallback)


def _after_fresh_factor(request: HttpRequest) -> str:
    """Where a fresh second factor returns: ``next``, or for a download the page the
    person came from (``back``), which then starts the download once."""
    next_url = _safe_next(request)
    back = safe_local_url(request, request.GET.get("back"))
    if request.GET.get("download") == "1" and back and next_url != reverse("accounts:home"):
        pending_download_set(request, next_url)
        return back
    return next_url


@never_cache
@require_GET
def fresh_return(request: HttpRequest) -> HttpResponse:
    """Where a passkey sends a fresh confirmation (the passkey script can only follow a
    URL): the same return as the code form's, once the second factor is fresh again."""
    if not otp_is_fresh(request):
        keep = {k: request.GET[k] for k in ("next", "back", "download") if k in request.GET}
        query = urlencode({"fresh": "1", **keep})
        return redirect(f"{reverse('accounts:mfa_verify')}?{query}")
    return redirect(_after_fresh_factor(request))


def _axes_locked(request: HttpRequest, user: User) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return not AxesProxyHandler.is_allowed(request, {"username": user.email})


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_safe_next(request))
    form = SignInForm(posted(request))
    if request.method == "POST" and form.is_valid():
        if ip_is_blocked(request_client_ip(request)):
            return lockout_response(request)
        email = form.cleaned_data["username"].lower()
        if services.account_slowed(email=email):
            return lockout_response(request)
        user = authenticate(request, username=email, password=form.cleaned_data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            ip_failure_add(request_client_ip(request))
            services.account_failures_add(email=email)
            services.sign_in_failure_record(email=email)
            form.add_error(None, _(SIGN_IN_FAILED_MESSAGE))
        else:
            login(request, user)  # rotates the session id, keeps its data
            request.session[SESSION_AUTH_AT] = request.session[SESSION_LAST_SEEN] = now_ts()
            services.sign_in_record(user=user)
            recovery_id = request.session.pop(SESSION_RECOVERY, None)
            if recovery_id:
                try:
                    services.recovery_complete(recovery_id=recovery_id, user=user)
                except AccountsError as error:
                    messages.error(request, error.message)
                else:
                    user.refresh_from_db()
                    update_session_auth_hash(request, user)  # this session stays
                    return redirect("accounts:mfa_enroll")
            target = "accounts:mfa_verify" if has_second_factor(user) else "accounts:mfa_enroll"
            next_url = _safe_next(request)
            return redirect(f"{reverse(target)}?{urlencode({'next': next_url})}")
    expired = request.GET.get("expired") in ("idle", "absolute")
    return render(
        request,
        "accounts/sign_in.html",
        {"form": form, "expired": expired, "next": request.GET.get("next", "")},
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    fresh = request.GET.get("fresh") == "1"
    if user.is_verified() and not fresh:
        return redirect(_safe_next(request))
    if not has_second_factor(user):
        return redirect("accounts:mfa_enroll")
    if _axes_locked(request, user):
        logout(request)
        return lockout_response(request)
    form = CodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        device = services.second_factor_check(
            user=user, code=form.cleaned_data["code"], fresh=fresh
        )
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()
            mark_otp_verified(request)
            second_factor_succeeded(request, user.email)
            return redirect(_after_fresh_factor(request) if fresh else _safe_next(request))
        second_factor_failed(request, user.email)
        if getattr(request, "axes_locked_out", False):
            logout(request)
            return lockout_response(request)
        form.add_error("code", _("That code did not work. Try again or use a backup code."))
    has_passkey = WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    return render(
        request,
        "accounts/mfa_verify.html",
        {
            "form": form,
            "has_passkey": has_passkey,
            "fresh": fresh,
            "next": _safe_next(request),
            "passkey_next": _passkey_next(request) if fresh else _safe_next(request),
            "back": safe_local_url(request, request.GET.get("back")) or reverse("accounts:home"),
            "demo_code": _demo_code(user),
        },
    )


def _passkey_next(request: HttpRequest) -> str:
    """For a fresh confirmation by passkey: fresh_return with the same next, back and
    download, so a download brings the page back as the code form does."""
    keep = {k: request.GET[k] for k in ("next", "back", "download") if k in request.GET}
    return f"{reverse('accounts:fresh_return')}?{urlencode(keep)}"


def _demo_code(user: User) -> str | None:
    """Demo mode only: the persona's current code, so a demo needs no phone."""
    if settings.APP_MODE != "demo":
        return None
    from accounts.demo import current_code

    device = AuthenticatorApp.objects.filter(user=user, name="Demo authenticator").first()
    return current_code(device) if device else None


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enroll(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: the first factor of a new account, or another one later."""
    user: User = request.user  # type: ignore[assignment]
    has_factor = has_second_factor(user)
    if not has_factor and user.mfa_enrolled_at is not None:
        # Every factor is gone (backup codes used up): recovery goes through staff.
        return render(request, "accounts/mfa_recovery.html", status=403)
    first = not has_factor
    if not first and not (user.is_verified() and otp_is_fresh(request)):
        query = urlencode({"fresh": "1", "next": request.path})
        return redirect(f"{reverse('accounts:mfa_verify')}?{query}")
    form = TOTPConfirmForm(posted(request))
    pending = request.session.get(SESSION_TOTP_PENDING)
    # The key shown stays the same across reloads until it is confirmed or the person asks
    # for a new one: a silent new key would make the one already scanned fail.
    device = (
        AuthenticatorApp.objects.filter(pk=pending, user=user, confirmed=False).first()
        if pending
        else None
    )
    if request.method == "POST" and "restart" in request.POST:
        device = services.totp_device_start(user=user)
        request.session[SESSION_TOTP_PENDING] = str(device.pk)
        messages.info(request, _("Here is a new key. Remove the old one from your app."))
        return redirect("accounts:mfa_enroll")
    if request.method == "POST" and device is not None and form.is_valid():
        try:
            device = services.totp_device_confirm(
                user=user, device_id=device.pk, token=form.cleaned_data["code"]
            )
        except AccountsError as error:
            form.add_error("code", error.message)
        else:
            del request.session[SESSION_TOTP_PENDING]
            update_session_auth_hash(request, user)
            if first:
                otp_login(request, device)
                request.session.cycle_key()
                mark_otp_verified(request)
                codes = services.backup_codes_issue(user=user)
                return backup_codes_page(request, codes, first=True)
            messages.success(request, _("Your authenticator app was added."))
            return redirect("accounts:security")
    if device is None:
        device = services.totp_device_start(user=user)
        request.session[SESSION_TOTP_PENDING] = str(device.pk)
    qr_svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, title=str(_("QR code for your authenticator app"))
    )
    return render(
        request,
        "accounts/mfa_enroll.html",
        {"form": form, "qr_svg": qr_svg, "secret": _base32(device), "first": first},
    )


def _base32(device: AuthenticatorApp) -> str:
    import base64

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    user = request.user
    idle = request.POST.get("reason") == "idle"  # the idle warning ran out in the browser
    if user.is_authenticated:
        services.sign_out_record(user=user, idle=idle)
    logout(request)  # flushes the server-side session
    if idle:
        minutes = max(1, settings.SESSION_IDLE_TIMEOUT // 60)
        message = ngettext(
            "You were signed out after %(minutes)d minute without activity.",
            "You were signed out after %(minutes)d minutes without activity.",
            minutes,
        )
        messages.info(request, message % {"minutes": minutes})
    else:
        messages.info(request, _("You are signed out."))
    return redirect("accounts:sign_in")


@require_POST
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """'Stay signed in': renews the idle timer now (the middleware may skip a recent renewal)."""
    request.session[SESSION_LAST_SEEN] = now_ts()
    return HttpResponse(status=204)


@never_cache
@require_GET
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """Check the link, then move on to a URL without the token (kept out of history).

    Nobody is signed out here (a GET must change nothing a third-party page could
    trigger); accepting signs the new account in, which replaces any earlier session.
    """
    if not link_try_allowed(request):
        return too_many_response(request)
    try:
        invitation = services.invitation_from_token(token)
    except AccountsError as error:
        return render(
            request, "accounts/invitation_invalid.html", {"message": error.message}, status=410
        )
    request.session[SESSION_INVITATION] = invitation.pk
    return redirect("accounts:invitation_accept")


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    invitation_id = request.session.get(SESSION_INVITATION)
    invitation = None
    if invitation_id:
        from accounts.models import Invitation

        invitation = Invitation.objects.select_related("user").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_usable():
        return render(
            request,
            "accounts/invitation_invalid.html",
            {"message": _("This invitation link is no longer valid.")},
            status=410,
        )
    account_language_activate(request, invitation.user)
    form = NewPasswordForm(invitation.user, posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                invitation_id=invitation.pk, password=form.cleaned_data["password1"]
            )
        except AccountsError as error:
            return render(
                request, "accounts/invitation_invalid.html", {"message": error.message}, status=410
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_AUTH_AT] = request.session[SESSION_LAST_SEEN] = now_ts()
        return redirect("accounts:mfa_enroll")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"form": form, "email": invitation.user.email},
    )


@never_cache
@require_GET
def recovery_open(request: HttpRequest, token: str) -> HttpResponse:
    """A recovery link: check it, keep it for the sign-in that follows, move on."""
    if not link_try_allowed(request):
        return too_many_response(request)
    try:
        recovery = services.recovery_from_token(token)
    except AccountsError as error:
        return render(
            request, "accounts/invitation_invalid.html", {"message": error.message}, status=410
        )
    request.session[SESSION_RECOVERY] = recovery.pk
    messages.info(
        request,
        _(
            "Sign in with your password to set up your second step again. Your old "
            "authenticator app, backup codes and passkeys will stop working."
        ),
    )
    return redirect("accounts:sign_in")
