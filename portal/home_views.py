"""The home page after sign-in: for a patient, what is waiting for them; for staff, the
queues of their role. It lives here, above messaging, records and consent, because it
reads all three; ``config.urls`` files it under ``accounts:home`` as before.

It shows counts, dates and staff names only, never a subject or a record's content, so
opening it is not a read of health information (the pages it links to record theirs).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import policies as account_policies
from accounts.models import Role, User
from accounts.selectors import request_user
from consent import selectors as consent_selectors
from messaging import selectors as messaging_selectors
from portal.labels import role_label
from portal.proxy_views import proxy_home
from records import policies as records_policies
from records import selectors as records_selectors


@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if user.is_patient:
        return _patient_home(request, user)
    if user.is_proxy:
        return proxy_home(request)
    return _staff_home(request, user)


def _patient_home(request: HttpRequest, user: User) -> HttpResponse:
    # Only what the page shows: each column fetched is a column built into a model.
    team = list(
        user.care_team.select_related("staff")
        .filter(staff__is_active=True)
        .only("patient_id", "staff__full_name", "staff__role")
    )
    for member in team:
        member.role_label = role_label(member.staff.role)  # type: ignore[attr-defined]
    waiting = messaging_selectors.patient_waiting(user=user)
    return render(
        request,
        "home_patient.html",
        {
            "care_team": team,
            "waiting": waiting,
            "newest_role": role_label(waiting.newest_author_role),
            "requests": list(
                records_selectors.requests_open_of(user=user).only(
                    "pk", "patient_id", "received_at", "due_at"
                )
            ),
            "ending": consent_selectors.authorizations_ending_soon(user),
            "ending_days": consent_selectors.ENDING_SOON_DAYS,
        },
    )


def _staff_home(request: HttpRequest, user: User) -> HttpResponse:
    works_requests = records_policies.works_requests(user)
    return render(
        request,
        "home_staff.html",
        {
            "can_enroll": account_policies.can_enroll_patients(user),
            "can_create_staff": account_policies.can_create_staff(user),
            # The same policy as the outbox page itself, so the card never leads to a 404.
            "can_read_outbox": settings.APP_MODE == "demo"
            and account_policies.can_read_demo_outbox(user),
            "messages_queue": messaging_selectors.staff_queue(
                user=user, failed=user.role == Role.PRIVACY_OFFICER
            ),
            "requests_queue": records_selectors.queue_counts(user=user) if works_requests else None,
            "alerts": records_selectors.alerts_unread(user=user).count() if works_requests else 0,
            "is_officer": user.role == Role.PRIVACY_OFFICER,
            "due_soon_days": records_selectors.DUE_SOON_DAYS,
        },
    )
