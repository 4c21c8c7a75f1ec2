"""A proxy manages the patient's sharing and preferences, and sees the accounting, within
their link's scope; only a personal representative signs; the document password stays
the patient's (issue 22)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ProxyKind, ProxyScope
from audit.models import AuditEvent
from consent import services
from consent.errors import ConsentError
from consent.models import (
    Authorization,
    CommunicationPreference,
    Purpose,
    RecordCategory,
    RevocationSource,
    WaiverMethod,
)
from messaging import delivery_settings
from messaging.errors import MessagingError
from tests.accounts.proxy_factories import acting_client, link_made, make_proxy
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed, terms

pytestmark = pytest.mark.django_db

SHARING: list[str] = [ProxyScope.MANAGE_SHARING]


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "categories": [RecordCategory.LAB_RESULTS],
        "description": "Blood test results from the spring check-up",
        "recipient_name": "Dr. Ana Rivera",
        "recipient_email": RECIPIENT_EMAIL,
        "purposes": [Purpose.CONTINUITY_OF_CARE],
        "expires_on": (timezone.localdate() + timedelta(days=90)).isoformat(),
        "signer_name": "Parker Lindqvist",
        "agree": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def proxy(personas: Any) -> Any:
    return make_proxy()


class TestSigning:
    def test_a_guardian_signs_with_the_authority_of_their_link(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=SHARING)
        client = acting_client(client_for, proxy, personas.patient)
        page = client.get(reverse("portal:sharing_new")).content.decode()
        assert "as their personal representative (Legal guardian)" in page
        forged = form_data(signer="patient", representative_authority="I say so")
        answer = client.post(reverse("portal:sharing_new"), forged)
        auth = Authorization.objects.get()
        assert answer.url == reverse("portal:sharing_detail", args=[auth.pk])
        assert (auth.patient_id, auth.recorded_by_id) == (personas.patient.pk, proxy.pk)
        assert auth.signed_by_representative
        assert auth.representative_authority.startswith("Legal guardian")
        assert auth.signer_name == "Parker Lindqvist"
        event = AuditEvent.objects.get(action="consent.authorization_signed")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)
        assert event.details["representative"] is True

    def test_the_patient_sees_who_signed_for_them(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=SHARING)
        auth = services.authorization_sign(
            actor=proxy, patient=personas.patient, terms=terms(signer_name="Parker Lindqvist")
        )
        page = client_for(personas.patient).get(reverse("portal:sharing_detail", args=[auth.pk]))
        shown = page.content.decode()
        assert (
            'as the patient\'s personal representative (<span translate="no">Legal guardian'
            in shown
        )

    def test_a_caregiver_cannot_sign_for_the_patient(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.patient,
            kind=ProxyKind.CAREGIVER,
            scopes=SHARING,
        )
        client = acting_client(client_for, proxy, personas.patient)
        assert "Share my records" not in client.get(reverse("portal:sharing")).content.decode()
        for answer in (
            client.get(reverse("portal:sharing_new")),
            client.post(reverse("portal:sharing_new"), form_data()),
        ):
            assert answer.status_code == 403
            assert "Only the patient or their personal representative" in answer.content.decode()
        with pytest.raises(ConsentError):
            services.authorization_sign(actor=proxy, patient=personas.patient, terms=terms())
        assert not Authorization.objects.exists()
        refused = AuditEvent.objects.get(action="consent.authorization_refused")
        assert (refused.actor_id, refused.details) == (proxy.pk, {"reason": "not_signer"})


class TestRevokingAndReading:
    def test_a_proxy_revokes_for_the_patient(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        auth = authorization_signed(patient=personas.patient)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=SHARING)
        client = acting_client(client_for, proxy, personas.patient)
        client.post(reverse("portal:sharing_revoke", args=[auth.pk]), {"confirm": "on"})
        auth.refresh_from_db()
        assert auth.revoked_by_id == proxy.pk
        event = AuditEvent.objects.get(action="consent.authorization_revoked")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)

    def test_without_the_accounting_scope_the_disclosures_are_not_shown(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        auth = authorization_signed(patient=personas.patient)
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=SHARING)
        client = acting_client(client_for, proxy, personas.patient)
        page = client.get(reverse("portal:sharing_detail", args=[auth.pk])).content.decode()
        assert "What we have shared under it" not in page
        assert (
            reverse("portal:accounting")
            not in client.get(reverse("portal:sharing")).content.decode()
        )
        second = make_proxy("second.proxy@mail.test", "Quinn Abernathy")
        link_made(proxy=second, patient=personas.patient, by=personas.records_clerk)
        everything = acting_client(client_for, second, personas.patient)
        full = everything.get(reverse("portal:sharing_detail", args=[auth.pk])).content.decode()
        assert "What we have shared under it" in full

    def test_the_accounting_read_by_a_proxy_is_audited_for_the_patient(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.SEE_ACCOUNTING],
        )
        client = acting_client(client_for, proxy, personas.patient)
        assert client.get(reverse("portal:accounting")).status_code == 200
        event = AuditEvent.objects.get(action="consent.accounting_viewed")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)


class TestPreferences:
    def test_a_proxy_sets_the_patients_postal_preference(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=SHARING)
        client = acting_client(client_for, proxy, personas.patient)
        client.post(
            reverse("portal:preferences"),
            {"postal_only": "on", "postal_address": "4 Elm Row, Springfield"},
        )
        prefs = CommunicationPreference.objects.get()
        assert (prefs.patient_id, prefs.updated_by_id, prefs.postal_only) == (
            personas.patient.pk,
            proxy.pk,
            True,
        )

    def test_the_page_is_about_the_patient_not_the_proxys_own_account(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=SHARING)
        client = acting_client(client_for, proxy, personas.patient)
        page = client.get(reverse("portal:preferences")).content.decode()
        assert personas.patient.email in page and proxy.email not in page
        assert reverse("portal:document_password") not in page
        assert reverse("accounts:email_change") not in page
        event = AuditEvent.objects.get(action="consent.preferences_viewed")
        assert (event.actor_id, event.patient_id) == (proxy.pk, personas.patient.pk)

    def test_the_document_password_is_the_patients_alone(
        self, personas: Any, proxy: Any, client_for: Any
    ) -> None:
        link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk)
        client = acting_client(client_for, proxy, personas.patient)
        assert client.get(reverse("portal:document_password")).status_code == 404
        posted = client.post(
            reverse("portal:document_password"),
            {"password1": "a long document secret", "password2": "a long document secret"},
        )
        assert posted.status_code == 404
        assert client.post(reverse("portal:document_password_remove")).status_code == 404


class TestTheServices:
    @pytest.mark.parametrize(
        "change",
        ["preferences", "waiver_accept", "waiver_revoke", "revoke", "delivery"],
    )
    def test_they_refuse_a_proxy_without_the_sharing_scope(
        self, personas: Any, proxy: Any, change: str
    ) -> None:
        link_made(
            proxy=proxy,
            patient=personas.patient,
            by=personas.records_clerk,
            scopes=[ProxyScope.READ_MESSAGES, ProxyScope.SEE_ACCOUNTING],
        )
        patient = personas.patient
        statement = services.waiver_statement_publish(
            actor=personas.privacy_officer, text="E-mail is not encrypted."
        )
        auth = authorization_signed(patient=patient)
        calls = {
            "preferences": lambda: services.preferences_update(
                actor=proxy, patient=patient, postal_only=False, postal_address=""
            ),
            "waiver_accept": lambda: services.waiver_accept(
                actor=proxy, patient=patient, statement=statement, method=WaiverMethod.PORTAL
            ),
            "waiver_revoke": lambda: services.waiver_revoke(actor=proxy, patient=patient),
            "revoke": lambda: services.authorization_revoke(
                actor=proxy, authorization=auth, source=RevocationSource.PORTAL
            ),
            "delivery": lambda: delivery_settings.delivery_preference_set(
                actor=proxy, patient=patient, method="portal"
            ),
        }
        with pytest.raises((ConsentError, MessagingError)):
            calls[change]()
        assert (
            not AuditEvent.objects.filter(actor_id=proxy.pk)
            .exclude(action__in=["accounts.proxy_acting_for"])
            .exists()
        )

    def test_they_refuse_another_patient_in_the_portal(self, personas: Any) -> None:
        with pytest.raises(ConsentError):
            services.preferences_update(
                actor=personas.other_patient,
                patient=personas.patient,
                postal_only=True,
                postal_address="1 Nowhere Lane",
            )
        assert not CommunicationPreference.objects.exists()
