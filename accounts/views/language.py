"""The language switch: before sign-in it sets the browser's language cookie; for a
signed-in person it also becomes the account's language (pages, e-mails and letters)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import LanguageForm
from accounts.selectors import request_user
from accounts.views.sign_in import _safe_next
from core.forms import posted


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    fallback = "accounts:home" if request.user.is_authenticated else "accounts:sign_in"
    response = redirect(_safe_next(request, fallback))
    form = LanguageForm(posted(request))
    if not form.is_valid():
        return response  # a language we do not offer: nothing changes
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.language_choose(user=request_user(request), language=language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
