"""The directory: find a patient (a POST: a name, MRN or birth date never sits in a URL),
open their page, and look after their account; the privacy officer's staff list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policies as account_policies
from accounts import services as accounts
from accounts.errors import AccountsError
from accounts.models import IdentityMethod, ProxyLink, User
from accounts.selectors import request_user
from accounts.services import proxies as proxy_services
from core.decorators import allowed_if
from core.forms import ConfirmForm, posted, posted_files
from directory import policies, selectors
from directory.forms import (
    REPRESENTATIVE_ERROR_FIELDS,
    CareTeamAddForm,
    IdentityCheckForm,
    RepresentativeForm,
    RoleForm,
    SuspendForm,
)
from encryption.files import file_response
from encryption.uploads import JPEG, PDF, PNG, CheckedUpload, checked_uploads
from messaging.forms import PatientSearchForm

directory_users = allowed_if(policies.uses_directory)
staff_managers = allowed_if(policies.manages_staff)
proxy_managers = allowed_if(account_policies.can_manage_proxies)
proxy_suspenders = allowed_if(account_policies.can_suspend_proxies)
SCAN_TYPES = frozenset({PDF, PNG, JPEG})


@sensitive_post_parameters("q")
@never_cache
@require_http_methods(["GET", "POST"])
@directory_users
def search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(posted(request))
    results = form.results_for(request_user(request))
    return render(
        request, "directory/search.html", {"form": form, "results": results, "area": "staff"}
    )


def _patient_page(request: HttpRequest, patient: User, **forms: Any) -> HttpResponse:
    user = request_user(request)
    page = selectors.patient_page(user=user, patient=patient)
    context = {
        "page": page,
        "profile": getattr(patient, "patient_profile", None),
        "identity_form": forms.get("identity_form") or IdentityCheckForm(),
        "care_team_form": CareTeamAddForm(clinicians=page.clinicians_to_add),
        "may": {
            "recover": account_policies.can_recover(user, patient),
            "reinvite": account_policies.can_reinvite(user, patient)
            and not patient.has_usable_password(),
            "care_team": account_policies.can_manage_care_team(user, patient),
            "offboard": account_policies.can_offboard(user, patient),
            "add_proxy": account_policies.can_manage_proxies(user),
            "suspend_proxies": account_policies.can_suspend_proxies(user),
        },
        "identity_methods": IdentityMethod.choices,
        "area": "staff",
    }
    return render(request, "directory/patient.html", context, status=forms.get("status", 200))


@never_cache
@require_GET
@directory_users
def patient(request: HttpRequest, patient_id: int) -> HttpResponse:
    found = selectors.patient_for(user=request_user(request), patient_id=patient_id)
    return _patient_page(request, found)


def _done(request: HttpRequest, action: Any, success: str) -> None:
    try:
        action()
    except AccountsError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, success)


@require_POST
@directory_users
def patient_reinvite(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.patient_for(user=user, patient_id=patient_id)
    _done(
        request,
        lambda: accounts.invitation_resend(actor=user, user=found),
        "A new invitation was sent; the old link no longer works.",
    )
    return redirect("directory:patient", patient_id=found.pk)


@require_POST
@directory_users
def patient_recover(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.patient_for(user=user, patient_id=patient_id)
    return _recover(request, user, found, redirect_to=("directory:patient", found.pk))


def _recover(
    request: HttpRequest, user: User, account: User, redirect_to: tuple[str, int]
) -> HttpResponse:
    form = IdentityCheckForm(posted(request))
    if not form.is_valid():
        flash.error(request, "Say how you verified the person's identity, and confirm it.")
        return redirect(redirect_to[0], redirect_to[1])
    _done(
        request,
        lambda: accounts.recovery_issue(
            actor=user, user=account, identity_method=form.cleaned_data["identity_method"]
        ),
        "A recovery link was sent to the account's address. It works once, for 24 hours.",
    )
    return redirect(redirect_to[0], redirect_to[1])


@require_POST
@directory_users
def care_team_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.patient_for(user=user, patient_id=patient_id)
    clinicians = selectors.patient_page(user=user, patient=found).clinicians_to_add
    form = CareTeamAddForm(posted(request), clinicians=clinicians)
    if form.is_valid():
        clinician = User.objects.get(pk=form.cleaned_data["clinician"])
        _done(
            request,
            lambda: accounts.care_team_member_add(actor=user, patient=found, staff=clinician),
            "Added to the care team.",
        )
    else:
        flash.error(request, "Choose a clinician to add.")
    return redirect("directory:patient", patient_id=found.pk)


@require_POST
@directory_users
def care_team_remove(request: HttpRequest, patient_id: int, staff_id: int) -> HttpResponse:
    user = request_user(request)
    found = selectors.patient_for(user=user, patient_id=patient_id)
    staff = User.objects.filter(pk=staff_id, care_patients__patient=found).first()
    if staff is not None:
        _done(
            request,
            lambda: accounts.care_team_member_remove(actor=user, patient=found, staff=staff),
            "Removed from the care team.",
        )
    return redirect("directory:patient", patient_id=found.pk)


def _offboarding(request: HttpRequest, account: User, to: tuple[str, Any]) -> HttpResponse:
    user = request_user(request)
    if request.POST.get("action") == "deactivate":
        _done(
            request,
            lambda: accounts.account_deactivate(actor=user, user=account),
            "The account is deactivated: every session ended and no link works.",
        )
    else:
        form = IdentityCheckForm(posted(request))
        if not form.is_valid():
            flash.error(request, "Say how you verified the person's identity, and confirm it.")
        else:
            _done(
                request,
                lambda: accounts.account_reactivate(
                    actor=user, user=account, identity_method=form.cleaned_data["identity_method"]
                ),
                "The account is active again; a recovery link was sent to its address.",
            )
    return redirect(to[0], to[1])


@require_POST
@directory_users
def patient_offboard(request: HttpRequest, patient_id: int) -> HttpResponse:
    found = selectors.patient_for(user=request_user(request), patient_id=patient_id)
    return _offboarding(request, found, ("directory:patient", found.pk))


# --- the patient's proxies (45 CFR 164.502(g)) ------------------------------------------------


def _evidence_from(request: HttpRequest, form: RepresentativeForm) -> CheckedUpload | None:
    """The one scan of the document of authority: a PDF, PNG or JPEG; refusals land on
    ``form`` (the upload checks every attachment gets: type by content, size, active PDF)."""
    uploads = checked_uploads(request, form, field="evidence")
    if uploads is None:
        return None
    if len(uploads) != 1:
        form.add_error(
            "evidence",
            "Attach one file: the scan of the document."
            if uploads
            else "Missing: the scan of the document of authority.",
        )
        return None
    if uploads[0].content_type not in SCAN_TYPES:
        form.add_error("evidence", f"“{uploads[0].name}” is not a PDF, PNG or JPEG scan.")
        return None
    return uploads[0]


@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
@proxy_managers
def proxy_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Record a parent, guardian or power of attorney after checking identity and authority."""
    user = request_user(request)
    found = selectors.patient_for(user=user, patient_id=patient_id)
    form = RepresentativeForm(posted(request), posted_files(request))
    if request.method == "POST":
        valid = form.is_valid()
        evidence = _evidence_from(request, form)
        if valid and evidence is not None:
            data = form.cleaned_data
            try:
                proxy_services.representative_invite(
                    actor=user,
                    patient=found,
                    email=data["email"],
                    full_name=data["full_name"],
                    kind=data["kind"],
                    scopes=data["scopes"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    identity_method=data["identity_method"],
                    evidence_kind=data["evidence_kind"],
                    evidence=evidence,
                )
            except AccountsError as error:
                form.add_error(REPRESENTATIVE_ERROR_FIELDS.get(error.code), error.message)
            else:
                flash.success(
                    request,
                    "The proxy is recorded. A new proxy account was sent an invitation to "
                    "set a password; an existing one can sign in as before.",
                )
                return redirect("directory:patient", patient_id=found.pk)
    return render(
        request,
        "directory/proxy_add.html",
        {"form": form, "patient": found, "area": "staff"},
        status=400 if request.method == "POST" else 200,
    )


def _link_of(request: HttpRequest, patient_id: int, link_id: Any) -> tuple[User, ProxyLink]:
    """The signed-in staff member and one of the patient's proxy links, both within what
    they may see; anything else is 404."""
    user = request_user(request)
    found = selectors.patient_for(user=user, patient_id=patient_id)
    return user, selectors.proxy_link_for(user=user, patient=found, link_id=link_id)


@never_cache
@require_GET
@proxy_managers
def proxy_evidence(request: HttpRequest, patient_id: int, link_id: Any) -> HttpResponseBase:
    _user, link = _link_of(request, patient_id, link_id)
    if link.evidence is None:
        raise Http404
    response = file_response(link.evidence)
    selectors.proxy_evidence_download_record(link=link)
    return response


@require_POST
@proxy_managers
def proxy_revoke(request: HttpRequest, patient_id: int, link_id: Any) -> HttpResponse:
    user, link = _link_of(request, patient_id, link_id)
    if not ConfirmForm(request.POST).is_valid():
        flash.error(request, "Tick the box to confirm you are ending this proxy's access.")
    else:
        _done(
            request,
            lambda: proxy_services.proxy_link_revoke(actor=user, link=link),
            "The link has ended: the proxy no longer reaches this patient.",
        )
    return redirect("directory:patient", patient_id=link.patient_id)


@require_POST
@proxy_managers
def proxy_reinvite(request: HttpRequest, patient_id: int, link_id: Any) -> HttpResponse:
    """A new invitation for a proxy who never set a password (the old link stops working)."""
    user, link = _link_of(request, patient_id, link_id)
    _done(
        request,
        lambda: accounts.invitation_resend(actor=user, user=link.proxy),
        "A new invitation was sent to the proxy; the old link no longer works.",
    )
    return redirect("directory:patient", patient_id=link.patient_id)


@require_POST
@proxy_managers
def proxy_recover(request: HttpRequest, patient_id: int, link_id: Any) -> HttpResponse:
    """A proxy who lost their second factor: as for a patient, after an identity check."""
    user, link = _link_of(request, patient_id, link_id)
    return _recover(request, user, link.proxy, redirect_to=("directory:patient", link.patient_id))


@sensitive_post_parameters("reason")
@require_POST
@proxy_suspenders
def proxy_suspend(request: HttpRequest, patient_id: int, link_id: Any) -> HttpResponse:
    user, link = _link_of(request, patient_id, link_id)
    form = SuspendForm(posted(request))
    if not form.is_valid():
        flash.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        _done(
            request,
            lambda: proxy_services.proxy_link_suspend(
                actor=user, link=link, reason=form.cleaned_data["reason"]
            ),
            "The link is suspended: the proxy reaches nothing from their next click.",
        )
    return redirect("directory:patient", patient_id=link.patient_id)


# --- staff accounts (the privacy officer) -----------------------------------------------------


@never_cache
@require_GET
@staff_managers
def staff_list(request: HttpRequest) -> HttpResponse:
    accounts_shown = list(selectors.staff_accounts(user=request_user(request)))
    selectors.staff_list_record(shown=len(accounts_shown))
    rows = [(account, selectors.account_state(account)) for account in accounts_shown]
    return render(request, "directory/staff_list.html", {"rows": rows, "area": "staff"})


@never_cache
@require_GET
@staff_managers
def staff(request: HttpRequest, staff_id: int) -> HttpResponse:
    user = request_user(request)
    account = selectors.staff_for(user=user, staff_id=staff_id)
    context = {
        "account": account,
        "state": selectors.account_state(account),
        "work": selectors.assigned_open_work(account),
        "identity_form": IdentityCheckForm(),
        "role_form": RoleForm(initial={"role": account.role}),
        "may": {
            "recover": account_policies.can_recover(user, account),
            "reinvite": account_policies.can_reinvite(user, account)
            and not account.has_usable_password(),
            "offboard": account_policies.can_offboard(user, account),
        },
        "area": "staff",
    }
    return render(request, "directory/staff.html", context)


@require_POST
@staff_managers
def staff_recover(request: HttpRequest, staff_id: int) -> HttpResponse:
    user = request_user(request)
    account = selectors.staff_for(user=user, staff_id=staff_id)
    return _recover(request, user, account, redirect_to=("directory:staff", account.pk))


@require_POST
@staff_managers
def staff_reinvite(request: HttpRequest, staff_id: int) -> HttpResponse:
    user = request_user(request)
    account = selectors.staff_for(user=user, staff_id=staff_id)
    _done(
        request,
        lambda: accounts.invitation_resend(actor=user, user=account),
        "A new invitation was sent; the old link no longer works.",
    )
    return redirect("directory:staff", staff_id=account.pk)


@require_POST
@staff_managers
def staff_offboard(request: HttpRequest, staff_id: int) -> HttpResponse:
    account = selectors.staff_for(user=request_user(request), staff_id=staff_id)
    return _offboarding(request, account, ("directory:staff", account.pk))


@require_POST
@staff_managers
def staff_role(request: HttpRequest, staff_id: int) -> HttpResponse:
    user = request_user(request)
    account = selectors.staff_for(user=user, staff_id=staff_id)
    form = RoleForm(posted(request))
    if form.is_valid():
        _done(
            request,
            lambda: accounts.role_change(actor=user, user=account, role=form.cleaned_data["role"]),
            "The role was changed; the person's sessions ended.",
        )
    return redirect("directory:staff", staff_id=account.pk)
