"""Staff and privacy-officer screens for authorizations, waivers and accountings.

Staff reach the patients ``consent.policies.patients_in_consent_scope`` gives them;
anything else is 404. Every page showing consent data is audited with ids and counts.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import request_user
from audit import registry
from consent import accounting, policies, reads, selectors, services, statements
from consent.errors import ConsentError
from consent.fhir import authorization_to_fhir
from consent.forms import (
    AuthorizationForm,
    AuthorizationSearchForm,
    OutsideDisclosureForm,
    RevokeForm,
    WaiverRecordForm,
    WaiverStatementForm,
    authorization_initial,
)
from consent.models import (
    Authorization,
    AuthorizationStatus,
    Purpose,
    RecordCategory,
    RevocationSource,
    Source,
    WaiverMethod,
    WaiverStatement,
)
from core.decorators import allowed_if, fresh_otp_required_for_download
from core.forms import posted, posted_files
from encryption.files import file_response
from encryption.uploads import JPEG, PDF, PNG, CheckedUpload, checked_uploads

staff_only = allowed_if(policies.may_handle_consent)
officer_only = allowed_if(policies.is_privacy_officer)
PAGE_SIZE = 25
SCAN_TYPES = frozenset({PDF, PNG, JPEG})


def _labels(auth: Authorization) -> dict[str, list[str]]:
    return {
        "categories": [str(RecordCategory(c).label) for c in auth.categories],
        "purposes": [str(Purpose(p).label) for p in auth.purposes],
    }


def _row(auth: Authorization) -> dict[str, Any]:
    status = auth.status()
    return {
        "auth": auth,
        "labels": _labels(auth),
        "status": status,
        "status_label": AuthorizationStatus(status).label,
    }


# --- a patient's consent overview ------------------------------------------------------------


@never_cache
@require_GET
@staff_only
def patient(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.patient_for_consent(user=user, patient_id=patient_id)
    rows = [_row(auth) for auth in selectors.authorizations_current_of(found)]
    entries = list(selectors.accounting_of(found))
    reads.patient_overview_view_record(
        patient=found, authorizations=len(rows), disclosures=len(entries)
    )
    return render(
        request,
        "consent/patient.html",
        {
            "patient": found,
            "rows": rows,
            "waiver": selectors.waiver_in_force(found),
            "statement": selectors.statement_current(),
            "preferences": selectors.preferences_of(found),
            "entries": entries,
            "today": timezone.localdate(),
            "may_record_outside": policies.may_record_outside_disclosures(user),
            "since": selectors.accounting_since(),
            "area": "staff",
        },
    )


@require_POST
@staff_only
def waiver_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A paper waiver the patient signed at the desk, or their request to end one."""
    user = request_user(request)
    found = selectors.patient_for_consent(user=user, patient_id=patient_id)
    form = WaiverRecordForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Choose what to record.")
    elif form.cleaned_data["action"] == "revoke":
        if services.waiver_revoke(actor=user, patient=found) is None:
            flash.error(request, "There is no waiver in force to revoke.")
        else:
            flash.success(request, "Waiver revoked. Messages stay in the portal only.")
    elif not form.cleaned_data["signed_statement"]:
        flash.error(request, "Confirm that the patient signed the statement shown.")
    else:
        statement = WaiverStatement.objects.filter(
            version=form.cleaned_data["statement_version"] or 0
        ).first()
        try:
            if statement is None:
                raise ConsentError("no_statement", "Publish a risk statement first.")
            services.waiver_accept(
                actor=user, patient=found, statement=statement, method=WaiverMethod.PAPER
            )
        except ConsentError as error:
            flash.error(request, error.message)
        else:
            flash.success(request, "Waiver recorded.")
    return redirect("consent:patient", patient_id=found.pk)


# --- recording and correcting paper forms ----------------------------------------------------


@dataclass(frozen=True)
class _Scan:
    ok: bool
    upload: CheckedUpload | None = None


def _scan_from(request: HttpRequest, form: AuthorizationForm, *, required: bool) -> _Scan:
    """The one scan of the signed form: a PDF, PNG or JPEG; refusals land on ``form``."""
    uploads = checked_uploads(request, form, field="scan")
    if uploads is None:
        return _Scan(False)
    if len(uploads) > 1:
        form.add_error("scan", "Attach one file: the scan of the signed form.")
        return _Scan(False)
    if not uploads:
        if required:
            form.add_error("scan", "Missing: the scan of the signed form.")
        return _Scan(not required)
    if uploads[0].content_type not in SCAN_TYPES:
        form.add_error("scan", f"“{uploads[0].name}” is not a PDF, PNG or JPEG scan.")
        return _Scan(False)
    return _Scan(True, uploads[0])


