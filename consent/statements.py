"""The statements 45 CFR 164.508(c)(2) requires on every authorization.

The version is stored with each authorization, so what a signer was shown can be
reproduced. Change the wording only together with a new ``VERSION``.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

VERSION = "2026-11"


def required_statements() -> list[tuple[str, str]]:
    """(heading, text) for each required statement, naming the organisation, in the
    reader's language (a translation of this same version's wording)."""
    org = {"organisation": settings.ORGANISATION_NAME}
    return [
        (
            gettext("Your right to revoke"),  # 164.508(c)(2)(i)
            gettext(
                "You may revoke this authorization at any time, in writing: in the portal "
                "under Sharing, or by a signed letter to the privacy officer of "
                "%(organisation)s. A revocation does not undo a disclosure already made "
                "under it."
            )
            % org,
        ),
        (
            gettext("Treatment does not depend on signing"),  # 164.508(c)(2)(ii)
            gettext(
                "%(organisation)s will not condition your treatment, payment, enrollment in "
                "a health plan or eligibility for benefits on whether you sign this "
                "authorization."
            )
            % org,
        ),
        (
            gettext("Redisclosure"),  # 164.508(c)(2)(iii)
            gettext(
                "Information disclosed under this authorization may be redisclosed by the "
                "recipient and may no longer be protected by federal privacy rules."
            ),
        ),
    ]
