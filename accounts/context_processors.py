from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    area = "portal" if user is not None and getattr(user, "is_patient", False) else "staff"
    return {
        "organisation": settings.ORGANISATION_NAME,
        "area": area,
        "demo_mode": settings.APP_MODE == "demo",
    }
