"""The proxy scope matrix: each portal action against its scope granted and withheld, a
link that stopped (revoked, suspended, past its end, aged out) reaching nothing, and
another patient's objects never found (issue 22)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PatientProfile, ProxyKind, ProxyLink, ProxyScope
from audit.models import AuditEvent
from consent.models import Authorization, RecordCategory
from consent.services import waiver_statement_publish
from records.models import DeliverTo, RecordRequest
from tests.accounts.proxy_factories import EVERYTHING, acting_client, link_made, make_proxy
from tests.consent.factories import authorization_signed
from tests.messaging.factories import message_sent
from tests.records.factories import request_received

pytestmark = pytest.mark.django_db

CHOOSE = reverse("portal:acting_choose")


@dataclass
class World:
    """One of everything a proxy could reach for the patient."""

    message: Any
    request: RecordRequest
    authorization: Authorization
    statement_id: int


@pytest.fixture
def world(personas: Any) -> World:
    message = message_sent(author=personas.clinician, patient=personas.patient)
    statement = waiver_statement_publish(
        actor=personas.privacy_officer, text="Ordinary e-mail can be read on the way."
    )
    return World(
        message=message,
        request=request_received(patient=personas.patient),
        authorization=authorization_signed(patient=personas.patient),
        statement_id=statement.pk,
    )


@dataclass(frozen=True)
class Action:
    name: str
    scope: str
    method: str
    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    by_id: bool = False  # the URL names one of the patient's objects
    audited: bool = True  # False: a blank form, nothing of the patient's shown

    def __str__(self) -> str:
        return self.name


ACTIONS = [
    Action("inbox", ProxyScope.READ_MESSAGES, "get", lambda w: reverse("portal:inbox")),
    Action(
        "thread",
        ProxyScope.READ_MESSAGES,
        "get",
        lambda w: reverse("portal:thread", args=[w.message.thread_id]),
        by_id=True,
    ),
    Action(
        "attachment",
        ProxyScope.READ_MESSAGES,
        "get",
        lambda w: reverse("portal:attachment", args=[w.message.attachments.get().pk]),
        by_id=True,
    ),
    Action(
        "reply",
        ProxyScope.SEND_MESSAGES,
        "post",
        lambda w: reverse("portal:reply", args=[w.message.thread_id]),
        lambda w: {"body": "She is feeling better", "send_key": uuid.uuid4()},
        by_id=True,
    ),
    Action("records", ProxyScope.REQUEST_RECORDS, "get", lambda w: reverse("portal:records")),
    Action(
        "records_new",
        ProxyScope.REQUEST_RECORDS,
        "get",
        lambda w: reverse("portal:records_new"),
        audited=False,
    ),
    Action(
        "records_new_post",
        ProxyScope.REQUEST_RECORDS,
        "post",
        lambda w: reverse("portal:records_new"),
        lambda w: {"categories": [RecordCategory.LAB_RESULTS], "deliver_to": DeliverTo.PORTAL},
    ),
    Action(
        "records_detail",
        ProxyScope.REQUEST_RECORDS,
        "get",
        lambda w: reverse("portal:records_detail", args=[w.request.pk]),
        by_id=True,
    ),
    Action(
        "records_withdraw",
        ProxyScope.REQUEST_RECORDS,
        "post",
        lambda w: reverse("portal:records_withdraw", args=[w.request.pk]),
        by_id=True,
    ),
    Action("sharing", ProxyScope.MANAGE_SHARING, "get", lambda w: reverse("portal:sharing")),
    Action(
        "sharing_new",
        ProxyScope.MANAGE_SHARING,
        "get",
        lambda w: reverse("portal:sharing_new"),
        audited=False,
    ),
    Action(
        "sharing_detail",
        ProxyScope.MANAGE_SHARING,
        "get",
        lambda w: reverse("portal:sharing_detail", args=[w.authorization.pk]),
        by_id=True,
    ),
    Action(
        "sharing_revoke",
        ProxyScope.MANAGE_SHARING,
        "post",
        lambda w: reverse("portal:sharing_revoke", args=[w.authorization.pk]),
        lambda w: {"confirm": "on"},
        by_id=True,
    ),
    Action("accounting", ProxyScope.SEE_ACCOUNTING, "get", lambda w: reverse("portal:accounting")),
    Action(
        "preferences", ProxyScope.MANAGE_SHARING, "get", lambda w: reverse("portal:preferences")
    ),
    Action(
        "preferences_post",
        ProxyScope.MANAGE_SHARING,
        "post",
        lambda w: reverse("portal:preferences"),
        lambda w: {"postal_only": "on", "postal_address": "4 Elm Row, Springfield"},
    ),
    Action(
        "delivery_method",
        ProxyScope.MANAGE_SHARING,
        "post",
        lambda w: reverse("portal:delivery_method"),
        lambda w: {"method": "portal"},
    ),
    Action(
        "waiver_accept",
        ProxyScope.MANAGE_SHARING,
        "post",
        lambda w: reverse("portal:waiver_accept"),
        lambda w: {"statement_id": w.statement_id, "understood": "on"},
    ),
    Action(
        "waiver_revoke",
        ProxyScope.MANAGE_SHARING,
        "post",
        lambda w: reverse("portal:waiver_revoke"),
        audited=False,  # no waiver in force: nothing to stop
    ),
]


def call(client: Any, action: Action, world: World) -> Any:
    return getattr(client, action.method)(action.url(world), action.data(world))


def changes(personas: Any) -> int:
    """Audit events of the proxy's work, bar choosing whom to act for."""
    return AuditEvent.objects.exclude(action="accounts.proxy_acting_for").count()


