"""/healthz and /readyz, answered before anything else runs.

First in MIDDLEWARE, so a load balancer's probe needs no session, no cookie, no allowed
Host header (probes often use the backend's address) and no HTTPS redirect.

- ``/healthz``: liveness. The process answers; nothing else is checked.
- ``/readyz``: readiness. The database, Redis and a beat heartbeat from the last
  ``HEALTH_BEAT_MAX_AGE_SECONDS``; 503 with the failing parts named otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from health.checks import readiness_problems

PATHS = frozenset({"/healthz", "/readyz"})


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD"
        elif request.path_info == "/healthz":
            response = HttpResponse("ok\n", content_type="text/plain")
        else:
            problems = readiness_problems()
            body = "\n".join(problems) if problems else "ok"
            response = HttpResponse(
                body + "\n", content_type="text/plain", status=503 if problems else 200
            )
            # Not ready is a state the probe reports, not an error for the error log.
            response._has_been_logged = True  # type: ignore[attr-defined]
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
