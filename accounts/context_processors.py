from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        area = "public"
    elif getattr(user, "uses_portal", False):
        area = "portal"
    else:
        area = "staff"
    return {
        "organisation": settings.ORGANISATION_NAME,
        "area": area,
        "demo_mode": settings.APP_MODE == "demo",
        "idle_timeout_seconds": settings.SESSION_IDLE_TIMEOUT,
    }
