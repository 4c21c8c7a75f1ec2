"""The patient's document password: the password that opens the locked PDFs we e-mail.

Setting or changing it needs a fresh second factor (it decides who can open content
sent by e-mail, as sensitive as choosing how content leaves). Removing it does not: it
only makes us fall back to portal pickup or a one-time password, and a patient must be
able to take a secret back easily. The page never shows the password: only when it was
set.

It is the patient's own secret (it opens what we send them), so it stays the patient's
alone: for a proxy these pages do not exist (404, as for anything outside one's reach),
and ``document_password_set`` refuses anyone but the patient.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import request_user
from core.decorators import allowed_if, fresh_otp_required
from core.forms import posted
from messaging import document_passwords
from messaging.errors import MessagingError
from portal.forms import DocumentPasswordForm

patients_only = allowed_if(lambda user: user.is_authenticated and user.is_patient)

REFUSALS = {
    "account_password": "password1",
    "length": "password1",
}


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
@patients_only
@fresh_otp_required
def document_password(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = DocumentPasswordForm(posted(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                document_passwords.document_password_set(
                    actor=user, patient=user, password=form.cleaned_data["password1"]
                )
            except MessagingError as error:
                if error.code not in REFUSALS:
                    raise
                form.add_error(REFUSALS[error.code], _refusal_text(error.code))
            else:
                flash.success(request, gettext("Saved: your document password."))
                return redirect("portal:document_password")
        status = 400
    return render(
        request,
        "portal/document_password.html",
        {
            "form": form,
            "current": document_passwords.document_password_set_at(user),
            "area": "portal",
        },
        status=status,
    )


def _refusal_text(code: str) -> str:
    if code == "account_password":
        return gettext("Do not use your sign-in password. Choose a different one.")
    return gettext("Use at least 12 characters.")


@require_POST
@patients_only
def document_password_remove(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if document_passwords.document_password_remove(actor=user, patient=user):
        flash.success(request, gettext("Removed: your document password."))
    return redirect("portal:document_password")
