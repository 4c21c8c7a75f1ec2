"""Audit log screens (45 CFR 164.312(b) review; 164.308(a)(1)(ii)(D) activity review).

Every look at the log is itself an event. The sign-in and second-factor gate is the
global middleware; these views add the role rule (404 outside it) and, for exports, a
fresh second factor.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import policies, registry, review, selectors, services
from audit.forms import EventSearchForm, ReviewPeriodForm, ReviewRecordForm
from audit.models import AuditEvent
from core.decorators import allowed_if, fresh_otp_required_for_download

EXPORT_FORMATS = ("csv", "json")
EXPORT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_role",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "patient_id",
    "outcome",
    "ip",
    "user_agent",
    "request_id",
    "details",
)


@sensitive_post_parameters("patient", "staff")
@never_cache
@require_http_methods(["GET", "POST"])
@allowed_if(policies.may_review_audit_log)
def event_search(request: HttpRequest) -> HttpResponse:
    """A POST names people (a name or MRN never sits in a URL) and comes back as a GET
    that carries ids and codes only; the GET runs the search and is recorded."""
    if request.method == "POST":
        form = EventSearchForm(request.POST)
        if form.is_valid() and form.people_resolve(user=request.user):
            return redirect(f"{reverse('audit:search')}?{urlencode(form.filters().codes())}")
        return _search_page(request, form, page=None, query="")
    data = request.GET.copy()
    named = registry.people().named(
        user=request.user,
        ids=[_positive_int(data.get("patient_id")) or 0, _positive_int(data.get("actor_id")) or 0],
    )
    for field, id_field in (("patient", "patient_id"), ("staff", "actor_id")):
        person = named.get(_positive_int(data.get(id_field)) or 0)
        data[field] = person.name if person else ""
    form = EventSearchForm(data)
    page = None
    if form.is_valid():
        filters = form.filters()
        before = form.cleaned_data.get("before")
        page = selectors.events_search(user=request.user, filters=filters, before=before)
        services.search_record(filters=filters, shown=len(page.events), before=before)
    return _search_page(
        request, form, page=page, query=urlencode(form.filters().codes()) if page else ""
    )


def _search_page(
    request: HttpRequest, form: EventSearchForm, *, page: selectors.EventPage | None, query: str
) -> HttpResponse:
    base = form.filters().codes() if form.is_valid() else {}
    choices = [
        (person, f"{reverse('audit:search')}?{urlencode({**base, id_field: person.pk})}")
        for people, id_field in (
            (form.patient_choices, "patient_id"),
            (form.staff_choices, "actor_id"),
        )
        for person in people
    ]
    rows = _rows(request, page.events) if page else []
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "choices": choices,
            "query": query,
            "formats": EXPORT_FORMATS,
        },
    )


def _rows(request: HttpRequest, events: list[AuditEvent]) -> list[dict[str, Any]]:
    """Each event with people's names (one lookup for the page) and human labels."""
    ids = {e.actor_id for e in events} | {e.patient_id for e in events}
    named = registry.people().named(user=request.user, ids=[pk for pk in ids if pk])
    return [
        {
            "event": event,
            "action": registry.label_for(event.action),
            "actor": named.get(event.actor_id or 0),
            "patient": named.get(event.patient_id or 0),
            "item": registry.target_label_for(event.target_type) if event.target_type else "",
        }
        for event in events
    ]


@require_GET
@allowed_if(policies.may_review_audit_log)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        event = selectors.event_get(user=request.user, event_id=pk)
    except AuditEvent.DoesNotExist:
        raise Http404 from None
    services.event_view_record(event=event)
    sealed = hasattr(event, "seal")
    [row] = _rows(request, [event])
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "row": row,
            "action_label": registry.label_for(event.action),
            "details": json.dumps(event.details, indent=2, sort_keys=True),
            "sealed": sealed,
        },
    )


@require_GET
@allowed_if(policies.may_review_audit_log)
@fresh_otp_required_for_download
def event_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The current search as a file. The export is recorded (with its filters) before
    the first row leaves, and covers the events older than that record."""
    if fmt not in EXPORT_FORMATS:
        raise Http404
    form = EventSearchForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid search.")
    filters = form.filters()
    export = services.export_record(filters=filters, fmt=fmt)
    events = selectors.events_export(user=request.user, filters=filters, before=export.pk)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            _csv_lines(events), content_type="text/csv"
        )
    else:
        response = StreamingHttpResponse(_json_chunks(events), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@allowed_if(policies.may_see_access_history)
def my_access_log(request: HttpRequest) -> HttpResponse:
    """ "Who viewed my information": who, which day, what kind of access, how often."""
    page = selectors.access_history_page(user=request.user, page_number=request.GET.get("page"))
    services.access_history_view_record(patient_id=request.user.pk)  # type: ignore[arg-type]
    return render(request, "audit/my_access_log.html", {"page": page})


def _positive_int(value: str | None) -> int | None:
    if value and value.isdigit() and int(value) > 0:
        return int(value)
    return None


def _export_row(event: AuditEvent) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in EXPORT_COLUMNS}
    row["occurred_at"] = event.occurred_at.isoformat()
    return row


class _Echo:
    def write(self, value: str) -> str:
        return value


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Defuse spreadsheet formulas: user agents and labels come from outside."""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return "" if value is None else value


def _csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for event in events:
        row = _export_row(event)
        yield writer.writerow([_cell(row[name]) for name in EXPORT_COLUMNS])


