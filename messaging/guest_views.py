"""Staff screens for third-party packages: compose, the patient's packages, recall.

The composer offers the recipients of the patient's authorizations in force, but only
the disclosure decision at send time decides; a refusal shows its reasons on the same
form, with everything typed kept.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.selectors import request_user
from consent.models import Purpose, RecordCategory
from core.forms import confirmed, posted, posted_files
from encryption.uploads import checked_uploads
from messaging import delivery_settings, guests, selectors
from messaging.delivery_decision import Recipient
from messaging.errors import MessagingError
from messaging.forms import GuestPackageForm, new_send_key, sensitive_marked
from messaging.views import staff_only


@sensitive_post_parameters("recipient_email", "recipient_name", "subject", "body")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def guest_compose(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    patient = selectors.patient_for(user=user, patient_id=patient_id)
    authorizations = selectors.authorizations_active_for(patient)
    initial: dict[str, Any] = {"send_key": new_send_key()}
    if len(authorizations) == 1:  # the usual case: one recipient on file
        only = authorizations[0]
        initial.update(
            recipient_email=only.recipient_email,
            recipient_name=only.recipient_name,
            purpose=only.purposes[0] if only.purposes else None,
        )
    form = GuestPackageForm(posted(request), posted_files(request), initial=initial)
    form.fields["sensitive"].help_text += " " + delivery_settings.restricted_kinds_text()
    reasons: list[str] = []
    warnings: list[str] = []
    if request.method == "POST":
        valid = form.is_valid()
        uploads = checked_uploads(request, form)
        if valid and uploads is not None:
            data = form.cleaned_data
            try:
                guests.guest_package_send(
                    actor=user,
                    patient=patient,
                    recipient_email=data["recipient_email"],
                    recipient_name=data["recipient_name"],
                    purpose=data["purpose"],
                    categories=data["categories"],
                    records_from=data["records_from"],
                    records_to=data["records_to"],
                    subject=data["subject"],
                    body=data["body"],
                    attachments=uploads,
                    send_key=data["send_key"],
                    warnings_acknowledged=data["acknowledge"],
                    content_categories=data["sensitive"],
                )
            except guests.GuestSendRefused as refusal:
                reasons = refusal.decision.explanation
            except MessagingError as error:
                if error.code == "subject_warning":
                    warnings.append(error.message)
                else:
                    field = "subject" if error.code.startswith("subject") else None
                    form.add_error(field, error.message)
            else:
                flash.success(
                    request,
                    "Package sent. The recipient gets a link by e-mail (without its content) "
                    "and a one-time code when they open it. It is recorded in the patient's "
                    "accounting of disclosures.",
                )
                return redirect("messaging:guest_packages", patient_id=patient.pk)
    else:
        guests.guest_composer_open_record(actor=user, patient=patient)
    form.acknowledgement_offer(warned=bool(warnings))
    return render(
        request,
        "messaging/guest_compose.html",
        {
            "form": form,
            "patient": patient,
            "authorizations": [
                {
                    "authorization": a,
                    "purposes": [Purpose(p).label for p in a.purposes],
                    "categories": [RecordCategory(c).label for c in a.categories],
                }
                for a in authorizations
            ],
            "delivery": delivery_settings.delivery_choice_for(
                patient=patient,
                recipient=Recipient.THIRD_PARTY,
                categories=sensitive_marked(form),
            ),
            "reasons": reasons,
            "warnings": warnings,
            "area": "staff",
        },
    )


@never_cache
@require_GET
@staff_only
def guest_packages(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    patient = selectors.patient_for(user=user, patient_id=patient_id)
    packages = list(selectors.guest_packages_of(user=user, patient=patient))
    guests.guest_packages_list_record(actor=user, patient=patient, count=len(packages))
    rows = [
        {
            "package": p,
            "state": selectors.guest_state(p),
            "can_recall": p.recalled_at is None
            and not p.is_erased
            and (p.created_by_id == user.pk or user.role == Role.PRIVACY_OFFICER),
        }
        for p in packages
    ]
    return render(
        request,
        "messaging/guest_packages.html",
        {"patient": patient, "rows": rows, "area": "staff"},
    )


@require_POST
@staff_only
def guest_recall(request: HttpRequest, package_id: str) -> HttpResponse:
    user = request_user(request)
    package = selectors.guest_package_for_staff(user=user, package_id=package_id)
    if not confirmed(request):
        flash.error(request, "Nothing was recalled. Tick the box to confirm the recall.")
        return redirect("messaging:guest_packages", patient_id=package.patient_id)
    try:
        guests.guest_package_recall(actor=user, package=package)
    except MessagingError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, "Package recalled. The recipient can no longer open it.")
    return redirect("messaging:guest_packages", patient_id=package.patient_id)
