"""scripts/db_split.py: the scratch database with production's two roles that `make test`
checks `check --deploy` against."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import db_split

SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/portal"
# Its own names: make test's step (named after DATABASE_URL's database) may be in use.
ADMIN = urlunsplit(urlsplit(SERVER)._replace(path=f"{urlsplit(SERVER).path}_split_test"))


def test_it_makes_an_owner_and_an_application_role_that_owns_nothing() -> None:
    urls = db_split.create(ADMIN)
    try:
        with psycopg.connect(urls["SPLIT_APP_URL"]) as app:
            row = app.execute(
                "SELECT r.rolsuper, pg_has_role(current_user, d.datdba, 'MEMBER') "
                "FROM pg_roles r, pg_database d "
                "WHERE r.rolname = current_user AND d.datname = current_database()"
            ).fetchone()
        assert row == (False, False)
        with psycopg.connect(urls["SPLIT_OWNER_URL"]) as owner:
            owns = "SELECT pg_has_role(current_user, datdba, 'USAGE') FROM pg_database "
            assert owner.execute(owns + "WHERE datname = current_database()").fetchone() == (True,)
    finally:
        db_split.drop(ADMIN)
    with psycopg.connect(urlunsplit(urlsplit(SERVER)._replace(path="/postgres"))) as server:
        database, owner_role, app_role = db_split._names(ADMIN)
        left = server.execute(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)) "
            "+ (SELECT count(*) FROM pg_database WHERE datname = %s)",
            [owner_role, app_role, database],
        ).fetchone()
    assert left == (0,)
