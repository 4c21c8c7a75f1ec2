"""The patient's sharing screens: their authorizations, the accounting, their preferences.

Every authorization is read through ``consent.policies.authorizations_visible_to`` with
the patient as the user, so another patient's id answers 404. Signing one and choosing
ordinary e-mail need a fresh second factor; revoking and stopping e-mail never do (the
right to revoke must stay easy to use).

A proxy does the same for the patient they act for (``portal.acting``): authorizations
and preferences when their link lets them manage sharing, the accounting when it lets
them see it. Only a personal representative signs an authorization for the patient
(an invited caregiver is not one); the audit names the proxy as the actor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.forms import LanguageForm
from accounts.models import ProxyScope, User
from consent import policies, reads, selectors, services, statements
from consent.errors import ConsentError
from consent.models import (
    Authorization,
    AuthorizationStatus,
    Purpose,
    RecordCategory,
    RevocationSource,
    WaiverMethod,
    WaiverStatement,
)
from core.decorators import fresh_otp_required
from core.forms import posted
from messaging import delivery_settings
from messaging.errors import MessagingError
from portal.acting import out_of_scope, portal_page, request_acting
from portal.forms import (
    SIGNER_FIELDS,
    AuthorizationForm,
    DeliveryMethodForm,
    PreferencesForm,
    RevokeForm,
    WaiverForm,
)

manages_sharing = portal_page(ProxyScope.MANAGE_SHARING)
sees_accounting = portal_page(ProxyScope.SEE_ACCOUNTING)
ACCOUNTING_PAGE_SIZE = 25
# What a patient types about the recipient and the records is PHI: kept out of error reports.
AUTHORIZATION_FIELDS = (
    "description",
    "recipient_name",
    "recipient_organization",
    "recipient_email",
    "recipient_address",
    "purpose_detail",
    "expiry_event",
    "representative_authority",
    "signer_name",
)


def _labels(values: list[str], choices: type[RecordCategory] | type[Purpose]) -> list[str]:
    names = dict(choices.choices)
    return [str(names.get(value, value)) for value in values]


def _describe(auth: Authorization) -> dict[str, Any]:
    """What the templates show for one authorization (decrypted once, here)."""
    # The expiry is stored as the first second after the last day it covers.
    ends_on = (
        (timezone.localtime(auth.expires_at) - timedelta(seconds=1)).date()
        if auth.expires_at
        else None
    )
    return {
        "auth": auth,
        "status": auth.status(),
        "ends_on": ends_on,
        "categories": _labels(list(auth.categories), RecordCategory),
        "purposes": _labels(list(auth.purposes), Purpose),
    }


# --- authorizations ------------------------------------------------------------------------


@never_cache
@require_GET
@manages_sharing
def sharing(request: HttpRequest) -> HttpResponse:
    acting = request_acting(request)
    current = list(
        policies.authorizations_visible_to(acting.patient)
        .filter(superseded_at__isnull=True)
        .select_related("data_key")
        .order_by("-signed_at")
    )
    reads.authorizations_list_record(
        state="current", searched=False, results=len(current), page=1, patient=acting.patient
    )
    return render(
        request,
        "portal/sharing.html",
        {
            "rows": [_describe(a) for a in current],
            "may_sign": policies.may_sign_for(acting.actor, acting.patient),
            "may_see_accounting": acting.may(ProxyScope.SEE_ACCOUNTING),
            "area": "portal",
        },
    )


@sensitive_post_parameters(*AUTHORIZATION_FIELDS)
@never_cache
@require_http_methods(["GET", "POST"])
@manages_sharing
@fresh_otp_required  # 45 CFR 164.508(c)(1)(vi): the signature must be the signer's own
def sharing_new(request: HttpRequest) -> HttpResponse:
    acting = request_acting(request)
    if not policies.may_sign_for(acting.actor, acting.patient):
        return out_of_scope(
            request,
            acting,
            reason=gettext(
                "Only the patient or their personal representative can sign an authorization."
            ),
        )
    form = AuthorizationForm(posted(request))
    if acting.is_proxy:  # a representative's authority is the one on their link
        for name in SIGNER_FIELDS:
            del form.fields[name]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                auth = services.authorization_sign(
                    actor=acting.actor, patient=acting.patient, terms=form.terms()
                )
            except ConsentError as error:
                form.refused(error.message)
            else:
                flash.success(
                    request,
                    gettext("You signed the authorization. You can revoke it here at any time."),
                )
                return redirect("portal:sharing_detail", authorization_id=auth.pk)
        else:
            form.missing_note()
        status = 400
    return render(
        request,
        "portal/sharing_new.html",
        {
            "form": form,
            "statements": statements.required_statements(),
            "statements_version": statements.VERSION,
            "signs_as_representative": acting.is_proxy,
            "area": "portal",
        },
        status=status,
    )


def _authorization_for(user: User, authorization_id: Any) -> Authorization:
    auth = (
        policies.authorizations_visible_to(user)
        .select_related("data_key")
        .filter(pk=authorization_id)
        .first()
    )
    if auth is None:
        raise Http404
    return auth


@never_cache
@require_GET
@manages_sharing
def sharing_detail(request: HttpRequest, authorization_id: Any) -> HttpResponse:
    patient = request_acting(request).patient
    return _detail_page(request, _authorization_for(patient, authorization_id))


def _detail_page(
    request: HttpRequest, auth: Authorization, form: RevokeForm | None = None, status: int = 200
) -> HttpResponse:
    acting = request_acting(request)
    user = acting.patient
    # What was disclosed under it is part of the accounting: for a proxy whose link shows it.
    disclosures = (
        list(
            policies.disclosures_visible_to(user)
            .filter(authorization__lineage=auth.lineage)
            .select_related("data_key")
            .order_by("-disclosed_at")
        )
        if acting.may(ProxyScope.SEE_ACCOUNTING)
        else []
    )
    current = auth
    if auth.superseded_at is not None:
        current = (
            policies.authorizations_visible_to(user)
            .filter(lineage=auth.lineage, superseded_at__isnull=True)
            .first()
        ) or auth
    reads.authorization_view_record(authorization=auth)
    described = _describe(auth)
    return render(
        request,
        "portal/sharing_detail.html",
        {
            **described,
            "current": current,
            "disclosures": [
                {"entry": d, "purpose": _labels([d.purpose], Purpose)[0]} for d in disclosures
            ],
            "shows_disclosures": acting.may(ProxyScope.SEE_ACCOUNTING),
            "can_revoke": described["status"]
            in (AuthorizationStatus.ACTIVE, AuthorizationStatus.EXPIRED),
            "form": form or RevokeForm(),
            "area": "portal",
        },
        status=status,
    )


@require_POST
@manages_sharing
def sharing_revoke(request: HttpRequest, authorization_id: Any) -> HttpResponse:
    acting = request_acting(request)
    auth = _authorization_for(acting.patient, authorization_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, auth, form, status=400)
    try:
        revoked = services.authorization_revoke(
            actor=acting.actor, authorization=auth, source=RevocationSource.PORTAL
        )
    except ConsentError as error:
        flash.error(request, error.message)
    else:
        assert revoked.revoked_at is not None
        moment = date_format(timezone.localtime(revoked.revoked_at), "j F Y, H:i")
        flash.success(
            request,
            gettext(
                "Revoked from %(moment)s. We share nothing more under it. "
                "We keep a record of what we shared before."
            )
            % {"moment": moment},
        )
    return redirect("portal:sharing_detail", authorization_id=auth.pk)


@never_cache
@require_GET
@sees_accounting
def accounting(request: HttpRequest) -> HttpResponse:
    user = request_acting(request).patient
    page = Paginator(selectors.accounting_shown_to_patient(user), ACCOUNTING_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "entry": entry,
            "purpose": entry.purpose_label,
            "categories": _labels(list(entry.categories), RecordCategory),
        }
        for entry in page.object_list
    ]
    reads.accounting_view_record(patient=user, page=page.number, entries=len(rows))
    return render(
        request,
        "portal/accounting.html",
        {
            "page": page,
            "rows": rows,
            "years": selectors.ACCOUNTING_YEARS,
            "area": "portal",
        },
    )


# --- preferences ---------------------------------------------------------------------------


def _preferences_page(
    request: HttpRequest,
    *,
    form: PreferencesForm | None = None,
    waiver_form: WaiverForm | None = None,
    method_form: DeliveryMethodForm | None = None,
    status: int = 200,
) -> HttpResponse:
    acting = request_acting(request)
    user = acting.patient
    offered = delivery_settings.methods_offered(delivery_settings.delivery_policy_current())
    if method_form is None:
        method_form = DeliveryMethodForm(
            methods=offered,
            initial={"method": delivery_settings.delivery_preference_of(user)},
        )
    prefs = selectors.preferences_of(user)
    if form is None:
        form = PreferencesForm(
            initial={
                "postal_only": prefs.postal_only if prefs else False,
                "postal_address": prefs.postal_address if prefs else "",
            }
        )
    waiver = selectors.waiver_in_force(user)
    statement = selectors.statement_current() if waiver is None else None
    reads.preferences_view_record(patient=user)
    if waiver_form is None and statement is not None:
        waiver_form = WaiverForm(initial={"statement_id": statement.pk})
    return render(
        request,
        "portal/preferences.html",
        {
            "form": form,
            "postal_only": bool(prefs and prefs.postal_only),
            "waiver": waiver,
            "statement": statement,
            "waiver_form": waiver_form,
            "method_form": method_form,
            "methods_offered": offered,
            "patient": user,
            "language_form": LanguageForm(initial={"language": acting.actor.language}),
            "area": "portal",
        },
        status=status,
    )


@sensitive_post_parameters("postal_address")
@never_cache
@require_http_methods(["GET", "POST"])
@manages_sharing
def preferences(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _preferences_page(request)
    acting = request_acting(request)
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            services.preferences_update(
                actor=acting.actor,
                patient=acting.patient,
                postal_only=form.cleaned_data["postal_only"],
                postal_address=form.cleaned_data["postal_address"],
            )
        except ConsentError as error:
            form.add_error("postal_address", error.message)
        else:
            flash.success(
                request,
                gettext("Saved. We will send you letters by post.")
                if form.cleaned_data["postal_only"]
                else gettext("Saved. We will e-mail you when a message is waiting."),
            )
            return redirect("portal:preferences")
    return _preferences_page(request, form=form, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
@manages_sharing
@fresh_otp_required  # how content leaves: as sensitive as choosing ordinary e-mail
def delivery_method(request: HttpRequest) -> HttpResponse:
    # GET only happens after the fresh second factor sent the patient back here.
    if request.method != "POST":
        return redirect(reverse("portal:preferences") + "#delivery")
    acting = request_acting(request)
    offered = delivery_settings.methods_offered(delivery_settings.delivery_policy_current())
    form = DeliveryMethodForm(request.POST, methods=offered)
    if form.is_valid():
        try:
            delivery_settings.delivery_preference_set(
                actor=acting.actor, patient=acting.patient, method=form.cleaned_data["method"]
            )
        except MessagingError:
            form.add_error("method", gettext("Choose one of the ways listed."))
        else:
            flash.success(request, gettext("Saved: how we send you messages."))
            return redirect(reverse("portal:preferences") + "#delivery")
    return _preferences_page(request, method_form=form, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
@manages_sharing
@fresh_otp_required
def waiver_accept(request: HttpRequest) -> HttpResponse:
    # GET only happens after the fresh second factor sent the patient back here.
    if request.method != "POST":
        return redirect(reverse("portal:preferences") + "#email-waiver")
    acting = request_acting(request)
    form = WaiverForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, waiver_form=form, status=400)
    shown = WaiverStatement.objects.filter(pk=form.cleaned_data["statement_id"]).first()
    try:
        if shown is None:
            raise ConsentError("stale_statement", "The risk statement has changed.")
        waiver = services.waiver_accept(
            actor=acting.actor, patient=acting.patient, statement=shown, method=WaiverMethod.PORTAL
        )
    except ConsentError as error:
        if error.code != "stale_statement":
            raise
        flash.error(
            request,
            gettext(
                "The risk statement changed since you opened this page. Nothing was saved. "
                "Please read the new version below before you choose."
            ),
        )
        return redirect(reverse("portal:preferences") + "#email-waiver")
    flash.success(
        request,
        gettext(
            "Saved: you read version %(version)s of the risk statement and chose ordinary "
            "e-mail. The portal stays the default until we start sending by e-mail."
        )
        % {"version": waiver.statement.version},
    )
    return redirect("portal:preferences")


@require_POST
@manages_sharing
def waiver_revoke(request: HttpRequest) -> HttpResponse:
    acting = request_acting(request)
    if services.waiver_revoke(actor=acting.actor, patient=acting.patient) is not None:
        flash.success(
            request, gettext("Stopped: we will not send you anything by ordinary e-mail.")
        )
    return redirect("portal:preferences")
