"""The privacy officer's compliance dashboard and the evidence pack download.

Both are reads of the whole installation, recorded each time; the pack leaves only after
a fresh second factor, like every export."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import request_user
from core.decorators import allowed_if, fresh_otp_required_for_download
from evidence import figures, policies, services
from evidence.forms import PackForm
from evidence.pack import pack_build

evidence_reviewers = allowed_if(policies.reviews_evidence)


def _dashboard_page(request: HttpRequest, form: PackForm, status: int = 200) -> HttpResponse:
    now = timezone.now()
    period = figures.Period.last_days(now=now)
    sections = figures.sections(user=request_user(request), period=period, now=now)
    services.dashboard_view_record(period=period)
    return render(
        request,
        "evidence/dashboard.html",
        {
            "sections": sections,
            "period": period,
            "now": now,
            "form": form,
            "max_days": figures.MAX_PERIOD_DAYS,
            "area": "staff",
        },
        status=status,
    )


@never_cache
@require_GET
@evidence_reviewers
def dashboard(request: HttpRequest) -> HttpResponse:
    default = figures.Period.last_days()
    form = PackForm(initial={"date_from": default.first_day, "date_to": default.last_day})
    return _dashboard_page(request, form)


@never_cache
@require_GET
@evidence_reviewers
@fresh_otp_required_for_download
def pack(request: HttpRequest) -> HttpResponseBase:
    """The pack for the period asked (the last 30 days when none is given)."""
    form = PackForm.for_query(request.GET)
    if not form.is_valid():
        return _dashboard_page(request, form, status=400)
    period = form.period()
    built = pack_build(user=request_user(request), period=period)
    services.pack_export_record(
        period=period, zip_sha256=built.zip_sha256, report_sha256=built.report_sha256
    )
    response = FileResponse(
        built.file, as_attachment=True, filename=built.filename, content_type="application/zip"
    )
    response["Cache-Control"] = "no-store"
    return response
