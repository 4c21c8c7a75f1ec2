"""A scratch database with production's two roles, for `make test`'s check --deploy step.

    eval "$(.venv/bin/python scripts/db_split.py create)"   # exports SPLIT_OWNER_URL, SPLIT_APP_URL
    .venv/bin/python scripts/db_split.py drop

``DATABASE_URL`` must be a role that may create roles and databases (the test server's
superuser). ``create`` makes ``<db>_deploy_check`` owned by ``<db>_deploy_check_owner``
and a login role ``<db>_deploy_check_app`` that owns nothing, each with a fresh random
password; ``drop`` removes all three. Migrating, granting (`manage.py db_grants`) and
checking are the caller's: scripts/test.sh.
"""

from __future__ import annotations

import os
import secrets
import sys
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def _names(admin_url: str) -> tuple[str, str, str]:
    database = f"{urlsplit(admin_url).path.lstrip('/') or 'portal'}_deploy_check"
    return database, f"{database}_owner", f"{database}_app"


def _url(admin_url: str, database: str, role: str, password: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(
        parts._replace(netloc=f"{role}:{quote(password)}@{host}", path=f"/{database}")
    )


def _maintenance(admin_url: str) -> psycopg.Connection[object]:
    parts = urlsplit(admin_url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def drop(admin_url: str) -> None:
    database, owner, app = _names(admin_url)
    with _maintenance(admin_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        for role in (app, owner):
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def create(admin_url: str) -> dict[str, str]:
    drop(admin_url)  # whatever an interrupted run left
    database, owner, app = _names(admin_url)
    passwords = {owner: secrets.token_urlsafe(24), app: secrets.token_urlsafe(24)}
    with _maintenance(admin_url) as connection:
        for role, password in passwords.items():
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        connection.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )
    return {
        "SPLIT_OWNER_URL": _url(admin_url, database, owner, passwords[owner]),
        "SPLIT_APP_URL": _url(admin_url, database, app, passwords[app]),
    }


def main(argv: list[str]) -> int:
    admin_url = os.environ.get("DATABASE_URL", "")
    if len(argv) != 2 or argv[1] not in ("create", "drop") or not admin_url:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "drop":
        drop(admin_url)
        return 0
    for key, value in create(admin_url).items():
        print(f"export {key}='{value}'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
