from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import RequestFactory

from audit.context import AuditContext, bound, system_actor
from audit.models import ActorKind, AuditEvent
from audit.services import AuditError, event_record


@pytest.mark.django_db
class TestEventRecord:
    def test_it_leaves_nothing_when_the_transaction_rolls_back(self) -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            event_record(action="audit.searched")
            raise RuntimeError
        assert not AuditEvent.objects.exists()

    def test_it_attributes_events_in_a_task_to_the_system_actor(self) -> None:
        with system_actor("nightly purge"):
            event = event_record(action="audit.sealed")
        assert (event.actor_kind, event.actor_label) == (ActorKind.SYSTEM, "nightly purge")

    def test_it_copies_the_request_user_and_client(self, personas: Any) -> None:
        request = RequestFactory().get("/")
        request.user = personas.clinician
        with bound(AuditContext(request_id="r1", ip="10.1.2.3", user_agent="UA", request=request)):
            event = event_record(action="audit.searched")
        event.refresh_from_db()
        assert (event.actor_id, event.actor_role, event.ip) == (
            personas.clinician.pk,
            "clinician",
            "10.1.2.3",
        )

    def test_it_refuses_free_text_in_details(self) -> None:
        with pytest.raises(AuditError):
            event_record(action="audit.searched", details={"note": "x" * 200})
