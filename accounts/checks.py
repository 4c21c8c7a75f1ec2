"""System checks for the accounts settings an organisation sets: the age rules for a
parent's proxy access (45 CFR 164.502(g)(3); state law decides, so they are settings)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from accounts.models import ProxyScope


def proxy_minor_rules_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The ages are in order and the limited scopes are scopes a link can hold: a typo
    would otherwise quietly give a teenager's parent less (or more) than meant."""
    found: list[checks.CheckMessage] = []
    full_until, ends_at = settings.PROXY_MINOR_FULL_UNTIL, settings.PROXY_MINOR_ENDS_AT
    if full_until > ends_at:
        found.append(
            checks.Error(
                f"PROXY_MINOR_FULL_UNTIL ({full_until}) is above PROXY_MINOR_ENDS_AT ({ends_at})",
                hint="A parent's full access ends at or before the age their access ends: "
                "set PROXY_MINOR_FULL_UNTIL <= PROXY_MINOR_ENDS_AT.",
                id="accounts.E001",
            )
        )
    unknown = sorted(set(settings.PROXY_MINOR_LIMITED_SCOPES) - set(ProxyScope.values))
    if unknown:
        found.append(
            checks.Error(
                f"PROXY_MINOR_LIMITED_SCOPES names unknown scopes: {', '.join(unknown)}",
                hint=f"Choose among {', '.join(ProxyScope.values)} (comma-separated).",
                id="accounts.E002",
            )
        )
    return found
