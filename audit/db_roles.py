"""The application's database role: what it is granted, and whether it could rewrite the trail.

45 CFR 164.312(b): the audit trail must hold against the application's own credentials.
PostgreSQL lets only a table's owner (or a superuser, or a member of the owner's role)
ALTER it, disable or drop its triggers, or DROP it; TRUNCATE is a privilege of its own.
So the web, workers and beat connect as a role that owns nothing and is granted, by the
owner after each migration (``manage.py db_grants``):

- on the audit tables SELECT and INSERT only (the sealer appends seals and checkpoints;
  nothing updates an audit row, and the triggers refuse it anyway);
- on every other table SELECT, INSERT, UPDATE and DELETE; on ``django_migrations`` SELECT;
- on the sequences USAGE and SELECT (ids; the sealer reads the events' last value);
- the same on tables and sequences the owner creates later (default privileges), until
  the next ``db_grants`` narrows a new audit table.

Never TRUNCATE, REFERENCES or TRIGGER.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection, transaction
from psycopg import sql

MIGRATIONS_TABLE = "django_migrations"


def audit_tables() -> list[str]:
    return sorted(model._meta.db_table for model in apps.get_app_config("audit").get_models())


@dataclass(frozen=True)
class RoleState:
    exists: bool
    superuser: bool = False
    can_own_audit_tables: bool = False  # owns them, or is a member of the role that does
    granted_more: bool = False  # TRUNCATE, TRIGGER, UPDATE or DELETE on one of them


def role_state(role: str) -> RoleState:
    """What ``role`` could do to the audit tables, read from the catalogue."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH audit AS (
                SELECT c.oid, c.relowner FROM pg_class c
                WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(%s::text[]) AS t)
            )
            SELECT r.rolsuper,
                EXISTS (SELECT 1 FROM audit a WHERE pg_has_role(r.oid, a.relowner, 'MEMBER')),
                EXISTS (SELECT 1 FROM audit a WHERE has_table_privilege(
                    r.oid, a.oid, 'TRUNCATE, TRIGGER, UPDATE, DELETE'))
            FROM pg_roles r WHERE r.rolname = %s
            """,
            [audit_tables(), role],
        )
        row = cursor.fetchone()
    if row is None:
        return RoleState(exists=False)
    superuser, owner, more = (bool(value) for value in row)
    return RoleState(True, superuser, can_own_audit_tables=owner, granted_more=more)


class RoleError(Exception):
    """The application's role cannot be granted safely (it exists not, or is too strong)."""


def app_role_grant(*, role: str) -> None:
    """Give ``role`` exactly the privileges of the module docstring. Run as the owner.

    Idempotent: everything is revoked first and granted again, in one transaction.
    """
    state = role_state(role)
    if not state.exists:
        raise RoleError(f"the role {role} does not exist")
    if state.superuser or state.can_own_audit_tables:
        raise RoleError(
            f"the role {role} is a superuser or can act as the owner of the audit tables"
        )
    who = sql.Identifier(role)
    audit = sql.SQL(", ").join(sql.Identifier(table) for table in audit_tables())
    statements = [
        "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {who}",
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {who}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
        "REVOKE INSERT, UPDATE, DELETE ON {migrations} FROM {who}",
        "REVOKE UPDATE, DELETE ON {audit} FROM {who}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {who}",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = sql.Identifier(cursor.fetchone()[0])
        for statement in statements:
            cursor.execute(
                sql.SQL(statement).format(
                    schema=schema,
                    who=who,
                    audit=audit,
                    migrations=sql.Identifier(MIGRATIONS_TABLE),
                )
            )
