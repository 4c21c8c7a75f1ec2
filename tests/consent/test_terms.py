"""Hostile or careless input to an authorization's terms gives a named refusal, not a crash."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from consent.errors import ConsentError
from tests.consent.factories import authorization_signed


def test_an_expiry_in_the_year_9999_is_refused_by_name(personas: Any) -> None:
    with pytest.raises(ConsentError, match="within the next 100 years"):
        authorization_signed(patient=personas.patient, expires_on=date(9999, 12, 31))
