"""'Who viewed my information' shows a proxy's access, with their name and role (issue 22)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import ProxyScope
from tests.accounts.proxy_factories import acting_client, link_made, make_proxy
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db

HISTORY = reverse("audit:my_access_log")


class TestProxyInHistory:
    def test_a_proxy_reading_a_message_is_listed_with_their_role(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        proxy = make_proxy()
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES],
        )
        patient = client_for(personas.patient)
        assert "Parker Lindqvist" not in patient.get(HISTORY).content.decode()
        client = acting_client(client_for, proxy, personas.patient)
        assert client.get(reverse("portal:thread", args=[message.thread_id])).status_code == 200
        page = patient.get(HISTORY).content.decode()
        entry = page.split(">Parker Lindqvist", 1)[1].split("</li>", 1)[0]
        assert '<span class="help">(Proxy)</span>' in entry and "Read your messages" in entry
        assert entry.count("(Proxy)") == 1

    def test_the_patients_own_reading_is_still_not_listed(
        self, personas: Any, client_for: Any
    ) -> None:
        message = message_sent(author=personas.clinician, patient=personas.patient)
        patient = client_for(personas.patient)
        patient.get(reverse("portal:thread", args=[message.thread_id]))
        assert "Penelope Quartermaine</strong>" not in patient.get(HISTORY).content.decode()

    def test_a_proxy_cannot_open_the_patients_history(self, personas: Any, client_for: Any) -> None:
        proxy = make_proxy()
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        assert client.get(HISTORY).status_code == 404
