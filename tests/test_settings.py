"""Production mode refuses to start without its secrets, naming the variable."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.production_env import GOOD, settings_load

ROOT = Path(__file__).resolve().parent.parent
# Secrets are made fresh: any value written here would be a published one, refused.


def test_production_starts_with_everything_set() -> None:
    assert settings_load(GOOD).returncode == 0


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "ALLOWED_HOSTS",
        "ENCRYPTION_KEYS",
        "AUDIT_SEAL_KEY",
        "REDIS_URL",
        "PORTAL_BASE_URL",
        "WEBAUTHN_RP_ID",
        "RECORDS_PRIVACY_CONTACT",
        "AUDIT_SIGNING_KEY_FILE",
        "AUDIT_ANCHOR_SINK",
    ],
)
def test_production_refuses_to_start_without(missing: str) -> None:
    result = settings_load({k: v for k, v in GOOD.items() if k != missing})
    assert result.returncode != 0
    assert missing in result.stderr


def test_an_unset_mode_is_production() -> None:
    result = settings_load({k: v for k, v in GOOD.items() if k not in ("APP_MODE", "SECRET_KEY")})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def _published(name: str) -> str:
    """The development value of ``name`` that the settings module itself publishes."""
    return _setting({"APP_MODE": "test", name: ""}, name)


@pytest.mark.parametrize("name", ["SECRET_KEY", "AUDIT_SEAL_KEY", "ENCRYPTION_KEYS"])
def test_production_refuses_each_published_development_value(name: str) -> None:
    result = settings_load({**GOOD, name: _published(name)})
    assert result.returncode != 0
    assert f"ConfigError: {name} " in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("SECRET_KEY", "insecure-demo-and-test-only-key-x9" * 2, "looks like a placeholder"),
        ("SECRET_KEY", secrets.token_urlsafe(24), "must be at least 50 characters"),
        ("AUDIT_SEAL_KEY", "b1" * 20, "not random enough"),
        ("MESSAGING_BOUNCE_WEBHOOK_SECRET", "s3cr3t-but-short", "must be at least 32"),
        ("MESSAGING_BOUNCE_WEBHOOK_SECRET", "changeme-" + "x1y2z3" * 6, "placeholder"),
    ],
)
def test_production_refuses_a_weak_secret_naming_it(name: str, value: str, reason: str) -> None:
    result = settings_load({**GOOD, name: value})
    assert result.returncode != 0
    assert name in result.stderr and reason in result.stderr
    assert value not in result.stderr


def test_production_refuses_a_weak_encryption_key_by_id() -> None:
    weak = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE"  # 32 x "A"
    result = settings_load({**GOOD, "ENCRYPTION_KEYS": f"{GOOD['ENCRYPTION_KEYS']},old:{weak}"})
    assert "ENCRYPTION_KEYS key 'old' is not random" in result.stderr


def test_production_accepts_a_strong_bounce_secret() -> None:
    secret = secrets.token_urlsafe(32)
    assert settings_load({**GOOD, "MESSAGING_BOUNCE_WEBHOOK_SECRET": secret}).returncode == 0


def test_production_refuses_a_plain_http_portal_address() -> None:
    result = settings_load({**GOOD, "PORTAL_BASE_URL": "http://portal.example.org"})
    assert result.returncode != 0
    assert "PORTAL_BASE_URL must be set to the https://" in result.stderr


def _setting(env: dict[str, str], name: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in GOOD and not k.endswith("_FILE")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; "
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "
            f"from django.conf import settings; print(settings.{name})",
        ],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_cache_never_shares_the_brokers_redis_database() -> None:
    caches = _setting({**GOOD, "REDIS_URL": "redis://cache.example:6379/4"}, "CACHES")
    assert "redis://cache.example:6379/5" in caches


def test_a_cache_url_equal_to_the_broker_is_refused() -> None:
    result = settings_load({**GOOD, "REDIS_CACHE_URL": GOOD["REDIS_URL"]})
    assert "REDIS_CACHE_URL must name a different Redis database" in result.stderr


def test_a_mail_timeout_longer_than_half_the_notice_lease_is_refused() -> None:
    result = settings_load({**GOOD, "EMAIL_TIMEOUT_SECONDS": "200"})
    assert "at least twice EMAIL_TIMEOUT_SECONDS" in result.stderr


def test_a_tls_relay_without_a_port_is_refused() -> None:
    result = settings_load({**GOOD, "EMAIL_TLS_RELAY": "relay.example.org"})
    assert "EMAIL_TLS_RELAY must be host:port" in result.stderr


def test_an_unknown_subject_rule_is_refused_by_name() -> None:
    result = settings_load({**GOOD, "MESSAGING_SUBJECT_RULES": "zip:block"})
    assert "MESSAGING_SUBJECT_RULES" in result.stderr and "zip:block" in result.stderr


def test_env_example_documents_every_variable_read() -> None:
    import re

    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    settings_source = (ROOT / "config" / "settings.py").read_text()
    gunicorn_source = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    read |= set(re.findall(r'_production_secret\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    read |= set(re.findall(r'os\.environ\.get\("([A-Z][A-Z0-9_]+)"', gunicorn_source))
    assert len(read) > 40
    assert sorted(read - documented) == []


def test_coverage_measures_every_package_of_the_product() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    measured = set(config["tool"]["coverage"]["run"]["source"])
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in ("tests", "bench", "scripts", "deploy")
    }
    assert packages <= measured


class TestTheOwnersDatabaseUrl:
    """DATABASE_OWNER_URL (the migration step's) beside DATABASE_URL (the application's)."""

    OWNER = "postgresql://portal_owner@127.0.0.1:5432/portal"

    def test_production_starts_with_both_roles(self) -> None:
        app = "postgresql://portal_app@127.0.0.1:5432/portal"
        result = settings_load({**GOOD, "DATABASE_URL": app, "DATABASE_OWNER_URL": self.OWNER})
        assert result.returncode == 0, result.stderr

    def test_it_refuses_the_same_role_twice(self) -> None:
        owner = self.OWNER
        result = settings_load({**GOOD, "DATABASE_URL": owner, "DATABASE_OWNER_URL": owner})
        assert "DATABASE_URL must name the application's role" in result.stderr

    def test_it_refuses_another_database(self) -> None:
        app = "postgresql://portal_app@127.0.0.1:5432/elsewhere"
        result = settings_load({**GOOD, "DATABASE_URL": app, "DATABASE_OWNER_URL": self.OWNER})
        assert "DATABASE_OWNER_URL must name the same database" in result.stderr


@pytest.mark.parametrize("variable", ["DATABASE_OWNER_URL", "DATABASE_OWNER_URL_FILE"])
def test_the_web_server_refuses_the_owners_credentials(variable: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import config.asgi"],
        env={**os.environ, "APP_MODE": "test", variable: "postgresql://portal_owner@/portal"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "must not be given DATABASE_OWNER_URL" in result.stderr


# Beat's schedule in a file of the test's own: celery deletes a schedule file it cannot
# open (and its .db/.dat/.dir/.bak), and "-s /dev/null" once deleted /dev/null itself,
# which broke every later "> /dev/null" on the machine (initdb, the demo).
@pytest.mark.parametrize("process", [["worker", "--pool", "solo"], ["beat", "-s", "SCHEDULE"]])
def test_celery_refuses_the_owners_credentials(process: list[str], tmp_path: Path) -> None:
    process = [str(tmp_path / "beat-schedule") if part == "SCHEDULE" else part for part in process]
    # The same database as the DATABASE_URL the child reads, another role.
    app = urlsplit(os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/portal")
    owner = urlunsplit(app._replace(netloc=f"portal_owner@{app.netloc.rpartition('@')[2]}"))
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", *process],
        env={**os.environ, "APP_MODE": "test", "DATABASE_OWNER_URL": owner},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "must not be given DATABASE_OWNER_URL" in result.stdout + result.stderr