def _form_page(
    request: HttpRequest, form: AuthorizationForm, *, patient: User, correcting: Any = None
) -> HttpResponse:
    return render(
        request,
        "consent/authorization_form.html",
        {
            "form": form,
            "patient": patient,
            "correcting": correcting,
            "statements": statements.required_statements(),
            "area": "staff",
        },
        status=400 if request.method == "POST" else 200,
    )


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def paper_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.patient_for_consent(user=user, patient_id=patient_id)
    form = AuthorizationForm(posted(request), posted_files(request))
    if request.method == "POST":
        valid = form.is_valid()
        scan = _scan_from(request, form, required=True)
        if valid and scan.ok and scan.upload is not None:
            try:
                auth = services.authorization_record_paper(
                    actor=user,
                    patient=found,
                    terms=form.terms(),
                    signed_on=form.cleaned_data["signed_on"],
                    scan=scan.upload,
                )
            except ConsentError as error:
                form.add_error(None, error.message)
            else:
                flash.success(request, "Authorization recorded. The scan is stored encrypted.")
                return redirect("consent:authorization", authorization_id=auth.pk)
    return _form_page(request, form, patient=found)


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def correct(request: HttpRequest, authorization_id: uuid.UUID) -> HttpResponse:
    """A transcription fix to a paper form: a new version, the old one kept."""
    user = request_user(request)
    auth = selectors.authorization_for(user=user, authorization_id=authorization_id)
    refusal = _correction_refusal(auth)
    if refusal:
        flash.error(request, refusal)
        return redirect("consent:authorization", authorization_id=auth.pk)
    form = AuthorizationForm(
        posted(request),
        posted_files(request),
        initial=authorization_initial(auth),
        scan_required=False,
    )
    if request.method == "POST":
        valid = form.is_valid()
        scan = _scan_from(request, form, required=False)
        if valid and scan.ok:
            try:
                corrected = services.authorization_correct(
                    actor=user,
                    authorization=auth,
                    terms=form.terms(),
                    signed_on=form.cleaned_data["signed_on"],
                    scan=scan.upload,
                )
            except ConsentError as error:
                form.add_error(None, error.message)
            else:
                flash.success(request, f"Correction saved as version {corrected.version}.")
                return redirect("consent:authorization", authorization_id=corrected.pk)
    return _form_page(request, form, patient=auth.patient, correcting=auth)


def _correction_refusal(auth: Authorization) -> str:
    if auth.source != Source.PAPER:
        return (
            "An authorization signed in the portal cannot be corrected; the patient can "
            "revoke it and sign a new one."
        )
    if auth.superseded_at is not None:
        return "This version has already been corrected: correct the current version."
    if auth.revoked_at is not None:
        return "A revoked authorization cannot be corrected."
    return ""


# --- one authorization -----------------------------------------------------------------------


@never_cache
@require_GET
@staff_only
def authorization(request: HttpRequest, authorization_id: uuid.UUID) -> HttpResponse:
    user = request_user(request)
    auth = selectors.authorization_for(user=user, authorization_id=authorization_id)
    versions = selectors.authorization_versions(auth)
    events = selectors.authorization_events(user=user, versions=versions)
    reads.authorization_view_record(authorization=auth)
    status = auth.status()
    return render(
        request,
        "consent/authorization.html",
        {
            "auth": auth,
            "labels": _labels(auth),
            "status": status,
            "status_label": AuthorizationStatus(status).label,
            "versions": versions,
            "current": versions[-1],
            "events": [(event, registry.label_for(event.action)) for event in events],
            "may_revoke": auth.superseded_at is None and auth.revoked_at is None,
            "may_correct": not _correction_refusal(auth),
            "revoke_form": RevokeForm(),
            "statements": statements.required_statements(),
            "area": "staff",
        },
    )


@require_POST
@staff_only
def revoke(request: HttpRequest, authorization_id: uuid.UUID) -> HttpResponse:
    """Staff record the patient's written revocation (45 CFR 164.508(b)(5))."""
    user = request_user(request)
    auth = selectors.authorization_for(user=user, authorization_id=authorization_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        flash.error(request, "A revocation recorded by staff needs the patient's written request.")
        return redirect("consent:authorization", authorization_id=auth.pk)
    try:
        services.authorization_revoke(
            actor=user, authorization=auth, source=RevocationSource.WRITTEN
        )
    except ConsentError as error:
        flash.error(request, error.message)
    else:
        flash.success(
            request,
            "Revoked from now on. Nothing more is sent under it; what was disclosed before "
            "stays in the accounting.",
        )
    return redirect("consent:authorization", authorization_id=auth.pk)


@require_POST
@staff_only
def event_expire(request: HttpRequest, authorization_id: uuid.UUID) -> HttpResponse:
    """Staff record that the authorization's expiry event has happened."""
    user = request_user(request)
    auth = selectors.authorization_for(user=user, authorization_id=authorization_id)
    try:
        services.authorization_event_expire(actor=user, authorization=auth)
    except ConsentError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, "Recorded: the authorization has ended and covers nothing more.")
    return redirect("consent:authorization", authorization_id=auth.pk)


