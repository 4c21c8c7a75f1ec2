"""Getting back in: a forgotten password (a link to the account's address).

Every page here is public. What a requester sees never says whether an address has an
account; links that do not work are logged, never audited, and each client address may
only try so many (``accounts.throttle``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.errors import AccountsError
from accounts.forms import NewPasswordForm, PasswordResetForm
from accounts.middleware import account_language_activate
from accounts.models import User
from accounts.throttle import attempt_allowed, link_try_allowed, too_many_response
from audit.middleware import request_client_ip
from core.forms import posted

SESSION_RESET_USER = "password_reset_user"
SESSION_RESET_TOKEN = "password_reset_token"  # noqa: S105 (a session key's name)
# Per hour: reset requests per address and per client address.
RESETS_PER_ADDRESS = 3
RESETS_PER_IP = 20


@sensitive_post_parameters("email")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a link. The same answer, whatever the address; past the limits, nothing
    more is sent, and the answer is still the same."""
    form = PasswordResetForm(posted(request))
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        ip = request_client_ip(request)
        per_address = attempt_allowed(
            scope="reset-address", key=email, limit=RESETS_PER_ADDRESS, window_seconds=3600
        )
        per_ip = attempt_allowed(scope="reset-ip", key=ip, limit=RESETS_PER_IP, window_seconds=3600)
        if per_address and per_ip:
            services.password_reset_request(email=email)
        return render(request, "accounts/password_reset_sent.html", {"email": email})
    return render(request, "accounts/password_reset.html", {"form": form})


@never_cache
@require_GET
def password_reset_open(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Check the link, then move on to a URL without it (kept out of history and logs)."""
    if not link_try_allowed(request):
        return too_many_response(request)
    try:
        user = services.password_reset_user(uidb64=uidb64, token=token)
    except AccountsError as error:
        return render(request, "accounts/link_invalid.html", {"message": error.message}, status=410)
    request.session[SESSION_RESET_USER] = user.pk
    request.session[SESSION_RESET_TOKEN] = token
    return redirect("accounts:password_reset_set")


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_set(request: HttpRequest) -> HttpResponse:
    user_id = request.session.get(SESSION_RESET_USER) or 0
    user = User.objects.filter(pk=user_id, is_active=True).first()
    token = str(request.session.get(SESSION_RESET_TOKEN, ""))
    if user is None or not default_token_generator.check_token(user, token):
        return render(
            request,
            "accounts/link_invalid.html",
            {"message": _("This link has expired or was already used. Ask for a new one.")},
            status=410,
        )
    account_language_activate(request, user)
    form = NewPasswordForm(user, posted(request))
    if request.method == "POST" and form.is_valid():
        services.password_reset_complete(user=user, new_password=form.cleaned_data["password1"])
        request.session.flush()
        messages.success(
            request,
            _(
                "Your password was changed, and you were signed out everywhere. Sign in with "
                "the new password. We will still ask for your second step."
            ),
        )
        return redirect("accounts:sign_in")
    return render(
        request,
        "accounts/password_reset_set.html",
        {"form": form, "minutes": settings.PASSWORD_RESET_TIMEOUT // 60},
    )
