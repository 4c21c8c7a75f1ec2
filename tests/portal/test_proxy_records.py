"""A proxy asks for, follows and withdraws the patient's record requests (issue 22)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import ProxyKind, ProxyScope
from audit.models import AuditEvent
from consent.models import RecordCategory
from messaging.models import Message
from records import services
from records.errors import RecordsError
from records.models import ArrivedBy, DeliverTo, RecordRequest
from tests.accounts.proxy_factories import acting_client, link_made, make_proxy
from tests.records.factories import built, request_received, spec

pytestmark = pytest.mark.django_db

ASK = {"categories": [RecordCategory.LAB_RESULTS], "deliver_to": DeliverTo.PORTAL}


@pytest.fixture
def proxy(personas: Any) -> Any:
    return make_proxy()


class TestAsking:
    def test_a_guardians_request_names_them_and_their_authority(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        answer = client.post(reverse("portal:records_new"), ASK)
        req = RecordRequest.objects.get()
        assert answer.url == reverse("portal:records_detail", args=[req.pk])
        assert (req.patient_id, req.recorded_by_id, req.arrived_by) == (
            personas.patient.pk,
            proxy.pk,
            ArrivedBy.PORTAL,
        )
        assert req.representative_name == "Parker Lindqvist"
        assert req.representative_authority.startswith("Legal guardian")
        event = AuditEvent.objects.get(action="records.request_received")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)

    def test_the_form_asks_a_proxy_nothing_about_who_asks(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        page = client.get(reverse("portal:records_new")).content.decode()
        assert "personal representative" not in page
        assert "as their proxy: we record your name as the person asking" in page
        forged = {**ASK, "asker": "representative", "representative_name": "Someone Else"}
        client.post(reverse("portal:records_new"), forged)
        assert RecordRequest.objects.get().representative_name == "Parker Lindqvist"

    def test_the_clerk_and_the_patient_see_who_asked_for_whom(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        acting_client(client_for, proxy, personas.patient).post(reverse("portal:records_new"), ASK)
        req = RecordRequest.objects.get()
        staff = client_for(personas.records_clerk).get(reverse("records:request", args=[req.pk]))
        assert "Parker Lindqvist for Penelope Quartermaine (proxy, in the portal; personal " in (
            staff.content.decode()
        )
        mine = client_for(personas.patient).get(reverse("portal:records_detail", args=[req.pk]))
        assert "Parker Lindqvist</span> for <span" in mine.content.decode()

    def test_a_caregivers_request_is_not_a_representatives(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.patient,
            kind=ProxyKind.CAREGIVER,
            scopes=[ProxyScope.REQUEST_RECORDS],
        )
        acting_client(client_for, proxy, personas.patient).post(reverse("portal:records_new"), ASK)
        req = RecordRequest.objects.get()
        assert (req.recorded_by_id, req.representative_name) == (proxy.pk, "")
        staff = client_for(personas.records_clerk).get(reverse("records:request", args=[req.pk]))
        assert "a caregiver the patient invited, not a personal representative" in (
            staff.content.decode()
        )


class TestTheService:
    @pytest.mark.parametrize("case", ["no_scope", "not_linked", "other_patient"])
    def test_it_refuses_anyone_not_acting_for_the_patient(
        self, personas: Any, proxy: Any, case: str
    ) -> None:
        scopes: list[str] | None = [ProxyScope.READ_MESSAGES] if case == "no_scope" else None
        if case != "not_linked":
            link_made(
                proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=scopes
            )
        actor = personas.other_patient if case == "other_patient" else proxy
        with pytest.raises(RecordsError):
            services.request_receive(
                actor=actor, patient=personas.patient, spec=spec(), arrived_by=ArrivedBy.PORTAL
            )
        assert not RecordRequest.objects.exists()
        refused = AuditEvent.objects.get(action="records.request_refused")
        assert refused.actor_id == actor.pk

    def test_a_proxy_of_another_patient_cannot_withdraw(self, personas: Any, proxy: Any) -> None:
        req = request_received(patient=personas.patient)
        link_made(proxy=proxy, patient=personas.other_patient, by=personas.records_clerk)
        with pytest.raises(RecordsError):
            services.request_withdraw(actor=proxy, request=req)
        assert RecordRequest.objects.get(pk=req.pk).state == "received"


class TestFollowing:
    def test_the_proxy_lists_views_and_withdraws_audited_as_themselves(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        req = request_received(patient=personas.patient)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        assert str(req.pk) in client.get(reverse("portal:records")).content.decode()
        assert client.get(reverse("portal:records_detail", args=[req.pk])).status_code == 200
        answer = client.post(reverse("portal:records_withdraw", args=[req.pk]))
        assert answer.status_code == 302
        req.refresh_from_db()
        assert (req.state, req.closed_by_id) == ("withdrawn", proxy.pk)
        for action in (
            "records.queue_listed",
            "records.request_viewed",
            "records.request_withdrawn",
        ):
            event = AuditEvent.objects.get(action=action, actor_id=proxy.pk)
            assert event.patient_id == personas.patient.pk

    @pytest.mark.parametrize("reads_messages", [True, False])
    def test_the_copys_message_is_linked_only_when_the_proxy_may_read_it(
        self, personas: Any, proxy: Any, client_for: Any, reads_messages: bool
    ) -> None:
        req = built(personas)
        services.request_fulfil(actor=personas.records_clerk, request=req)
        req.refresh_from_db()
        thread_id = Message.objects.get(pk=str(req.delivered_message_id)).thread_id
        scopes: list[str] = [ProxyScope.REQUEST_RECORDS]
        if reads_messages:
            scopes.append(ProxyScope.READ_MESSAGES)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=scopes)
        client = acting_client(client_for, proxy, personas.patient)
        link = f'href="{reverse("portal:thread", args=[thread_id])}"'
        for url in (reverse("portal:records"), reverse("portal:records_detail", args=[req.pk])):
            page = client.get(url).content.decode()
            assert "Fulfilled" in page
            assert (link in page) == reads_messages
