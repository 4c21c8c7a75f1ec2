"""What /readyz checks: the database, Redis (broker and cache) and beat's heartbeat.

Each check answers ok or a short reason naming the part; never a version, a host name
or anything about patients.
"""

from __future__ import annotations

import time

import psycopg
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

HEARTBEAT_KEY = "health:beat-heartbeat"


def heartbeat_write() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def database_check() -> str | None:
    """A connection of its own, with a short timeout: a probe must answer fast, and the
    pool would wait its full timeout for a database that is gone."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    try:
        with psycopg.connect(**params, connect_timeout=2) as probe:
            probe.execute("SELECT 1")
    except psycopg.Error:
        return "database unavailable"
    return None


def redis_check() -> str | None:
    if not settings.REDIS_URL:
        return "Redis not configured"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        client.ping()
    except redis.RedisError:
        return "Redis unavailable"
    return None


def beat_check() -> str | None:
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception:
        return "cache unavailable"
    if last is None:
        return "no beat heartbeat yet"
    if time.time() - float(last) > settings.HEALTH_BEAT_MAX_AGE_SECONDS:
        return "beat heartbeat is stale"
    return None


def readiness_problems() -> list[str]:
    """Every failing check; an empty list means ready."""
    problems = [database_check(), redis_check()]
    if not problems[1]:
        problems.append(beat_check())
    return [problem for problem in problems if problem]
