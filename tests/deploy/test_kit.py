"""The deployment kit's files agree with each other (no processes started here)."""

from __future__ import annotations

import re

from tests.deploy.topology import DEPLOY


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def test_nginx_closes_idle_connections_to_gunicorn_before_gunicorn_does() -> None:
    """Found by the soak battery (issue 23): nginx kept idle upstream connections for its
    default 60 s, gunicorn closed them after 5 s, and a POST sent on one gunicorn was
    closing at that moment answered 502 (nginx never retries a POST)."""
    site = (DEPLOY / "nginx" / "portal.conf").read_text()
    upstream = re.search(r"upstream portal_web \{(.*?)\}", site, re.S)
    assert upstream is not None
    kept = re.search(r"^\s*keepalive_timeout (\S+);", upstream.group(1), re.M)
    assert kept is not None, "the upstream sets no keepalive_timeout (nginx's default: 60 s)"
    gunicorn = (DEPLOY / "gunicorn.conf.py").read_text()
    closes = re.search(r"^keepalive = (\d+)", gunicorn, re.M)
    assert closes is not None
    assert _seconds(kept.group(1)) < int(closes.group(1))
