"""No load on one process can exhaust PostgreSQL: each process's connections are pooled.

Twenty signed-in requests at once against the threaded live server (the demo's server
is threaded the same way) all answer, while the process never holds more connections
than its pool allows.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tests.conftest import sign_in_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_requests_answer_within_the_pool(
    live_server: Any, personas: Any, settings: Any
) -> None:
    pool_size = settings.DATABASES["default"]["OPTIONS"].get("pool", {}).get("max_size", 4)
    cookie = sign_in_client(Client(), personas.patient).cookies[settings.SESSION_COOKIE_NAME]
    url = live_server.url + "/portal/messages/"
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    database = connection.settings_dict["NAME"]
    peak, done = [0], threading.Event()

    def watch() -> None:
        with psycopg.connect(**params, autocommit=True) as watcher:
            while not done.is_set():
                row = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [database],
                ).fetchone()
                peak[0] = max(peak[0], int(row[0]) if row else 0)
                time.sleep(0.01)

    statuses: list[int] = []

    def fetch() -> None:
        request = urllib.request.Request(  # noqa: S310 (the live server, http)
            url, headers={"Cookie": f"{cookie.key}={cookie.value}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            statuses.append(response.status)

    watcher = threading.Thread(target=watch)
    watcher.start()
    clients = [threading.Thread(target=fetch) for _ in range(20)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    done.set()
    watcher.join()
    assert statuses == [200] * 20
    # The pool's connections, and the test's own (this thread's Django connection).
    assert peak[0] <= pool_size + 1, f"{peak[0]} connections for a pool of {pool_size}"
