"""The patient's contact preferences: postal mail only, and the unencrypted e-mail waiver."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from consent.models import CommunicationPreference, EmailWaiver, WaiverStatement
from consent.services import waiver_statement_publish
from core.sessions import SESSION_OTP_AT
from messaging.delivery_settings import PolicyValues, delivery_policy_update
from messaging.models import MIB, DeliveryPreference
from tests.i18n.language import GRADE_LIMIT, grade, prose
from tests.i18n.pages import words

pytestmark = pytest.mark.django_db

URL = reverse("portal:preferences")
ACCEPT = reverse("portal:waiver_accept")
STOP = reverse("portal:waiver_revoke")
ADDRESS = "4 Elm Street\nSpringfield 01101"


def published(personas: Any, text: str = "E-mail can be read in transit.") -> WaiverStatement:
    return waiver_statement_publish(actor=personas.privacy_officer, text=text)


def accept(client: Any, statement: WaiverStatement, **extra: Any) -> Any:
    return client.post(ACCEPT, {"statement_id": statement.pk, "understood": "on"}, **extra)


class TestNotificationAddress:
    def test_it_shows_where_notices_go_and_how_to_change_it(
        self, personas: Any, client_for: Any
    ) -> None:
        page = client_for(personas.patient).get(URL).content.decode()
        assert personas.patient.email in page
        assert reverse("accounts:email_change") in page

    def test_it_is_for_patients_only(self, personas: Any, client_for: Any) -> None:
        assert client_for(personas.clinician).get(URL).status_code == 404


class TestPostalOnly:
    def test_postal_only_needs_an_address(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.patient).post(URL, {"postal_only": "on"})
        assert response.status_code == 400
        assert "Give the postal address for your letters." in response.content.decode()
        assert not CommunicationPreference.objects.filter(postal_only=True).exists()

    def test_postal_only_with_an_address_is_saved_and_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        response = client.post(URL, {"postal_only": "on", "postal_address": ADDRESS}, follow=True)
        assert "We will send you letters by post." in response.content.decode()
        prefs = CommunicationPreference.objects.get(patient=personas.patient)
        assert prefs.postal_only and prefs.postal_address == ADDRESS
        event = AuditEvent.objects.get(action="consent.preferences_changed")
        assert event.details == {"postal_only": True, "was_postal_only": False}

    def test_the_saved_choice_is_shown_again(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        client.post(URL, {"postal_only": "on", "postal_address": ADDRESS})
        page = client.get(URL).content.decode()
        assert "4 Elm Street" in page and 'id="id_postal_only" checked' in page
        assert "we do not e-mail you about new messages" in page

    def test_switching_back_to_email(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        client.post(URL, {"postal_only": "on", "postal_address": ADDRESS})
        client.post(URL, {"postal_address": ADDRESS})
        assert not CommunicationPreference.objects.get(patient=personas.patient).postal_only


class TestWaiver:
    def test_without_a_statement_the_option_is_not_offered(
        self, personas: Any, client_for: Any
    ) -> None:
        page = client_for(personas.patient).get(URL).content.decode()
        assert "This choice is not offered yet." in page
        assert ACCEPT not in page

    def test_the_current_statement_is_shown_and_the_portal_stays_the_default(
        self, personas: Any, client_for: Any
    ) -> None:
        published(personas, "Version one wording.")
        published(personas, "Version two wording.")
        page = client_for(personas.patient).get(URL).content.decode()
        assert "Version two wording." in page and "Version one wording." not in page
        assert "Ordinary e-mail is sent only while you accept it" in page
        assert "The portal stays the default" in page

    def test_accepting_needs_a_fresh_second_factor(self, personas: Any, client_for: Any) -> None:
        statement = published(personas)
        client = client_for(personas.patient)
        session = client.session
        session[SESSION_OTP_AT] = 0
        session.save()
        response = accept(client, statement)
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert "fresh=1" in response["Location"]
        assert not EmailWaiver.objects.exists()

    def test_accepting_records_the_statement_version_and_method(
        self, personas: Any, client_for: Any
    ) -> None:
        published(personas)
        statement = published(personas, "Second wording.")
        response = accept(client_for(personas.patient), statement, REMOTE_ADDR="198.51.100.4")
        assert response["Location"] == URL
        waiver = EmailWaiver.objects.get(patient=personas.patient)
        assert waiver.statement.version == 2 and waiver.method == "portal"
        assert waiver.ip == "198.51.100.4" and waiver.revoked_at is None
        event = AuditEvent.objects.get(action="consent.waiver_accepted")
        assert event.details == {"statement_version": 2, "method": "portal"}

    def test_the_box_must_be_ticked(self, personas: Any, client_for: Any) -> None:
        statement = published(personas)
        response = client_for(personas.patient).post(ACCEPT, {"statement_id": statement.pk})
        assert response.status_code == 400
        assert "Tick the box to choose ordinary e-mail." in response.content.decode()
        assert not EmailWaiver.objects.exists()

    def test_a_stale_statement_is_refused_and_the_new_one_shown(
        self, personas: Any, client_for: Any
    ) -> None:
        old = published(personas, "Old wording.")
        published(personas, "New wording after review.")
        response = accept(client_for(personas.patient), old, follow=True)
        page = response.content.decode()
        assert "The risk statement changed since you opened this page" in page
        assert "New wording after review." in page
        assert not EmailWaiver.objects.exists()

    def test_a_waiver_in_force_shows_its_version_and_can_be_stopped(
        self, personas: Any, client_for: Any
    ) -> None:
        statement = published(personas)
        client = client_for(personas.patient)
        accept(client, statement)
        page = client.get(URL).content.decode()
        assert "version 1 of the risk statement" in page and "Stop ordinary e-mail" in page
        response = client.post(STOP, follow=True)
        assert "we will not send you anything by ordinary e-mail" in response.content.decode()
        waiver = EmailWaiver.objects.get()
        assert waiver.revoked_at is not None and waiver.revoked_by == personas.patient
        assert AuditEvent.objects.filter(action="consent.waiver_revoked").count() == 1


DELIVERY = reverse("portal:delivery_method")


def methods_enabled(personas: Any, *, tls: bool = True, pdf: bool = False) -> None:
    delivery_policy_update(
        actor=personas.privacy_officer,
        values=PolicyValues(tls, pdf, False, 10 * MIB, frozenset(), False),
    )


class TestDeliveryMethod:
    def test_with_only_the_portal_there_is_nothing_to_choose(
        self, personas: Any, client_for: Any
    ) -> None:
        page = client_for(personas.patient).get(URL).content.decode()
        assert "For now, your messages wait for you here in the portal." in page
        assert DELIVERY not in page

    def test_only_enabled_methods_are_offered(self, personas: Any, client_for: Any) -> None:
        methods_enabled(personas, tls=True, pdf=False)
        page = client_for(personas.patient).get(URL).content.decode()
        assert 'value="portal"' in page and 'value="tls_email"' in page
        assert 'value="protected_pdf"' not in page and 'value="plain_email"' not in page

    def test_choosing_needs_a_fresh_second_factor(self, personas: Any, client_for: Any) -> None:
        methods_enabled(personas)
        client = client_for(personas.patient)
        session = client.session
        session[SESSION_OTP_AT] = 0
        session.save()
        response = client.post(DELIVERY, {"method": "tls_email"})
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert not DeliveryPreference.objects.exists()

    def test_a_choice_is_saved_and_audited(self, personas: Any, client_for: Any) -> None:
        methods_enabled(personas)
        response = client_for(personas.patient).post(DELIVERY, {"method": "tls_email"})
        assert response["Location"] == URL + "#delivery"
        assert DeliveryPreference.objects.get(patient=personas.patient).method == "tls_email"
        event = AuditEvent.objects.get(action="messaging.delivery_preference_changed")
        assert event.details == {"old": "portal", "new": "tls_email"}
        assert event.patient_id == personas.patient.pk

    def test_a_method_not_offered_is_refused(self, personas: Any, client_for: Any) -> None:
        methods_enabled(personas, tls=True, pdf=False)
        response = client_for(personas.patient).post(DELIVERY, {"method": "protected_pdf"})
        assert response.status_code == 400
        assert "Choose one of the ways listed." in response.content.decode()
        assert not DeliveryPreference.objects.exists()

    def test_the_choice_reads_plainly_and_comes_in_spanish(
        self, personas: Any, client_for: Any
    ) -> None:
        methods_enabled(personas, tls=True, pdf=True)
        english = client_for(personas.patient).get(URL).content.decode()
        section = english.split('id="delivery"')[1].split("</section>")[0]
        assert grade(prose(words(section, legal=False))) <= GRADE_LIMIT
        personas.patient.language = "es"
        personas.patient.save(update_fields=["language"])
        spanish = client_for(personas.patient).get(URL).content.decode()
        assert "Cómo le enviamos los mensajes" in spanish
        assert "Correo electrónico con un documento bloqueado" in spanish
