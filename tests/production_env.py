"""A complete production environment, and starting Django's settings under it in a child
process, for the tests of what production refuses (tests/test_settings.py and others)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


GOOD = {
    "APP_MODE": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/portal",
    "ALLOWED_HOSTS": "portal.example.org",
    "ENCRYPTION_KEYS": f"k1:{secrets.token_urlsafe(32)}",
    "AUDIT_SEAL_KEY": secrets.token_urlsafe(48),
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_USE_TLS": "true",
    "PORTAL_BASE_URL": "https://portal.example.org",
    "WEBAUTHN_RP_ID": "portal.example.org",
    # Start-up checks they are set; the files are read (and checked) at the first signature.
    "RECORDS_SIGNING_CERT_FILE": "/run/secrets/records-signing-cert.pem",
    "RECORDS_SIGNING_KEY_FILE": "/run/secrets/records-signing-key.pem",
    "RECORDS_PRIVACY_CONTACT": "The Privacy Officer, (555) 010-0100",
    "AUDIT_SIGNING_KEY_FILE": "/run/secrets/audit-signing-key.pem",
    "AUDIT_ANCHOR_SINK": "s3",
    "AUDIT_ANCHOR_S3_BUCKET": "portal-audit-anchors",
}


def settings_load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in GOOD and not k.endswith("_FILE")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; "
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup()",
        ],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
