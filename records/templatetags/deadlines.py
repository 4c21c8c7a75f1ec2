"""A request's deadline as one badge, drawn in Python: once per row of the queue, where a
template included per row cost more than the rest of the row."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

register = template.Library()


@register.simple_tag
def clock_badge(clock: dict[str, Any]) -> SafeString:
    """Days left, or on time / late once closed (``records.views.clock``)."""
    if clock["closed"]:
        if clock["on_time"]:
            return mark_safe('<span class="badge">On time</span>')
        return mark_safe('<span class="badge danger">Late</span>')
    label = capfirst(clock["label"])
    if clock["overdue"]:
        return format_html('<span class="badge danger">{}</span>', label)
    if clock["due_soon"]:
        return format_html('<span class="badge">{}</span>', label)
    return SafeString(conditional_escape(label))
