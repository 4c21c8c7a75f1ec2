"""What every page shows a proxy: whom they act for (read once per request)."""

from typing import Any

from django.http import HttpRequest

from portal.acting import acting_of


def acting(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_proxy:
        return {"acting": None, "acting_scopes": ""}
    found = acting_of(request)
    scopes = ",".join(sorted(found.scopes)) if found is not None else ""
    return {"acting": found, "acting_scopes": scopes}
