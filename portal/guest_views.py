"""Guest pickup screens: a third party named in an authorization opens one package.

Public (``accounts.access.PUBLIC_VIEWS``): the recipient has no account. What lets them
in is, in turn, the link from their e-mail (it binds this browser: a random key in the
``guest_browser`` cookie, only its hash stored), a one-time code sent to the same
address (verified in this session only), and every time the state of the package and
of the patient's authorization (``messaging.guest_pickup.guest_package_for``). The token is
in the first URL only: the view moves on at once to URLs without it. Nothing here
takes a package id from the URL: the session names its one package.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from encryption.files import file_response
from messaging import guest_pickup, guests
from messaging.errors import MessagingError
from messaging.forms import GuestCodeForm
from messaging.markup import body_render
from messaging.models import GuestPackage


def _browser_key(request: HttpRequest) -> str:
    return request.COOKIES.get(guests.BROWSER_COOKIE, "")


def _refusal_page(request: HttpRequest, refusal: guests.GuestRefused) -> HttpResponse:
    return render(
        request,
        "portal/guest_refused.html",
        {"message": refusal.message, "code": refusal.code, "area": "guest"},
        status=refusal.status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def guest_open(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail: check it; on the person's "Continue" (a POST, so a mail
    scanner that fetches links does not use it up) bind this browser, and move on."""
    browser_key = _browser_key(request) or secrets.token_urlsafe(32)
    try:
        package = guest_pickup.guest_link_open(
            token=token, browser_key=browser_key, bind=request.method == "POST"
        )
    except guests.GuestRefused as refusal:
        return _refusal_page(request, refusal)
    if request.method == "GET":
        return render(
            request,
            "portal/guest_open.html",
            {
                "organisation": settings.ORGANISATION_NAME,
                "expires_at": package.expires_at,
                "area": "guest",
            },
        )
    guest_pickup.guest_session_bind(request.session, package)
    response = redirect("portal:guest_code")
    # One key per browser, reused for every package opened in it (the session cookie ends
    # with the browser; the binding must not). A fixed lifetime, longer than any package
    # lives: timing it to the package opened last would cut short an older, longer-lived one.
    response.set_cookie(
        guests.BROWSER_COOKIE,
        browser_key,
        max_age=int(timedelta(days=guests.pickup_days() + 1).total_seconds()),
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def guest_code(request: HttpRequest) -> HttpResponse:
    """Ask for a code (at most once a minute), then enter it."""
    try:
        package = guest_pickup.guest_package_bound(
            session=request.session, browser_key=_browser_key(request)
        )
    except guests.GuestRefused as refusal:
        return _refusal_page(request, refusal)
    if request.session.get(guests.SESSION_VERIFIED) == str(package.pk) and request.method == "GET":
        return redirect("portal:guest_package")
    form = GuestCodeForm()
    status = 200
    if request.method == "POST" and request.POST.get("action") == "send":
        try:
            guest_pickup.guest_code_request(package=package)
        except guests.GuestRefused as refusal:
            return _refusal_page(request, refusal)
        except MessagingError as error:
            flash.error(request, error.message)
        else:
            flash.success(
                request, gettext("We sent a code to the e-mail address this link was sent to.")
            )
        return redirect("portal:guest_code")
    if request.method == "POST":
        form = GuestCodeForm(request.POST)
        if form.is_valid():
            try:
                guest_pickup.guest_code_verify(
                    session=request.session, package=package, code=form.cleaned_data["code"]
                )
            except guests.GuestRefused as refusal:
                return _refusal_page(request, refusal)
            except MessagingError as error:
                form.add_error("code", error.message)
            else:
                request.session.cycle_key()  # a new session id once it grants access
                return redirect("portal:guest_package")
        status = 400
    return render(
        request,
        "portal/guest_code.html",
        {
            "form": form,
            "package": package,
            "code_sent": bool(package.code_sent_at),
            "area": "guest",
        },
        status=status,
    )


def _package(request: HttpRequest) -> GuestPackage | HttpResponse:
    try:
        return guest_pickup.guest_package_for(
            session=request.session, browser_key=_browser_key(request)
        )
    except guests.GuestRefused as refusal:
        return _refusal_page(request, refusal)
    except MessagingError:  # not verified in this session (or idle too long)
        return redirect("portal:guest_code")


@never_cache
@require_GET
def guest_package(request: HttpRequest) -> HttpResponse:
    package = _package(request)
    if isinstance(package, HttpResponse):
        return package
    guest_pickup.guest_package_view_record(package=package)
    return render(
        request,
        "portal/guest_package.html",
        {
            "package": package,
            "html": body_render(package.body),
            "attachments": list(package.attachments.select_related("file__data_key")),
            "area": "guest",
        },
    )


@never_cache
@require_GET
def guest_attachment(request: HttpRequest, attachment_id: str) -> HttpResponseBase:
    package = _package(request)
    if isinstance(package, HttpResponse):
        return package
    attachment = guest_pickup.guest_attachment_for(package=package, attachment_id=attachment_id)
    response = file_response(attachment.file)
    guest_pickup.guest_attachment_download_record(
        attachment=attachment, patient_id=package.patient_id
    )
    return response
