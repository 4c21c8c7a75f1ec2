"""The records clerk's screens: the queue, recording a request, and working one request.

Every read goes through ``records.selectors`` with the user, so outside
``policies.works_requests`` the pages do not exist (404) and a foreign or malformed
request id is 404 too. Each step is a POST to its own URL that calls one service; a
``RecordsError`` shows the request again with the rule it names (400) and the form as
it was posted, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import request_user
from consent.models import RecordCategory
from core import dates
from core.decorators import allowed_if
from core.forms import AssignForm, posted
from core.paging import CappedPaginator
from encryption.files import file_response
from encryption.uploads import checked_uploads
from messaging import selectors as messaging_selectors
from messaging.errors import MessagingError
from messaging.forms import PatientSearchForm
from messaging.guests import GuestSendRefused
from records import deadlines, policies, selectors, services
from records.errors import RecordsError
from records.forms import (
    SENSITIVE_FIELDS,
    ClerkRequestForm,
    DenyForm,
    DocumentsForm,
    DocumentTitleForm,
    ExtendForm,
    FeeForm,
    FulfilForm,
    VerifyForm,
    WithdrawForm,
)
from records.models import (
    BuildState,
    DeliverTo,
    RecordRequest,
    RequestDocument,
    RequestState,
)

clerks_only = allowed_if(policies.works_requests)
PAGE_SIZE = 25
# The queue counts (and pages through) at most this many requests of a view: past it the
# page says "more than 10,000", and a filter narrows the view. Nobody pages through
# 400 pages of a queue; counting a million closed requests on every visit is what grew.
QUEUE_CAP = 10_000
BUILD_RUNNING = policies.BUILD_RUNNING


# --- how a clock reads ------------------------------------------------------------------------


def days_left_label(days: int) -> str:
    """How many days are left, as people say it: due today, 3 days left, 2 days overdue."""
    if days == 0:
        return "due today"
    if days > 0:
        return "1 day left" if days == 1 else f"{days} days left"
    return "1 day overdue" if days == -1 else f"{-days} days overdue"


def clock(req: RecordRequest) -> dict[str, Any]:
    """What a page says about one request's deadline (local days, 45 CFR 164.524(b)(2))."""
    days = deadlines.days_left(req.due_at)
    closed = req.closed_at is not None
    return {
        "due_day": deadlines.due_day(req.due_at),
        "original_due_day": deadlines.due_day(req.original_due_at),
        "days_left": days,
        "label": days_left_label(days),
        "due_soon": req.is_open and 0 <= days <= selectors.DUE_SOON_DAYS,
        "overdue": req.is_open and days < 0,
        "on_time": closed and req.closed_at is not None and req.closed_at < req.due_at,
        "closed": closed,
    }


def fee_text(req: RecordRequest) -> str:
    """The fee estimate as people read it ("$12.50"), or "" when none was given."""
    if req.fee_estimate_cents is None:
        return ""
    return f"${req.fee_estimate_cents // 100}.{req.fee_estimate_cents % 100:02d}"


def category_labels(codes: list[str]) -> list[str]:
    names = dict(RecordCategory.choices)
    return [str(names.get(code, code)) for code in codes]


def patient_name(patient: User) -> str:
    profile = getattr(patient, "patient_profile", None)
    return profile.legal_name if profile else patient.full_name


def _queue_workers() -> list[tuple[int, str]]:
    return list(
        User.objects.filter(role__in=policies.QUEUE_ROLES, is_active=True)
        .order_by("full_name")
        .values_list("pk", "full_name")
    )


# --- the queue --------------------------------------------------------------------------------


def _chart(weeks: list[selectors.Week]) -> dict[str, Any]:
    """Bars for an SVG (received and fulfilled side by side, per week), and the totals."""
    height, bar, gap = 100, 12, 8
    top = max([1, *(max(w.received, w.fulfilled) for w in weeks)])
    bars = []
    for i, week in enumerate(weeks):
        x = i * (2 * bar + gap)
        received_h = round(height * week.received / top)
        fulfilled_h = round(height * week.fulfilled / top)
        share = week.on_time_share
        bars.append(
            {
                "week": week,
                "starts_iso": dates.iso(week.starts),
                "starts_text": dates.day_text(week.starts),
                "starts_short": dates.day_month(week.starts),
                "starts_label": dates.day_slash_month(week.starts),
                "share": None if share is None else round(100 * share),
                "received": {"x": x, "y": height - received_h, "h": received_h},
                "fulfilled": {"x": x + bar, "y": height - fulfilled_h, "h": fulfilled_h},
                "label_x": x + bar,
            }
        )
    fulfilled = sum(w.fulfilled for w in weeks)
    on_time = sum(w.on_time for w in weeks)
    return {
        "bars": bars,
        "width": len(weeks) * (2 * bar + gap),
        "height": height,
        "bar": bar,
        "top": top,
        "received": sum(w.received for w in weeks),
        "fulfilled": fulfilled,
        "on_time_share": round(100 * on_time / fulfilled) if fulfilled else None,
        "weeks": len(weeks),
    }


