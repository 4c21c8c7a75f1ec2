"""Which templates a patient (or a third party a patient named) reads: these come in every
language of ``settings.LANGUAGES``. Staff pages stay English.

Listed by folder, so a new page in ``portal/`` is patient-facing without anyone
remembering to say so; the staff-only files in those folders are named as exceptions.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"

PATTERNS = (
    "base.html",
    "404.html",
    "500.html",
    "erased.html",
    "home_patient.html",
    "components/*.html",
    "encryption/*.html",
    "print/*.html",
    "portal/*.html",
    "accounts/*.html",
    "accounts/email/*",
    "audit/my_access_log.html",
    "messaging/email/*",
    "messaging/letter.html",
    "records/_request_fields.html",
    "records/denial_letter.html",
    "records/extension_notice.html",
    "records/package_cover.html",
    "consent/accounting_pdf.html",
)
STAFF_ONLY = frozenset(
    {
        "accounts/patient_enroll.html",
        "accounts/staff_create.html",
        "accounts/outbox.html",
        "accounts/email/sign_in_ceiling.html",
        "accounts/email/sign_in_ceiling.txt",
        "accounts/email/sign_in_ceiling_subject.txt",
        "accounts/email/audit_digest.html",
        "accounts/email/audit_digest.txt",
        "accounts/email/audit_digest_subject.txt",
    }
)


def patient_templates() -> list[str]:
    names = {
        str(path.relative_to(TEMPLATES))
        for pattern in PATTERNS
        for path in TEMPLATES.glob(pattern)
        if path.is_file()
    }
    return sorted(names - STAFF_ONLY)
