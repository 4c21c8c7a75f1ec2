"""A patient who chose Spanish gets the account e-mails, the sign-in page and the form
errors in Spanish; the links in the e-mails still work."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.emails import email_render
from accounts.forms import NewPasswordForm
from accounts.models import User
from tests.conftest import PASSWORD, body_text
from tests.i18n.language import english_in
from tests.i18n.pages import words

pytestmark = pytest.mark.django_db

LINK = "https://portal.example.test/a/one-time/link/"
ACCOUNT_EMAILS = [
    "email_change",
    "email_changed",
    "factors_replaced",
    "invitation",
    "password_changed",
    "password_reset",
    "recovery",
]


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


def _spanish(user: User) -> User:
    User.objects.filter(pk=user.pk).update(language="es")
    user.refresh_from_db()
    return user


def _english_in_text(text: str) -> list[str]:
    return english_in([line for line in text.splitlines() if line.strip()])


class TestEveryAccountEmail:
    @pytest.mark.parametrize("name", ACCOUNT_EMAILS)
    def test_it_comes_in_spanish_with_its_link(self, name: str) -> None:
        context = {"link": LINK, "hours": 72, "minutes": 60}
        email = email_render(template=f"accounts/email/{name}", context=context, language="es")
        english = email_render(template=f"accounts/email/{name}", context=context, language="en")
        assert email.subject != english.subject
        assert _english_in_text(email.subject) == []
        assert _english_in_text(email.text.replace(settings.ORGANISATION_NAME, "")) == []
        assert english_in(words(email.html.replace(settings.ORGANISATION_NAME, ""))) == []
        assert '<html lang="es">' in email.html
        if name in ("email_change", "invitation", "password_reset", "recovery"):
            assert f"\n{LINK}\n" in email.text
            assert f'href="{LINK}"' in email.html

    def test_an_hour_and_many_hours_read_right(self) -> None:
        one = email_render(
            template="accounts/email/invitation", context={"hours": 1}, language="es"
        )
        many = email_render(
            template="accounts/email/invitation", context={"hours": 72}, language="es"
        )
        assert "durante 1 hora:" in one.text
        assert "durante 72 horas:" in many.text


class TestSentToASpanishSpeakingPatient:
    def test_a_password_reset_arrives_in_spanish_and_its_link_works(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        patient = _spanish(personas.patient)
        with django_capture_on_commit_callbacks(execute=True):
            Client().post(reverse("accounts:password_reset"), {"email": patient.email})
        (mail,) = smtp_server.messages
        assert mail["Subject"].strip().startswith("Cree una contraseña nueva para el portal")
        text = body_text(mail)
        assert "El enlace funciona una sola vez, durante 60 minutos" in text
        match = re.search(r"https?://\S+?(/password-reset/\S+/\S+/)", text)
        assert match, "no reset link in the e-mail"
        client = Client()  # a browser that never chose a language: the account's stands
        client.get(match.group(1))
        page = client.get(reverse("accounts:password_reset_set"))
        assert page.status_code == 200
        assert '<html lang="es">' in page.content.decode()
        assert "Elija una contraseña nueva" in page.content.decode()

    def test_an_address_change_link_and_the_notice_to_the_old_address_are_in_spanish(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        patient = _spanish(personas.patient)
        client = client_for(patient)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("accounts:email_change"), {"new_email": "nueva@mail.test"})
        (confirm,) = smtp_server.messages
        assert confirm["Subject"].strip().startswith("Confirme su correo electrónico del portal")
        link = re.search(r"https?://\S+/security/email/\S+/", body_text(confirm))
        assert link, "no confirmation link"
        path = urlsplit(link.group(0)).path
        assert "¿Enviar los avisos del portal a" in client.get(path).content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(path)
        notice = smtp_server.messages[-1]
        assert notice["X-Envelope-To"] == "penelope.patient@mail.test"
        assert notice["Subject"].strip().startswith("Se cambió su correo electrónico del portal")


class TestPagesBeforeSignIn:
    def test_the_sign_in_page_is_in_spanish_with_the_language_cookie(self, db: Any) -> None:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
        html = client.get(reverse("accounts:sign_in")).content.decode()
        assert '<html lang="es">' in html
        assert "Iniciar sesión" in html
        assert "¿Olvidó su contraseña?" in html
        assert english_in(words(html)) == []

    def test_a_wrong_password_is_told_in_spanish(self, personas: Any) -> None:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
        response = client.post(
            reverse("accounts:sign_in"),
            {"username": personas.patient.email, "password": PASSWORD + "x"},
        )
        assert "no coinciden con ninguna cuenta" in response.content.decode()

    def test_a_missing_address_is_told_in_spanish(self, db: Any) -> None:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
        response = client.post(reverse("accounts:password_reset"), {"email": ""})
        assert "Este campo es obligatorio." in response.content.decode()


class TestFormErrors:
    def test_two_different_new_passwords_are_refused_in_spanish(self, personas: Any) -> None:
        data = {"password1": "a long passphrase 2027", "password2": "another one 2027"}
        with translation.override("es"):
            form = NewPasswordForm(personas.patient, data)
            assert not form.is_valid()
            assert form.errors["password2"] == ["Las dos contraseñas no son iguales."]

    def test_a_short_password_is_refused_in_spanish(self, personas: Any) -> None:
        with translation.override("es"):
            form = NewPasswordForm(personas.patient, {"password1": "corta", "password2": "corta"})
            assert not form.is_valid()
            assert "demasiado corta" in str(form.errors["password1"])
