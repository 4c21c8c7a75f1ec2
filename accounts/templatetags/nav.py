"""The menu's links, drawn once per process for each role and language.

The links depend only on the role (and a proxy's scopes), the active language and where
the URLs are mounted; rendering them (sixteen ``{% url %}``, as many translations) on
every page was a measurable part of each page's cost (issue 21). The fragment holds nothing of the
request: no user name, no CSRF token, no patient data.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from accounts.models import PORTAL_ROLES, STAFF_ROLES, ProxyScope, Role

register = template.Library()


@lru_cache(maxsize=256)
def _links(role: str, scopes: str, *where: str | None) -> SafeString:
    del where  # in the key: render_to_string reads them from the thread
    granted = set(scopes.split(",")) if role == Role.PROXY else set(ProxyScope.values)
    html = render_to_string(
        "components/nav_links.html",
        {
            "role": role,
            "is_patient": role == Role.PATIENT,
            "is_proxy": role == Role.PROXY,
            "uses_portal": role in PORTAL_ROLES,
            "is_staff_member": role in STAFF_ROLES,
            "may": {scope: scope in granted for scope in ProxyScope.values},
        },
    )
    return mark_safe(html)  # noqa: S308 - our template, rendered with autoescape


@register.simple_tag
def nav_links(role: str, scopes: str = "") -> SafeString:
    """The menu for ``role``; for a proxy, for the scopes (comma-separated, sorted) of the
    link they act through: a proxy sees only the pages their link lets them use."""
    return _links(
        role, scopes, get_language(), get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF
    )
