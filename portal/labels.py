"""Words the patient reads about staff, in the patient's language. ``Role``'s own labels
are for staff screens, which stay English."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Role

ROLE_LABELS: dict[str, Promise] = {
    Role.CLINICIAN: _("clinician"),
    Role.RECORDS_CLERK: _("records clerk"),
    Role.PRIVACY_OFFICER: _("privacy officer"),
}


def role_label(role: str | None) -> str:
    """ "clinician", "records clerk"...; empty for a patient or an unknown role."""
    label = ROLE_LABELS.get(role or "")
    return str(label) if label is not None else ""
