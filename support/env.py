"""Validating readers for configuration from the environment.

Every setting the project reads from the environment goes through one of these, so a
typo such as ``DEBUG=ture`` stops start-up with a message naming the variable instead
of silently meaning something else. Secrets may come from ``NAME_FILE`` (a path), the
convention of Docker and Kubernetes secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A variable is missing or malformed; the message names it and never echoes a secret."""


@dataclass(frozen=True)
class Env:
    """Reads one mapping (``os.environ`` by default) with typed, validating getters."""

    values: Mapping[str, str]

    @classmethod
    def from_os(cls) -> Env:
        return cls(os.environ)

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value not in (None, "") else None

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def required(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise ConfigError(f"{name} must be set")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise ConfigError(f"{name} must be 'true' or 'false'")

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}")
        return number

    def csv(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(name, default) or default
        if value not in choices:
            raise ConfigError(f"{name} must be one of: {', '.join(choices)}")
        return value

    def secret(self, name: str) -> str | None:
        """``NAME`` itself, or the stripped contents of the file named by ``NAME_FILE``."""
        direct = self.raw(name)
        path = self.raw(f"{name}_FILE")
        if direct is not None and path is not None:
            raise ConfigError(f"set {name} or {name}_FILE, not both")
        if path is not None:
            try:
                return Path(path).read_text(encoding="utf-8").strip() or None
            except OSError:
                raise ConfigError(f"{name}_FILE names a file that cannot be read") from None
        return direct


def parse_database_url(url: str, *, name: str = "DATABASE_URL") -> dict[str, object]:
    """Turn ``postgresql://user:pass@host:port/db?host=/socket/dir`` into Django's form.

    Only PostgreSQL is accepted: the audit table's guards are PostgreSQL triggers.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"{name} must be a postgresql:// URL")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or unquote(parts.hostname or "")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(f"{name} must name a database")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} has an invalid port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port) if port else "",
        "OPTIONS": query,
    }


OWNER_VARIABLES = ("DATABASE_OWNER_URL", "DATABASE_OWNER_URL_FILE")


def owner_credentials_problem(process: str, environ: Mapping[str, str]) -> str | None:
    """Why ``process`` (the web, a worker, beat) must not start, or None.

    Only the migration step holds the owner's credentials: a web or worker process given
    them would connect as the owner and could rewrite the audit tables.
    """
    if any(environ.get(name) for name in OWNER_VARIABLES):
        return (
            f"{process} must not be given DATABASE_OWNER_URL (only migrations and db_grants "
            "run as the owner): remove it from its environment"
        )
    return None
