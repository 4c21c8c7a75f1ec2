"""The application's database role cannot rewrite the audit trail (45 CFR 164.312(b)).

A role granted by ``manage.py db_grants`` (as the web and workers connect in production)
opens its own connection and tries, with raw SQL, what an attacker holding the
application's credentials would: every attempt on the audit tables fails, while writing
and reading events and sealing them still work.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from psycopg import errors, sql

from audit.checks import app_role_check
from audit.db_roles import RoleError, app_role_grant

from .conftest import INSERT_MINIMAL_EVENT

ROOT = Path(__file__).resolve().parents[2]
# Each audit table with a column it has, for the UPDATE.
TABLES = {"audit_auditevent": "id", "audit_auditseal": "event_id", "audit_auditcheckpoint": "id"}
ATTACKS = (
    "ALTER TABLE {table} DISABLE TRIGGER USER",
    "ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate",
    "DROP TRIGGER {table}_no_update_delete ON {table}",
    "TRUNCATE {table} CASCADE",
    "DROP TABLE {table} CASCADE",
    "ALTER TABLE {table} OWNER TO {role}",
    "UPDATE {table} SET {column} = {column}",
    "DELETE FROM {table}",
)


def _role_name() -> str:
    # Roles are shared by every database on the server: one name per test database.
    return str(connection.settings_dict["NAME"]).removeprefix("test_") + "_app_test"


def _role_drop(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def app_role(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A login role that owns nothing, granted as the migration step grants it."""
    role = _role_name()
    with django_db_blocker.unblock():
        _role_drop(role)  # left by an interrupted run
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        app_role_grant(role=role)
    yield role
    with django_db_blocker.unblock():
        _role_drop(role)


def _connect(role: str) -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "password"):
        params.pop(key, None)
    return psycopg.connect(**{**params, "user": role}, autocommit=True)


def _url(role: str) -> str:
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    return f"postgresql://{role}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class TestTheApplicationsRole:
    @pytest.mark.parametrize("table", TABLES)
    @pytest.mark.parametrize("attack", ATTACKS)
    def test_it_cannot_touch_an_audit_table(self, app_role: str, table: str, attack: str) -> None:
        statement = attack.format(table=table, role=app_role, column=TABLES[table])
        with _connect(app_role) as app, pytest.raises(errors.InsufficientPrivilege):
            app.execute(statement)

    def test_the_triggers_and_tables_are_all_still_there(self, app_role: str) -> None:
        for table, column in TABLES.items():
            for attack in ATTACKS:
                with _connect(app_role) as app, pytest.raises(errors.InsufficientPrivilege):
                    app.execute(attack.format(table=table, role=app_role, column=column))
        with _connect(app_role) as app:
            triggers = app.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[]) "
                "AND NOT tgisinternal AND tgenabled = 'O'",
                [list(TABLES)],
            ).fetchone()
        assert triggers == (2 * len(TABLES),)

    def test_it_cannot_record_a_migration(self, app_role: str) -> None:
        with _connect(app_role) as app, pytest.raises(errors.InsufficientPrivilege):
            app.execute("DELETE FROM django_migrations")

    def test_it_is_not_granted_what_it_could_abuse(self, app_role: str) -> None:
        with _connect(app_role) as app:
            rows = app.execute(
                "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = %s",
                [app_role],
            ).fetchall()
        assert {row[0] for row in rows} == {"SELECT", "INSERT", "UPDATE", "DELETE"}


@pytest.mark.django_db(transaction=True)
class TestItsWork:
    """Committed rows, so the other connection and the sealer see them (flushed after)."""

    def test_it_writes_and_reads_events(self, app_role: str) -> None:
        with _connect(app_role) as app:
            app.execute(INSERT_MINIMAL_EVENT)
            (count,) = app.execute("SELECT count(*) FROM audit_auditevent").fetchone() or (0,)
        assert count == 1

    def test_the_sealer_seals_as_the_applications_role(self, app_role: str) -> None:
        with _connect(app_role) as app:
            app.execute(INSERT_MINIMAL_EVENT)
        sealed = subprocess.run(
            [sys.executable, "manage.py", "audit_seal"],
            cwd=ROOT,
            env={**os.environ, "APP_MODE": "test", "DATABASE_URL": _url(app_role)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert sealed.returncode == 0, sealed.stderr
        with _connect(app_role) as app:
            assert app.execute("SELECT count(*) FROM audit_auditseal").fetchone() == (1,)
            assert app.execute("SELECT count(*) FROM audit_auditcheckpoint").fetchone() == (1,)


@pytest.mark.django_db
class TestTheCheck:
    def test_it_passes_for_a_role_that_owns_nothing(self, app_role: str) -> None:
        with override_settings(DATABASE_APP_ROLE=app_role):
            assert app_role_check() == []

    def test_it_warns_when_the_role_is_a_superuser(self) -> None:
        with override_settings(DATABASE_APP_ROLE=connection.settings_dict["USER"]):
            assert [message.id for message in app_role_check()] == ["audit.W001"]

    def test_it_warns_when_the_role_owns_an_audit_table(self, app_role: str) -> None:
        owner = f"{app_role}_owner"
        with connection.cursor() as cursor:  # rolled back with the test
            cursor.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
            cursor.execute(
                sql.SQL("ALTER TABLE audit_auditseal OWNER TO {}").format(sql.Identifier(owner))
            )
        with override_settings(DATABASE_APP_ROLE=owner):
            assert [message.id for message in app_role_check()] == ["audit.W002"]

    def test_it_warns_when_the_role_is_a_member_of_the_owner(self, app_role: str) -> None:
        owner = f"{app_role}_owner"
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
            cursor.execute(
                sql.SQL("ALTER TABLE audit_auditevent OWNER TO {}").format(sql.Identifier(owner))
            )
            cursor.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(app_role))
            )
        with override_settings(DATABASE_APP_ROLE=app_role):
            assert [message.id for message in app_role_check()] == ["audit.W002"]

    def test_it_warns_when_the_role_may_truncate_an_audit_table(self, app_role: str) -> None:
        with connection.cursor() as cursor:  # rolled back with the test
            cursor.execute(
                sql.SQL("GRANT TRUNCATE ON audit_auditcheckpoint TO {}").format(
                    sql.Identifier(app_role)
                )
            )
        with override_settings(DATABASE_APP_ROLE=app_role):
            assert [message.id for message in app_role_check()] == ["audit.W004"]


@pytest.mark.django_db
class TestTheGrantsCommand:
    def test_it_refuses_to_run_as_the_applications_role(self) -> None:
        with pytest.raises(CommandError, match="DATABASE_OWNER_URL"):
            call_command("db_grants")

    def test_it_refuses_a_role_that_does_not_exist(self) -> None:
        with (
            override_settings(DATABASE_APP_ROLE=f"{_role_name()}_missing"),
            pytest.raises(CommandError, match="does not exist"),
        ):
            call_command("db_grants")

    def test_it_refuses_to_grant_a_superuser(self) -> None:
        with pytest.raises(RoleError, match="superuser"):
            app_role_grant(role=str(connection.settings_dict["USER"]))

    def test_it_says_what_it_granted(self, app_role: str) -> None:
        out = StringIO()
        with override_settings(DATABASE_APP_ROLE=app_role):
            call_command("db_grants", stdout=out)
        assert f"granted {app_role}" in out.getvalue()
