"""The patient's document password page: set, change and remove, after a fresh second
factor; the password is never shown again."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from core.sessions import SESSION_OTP_AT
from messaging.document_passwords import document_password_of
from messaging.models import DocumentPassword
from tests.conftest import PASSWORD
from tests.i18n.language import GRADE_LIMIT, grade, prose
from tests.i18n.pages import words

pytestmark = pytest.mark.django_db

URL = reverse("portal:document_password")
REMOVE = reverse("portal:document_password_remove")
SECRET = "correct horse battery staple"


def choose(client: Any, first: str = SECRET, second: str | None = None) -> Any:
    return client.post(URL, {"password1": first, "password2": second or first})


class TestDocumentPasswordPage:
    def test_preferences_link_to_it(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.patient).get(reverse("portal:preferences")).content.decode()
        assert URL in page

    def test_a_stale_second_factor_is_sent_to_verify(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        session = client.session
        session[SESSION_OTP_AT] = 0
        session.save()
        response = choose(client)
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert not DocumentPassword.objects.exists()

    def test_a_password_is_saved_audited_and_never_shown(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        response = choose(client)
        assert response["Location"] == URL
        page = client.get(URL).content.decode()
        assert "Your password was set on" in page and SECRET not in page
        assert document_password_of(personas.patient) == SECRET
        event = AuditEvent.objects.get(action="messaging.document_password_set")
        assert event.patient_id == personas.patient.pk and SECRET not in str(event.details)

    @pytest.mark.parametrize(
        ("first", "second", "error"),
        [
            ("short one", None, "Use at least 12 characters."),
            (PASSWORD, None, "Do not use your sign-in password."),
            (SECRET, "correct horse battery stable", "The two passwords are not the same."),
        ],
    )
    def test_a_bad_password_is_refused_and_nothing_stored(
        self, personas: Any, client_for: Any, first: str, second: str | None, error: str
    ) -> None:
        response = choose(client_for(personas.patient), first, second)
        assert response.status_code == 400
        assert error in response.content.decode()
        assert not DocumentPassword.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="messaging.document_pass").exists()

    def test_it_can_be_changed(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        choose(client)
        choose(client, "a brand new document password")
        assert document_password_of(personas.patient) == "a brand new document password"
        assert AuditEvent.objects.filter(action="messaging.document_password_changed").exists()

    def test_it_can_be_removed(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        choose(client)
        response = client.post(REMOVE, follow=True)
        assert "You have not chosen a password yet." in response.content.decode()
        assert document_password_of(personas.patient) is None
        assert AuditEvent.objects.filter(action="messaging.document_password_removed").exists()

    def test_one_patient_never_touches_anothers(self, personas: Any, client_for: Any) -> None:
        choose(client_for(personas.patient))
        client_for(personas.other_patient).post(REMOVE)
        assert document_password_of(personas.patient) == SECRET

    def test_it_is_for_patients_only(self, personas: Any, client_for: Any) -> None:
        assert client_for(personas.clinician).get(URL).status_code == 404

    def test_it_reads_plainly_and_comes_in_spanish(self, personas: Any, client_for: Any) -> None:
        english = client_for(personas.patient).get(URL).content.decode()
        assert grade(prose(words(english, legal=False))) <= GRADE_LIMIT
        personas.patient.language = "es"
        personas.patient.save(update_fields=["language"])
        choose(client_for(personas.patient))
        spanish = client_for(personas.patient).get(URL).content.decode()
        assert "Contraseña para documentos bloqueados" in spanish
        assert "Su contraseña se guardó el" in spanish