@pytest.fixture
def proxy(personas: Any) -> Any:
    return make_proxy()


class TestScopeMatrix:
    @pytest.mark.parametrize("action", ACTIONS, ids=str)
    def test_the_scope_granted_lets_the_proxy_in(
        self, personas: Any, proxy: Any, world: World, client_for: Any, action: Action
    ) -> None:
        link_made(
            proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=[action.scope]
        )
        client = acting_client(client_for, proxy, personas.patient)
        answer = call(client, action, world)
        expected = 302 if action.method == "post" else 200
        assert answer.status_code == expected, answer.content.decode()[:500]
        if expected == 302:
            assert answer.url != CHOOSE
        audited = AuditEvent.objects.exclude(action="accounts.proxy_acting_for").filter(
            actor_id=proxy.pk
        )
        assert audited.exists() == action.audited
        assert set(audited.values_list("patient_id", flat=True)) <= {personas.patient.pk}

    @pytest.mark.parametrize("action", ACTIONS, ids=str)
    def test_the_scope_withheld_is_refused_with_a_reason(
        self, personas: Any, proxy: Any, world: World, client_for: Any, action: Action
    ) -> None:
        others = [scope for scope in EVERYTHING if scope != action.scope]
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=others)
        client = acting_client(client_for, proxy, personas.patient)
        before = changes(personas)
        answer = call(client, action, world)
        assert answer.status_code == 403
        assert "does not include this page" in answer.content.decode()
        assert changes(personas) == before


def _revoked(link: ProxyLink) -> None:
    link.revoked_at = timezone.now()


def _suspended(link: ProxyLink) -> None:
    link.suspended_at = timezone.now()
    link.suspension_reason = "Concern for the patient's safety"


def _expired(link: ProxyLink) -> None:
    link.ends_on = timezone.localdate() - timedelta(days=1)


def _aged_out(link: ProxyLink) -> None:
    link.aged_out_at = timezone.now()
    PatientProfile.objects.filter(user=link.patient).update(
        date_of_birth=timezone.localdate().replace(year=timezone.localdate().year - 18)
        - timedelta(days=1)
    )


class TestAStoppedLink:
    @pytest.mark.parametrize(
        "stop", [_revoked, _suspended, _expired, _aged_out], ids=lambda f: f.__name__[1:]
    )
    def test_it_reaches_nothing(
        self, personas: Any, proxy: Any, world: World, client_for: Any, stop: Any
    ) -> None:
        PatientProfile.objects.filter(user=personas.patient).update(
            date_of_birth=timezone.localdate() - timedelta(days=8 * 365)
        )
        link = link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            kind=ProxyKind.PARENT,
            starts_on=timezone.localdate() - timedelta(days=30),
        )
        client = acting_client(client_for, proxy, personas.patient)
        assert client.get(reverse("portal:inbox")).status_code == 200
        stop(link)
        link.save()
        before = changes(personas)
        for action in ACTIONS:
            answer = call(client, action, world)
            assert (answer.status_code, answer.url) == (302, CHOOSE), action.name
        assert changes(personas) == before
        assert (
            client.post(CHOOSE, {"patient": personas.patient.pk}).status_code == 400
        )  # cannot be chosen


class TestAnotherPatient:
    def test_their_requests_authorizations_and_threads_are_not_found(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        theirs = World(
            message=message_sent(author=personas.records_clerk, patient=personas.other_patient),
            request=request_received(patient=personas.other_patient),
            authorization=authorization_signed(patient=personas.other_patient),
            statement_id=0,
        )
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        by_id = [a for a in ACTIONS if a.by_id]
        for action in by_id:
            assert call(client, action, theirs).status_code == 404, action.name
        assert RecordRequest.objects.get(pk=theirs.request.pk).state == "received"
        assert Authorization.objects.get(pk=theirs.authorization.pk).revoked_at is None

    def test_the_lists_show_only_the_patient_acted_for(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        theirs = request_received(patient=personas.other_patient)
        authorization_signed(patient=personas.other_patient, recipient_name="Dr. Other Person")
        mine = authorization_signed(patient=personas.patient)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        sharing = client.get(reverse("portal:sharing")).content.decode()
        assert str(mine.pk) in sharing and "Dr. Other Person" not in sharing
        records = client.get(reverse("portal:records")).content.decode()
        assert str(theirs.pk) not in records
