"""The privacy officer's retention screens: policies with the 30-day forecast, legal
holds, and the history of purges."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import request_user
from core.decorators import allowed_if
from core.forms import confirmed, posted
from retention import selectors, services
from retention.errors import RetentionError
from retention.forms import HoldForm, PolicyForm
from retention.policies import manages_retention
from retention.rules import KEPT, RULES, RecordKind

officer_only = allowed_if(manages_retention)


@never_cache
@require_GET
@officer_only
def overview(request: HttpRequest) -> HttpResponse:
    policies = services.policies_effective()
    forecast = services.purge_forecast(days=services.FORECAST_DAYS)
    rows = [
        {
            "kind": kind,
            "policy": policy,
            "rule": RULES[kind],
            "due": forecast.due[kind],
        }
        for kind, policy in policies.items()
    ]
    services.overview_view_record(forecast_total=sum(forecast.due.values()))
    return render(
        request,
        "retention/overview.html",
        {
            "rows": rows,
            "kept": KEPT,
            "forecast_days": services.FORECAST_DAYS,
            "forecast_total": sum(forecast.due.values()),
            "unfinished": forecast.unfinished,
            "active_holds": selectors.holds_visible_to(request_user(request))
            .filter(released_at__isnull=True)
            .count(),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@officer_only
def policy_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in RULES:
        raise Http404
    current = services.policies_effective()[kind]
    initial = {
        "clock_start": current.clock_start,
        "amount": current.period.amount,
        "unit": current.period.unit,
    }
    form = PolicyForm(posted(request), kind=kind, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.policy_update(actor=request_user(request), kind=kind, **form.cleaned_data)
            except RetentionError as error:
                form.add_error("amount", error.message)
            else:
                flash.success(request, f"Saved: {current.label}.")
                return redirect("retention:overview")
        else:
            _refusal_record(request, kind, form)
    return render(
        request,
        "retention/policy_edit.html",
        {"form": form, "kind": kind, "label": RecordKind(kind).label, "current": current},
        status=400 if form.errors else 200,
    )


def _refusal_record(request: HttpRequest, kind: str, form: PolicyForm) -> None:
    """A period below the floor is refused by the form; the refusal is audited too."""
    if "amount" in form.errors and form.data.get("amount", "").isdigit():
        services.policy_refusal_record(
            kind=kind, amount=int(form.data["amount"]), unit=str(form.data.get("unit", ""))
        )


@never_cache
@require_GET
@officer_only
def holds(request: HttpRequest) -> HttpResponse:
    return _holds_page(request, HoldForm())


def _holds_page(request: HttpRequest, form: HoldForm, status: int = 200) -> HttpResponse:
    now = timezone.now()
    rows = list(selectors.holds_visible_to(request_user(request)))
    services.holds_list_record(holds=rows)
    return render(
        request,
        "retention/holds.html",
        {
            "active": [h for h in rows if h.is_active(now)],
            "ended": [h for h in rows if not h.is_active(now)],
            "form": form,
        },
        status=status,
    )


@sensitive_post_parameters("reason", "mrn")
@require_POST
@officer_only
def hold_place(request: HttpRequest) -> HttpResponse:
    form = HoldForm(request.POST)
    if not form.is_valid():
        return _holds_page(request, form, status=400)
    patient = selectors.patient_by_mrn(form.cleaned_data["mrn"])
    if patient is None:
        form.add_error("mrn", "No patient has this MRN.")
        return _holds_page(request, form, status=400)
    target = form.target(patient)
    if form.errors:
        return _holds_page(request, form, status=400)
    try:
        services.hold_place(
            actor=request_user(request),
            scope=form.cleaned_data["scope"],
            patient=patient,
            reason=form.cleaned_data["reason"],
            ends_on=form.cleaned_data.get("ends_on"),
            **target,
        )
    except RetentionError as error:
        form.add_error("ends_on", error.message)
        return _holds_page(request, form, status=400)
    flash.success(request, "Hold placed: nothing under it will be purged while it lasts.")
    return redirect("retention:holds")


@require_POST
@officer_only
def hold_release(request: HttpRequest, hold_id: uuid.UUID) -> HttpResponse:
    hold = selectors.hold_for(user=request_user(request), hold_id=hold_id)
    if not confirmed(request):
        flash.error(request, "The hold is still in place. Tick the box to confirm the release.")
        return redirect("retention:holds")
    try:
        services.hold_release(actor=request_user(request), hold=hold)
    except RetentionError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, "Hold released: what it kept follows its retention policy again.")
    return redirect("retention:holds")


@never_cache
@require_GET
@officer_only
def runs(request: HttpRequest) -> HttpResponse:
    page = selectors.runs_page(user=request_user(request), page=request.GET.get("page"))
    labels = dict(RecordKind.choices)
    rows: list[dict[str, Any]] = [
        {
            "run": run,
            "purged": [(labels.get(k, k), n) for k, n in sorted(run.purged.items())],
            "finished": sum(run.finished.values()),
        }
        for run in page.object_list
    ]
    return render(request, "retention/runs.html", {"page": page, "rows": rows})
