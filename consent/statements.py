"""The statements 45 CFR 164.508(c)(2) requires on every authorization.

The version is stored with each authorization, so what a signer was shown can be
reproduced. Change the wording only together with a new ``VERSION``.
"""

from __future__ import annotations

from django.conf import settings

VERSION = "2026-11"


def required_statements() -> list[tuple[str, str]]:
    """(heading, text) for each required statement, naming the organisation."""
    org = settings.ORGANISATION_NAME
    return [
        (
            "Your right to revoke",  # 164.508(c)(2)(i)
            f"You may revoke this authorization at any time, in writing: in the portal "
            f"under Sharing, or by a signed letter to the privacy officer of {org}. A "
            f"revocation does not undo a disclosure already made under it.",
        ),
        (
            "Treatment does not depend on signing",  # 164.508(c)(2)(ii)
            f"{org} will not condition your treatment, payment, enrollment in a health "
            f"plan or eligibility for benefits on whether you sign this authorization.",
        ),
        (
            "Redisclosure",  # 164.508(c)(2)(iii)
            "Information disclosed under this authorization may be redisclosed by the "
            "recipient and may no longer be protected by federal privacy rules.",
        ),
    ]
