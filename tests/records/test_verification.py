"""45 CFR 164.514(h): a verification method must fit how the request came in."""

from __future__ import annotations

from typing import Any

import pytest

from records import services
from records.errors import RecordsError
from records.models import ArrivedBy, RequestState, VerificationMethod
from tests.records.factories import request_received, spec


def test_a_portal_sign_in_vouches_for_a_portal_request(personas: Any) -> None:
    request = request_received(patient=personas.patient)
    verified = services.request_verify(
        actor=personas.records_clerk, request=request, method=VerificationMethod.PORTAL_MFA
    )
    assert verified.state == RequestState.VERIFIED


def test_a_phoned_in_request_cannot_be_verified_by_a_portal_sign_in(personas: Any) -> None:
    request = services.request_receive(
        actor=personas.records_clerk,
        patient=personas.patient,
        spec=spec(),
        arrived_by=ArrivedBy.PHONE,
    )
    with pytest.raises(RecordsError, match="another way"):
        services.request_verify(
            actor=personas.records_clerk, request=request, method=VerificationMethod.PORTAL_MFA
        )
    request.refresh_from_db()
    assert request.verified_at is None
