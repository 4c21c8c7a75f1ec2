"""What a request page offers is exactly what the services accept (records/policies.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from records import policies, services
from records.errors import RecordsError
from tests.records.factories import request_received, request_verified

pytestmark = pytest.mark.django_db


def _actions(request: Any) -> dict[str, bool]:
    return policies.request_actions(request, now=timezone.now(), documents=0)


class TestRequestActions:
    def test_a_new_request_offers_verification_but_no_documents(self, personas: Any) -> None:
        actions = _actions(request_received(patient=personas.patient))
        assert actions["verify"] and actions["extend"]
        assert not actions["documents"] and not actions["build"] and not actions["fulfil"]

    def test_a_verified_request_without_documents_offers_no_build(self, personas: Any) -> None:
        request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
        actions = _actions(request)
        assert actions["documents"] and not actions["build"]
        with pytest.raises(RecordsError) as refused:
            services.package_build_queue(actor=personas.records_clerk, request=request)
        assert refused.value.code == "no_documents"

    def test_after_the_due_date_extension_is_neither_offered_nor_accepted(
        self, personas: Any
    ) -> None:
        request = request_received(
            patient=personas.patient, received_at=timezone.now() - timedelta(days=40)
        )
        assert not _actions(request)["extend"]
        with pytest.raises(RecordsError) as refused:
            services.request_extend(
                actor=personas.records_clerk,
                request=request,
                new_due_day=timezone.localdate() + timedelta(days=10),
                reason="Archive offsite",
            )
        expected = policies.extension_refusal(request, timezone.now())
        assert expected is not None and refused.value.code == expected.code == "late_extension"

    def test_a_withdrawn_request_offers_nothing(self, personas: Any) -> None:
        request = services.request_withdraw(
            actor=personas.patient, request=request_received(patient=personas.patient)
        )
        assert not any(_actions(request).values())
