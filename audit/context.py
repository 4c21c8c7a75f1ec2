"""Who and where, for the event being recorded: filled per request or per task.

Context variables rather than thread locals, so the same code serves WSGI threads,
ASGI tasks, Celery workers and management commands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

# Whoever acts, as the audit log sees them: an account (any user model; the accounts app's
# adds role and audit_label, read with getattr since audit sits below accounts), the
# anonymous user of a request, or None for the system.
Actor: TypeAlias = "AbstractBaseUser | AnonymousUser | None"


@dataclass(frozen=True)
class AuditContext:
    request_id: str
    ip: str | None = None
    user_agent: str = ""
    request: Any = None  # the HttpRequest; its user is read when an event is recorded
    user: Actor = None  # an explicit actor, e.g. the account that is signing in
    system_label: str = "system"


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current() -> AuditContext:
    context = _current.get()
    if context is None:
        # Code outside any request, task or command wrapper: still attributable.
        return AuditContext(request_id=new_correlation_id(), system_label="system")
    return context


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def bound(context: AuditContext) -> Iterator[AuditContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def system_actor(label: str) -> Iterator[AuditContext]:
    """For Celery tasks and management commands: the system actor, own correlation id."""
    with bound(AuditContext(request_id=new_correlation_id(), system_label=label)) as context:
        yield context


@contextmanager
def acting_as(user: Actor) -> Iterator[AuditContext]:
    """Within a request, attribute events to ``user`` (e.g. the account that just signed in)."""
    with bound(replace(current(), user=user)) as context:
        yield context
