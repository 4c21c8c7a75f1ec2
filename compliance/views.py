"""Compliance screens: every member of staff's policy acknowledgement page; the privacy
officer's policies (publish, who has acknowledged) and business associates register."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import request_user
from compliance import selectors, services
from compliance.errors import ComplianceError
from compliance.forms import AcknowledgeForm, AgreementForm, AssociateForm, EndForm, PublishForm
from compliance.models import PolicyDocument, PolicyKind
from compliance.policies import acknowledges_policies, manages_compliance
from core.decorators import allowed_if
from core.forms import posted, posted_files
from core.sessions import safe_local_url
from encryption.files import file_response
from encryption.uploads import JPEG, PDF, PNG, CheckedUpload, checked_uploads

staff_only = allowed_if(acknowledges_policies)
officer_only = allowed_if(manages_compliance)
SCAN_TYPES = frozenset({PDF, PNG, JPEG})

# --- acknowledging (every member of staff) ----------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def acknowledge(request: HttpRequest) -> HttpResponse:
    """The first current policy the person has not acknowledged, with the box to tick;
    once none is left, back to where they were going (``next``)."""
    user = request_user(request)
    next_url = safe_local_url(request, request.GET.get("next") or request.POST.get("next"))
    form = AcknowledgeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        document = get_object_or_404(PolicyDocument, pk=form.cleaned_data["document"])
        try:
            services.policy_acknowledge(actor=user, document=document)
        except ComplianceError as error:
            flash.error(request, error.message)
        else:
            flash.success(request, f"Acknowledged: {document.title} (version {document.version}).")
        if selectors.acknowledgement_pending(user):
            query = urlencode({"next": next_url}) if next_url else ""
            return redirect(reverse("compliance:acknowledge") + (f"?{query}" if query else ""))
        return redirect(next_url or "accounts:home")
    pending = list(selectors.policies_pending_for(user))
    if not pending and next_url and request.method == "GET":
        return redirect(next_url)  # acknowledged meanwhile (another tab): carry on
    shown = pending[0] if pending else None
    if shown is not None:
        services.policy_read_record(actor=user, document=shown)
        if request.method == "GET":
            form = AcknowledgeForm(initial={"document": shown.pk})
    return render(
        request,
        "compliance/acknowledge.html",
        {
            "form": form,
            "document": shown,
            "remaining": len(pending),
            "next": next_url,
            "acknowledged": selectors.acknowledgements_of(user)[:20],
            "policy_gate": shown is not None,
        },
        status=400 if form.errors else 200,
    )


# --- policies (the privacy officer) -----------------------------------------------------------


@dataclass(frozen=True)
class _PolicyRow:
    kind: str
    label: str
    current: PolicyDocument | None
    acknowledged: int
    earlier: list[PolicyDocument]


@never_cache
@require_GET
@officer_only
def policies(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    versions = list(selectors.policies_visible_to(user))
    counts = selectors.acknowledged_counts()
    rows = []
    for kind, label in PolicyKind.choices:
        of_kind = [d for d in versions if d.kind == kind]
        current = next((d for d in of_kind if d.is_current), None)
        rows.append(
            _PolicyRow(
                kind=kind,
                label=str(label),
                current=current,
                acknowledged=counts.get(current.pk, 0) if current else 0,
                earlier=[d for d in of_kind if not d.is_current],
            )
        )
    services.policies_list_record(actor=user, shown=len(versions))
    return render(
        request,
        "compliance/policies.html",
        {
            "rows": rows,
            "workforce": selectors.workforce().count(),
            "pending_staff": selectors.staff_with_pending_policies().count(),
            "mine_pending": selectors.acknowledgement_pending(user),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@officer_only
def policy_publish(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    initial = {}
    kind = request.GET.get("kind", "")
    if kind in PolicyKind.values:
        initial["kind"] = kind
        current = selectors.policies_current().filter(kind=kind).first()
        if current is not None:
            initial.update(title=current.title, text=current.text)
    form = PublishForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        document = services.policy_publish(actor=user, **form.cleaned_data)
        flash.success(
            request,
            f"Published: {document.title}, version {document.version}. Every member of staff "
            "must acknowledge it at their next page.",
        )
        return redirect("compliance:policy", document_id=document.pk)
    return render(
        request,
        "compliance/policy_publish.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@never_cache
@require_GET
@officer_only
def policy(request: HttpRequest, document_id: int) -> HttpResponse:
    user = request_user(request)
    document = selectors.policy_for(user=user, document_id=document_id)
    rows = selectors.acknowledgement_rows(user=user, document=document)
    services.policy_view_record(actor=user, document=document)
    return render(
        request,
        "compliance/policy.html",
        {
            "document": document,
            "rows": rows,
            "done": sum(1 for row in rows if row.acknowledged_at is not None),
        },
    )


# --- business associates (the privacy officer) ------------------------------------------------


def _scan_from(request: HttpRequest, form: AgreementForm) -> CheckedUpload | None:
    """The one scan of the signed agreement: a PDF, PNG or JPEG; refusals land on ``form``."""
    uploads = checked_uploads(request, form, field="scan")
    if uploads is None:
        return None
    if len(uploads) != 1:
        form.add_error("scan", "Attach one file: the scan of the signed agreement.")
        return None
    if uploads[0].content_type not in SCAN_TYPES:
        form.add_error("scan", f"“{uploads[0].name}” is not a PDF, PNG or JPEG scan.")
        return None
    return uploads[0]


def _associates_page(request: HttpRequest, form: AssociateForm, status: int = 200) -> HttpResponse:
    user = request_user(request)
    rows = [
        (associate, selectors.current_agreement(associate))
        for associate in selectors.associates_visible_to(user)
    ]
    services.associates_list_record(actor=user, shown=len(rows))
    return render(
        request,
        "compliance/associates.html",
        {
            "active": [row for row in rows if row[0].ended_on is None],
            "ended": [row for row in rows if row[0].ended_on is not None],
            "form": form,
            "soon": selectors.renewal_soon_day(),
        },
        status=status,
    )


@never_cache
@require_GET
@officer_only
def associates(request: HttpRequest) -> HttpResponse:
    return _associates_page(request, AssociateForm())


@sensitive_post_parameters()
@require_POST
@officer_only
def associate_add(request: HttpRequest) -> HttpResponse:
    form = AssociateForm(request.POST, posted_files(request))
    valid = form.is_valid()
    scan = _scan_from(request, form)
    if not valid or scan is None:
        return _associates_page(request, form, status=400)
    try:
        data = form.cleaned_data
        associate = services.associate_add(
            actor=request_user(request),
            name=data["name"],
            service=data["service"],
            signed_on=data["signed_on"],
            renewal_on=data["renewal_on"],
            scan=scan,
        )
    except ComplianceError as error:
        form.add_error(None, error.message)
        return _associates_page(request, form, status=400)
    flash.success(request, f"Added: {associate.name}. The agreement's scan is stored encrypted.")
    return redirect("compliance:associate", associate_id=associate.pk)


def _associate_page(
    request: HttpRequest,
    associate_id: int,
    *,
    renew: AgreementForm | None = None,
    end: EndForm | None = None,
    status: int = 200,
) -> HttpResponse:
    associate = selectors.associate_for(user=request_user(request), associate_id=associate_id)
    return render(
        request,
        "compliance/associate.html",
        {
            "associate": associate,
            "agreements": list(associate.agreements.all()),
            "renew": renew or AgreementForm(),
            "end": end or EndForm(),
            "soon": selectors.renewal_soon_day(),
        },
        status=status,
    )


@never_cache
@require_GET
@officer_only
def associate(request: HttpRequest, associate_id: int) -> HttpResponse:
    return _associate_page(request, associate_id)


@sensitive_post_parameters()
@require_POST
@officer_only
def associate_renew(request: HttpRequest, associate_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.associate_for(user=user, associate_id=associate_id)
    form = AgreementForm(request.POST, posted_files(request))
    valid = form.is_valid()
    scan = _scan_from(request, form)
    if not valid or scan is None:
        return _associate_page(request, associate_id, renew=form, status=400)
    try:
        services.associate_renew(
            actor=user,
            associate=found,
            signed_on=form.cleaned_data["signed_on"],
            renewal_on=form.cleaned_data["renewal_on"],
            scan=scan,
        )
    except ComplianceError as error:
        form.add_error(None, error.message)
        return _associate_page(request, associate_id, renew=form, status=400)
    flash.success(request, "Renewed agreement recorded. Its scan is stored encrypted.")
    return redirect("compliance:associate", associate_id=found.pk)


@require_POST
@officer_only
def associate_end(request: HttpRequest, associate_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.associate_for(user=user, associate_id=associate_id)
    form = EndForm(request.POST)
    if not form.is_valid():
        return _associate_page(request, associate_id, end=form, status=400)
    try:
        services.associate_end(actor=user, associate=found, ended_on=form.cleaned_data["ended_on"])
    except ComplianceError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, f"Ended: {found.name}. It stays in the register.")
    return redirect("compliance:associate", associate_id=found.pk)


@never_cache
@require_GET
@officer_only
def agreement_scan(request: HttpRequest, associate_id: int, agreement_id: int) -> HttpResponseBase:
    user = request_user(request)
    agreement = selectors.agreement_for(
        user=user, associate_id=associate_id, agreement_id=agreement_id
    )
    response = file_response(agreement.scan)
    services.agreement_download_record(actor=user, agreement=agreement)
    return response
