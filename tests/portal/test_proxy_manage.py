"""The patient's side of proxies: who can act for them, inviting a caregiver, stopping one."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions import AccountsAction
from accounts.models import (
    AuthenticatorApp,
    Invitation,
    ProxyKind,
    ProxyLink,
    ProxyScope,
    Role,
    User,
)
from audit.models import AuditEvent
from core.sessions import SESSION_OTP_AT
from tests.accounts.helpers import totp_now
from tests.accounts.proxy_factories import acting_client, link_made, make_proxy
from tests.conftest import body_text, make_patient, page_query_count
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db

CAREGIVER_EMAIL = "casey.caregiver@mail.test"
CAREGIVER_NAME = "Casey Okonkwo-Lind"
NEW_PASSWORD = "plum tree under the quiet bridge"


def invite(client: Client, **overrides: Any) -> Any:
    data = {
        "full_name": CAREGIVER_NAME,
        "email": CAREGIVER_EMAIL,
        "scopes": [ProxyScope.READ_MESSAGES],
        "ends_on": "",
        **overrides,
    }
    return client.post(reverse("portal:proxy_invite"), data)


def caregiver_of(patient: User, **extra: Any) -> ProxyLink:
    return link_made(
        proxy=make_proxy(CAREGIVER_EMAIL, CAREGIVER_NAME),
        patient=patient,
        by=patient,
        kind=ProxyKind.CAREGIVER,
        scopes=[ProxyScope.READ_MESSAGES],
        **extra,
    )


def guardian_of(patient: User, by: User) -> ProxyLink:
    return link_made(proxy=make_proxy(), patient=patient, by=by, kind=ProxyKind.GUARDIAN)


def stop_url(link: ProxyLink) -> str:
    return reverse("portal:proxy_revoke", kwargs={"link_id": link.pk})


def minor(personas: Any) -> User:
    teen = make_patient("tobin.teen@mail.test", "Tobin Marchetti", "MRN-555077", personas.clinician)
    profile = teen.patient_profile
    profile.date_of_birth = timezone.localdate() - timedelta(days=15 * 365)
    profile.save(update_fields=["date_of_birth"])
    return teen


class TestTheList:
    def test_it_shows_each_kind_with_what_they_may_do(self, personas: Any, client_for: Any) -> None:
        guardian_of(personas.patient, personas.records_clerk)
        caregiver_of(personas.patient, ends_on=date(2099, 3, 31))
        page = client_for(personas.patient).get(reverse("portal:proxies")).content.decode()
        assert "Parker Lindqvist" in page and "Legal guardian" in page
        assert CAREGIVER_NAME in page and "A caregiver you invited" in page
        assert "Read your messages" in page and "31 Mar 2099" in page
        assert "See whom we shared your records with" in page  # the guardian's, in full

    def test_only_the_caregiver_has_a_stop_button(self, personas: Any, client_for: Any) -> None:
        guardian = guardian_of(personas.patient, personas.records_clerk)
        caregiver = caregiver_of(personas.patient)
        page = client_for(personas.patient).get(reverse("portal:proxies")).content.decode()
        assert stop_url(caregiver) in page
        assert stop_url(guardian) not in page
        assert "To change or end it, contact us." in page

    def test_ended_access_is_listed_apart_with_who_ended_it(
        self, personas: Any, client_for: Any
    ) -> None:
        link = caregiver_of(personas.patient, revoked_at=timezone.now())
        link.revoked_by = personas.patient
        link.save(update_fields=["revoked_by"])
        page = client_for(personas.patient).get(reverse("portal:proxies")).content.decode()
        assert "Access that has ended" in page and "You stopped it on" in page
        assert "Nobody can act for you now." in page
        assert stop_url(link) not in page

    def test_a_caregiver_who_has_not_signed_in_yet_shows_as_invited(
        self, personas: Any, client_for: Any
    ) -> None:
        link = caregiver_of(personas.patient)
        link.proxy.set_unusable_password()
        link.proxy.save(update_fields=["password"])
        page = client_for(personas.patient).get(reverse("portal:proxies")).content.decode()
        assert "Invited: not signed in yet" in page

    def test_another_patients_proxies_are_not_shown(self, personas: Any, client_for: Any) -> None:
        caregiver_of(personas.other_patient)
        page = client_for(personas.patient).get(reverse("portal:proxies")).content.decode()
        assert CAREGIVER_NAME not in page

    def test_a_proxy_does_not_get_the_patients_page(self, personas: Any, client_for: Any) -> None:
        link = caregiver_of(personas.patient)
        client = acting_client(client_for, link.proxy, personas.patient)
        assert client.get(reverse("portal:proxies")).status_code == 404
        assert client.get(reverse("portal:proxy_invite")).status_code == 404

    def test_the_query_count_does_not_grow_with_the_list(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        caregiver_of(personas.patient)
        one = page_query_count(client, reverse("portal:proxies"))
        guardian_of(personas.patient, personas.records_clerk)
        link_made(
            proxy=make_proxy("pat.parent@mail.test", "Pat Rasmussen-Holt"),
            patient=personas.patient,
            by=personas.records_clerk,
            kind=ProxyKind.POWER_OF_ATTORNEY,
        )
        assert page_query_count(client, reverse("portal:proxies")) == one

    def test_the_menu_leads_a_patient_here(self, personas: Any, client_for: Any) -> None:
        home = client_for(personas.patient).get(reverse("accounts:home")).content.decode()
        assert f'href="{reverse("portal:proxies")}"' in home


class TestInviting:
    def test_a_caregiver_is_invited_with_the_chosen_scopes(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            answer = invite(
                client_for(personas.patient),
                scopes=[ProxyScope.READ_MESSAGES, ProxyScope.REQUEST_RECORDS],
                ends_on="2099-03-31",
            )
        assert answer.status_code == 302 and answer.url == reverse("portal:proxies")
        link = ProxyLink.objects.get(patient=personas.patient)
        assert (link.kind, link.proxy.email, link.proxy.role) == (
            ProxyKind.CAREGIVER,
            CAREGIVER_EMAIL,
            Role.PROXY,
        )
        assert link.scopes == [ProxyScope.READ_MESSAGES, ProxyScope.REQUEST_RECORDS]
        assert link.ends_on == date(2099, 3, 31)
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [CAREGIVER_EMAIL]

    def test_the_invitation_email_says_nothing_of_the_patient(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        message_sent(author=personas.clinician, patient=personas.patient)
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_for(personas.patient))
        (mail,) = smtp_server.messages
        everything = str(mail["Subject"]) + body_text(mail)
        assert "/invitation/" in everything
        for secret in ("Penelope", "Quartermaine", "MRN-555001", "1980", "Cedric", "Nakamura"):
            assert secret not in everything

    def test_the_invitation_is_in_the_patients_language(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        personas.patient.language = "es"
        personas.patient.save(update_fields=["language"])
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_for(personas.patient))
        (mail,) = smtp_server.messages
        assert mail["Subject"].strip().startswith("Su invitación")
        assert ProxyLink.objects.get().proxy.language == "es"

    def test_the_invitation_is_audited_with_the_patient(
        self, personas: Any, client_for: Any
    ) -> None:
        invite(client_for(personas.patient))
        event = AuditEvent.objects.get(action=AccountsAction.PROXY_LINK_CREATED)
        assert (event.actor_id, event.patient_id) == (personas.patient.pk, personas.patient.pk)
        assert event.details["kind"] == ProxyKind.CAREGIVER

    def test_the_patient_is_told_what_happens_next(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        page = client.get(invite(client).url).content.decode()
        assert f"{CAREGIVER_NAME} can act for you once they sign in." in page

    def test_a_stale_second_factor_is_asked_again(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        session = client.session
        session[SESSION_OTP_AT] = 0
        session.save()
        answer = invite(client)
        assert answer.status_code == 302
        assert answer.url.startswith(reverse("accounts:mfa_verify")) and "fresh=1" in answer.url
        assert not ProxyLink.objects.exists()

    @pytest.mark.parametrize(
        "email", ["cedric.clinician@clinic.test", "ulrich.unrelated@mail.test"]
    )
    def test_an_address_of_a_staff_or_patient_account_is_refused(
        self, email: str, personas: Any, client_for: Any
    ) -> None:
        answer = invite(client_for(personas.patient), email=email)
        page = answer.content.decode()
        assert answer.status_code == 400
        assert "We cannot use this e-mail address for a caregiver." in page
        assert "patient account" not in page and "staff" not in page  # not which kind
        assert not ProxyLink.objects.exists()

    def test_the_patients_own_address_is_refused(self, personas: Any, client_for: Any) -> None:
        answer = invite(client_for(personas.patient), email="Penelope.Patient@mail.test")
        assert answer.status_code == 400
        assert "This is your own e-mail address." in answer.content.decode()

    def test_nothing_ticked_is_refused(self, personas: Any, client_for: Any) -> None:
        answer = invite(client_for(personas.patient), scopes=[])
        assert answer.status_code == 400
        assert "Tick at least one thing they may do." in answer.content.decode()
        assert not User.objects.filter(email=CAREGIVER_EMAIL).exists()

    def test_an_end_date_in_the_past_is_refused(self, personas: Any, client_for: Any) -> None:
        yesterday = timezone.localdate() - timedelta(days=1)
        answer = invite(client_for(personas.patient), ends_on=yesterday.isoformat())
        assert answer.status_code == 400
        assert "This date has passed." in answer.content.decode()
        assert not ProxyLink.objects.exists()

    def test_someone_who_already_acts_for_the_patient_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        caregiver_of(personas.patient)
        answer = invite(client_for(personas.patient))
        assert answer.status_code == 400
        assert "This person can already act for you." in answer.content.decode()
        assert ProxyLink.objects.count() == 1

    def test_inviting_again_someone_who_never_set_up_mails_a_new_link(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        client = client_for(personas.patient)
        with django_capture_on_commit_callbacks(execute=True):
            invite(client)
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
        client.post(stop_url(ProxyLink.objects.get()), {"confirm": "on"})
        with django_capture_on_commit_callbacks(execute=True):
            assert invite(client).status_code == 302
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [CAREGIVER_EMAIL] * 2
        found = re.search(r"http://\S+/invitation/\S+/", body_text(smtp_server.messages[-1]))
        assert found is not None
        opened = Client().get(found.group(0))
        assert opened["Location"] == reverse("accounts:invitation_accept")

    def test_a_minor_is_told_only_adults_can_invite(self, personas: Any, client_for: Any) -> None:
        client = client_for(minor(personas))
        answer = client.get(reverse("portal:proxy_invite"))
        assert answer.status_code == 403
        assert "Only patients aged 18 or older can invite a caregiver." in answer.content.decode()
        assert invite(client).status_code == 403
        assert not ProxyLink.objects.exists()

    def test_a_minors_list_explains_instead_of_offering_the_button(
        self, personas: Any, client_for: Any
    ) -> None:
        page = client_for(minor(personas)).get(reverse("portal:proxies")).content.decode()
        assert "Only patients aged 18 or older can invite a caregiver." in page
        assert reverse("portal:proxy_invite") not in page


class TestTheInvitedCaregiver:
    def test_they_set_a_password_and_second_factor_and_land_on_the_chooser(
        self,
        personas: Any,
        client_for: Any,
        smtp_server: Any,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            invite(client_for(personas.patient))
        found = re.search(r"http://\S+/invitation/\S+/", body_text(smtp_server.messages[-1]))
        assert found is not None
        client = Client()
        assert client.get(found.group(0))["Location"] == reverse("accounts:invitation_accept")
        answer = client.post(
            reverse("accounts:invitation_accept"),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert answer["Location"] == reverse("accounts:mfa_enroll")
        client.get(reverse("accounts:mfa_enroll"))
        device = AuthenticatorApp.objects.get(user__email=CAREGIVER_EMAIL)
        codes = client.post(reverse("accounts:mfa_enroll"), {"code": totp_now(device)})
        assert "Your backup codes" in codes.content.decode()
        home = client.get(reverse("accounts:home"))
        assert home["Location"] == reverse("portal:acting_choose")
        chooser = client.get(home["Location"]).content.decode()
        assert "Act for Penelope Quartermaine" in chooser
        assert client.get(reverse("accounts:security")).status_code == 200  # their own account


class TestStopping:
    def test_the_page_asks_before_stopping(self, personas: Any, client_for: Any) -> None:
        link = caregiver_of(personas.patient)
        client = client_for(personas.patient)
        assert "Yes, stop their access now" in client.get(stop_url(link)).content.decode()
        answer = client.post(stop_url(link))
        assert answer.status_code == 400
        link.refresh_from_db()
        assert link.revoked_at is None

    def test_the_patient_stops_a_caregiver_and_it_is_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        link = caregiver_of(personas.patient)
        answer = client_for(personas.patient).post(stop_url(link), {"confirm": "on"})
        assert answer.status_code == 302 and answer.url == reverse("portal:proxies")
        link.refresh_from_db()
        assert link.revoked_at is not None and link.revoked_by == personas.patient
        event = AuditEvent.objects.get(action=AccountsAction.PROXY_LINK_REVOKED)
        assert (event.actor_id, event.patient_id) == (personas.patient.pk, personas.patient.pk)

    def test_the_caregivers_next_request_is_refused(self, personas: Any, client_for: Any) -> None:
        link = caregiver_of(personas.patient)
        caregiver = acting_client(client_for, link.proxy, personas.patient)
        assert caregiver.get(reverse("portal:inbox")).status_code == 200
        client_for(personas.patient).post(stop_url(link), {"confirm": "on"})
        answer = caregiver.get(reverse("portal:inbox"))
        assert answer.status_code == 302 and answer.url == reverse("portal:acting_choose")
        assert "You have no proxy access" in caregiver.get(answer.url).content.decode()

    def test_a_second_stop_changes_nothing(self, personas: Any, client_for: Any) -> None:
        link = caregiver_of(personas.patient)
        client = client_for(personas.patient)
        client.post(stop_url(link), {"confirm": "on"})
        assert client.post(stop_url(link), {"confirm": "on"}).status_code == 302
        assert AuditEvent.objects.filter(action=AccountsAction.PROXY_LINK_REVOKED).count() == 1

    def test_a_guardians_access_is_not_the_patients_to_stop(
        self, personas: Any, client_for: Any
    ) -> None:
        link = guardian_of(personas.patient, personas.records_clerk)
        client = client_for(personas.patient)
        page = client.get(stop_url(link))
        assert (
            page.status_code == 403 and "You cannot end this access here." in page.content.decode()
        )
        assert client.post(stop_url(link), {"confirm": "on"}).status_code == 403  # forged
        link.refresh_from_db()
        assert link.revoked_at is None
        assert not AuditEvent.objects.filter(action=AccountsAction.PROXY_LINK_REVOKED).exists()

    def test_another_patients_caregiver_is_404(self, personas: Any, client_for: Any) -> None:
        link = caregiver_of(personas.other_patient)
        answer = client_for(personas.patient).post(stop_url(link), {"confirm": "on"})
        assert answer.status_code == 404
        link.refresh_from_db()
        assert link.revoked_at is None
