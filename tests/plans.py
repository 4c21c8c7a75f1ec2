"""What a page asks PostgreSQL, and how PostgreSQL answers: for tests that load many
rows of other patients and check that a page reads only what it shows."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def page_plans(client: Client, url: str, data: dict[str, Any] | None = None) -> list[str]:
    """The plan of each SELECT one request of ``url`` runs (a POST with ``data``), each
    with its query first. The page must answer 200."""
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, data) if data is not None else client.get(url)
        assert response.status_code == 200
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if sql.lstrip("( ").upper().startswith("SELECT"):
                cursor.execute("EXPLAIN " + sql)
                plans.append(sql + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return plans


def full_reads(
    plans: list[str], tables: tuple[str, ...], partial: tuple[str, ...] = ()
) -> list[str]:
    """The plans that read one of ``tables`` whole: a Seq Scan of it, or a count with no
    LIMIT whose scans have no index condition (an index-only scan counts a whole table
    too) and use none of the ``partial`` indexes (which hold only the rows in question,
    such as the open requests)."""
    found = []
    for plan in plans:
        sql, steps = plan.split("\n", 1)
        counts = "COUNT(" in sql.upper() and "LIMIT" not in sql.upper()
        bounded = "Index Cond" in steps or any(index in steps for index in partial)
        for table in tables:
            if f"Seq Scan on {table}" in steps or (counts and not bounded and table in sql):
                found.append(plan)
                break
    return found
