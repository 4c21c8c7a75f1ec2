"""An authorization that ends on an event ends when staff record that the event happened."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from consent import decision as d
from consent.decision import disclosure_decide
from consent.errors import ConsentError
from consent.models import Purpose, RecordCategory
from consent.services import authorization_event_expire
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed


def _decide(patient: Any) -> d.Decision:
    return disclosure_decide(
        patient_id=patient.pk,
        recipient_email=RECIPIENT_EMAIL,
        purpose=Purpose.CONTINUITY_OF_CARE,
        categories=[RecordCategory.LAB_RESULTS],
    )


def test_recording_the_event_ends_it_from_now_on(personas: Any) -> None:
    auth = authorization_signed(
        patient=personas.patient, expires_on=None, expiry_event="When my claim is settled"
    )
    assert _decide(personas.patient).allowed
    authorization_event_expire(actor=personas.records_clerk, authorization=auth)
    assert _decide(personas.patient).reasons == (d.EXPIRED,)


def test_an_authorization_without_an_event_cannot_be_ended_this_way(personas: Any) -> None:
    auth = authorization_signed(patient=personas.patient)
    with pytest.raises(ConsentError, match="no expiry event"):
        authorization_event_expire(actor=personas.records_clerk, authorization=auth)


def test_staff_record_it_from_the_authorization_page(personas: Any, client_for: Any) -> None:
    auth = authorization_signed(
        patient=personas.patient, expires_on=None, expiry_event="When my claim is settled"
    )
    client = client_for(personas.clinician)
    page = client.get(reverse("consent:authorization", args=[auth.pk])).content.decode()
    assert "Record that it has happened" in page
    client.post(reverse("consent:event_expire", args=[auth.pk]))
    auth.refresh_from_db()
    assert auth.expiry_event_at is not None and auth.status() == "expired"