@never_cache
@require_GET
@staff_only
def scan(request: HttpRequest, authorization_id: uuid.UUID) -> HttpResponseBase:
    user = request_user(request)
    auth = selectors.authorization_for(user=user, authorization_id=authorization_id)
    if auth.scan is None:
        raise Http404
    response = file_response(auth.scan)
    reads.scan_download_record(authorization=auth)
    return response


@never_cache
@require_GET
@staff_only
@fresh_otp_required_for_download
def fhir_export(request: HttpRequest, authorization_id: uuid.UUID) -> HttpResponse:
    user = request_user(request)
    auth = selectors.authorization_for(user=user, authorization_id=authorization_id)
    resource = authorization_to_fhir(auth)
    reads.authorization_export_record(authorization=auth, fmt="fhir-r4-consent")
    response = HttpResponse(
        json.dumps(resource, indent=2, ensure_ascii=False),
        content_type="application/fhir+json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="consent-{auth.pk}.json"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- disclosures made outside the portal -----------------------------------------------------


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@allowed_if(policies.may_record_outside_disclosures)
def outside_disclosure_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A disclosure made outside the portal under 164.512, into the patient's accounting."""
    user = request_user(request)
    found = selectors.patient_for_consent(user=user, patient_id=patient_id)
    form = OutsideDisclosureForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.outside_disclosure_record(actor=user, patient=found, entry=form.entry())
        except ConsentError as error:
            form.add_error(None, error.message)
        else:
            flash.success(request, "Disclosure recorded in the patient's accounting.")
            return redirect("consent:patient", patient_id=found.pk)
    return render(
        request,
        "consent/outside_disclosure_form.html",
        {"form": form, "patient": found, "area": "staff"},
        status=400 if request.method == "POST" else 200,
    )


# --- the accounting --------------------------------------------------------------------------


@never_cache
@require_GET
@staff_only
@fresh_otp_required_for_download
def accounting_pdf(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's accounting of disclosures, six years back (45 CFR 164.528)."""
    user = request_user(request)
    found = selectors.patient_for_consent(user=user, patient_id=patient_id)
    entries = list(selectors.accounting_shown_to_patient(found))
    pdf = accounting.accounting_pdf(patient=found, entries=entries, requested_by=user)
    reads.accounting_export_record(patient=found, entries=len(entries))
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="accounting-of-disclosures-{stamp}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the privacy officer's screens -----------------------------------------------------------


@sensitive_post_parameters("q")
@never_cache
@require_http_methods(["GET", "POST"])
@officer_only
def authorizations(request: HttpRequest) -> HttpResponse:
    """Every current authorization, filtered by state; the recipient search is a POST so
    the name searched for never sits in a URL, a log or the browser's history."""
    searching = request.method == "POST"
    form = AuthorizationSearchForm(request.POST if searching else request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    state = data.get("state") or "active"
    query = (data.get("q") or "").strip() if searching else ""
    rows: Any = selectors.authorizations_listed(user=request_user(request), state=state)
    if query:
        rows = selectors.recipient_matching(rows, query)
    page: Page[Authorization] = Paginator(rows, PAGE_SIZE).get_page(data.get("page"))
    page.object_list = list(page.object_list)
    reads.authorizations_list_record(
        state=state, searched=bool(query), results=page.paginator.count, page=page.number
    )
    return render(
        request,
        "consent/authorizations.html",
        {
            "form": form,
            "page": page,
            "state": state,
            "states": selectors.AUTHORIZATION_STATES,
            "query": query,
            "now": timezone.now(),
            "area": "staff",
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@officer_only
def waiver_statements(request: HttpRequest) -> HttpResponse:
    form = WaiverStatementForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            published = services.waiver_statement_publish(
                actor=request_user(request), text=form.cleaned_data["text"]
            )
        except ConsentError as error:
            form.add_error("text", error.message)
        else:
            flash.success(
                request,
                f"Version {published.version} published. Patients accept this wording from now on.",
            )
            return redirect("consent:waiver_statements")
    return render(
        request,
        "consent/waiver_statements.html",
        {"form": form, "statements": selectors.waiver_statements_list(), "area": "staff"},
    )
