"""Home pages, and the staff screens of accounts: enrolling patients, creating staff."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import policies, services
from accounts.errors import AccountsError
from accounts.forms import (
    PatientEnrollForm,
    StaffCreateForm,
)
from accounts.outbox import outbox_list
from core.decorators import allowed_if
from core.forms import posted


@sensitive_post_parameters("legal_name", "date_of_birth", "mrn", "email")
@require_http_methods(["GET", "POST"])
@allowed_if(policies.can_enroll_patients)
def patient_enroll(request: HttpRequest) -> HttpResponse:
    form = PatientEnrollForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.patient_enroll(
                actor=request.user,  # type: ignore[arg-type]
                email=data["email"],
                legal_name=data["legal_name"],
                date_of_birth=data["date_of_birth"],
                mrn=data["mrn"],
                identity_method=data["identity_method"],
            )
        except AccountsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "The patient was enrolled and an invitation e-mail sent.")
            return redirect("accounts:home")
    return render(request, "accounts/patient_enroll.html", {"form": form})


@require_http_methods(["GET", "POST"])
@allowed_if(policies.can_create_staff)
def staff_create(request: HttpRequest) -> HttpResponse:
    form = StaffCreateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_create(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except AccountsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "The staff account was created and an invitation sent.")
            return redirect("accounts:home")
    return render(request, "accounts/staff_create.html", {"form": form})


@require_GET
@allowed_if(policies.can_read_demo_outbox)
def demo_outbox(request: HttpRequest) -> HttpResponse:
    if settings.APP_MODE != "demo":
        raise Http404
    return render(request, "accounts/outbox.html", {"emails": outbox_list()})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "accounts/csrf_failure.html", status=403)
