"""The policy gate: a member of staff who has not acknowledged the current workforce
policies reaches only the acknowledgement page (and signing out) until they do.

It runs after ``accounts.middleware.RequireVerifiedMiddleware``, so it sees only fully
signed-in sessions; deny by default, like that middleware: every view not named below
sends the person to the acknowledgement page, which then returns them to where they
were going. Static files and health checks are answered before any middleware that
knows the user. Until a privacy officer publishes a policy, nothing is gated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.access import PUBLIC_PATH_PREFIXES, PUBLIC_VIEWS
from compliance.policies import acknowledges_policies, manages_compliance
from compliance.selectors import acknowledgement_pending_now

ACKNOWLEDGE_VIEW = "compliance:acknowledge"
# Reachable with policies pending. The keep-alive, so reading a long policy does not end
# in an idle sign-out.
ALLOWED_VIEWS = frozenset({ACKNOWLEDGE_VIEW, "accounts:sign_out", "accounts:session_keepalive"})
# The privacy officer must acknowledge too, but may still publish: a version published
# with a mistake is corrected by publishing the next one, without first having to
# declare the mistaken text read and understood.
OFFICER_VIEWS = frozenset({"compliance:policies", "compliance:policy_publish", "compliance:policy"})


class PolicyAcknowledgementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not acknowledges_policies(user):
            return None
        if not user.is_verified():
            return None  # the sign-in middleware has already let through only its own pages
        if request.path_info.startswith(PUBLIC_PATH_PREFIXES):
            return None
        match = request.resolver_match
        name = match.view_name if match else ""
        # Pages for people without an account (a guest pickup, a password reset link)
        # hold nothing of the staff area.
        if name in ALLOWED_VIEWS or name in PUBLIC_VIEWS:
            return None
        if name in OFFICER_VIEWS and manages_compliance(user):
            return None
        if not acknowledgement_pending_now(user):
            return None
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(reverse(ACKNOWLEDGE_VIEW) + (f"?{query}" if query else ""))