def _json_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    yield "["
    separator = "\n"
    for event in events:
        yield separator + json.dumps(_export_row(event), sort_keys=True)
        separator = ",\n"
    yield "\n]\n"


# --- activity review (45 CFR 164.308(a)(1)(ii)(D)) --------------------------------------


def _search_link(**codes: Any) -> str:
    return f"{reverse('audit:search')}?{urlencode({k: v for k, v in codes.items() if v})}"


def _review_rows(
    request: HttpRequest, period: review.Period, lists: dict[str, review.ReviewList]
) -> dict[str, list[dict[str, Any]]]:
    """Each list's rows with people's names (one lookup) and a link to the events."""
    ids: set[int] = set()
    for name in ("outside_care_team", "after_hours", "bulk_reads"):
        for row in lists[name].rows:
            ids |= {row.get("actor_id") or 0, row.get("patient_id") or 0}
    for name in ("exports", "lockouts", "admin"):
        ids |= {row["actor_id"] or 0 for row in lists[name].rows}
        ids |= {row["patient_id"] or 0 for row in lists[name].rows}
    for row in lists["failed_sign_ins"].rows:
        if row["kind"] == "account" and str(row["target_id"]).isdigit():
            ids.add(int(row["target_id"]))
    named = registry.people().named(user=request.user, ids=[pk for pk in ids if pk])
    span = {"date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    shown: dict[str, list[dict[str, Any]]] = {}
    for name, listed in lists.items():
        rows = []
        for row in listed.rows:
            item = dict(row)
            item["actor"] = named.get(row.get("actor_id") or 0)
            item["patient"] = named.get(row.get("patient_id") or 0)
            if name == "outside_care_team":
                item["url"] = _search_link(
                    actor_id=row["actor_id"], patient_id=row["patient_id"], **span
                )
            elif name in ("after_hours", "bulk_reads"):
                day = (row.get("day") or timezone.localtime(row["hour"]).date()).isoformat()
                item["url"] = _search_link(actor_id=row["actor_id"], date_from=day, date_to=day)
            elif name == "failed_sign_ins":
                day = timezone.localtime(row["hour"]).date().isoformat()
                account = row.get("target_id") or ""
                item["account"] = named.get(int(account)) if str(account).isdigit() else None
                item["url"] = _search_link(
                    action="accounts.sign_in_failed", date_from=day, date_to=day
                )
            else:
                item["action_label"] = registry.label_for(row["action"])
                item["url"] = reverse("audit:event_detail", args=[row["id"]])
            rows.append(item)
        shown[name] = rows
    return shown


def _review_page(
    request: HttpRequest,
    *,
    period_form: ReviewPeriodForm,
    period: review.Period,
    record_form: ReviewRecordForm,
    status: int = 200,
) -> HttpResponse:
    lists = review.review_lists(period)
    counts = review.counts_of(lists)
    services.activity_review_view_record(period=period, counts=counts)
    return render(
        request,
        "audit/activity_review.html",
        {
            "period_form": period_form,
            "period": period,
            "lists": lists,
            "rows": _review_rows(request, period, lists),
            "record_form": record_form,
            "covering": review.last_review_covering(period),
            "reviews": review.reviews_recent(),
            "settings": {
                "start": settings.AUDIT_WORKING_HOURS_START,
                "end": settings.AUDIT_WORKING_HOURS_END,
                "bulk": settings.AUDIT_BULK_READS_PER_HOUR,
                "failed": settings.AUDIT_FAILED_SIGN_INS_PER_HOUR,
            },
            "row_limit": review.ROW_LIMIT,
        },
        status=status,
    )


@never_cache
@require_GET
@allowed_if(policies.may_review_audit_log)
def activity_review(request: HttpRequest) -> HttpResponse:
    """The review lists for a period (the last seven days unless chosen), the form to mark
    it reviewed, and the reviews made so far. Each opening is recorded."""
    default = review.Period.default()
    bound = "start" in request.GET or "end" in request.GET
    period_form = ReviewPeriodForm(request.GET if bound else None, initial=default.codes())
    period = default
    if bound and period_form.is_valid():
        problem = services.period_problem(period_form.period())
        if problem:
            period_form.add_error(None, problem)
        else:
            period = period_form.period()
    record_form = ReviewRecordForm(initial=period.codes())
    return _review_page(
        request,
        period_form=period_form,
        period=period,
        record_form=record_form,
        status=400 if period_form.errors else 200,
    )


@sensitive_post_parameters("findings")
@never_cache
@require_POST
@allowed_if(policies.may_review_audit_log)
def activity_review_record(request: HttpRequest) -> HttpResponse:
    form = ReviewRecordForm(request.POST)
    if form.is_valid():
        period = form.period()
        try:
            services.activity_review_record(
                actor=request.user, period=period, findings=form.cleaned_data["findings"]
            )
        except services.ReviewError as error:
            form.add_error(None, error.message)
        else:
            flash.success(request, "Period marked reviewed.")
            return redirect(f"{reverse('audit:activity_review')}?{urlencode(period.codes())}")
    default = review.Period.default()
    period = default
    if form.is_valid() and not services.period_problem(form.period()):
        period = form.period()
    return _review_page(
        request,
        period_form=ReviewPeriodForm(initial=period.codes()),
        period=period,
        record_form=form,
        status=400,
    )
