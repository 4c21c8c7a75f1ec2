"""``check --deploy``: the web and workers' database role cannot rewrite the audit trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection

from audit.db_roles import role_state

_HINT = (
    "Connect the web, workers and beat (DATABASE_URL) as a role that owns nothing and is "
    "no superuser; migrate as the owner (DATABASE_OWNER_URL), then run manage.py db_grants "
    '(README "Running in production", step 3).'
)


def app_role_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        role = settings.DATABASE_APP_ROLE or _current_user()
        state = role_state(role)
    except DatabaseError as error:
        return [
            checks.Warning(
                f"could not check the application's database role ({type(error).__name__})",
                hint="check --deploy needs the database: is DATABASE_URL right?",
                id="audit.W003",
            )
        ]
    if state.superuser or not state.exists:
        return [
            checks.Warning(
                f"the application's database role {role} is a superuser (or does not exist): "
                "it can disable the audit triggers, truncate or drop the audit tables",
                hint=_HINT,
                id="audit.W001",
            )
        ]
    if state.can_own_audit_tables:
        return [
            checks.Warning(
                f"the application's database role {role} owns the audit tables (or is a "
                "member of their owner's role): it can disable their triggers, truncate or "
                "drop them",
                hint=_HINT,
                id="audit.W002",
            )
        ]
    if state.granted_more:
        return [
            checks.Warning(
                f"the application's database role {role} is granted TRUNCATE, TRIGGER, "
                "UPDATE or DELETE on an audit table (SELECT and INSERT are all it needs)",
                hint="Run manage.py db_grants as the owner (DATABASE_OWNER_URL): it revokes them.",
                id="audit.W004",
            )
        ]
    return []


def _current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return str(cursor.fetchone()[0])