def _queue_params(request: HttpRequest) -> dict[str, str]:
    """Filter codes from the URL, each one checked: never patient data in a URL."""
    view = request.GET.get("view", "open")
    state = request.GET.get("state", "")
    assignee = request.GET.get("assignee", "")
    return {
        "view": view if view in selectors.QUEUE_FILTERS else "open",
        "state": state if state in RequestState.values else "",
        "assignee": assignee if assignee in ("me", "none") or assignee.isdigit() else "",
    }


def _queue_row(req: RecordRequest, states: dict[str, str]) -> dict[str, Any]:
    """One row of the queue, its link, dates and labels written here (``core.dates``; the
    state's label from ``states``, made once a page): per row, the template's url tag,
    date filters and ``get_state_display`` were most of the page's time."""
    due = clock(req)
    return {
        "url": reverse("records:request", args=[req.pk]),
        "state": states.get(req.state, req.state),
        "assignee": req.assigned_to.full_name if req.assigned_to else "",
        "patient": patient_name(req.patient),
        "clock": due,
        "received_iso": dates.iso(req.received_at),
        "received_text": dates.day_text(req.received_at),
        "due_iso": dates.iso(due["due_day"]),
        "due_text": dates.day_text(due["due_day"]),
    }


@never_cache
@require_GET
@clerks_only
def queue(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    params = _queue_params(request)
    paginator = CappedPaginator(selectors.queue(user=user, **params), PAGE_SIZE, cap=QUEUE_CAP)
    page = paginator.get_page(request.GET.get("page"))
    states = {code: str(label) for code, label in RequestState.choices}
    rows = [_queue_row(req, states) for req in page.object_list]
    services.queue_view_record(
        actor=user,
        view=params["view"],
        shown=len(rows),
        total=paginator.count,
        capped=paginator.capped,
    )
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return render(
        request,
        "records/queue.html",
        {
            "page": page,
            "rows": rows,
            "params": params,
            "query": query,
            "filters": [
                ("open", "Open"),
                ("due_soon", "Due within 7 days"),
                ("overdue", "Overdue"),
                ("closed", "Closed"),
                ("all", "All"),
            ],
            "states": RequestState.choices,
            "workers": _queue_workers(),
            "counts": selectors.queue_counts(user=user),
            "alerts": [
                {"alert": a, "due_day": deadlines.due_day(a.due_at)}
                for a in selectors.alerts_unread(user=user)[:20]
            ],
            "chart": _chart(selectors.weekly_chart(user=user)),
            "area": "staff",
        },
    )


@require_POST
@clerks_only
def alerts_read(request: HttpRequest) -> HttpResponse:
    count = services.alerts_mark_read(actor=request_user(request))
    if count:
        flash.success(request, "Alerts marked as read.")
    return redirect("records:queue")


# --- recording a request that came on paper, by fax or phone ----------------------------------


@sensitive_post_parameters("q")
@never_cache
@require_http_methods(["GET", "POST"])
@clerks_only
def new_start(request: HttpRequest) -> HttpResponse:
    """Find the patient first. The search is a POST: a name, MRN or birth date must not
    sit in a URL (``messaging:compose_start`` does the same)."""
    form = PatientSearchForm(posted(request))
    results = form.results_for(request_user(request))
    return render(
        request, "records/new_start.html", {"form": form, "results": results, "area": "staff"}
    )


@sensitive_post_parameters(*SENSITIVE_FIELDS)
@never_cache
@require_http_methods(["GET", "POST"])
@clerks_only
def new(request: HttpRequest, patient_id: int) -> HttpResponse:
    user = request_user(request)
    patient = messaging_selectors.patient_for(user=user, patient_id=patient_id)
    form = ClerkRequestForm(posted(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                req = services.request_receive(
                    actor=user,
                    patient=patient,
                    spec=form.spec(),
                    arrived_by=form.cleaned_data["arrived_by"],
                    received_at=form.cleaned_data["received_at"],
                )
            except RecordsError as error:
                form.add_error(None, error.message)
            else:
                due = deadlines.due_day(req.due_at)
                flash.success(request, f"Request recorded. It is due on {due:%A %-d %B %Y}.")
                return redirect("records:request", request_id=req.pk)
        status = 400
    return render(
        request,
        "records/new.html",
        {"form": form, "patient": patient, "name": patient_name(patient), "area": "staff"},
        status=status,
    )


# --- one request ------------------------------------------------------------------------------


def _request_page(
    request: HttpRequest,
    req: RecordRequest,
    *,
    bound: dict[str, Any] | None = None,
    error: str = "",
    reasons: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The request and the forms for the steps its state allows; ``bound`` replaces a form
    by the one just posted (with its errors), ``error`` is a service's refusal."""
    user = request_user(request)
    bound = bound or {}
    now = timezone.now()
    documents = list(
        req.documents.select_related("file__data_key", "title_record").order_by(
            "position", "added_at", "pk"
        )
    )
    notices = list(req.notices.order_by("created_at"))
    forms: dict[str, Any] = {
        "verify": VerifyForm(),
        "assign": AssignForm(choices=_queue_workers(), initial={"assignee": req.assigned_to_id}),
        "fee": FeeForm(),
        "extend": ExtendForm(),
        "deny": DenyForm(),
        "withdraw": WithdrawForm(),
        "documents": DocumentsForm(),
        "fulfil": FulfilForm(),
    }
    forms.update(bound)
    titled = bound.get("title")
    rows = [
        {
            "document": document,
            "form": titled[1]
            if titled and titled[0] == document.pk
            else DocumentTitleForm(
                initial={"title": document.title}, auto_id=f"document{document.pk}_%s"
            ),
        }
        for document in documents
    ]
    can = policies.request_actions(req, now=now, documents=len(documents))
    return render(
        request,
        "records/request.html",
        {
            "req": req,
            "patient": req.patient,
            "name": patient_name(req.patient),
            "categories": category_labels(list(req.categories)),
            "clock": clock(req),
            "documents": documents,
            "document_rows": rows,
            "notices": notices,
            "forms": forms,
            # A folded action opens when its form came back with errors.
            "unfold": {key for key, form in bound.items() if getattr(form, "errors", None)},
            "can": can,
            "next": policies.next_step(req, documents=len(documents)),
            "build_failure": build_failure_text(req.build_failure),
            "error": error,
            "reasons": reasons or [],
            "build_running": req.build_state in BUILD_RUNNING,
            "fee": fee_text(req),
            "me": user,
            "area": "staff",
        },
        status=status,
    )


def _found(request: HttpRequest, request_id: Any) -> RecordRequest:
    return selectors.request_for(user=request_user(request), request_id=request_id)


# The section of the request page each step returns to (its element id), so the page
# opens where the clerk was rather than at the top.
Section = Literal["status", "identity", "assigned", "documents", "package", "extend", "fee"]


def _back(
    request: HttpRequest, req: RecordRequest, message: str, *, section: Section
) -> HttpResponse:
    flash.success(request, message)
    return redirect(reverse("records:request", kwargs={"request_id": req.pk}) + f"#{section}")


def build_failure_text(code: str) -> str:
    """Why a build failed, in words: the stored code is an exception's class name."""
    if code in ("RecordsError", "PdfReadError", "PdfStreamError", "UnidentifiedImageError"):
        return "One of the documents could not be read. Remove it or upload it again."
    return f"Something went wrong on our side (code {code or 'unknown'}). Try again."


def _step(
    request: HttpRequest,
    request_id: Any,
    *,
    key: str,
    form: Any,
    act: Callable[[User, RecordRequest, dict[str, Any]], str],
    section: Section,
) -> HttpResponse:
    """One clerk step: validate its form, call its service (``act``, which returns the
    message to show); a bad form or a rule's refusal shows the page again with the form
    as typed, status 400."""
    req = _found(request, request_id)
    if not form.is_valid():
        return _request_page(request, req, bound={key: form}, status=400)
    try:
        message = act(request_user(request), req, form.cleaned_data)
    except RecordsError as error:
        return _request_page(request, req, bound={key: form}, error=error.message, status=400)
    return _back(request, req, message, section=section)


@never_cache
@require_GET
@clerks_only
def request_detail(request: HttpRequest, request_id: Any) -> HttpResponse:
    req = _found(request, request_id)
    services.request_view_record(actor=request_user(request), request=req)
    return _request_page(request, req)


@sensitive_post_parameters("note")
@require_POST
@clerks_only
def verify(request: HttpRequest, request_id: Any) -> HttpResponse:
    def act(user: User, req: RecordRequest, data: dict[str, Any]) -> str:
        services.request_verify(actor=user, request=req, method=data["method"], note=data["note"])
        return "Identity and authority verified."

    return _step(
        request,
        request_id,
        key="verify",
        form=VerifyForm(request.POST),
        act=act,
        section="identity",
    )


@require_POST
@clerks_only
def assign(request: HttpRequest, request_id: Any) -> HttpResponse:
    user = request_user(request)
    req = _found(request, request_id)
    form = AssignForm(request.POST, choices=_queue_workers())
    if not form.is_valid():
        return _request_page(request, req, bound={"assign": form}, status=400)
    assignee_id = form.cleaned_data["assignee"]
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id).first()
    try:
        services.request_assign(actor=user, request=req, assignee=assignee)
    except RecordsError as error:
        return _request_page(request, req, bound={"assign": form}, error=error.message, status=400)
    if assignee is None:
        return _back(request, req, "Nobody is assigned now.", section="assigned")
    who = "you" if assignee.pk == user.pk else assignee.full_name
    return _back(request, req, f"Assigned to {who}.", section="assigned")


@sensitive_post_parameters("basis")
@require_POST
@clerks_only
def fee(request: HttpRequest, request_id: Any) -> HttpResponse:
    form = FeeForm(request.POST)

    def act(user: User, req: RecordRequest, data: dict[str, Any]) -> str:
        services.fee_estimate_give(actor=user, request=req, cents=form.cents(), basis=data["basis"])
        return "Fee estimate recorded."

    return _step(request, request_id, key="fee", form=form, act=act, section="fee")


@sensitive_post_parameters("reason")
@require_POST
@clerks_only
def extend(request: HttpRequest, request_id: Any) -> HttpResponse:
    def act(user: User, req: RecordRequest, data: dict[str, Any]) -> str:
        extended = services.request_extend(
            actor=user, request=req, reason=data["reason"], new_due_day=data["new_due_day"]
        )
        due = deadlines.due_day(extended.due_at)
        return f"Extended: the notice was sent to the patient's portal. Now due on {due:%-d %B %Y}."

    return _step(
        request, request_id, key="extend", form=ExtendForm(request.POST), act=act, section="extend"
    )


@sensitive_post_parameters("basis")
@require_POST
@clerks_only
def deny(request: HttpRequest, request_id: Any) -> HttpResponse:
    def act(user: User, req: RecordRequest, data: dict[str, Any]) -> str:
        services.request_deny(actor=user, request=req, basis=data["basis"], partial=data["partial"])
        return "Denial recorded: the letter was sent to the patient's portal."

    return _step(
        request, request_id, key="deny", form=DenyForm(request.POST), act=act, section="status"
    )


@require_POST
@clerks_only
def withdraw(request: HttpRequest, request_id: Any) -> HttpResponse:
    def act(user: User, req: RecordRequest, data: dict[str, Any]) -> str:
        services.request_withdraw(actor=user, request=req)
        return "Request withdrawn."

    return _step(
        request,
        request_id,
        key="withdraw",
        form=WithdrawForm(request.POST),
        act=act,
        section="status",
    )


@require_POST
@clerks_only
def documents(request: HttpRequest, request_id: Any) -> HttpResponse:
    req = _found(request, request_id)
    form = DocumentsForm(request.POST, request.FILES)
    form.is_valid()
    uploads = checked_uploads(request, form, field="documents")
    if uploads == []:
        form.add_error("documents", "Choose at least one file.")
    if form.errors or not uploads:
        return _request_page(request, req, bound={"documents": form}, status=400)
    try:
        added = services.documents_add(actor=request_user(request), request=req, uploads=uploads)
    except RecordsError as error:
        return _request_page(
            request, req, bound={"documents": form}, error=error.message, status=400
        )
    return _back(
        request,
        req,
        f"{len(added)} document{'s' if len(added) != 1 else ''} added.",
        section="documents",
    )


@require_POST
@clerks_only
def document_remove(request: HttpRequest, request_id: Any, document_id: int) -> HttpResponse:
    req, document = _document_found(request, request_id, document_id)
    try:
        services.document_remove(actor=request_user(request), document=document)
    except RecordsError as error:
        return _request_page(request, req, error=error.message, status=400)
    return _back(request, req, "Document removed.", section="documents")


def _document_found(
    request: HttpRequest, request_id: Any, document_id: int
) -> tuple[RecordRequest, RequestDocument]:
    """The request (in the user's scope) and one of its documents; anything else is 404."""
    req = _found(request, request_id)
    document = RequestDocument.objects.filter(request=req, pk=document_id).first()
    if document is None:
        raise Http404
    return req, document


@sensitive_post_parameters("title")
@require_POST
@clerks_only
def document_rename(request: HttpRequest, request_id: Any, document_id: int) -> HttpResponse:
    req, document = _document_found(request, request_id, document_id)
    form = DocumentTitleForm(request.POST, auto_id=f"document{document.pk}_%s")
    if not form.is_valid():
        return _request_page(request, req, bound={"title": (document.pk, form)}, status=400)
    try:
        services.document_rename(
            actor=request_user(request), document=document, title=form.cleaned_data["title"]
        )
    except RecordsError as error:
        return _request_page(
            request, req, bound={"title": (document.pk, form)}, error=error.message, status=400
        )
    return _back(request, req, "Title saved.", section="documents")


@require_POST
@clerks_only
def document_move(request: HttpRequest, request_id: Any, document_id: int) -> HttpResponse:
    req, document = _document_found(request, request_id, document_id)
    up = request.POST.get("direction") == "up"
    try:
        services.document_move(actor=request_user(request), document=document, up=up)
    except RecordsError as error:
        return _request_page(request, req, error=error.message, status=400)
    return _back(request, req, f"Document moved {'up' if up else 'down'}.", section="documents")


@require_POST
@clerks_only
def build(request: HttpRequest, request_id: Any) -> HttpResponse:
    req = _found(request, request_id)
    try:
        services.package_build_queue(actor=request_user(request), request=req)
    except RecordsError as error:
        return _request_page(request, req, error=error.message, status=400)
    # Never "being built" in a banner: the worker may finish before the page is shown,
    # and the package section is the one place that says what the build's state is.
    state = RecordRequest.objects.values_list("build_state", flat=True).get(pk=req.pk)
    if state == BuildState.BUILT:
        message = "The package is built."
    elif state == BuildState.FAILED:
        message = "The package could not be built: see below."
    else:
        message = "Build started."
    return _back(request, req, message, section="package")


@never_cache
@require_GET
@clerks_only
def build_status(request: HttpRequest, request_id: Any) -> JsonResponse:
    """Polled by static/js/build-progress.js while a build runs: state and progress only."""
    req = _found(request, request_id)
    return JsonResponse(
        {"state": req.build_state, "done": req.build_done, "total": req.build_total}
    )


@never_cache
@require_GET
@clerks_only
def package(request: HttpRequest, request_id: Any) -> HttpResponseBase:
    req = _found(request, request_id)
    if req.build_state != BuildState.BUILT or req.package is None:
        raise Http404
    response = file_response(req.package)
    services.package_download_record(actor=request_user(request), request=req)
    return response


@require_POST
@clerks_only
def fulfil(request: HttpRequest, request_id: Any) -> HttpResponse:
    req = _found(request, request_id)
    form = FulfilForm(request.POST)
    form.is_valid()
    if req.deliver_to == DeliverTo.PAPER and not form.cleaned_data.get("printed"):
        form.add_error("printed", "Print the package first, then tick this box.")
        return _request_page(request, req, bound={"fulfil": form}, status=400)
    try:
        done = services.request_fulfil(actor=request_user(request), request=req)
    except GuestSendRefused as refused:
        # No covering authorization for the directed recipient: nothing was sent.
        return _request_page(
            request,
            req,
            bound={"fulfil": form},
            error="Not sent: the disclosure check said no.",
            reasons=list(refused.decision.explanation),
            status=400,
        )
    except (RecordsError, MessagingError) as error:
        return _request_page(request, req, bound={"fulfil": form}, error=error.message, status=400)
    when = "on time" if done.closed_at and done.closed_at < done.due_at else "late"
    sent_to = {
        DeliverTo.PORTAL: "Sent to the patient's portal",
        DeliverTo.THIRD_PARTY: "Sent to the named recipient by secure pickup link",
        DeliverTo.PAPER: "Recorded as handed over on paper",
    }[DeliverTo(done.deliver_to)]
    return _back(request, done, f"{sent_to}: the request is fulfilled ({when}).", section="package")
