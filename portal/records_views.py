"""The patient's record requests: asking for a copy of their records, following the clock,
reading the notices, withdrawing (45 CFR 164.524).

Every read goes through ``records.selectors`` with the patient as the user, so another
patient's request answers 404. A request made here arrives by the portal, and the
patient's two-factor sign-in is what the clerk records as the identity check. A proxy
whose link lets them request records does all of this for the patient they act for
(``portal.acting``): the audit names the proxy as the actor, the request names them as
who asked (a personal representative's authority comes from their link).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import ProxyScope
from accounts.proxies import Acting
from core.forms import posted
from messaging import policies as messaging_policies
from messaging.models import Message
from portal.acting import portal_page, request_acting
from records import deadlines, policies, selectors, services
from records.errors import RecordsError
from records.forms import ASKER_FIELDS, SENSITIVE_FIELDS, RequestForm
from records.models import ArrivedBy, RecordRequest
from records.views import category_labels, clock, fee_text

requests_records = portal_page(ProxyScope.REQUEST_RECORDS)
PAGE_SIZE = 20


def _threads_of(acting: Acting, message_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Portal thread of each message the patient may read (their proxy: when their link
    lets them read messages, never a confidential thread): one query for the lot."""
    if not message_ids or not acting.may(ProxyScope.READ_MESSAGES):
        return {}
    if acting.is_proxy:
        visible = messaging_policies.threads_visible_to_proxy_of(acting.patient)
    else:
        visible = messaging_policies.threads_visible_to(acting.patient)
    return dict(
        Message.objects.filter(pk__in=message_ids, thread__in=visible).values_list(
            "pk", "thread_id"
        )
    )


@never_cache
@require_GET
@requests_records
def records(request: HttpRequest) -> HttpResponse:
    acting = request_acting(request)
    page = Paginator(
        policies.requests_visible_to(acting.patient).order_by("-received_at"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    requests = list(page.object_list)
    threads = _threads_of(
        acting, [r.delivered_message_id for r in requests if r.delivered_message_id]
    )
    rows = [
        {
            "req": req,
            "clock": clock(req),
            "categories": category_labels(list(req.categories)),
            "thread_id": threads.get(req.delivered_message_id)
            if req.delivered_message_id
            else None,
        }
        for req in requests
    ]
    services.patient_list_record(actor=acting.actor, patient=acting.patient, shown=len(rows))
    return render(
        request, "portal/records_list.html", {"page": page, "rows": rows, "area": "portal"}
    )


@sensitive_post_parameters(*SENSITIVE_FIELDS)
@never_cache
@require_http_methods(["GET", "POST"])
@requests_records
def records_new(request: HttpRequest) -> HttpResponse:
    acting = request_acting(request)
    form = RequestForm(posted(request))
    if acting.is_proxy:  # who asks is the proxy, as their link says: not for them to type
        for name in ASKER_FIELDS:
            del form.fields[name]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                req = services.request_receive(
                    actor=acting.actor,
                    patient=acting.patient,
                    spec=form.spec(),
                    arrived_by=ArrivedBy.PORTAL,
                )
            except RecordsError as error:
                form.add_error(None, error.message)
            else:
                due = deadlines.due_day(req.due_at)
                flash.success(
                    request,
                    gettext("We received your request. We will act on it by %(day)s.")
                    % {"day": date_format(due, "l j F Y")},
                )
                return redirect("portal:records_detail", request_id=req.pk)
        status = 400
    return render(
        request,
        "portal/records_new.html",
        {"form": form, "asks_who": not acting.is_proxy, "area": "portal"},
        status=status,
    )


def _detail_page(
    request: HttpRequest, req: RecordRequest, *, error: str = "", status: int = 200
) -> HttpResponse:
    notices = list(req.notices.order_by("created_at"))
    ids = [n.message_id for n in notices if n.message_id]
    if req.delivered_message_id:
        ids.append(req.delivered_message_id)
    threads = _threads_of(request_acting(request), ids)
    return render(
        request,
        "portal/records_detail.html",
        {
            "req": req,
            "clock": clock(req),
            "categories": category_labels(list(req.categories)),
            "notices": [
                {"notice": n, "thread_id": threads.get(n.message_id) if n.message_id else None}
                for n in notices
            ],
            "delivered_thread_id": threads.get(req.delivered_message_id)
            if req.delivered_message_id
            else None,
            "fee": fee_text(req),
            "error": error,
            "area": "portal",
        },
        status=status,
    )


@never_cache
@require_GET
@requests_records
def records_detail(request: HttpRequest, request_id: Any) -> HttpResponse:
    acting = request_acting(request)
    req = selectors.request_for(user=acting.patient, request_id=request_id)
    services.request_view_record(actor=acting.actor, request=req)
    return _detail_page(request, req)


@require_POST
@requests_records
def records_withdraw(request: HttpRequest, request_id: Any) -> HttpResponse:
    acting = request_acting(request)
    req = selectors.request_for(user=acting.patient, request_id=request_id)
    try:
        services.request_withdraw(actor=acting.actor, request=req)
    except RecordsError as error:
        return _detail_page(request, req, error=error.message, status=400)
    flash.success(request, gettext("You withdrew your request. You can ask again at any time."))
    return redirect("portal:records_detail", request_id=req.pk)
