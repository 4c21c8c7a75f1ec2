"""The dashboard's figures against data seeded through the services, each expected value
counted by hand from what the test made (the personas included: five active accounts,
each with an authenticator app)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from accounts.actions import AccountsAction
from accounts.models import IdentityMethod, Role, User
from accounts.services import recovery_issue
from audit.models import ActivityReview, AuditAnchor, AuditCheckpoint, AuditEvent, AuditSeal
from audit.sealing import events_seal
from audit.services import event_record
from audit.verification import chain_verify
from consent import services as consent
from consent.models import RevocationSource
from encryption.files import files_storage
from encryption.models import DataKey, EncryptedFile
from encryption.services import object_erase
from evidence import figures, hooks
from evidence.figures import Period
from messaging.models import Channel, Delivery, DeliveryState
from records import deadlines
from records import services as records
from retention.services import hold_place, hold_release
from tests.compliance.factories import acknowledged_by_all, associate_added, policy_published
from tests.consent.factories import authorization_signed
from tests.messaging.factories import message_sent, package_send
from tests.records.factories import built, request_received, request_verified
from tests.retention.factories import message_with_file, purge, years_later

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _values(section: figures.Section) -> dict[str, Any]:
    return section.values()


def _period() -> Period:
    return Period.last_days()


class TestPeriod:
    def test_the_last_30_days_end_today_and_hold_30_local_days(self) -> None:
        period = Period.last_days()
        assert period.last_day == timezone.localdate()
        assert period.days == 30
        assert period.end - period.start >= timedelta(days=29, hours=23)


class TestAuthentication:
    def _section(self) -> dict[str, Any]:
        return _values(figures.authentication(period=_period(), now=timezone.now()))

    def test_accounts_with_and_without_a_second_factor(self, personas: Any) -> None:
        User.objects.create_user(
            email="new.clerk@clinic.test",
            password="x" * 20,
            full_name="New",
            role=Role.RECORDS_CLERK,
        )
        User.objects.create_user(
            email="gone@clinic.test", password="x" * 20, full_name="Gone", role=Role.CLINICIAN
        )
        User.objects.filter(email="gone@clinic.test").update(is_active=False)
        values = self._section()
        assert values["accounts"] == 6  # five personas and the new clerk; not the deactivated
        assert values["with_second_factor"] == 5
        assert values["without_second_factor"] == 1
        assert values["staff_without_second_factor"] == 1

    def test_the_table_counts_each_role(self, personas: Any) -> None:
        section = figures.authentication(period=_period(), now=timezone.now())
        (table,) = section.tables
        by_role = {row["role"]: row for row in table.rows}
        assert by_role["patient"]["accounts"] == 2
        assert by_role["privacy_officer"]["with_second_factor"] == 1
        assert by_role["clinician"]["without_second_factor"] == 0

    def test_the_share_with_a_passkey(self, personas: Any) -> None:
        WebAuthnCredential.objects.create(
            user=personas.clinician,
            name="Laptop",
            confirmed=True,
            credential_id=b"id",
            public_key=b"key",
            aaguid="00000000-0000-0000-0000-000000000000",
            credential_id_sha256="0" * 64,
        )
        assert self._section()["passkey_share"] == round(1 / 5, 4)

    def test_locked_and_recovering_accounts(self, personas: Any) -> None:
        AccessAttempt.objects.create(
            username=personas.patient.email.upper(),
            ip_address="192.0.2.1",
            user_agent="test",
            failures_since_start=settings.AXES_FAILURE_LIMIT,
        )
        recovery_issue(
            actor=personas.privacy_officer,
            user=personas.clinician,
            identity_method=IdentityMethod.KNOWN_TO_STAFF,
        )
        values = self._section()
        assert (values["locked"], values["recovering"]) == (1, 1)

    def test_lockouts_count_only_inside_the_period(self, personas: Any) -> None:
        event_record(action=AccountsAction.LOCKED_OUT, target=personas.patient)
        event_record(action=AccountsAction.LOCKED_OUT, target=personas.clinician)
        AuditEvent.objects.create(
            actor_kind="system",
            action=AccountsAction.LOCKED_OUT,
            occurred_at=timezone.now() - 31 * DAY,
        )
        assert self._section()["lockouts_in_period"] == 2


class TestEncryption:
    def test_live_rows_and_files_are_every_live_data_key(self, personas: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient)
        values = _values(figures.encryption(now=timezone.now()))
        live_keys = DataKey.objects.filter(destroyed_at__isnull=True).count()
        assert values["rows_live"] + values["files_live"] == live_keys
        assert values["files_live"] == 1
        assert values["rows_live_share"] == 1.0

    def test_an_erased_file_counts_as_erased(self, personas: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient)
        message_sent(author=personas.clinician, patient=personas.patient)
        stored = EncryptedFile.objects.first()
        assert stored is not None
        object_erase(obj=stored)
        values = _values(figures.encryption(now=timezone.now()))
        assert (values["files_live"], values["files_erased"]) == (1, 1)
        assert values["files_live_share"] == 0.5

    def test_files_are_checked_against_the_store_only_when_asked(self, personas: Any) -> None:
        message_sent(author=personas.clinician, patient=personas.patient)
        message_sent(author=personas.clinician, patient=personas.patient)
        files_storage().delete(EncryptedFile.objects.first().storage_name)  # type: ignore[union-attr]
        assert _values(figures.encryption(now=timezone.now()))["files_missing"] is None
        values = _values(figures.encryption(now=timezone.now(), check_files=True))
        assert (values["files_checked"], values["files_missing"]) == (2, 1)

    def test_keys_by_state_and_age(self, personas: Any) -> None:
        section = figures.encryption(now=timezone.now() + 10 * DAY)
        keys = next(t for t in section.tables if t.key == "keys").rows
        assert [row["state"] for row in keys] == ["primary"]
        assert keys[0]["age_days"] == 10
        assert keys[0]["live_data_keys"] == DataKey.objects.filter(destroyed_at=None).count()
        assert section.values()["data_keys_unreachable"] == 0


class TestAudit:
    def test_the_last_successful_verification_and_the_backlog(self, personas: Any) -> None:
        events_seal(wait_seconds=0)
        head = AuditSeal.objects.order_by("-event_id").first()
        assert head is not None
        chain_verify()  # itself an event, not sealed yet
        event_record(action=AccountsAction.SIGN_IN, target=personas.patient)
        event_record(action=AccountsAction.SIGN_IN, target=personas.clinician)
        values = _values(figures.audit(period=_period(), now=timezone.now()))
        assert values["last_successful_verify_through_event"] == head.event_id
        assert values["last_verify_outcome"] == "success"
        assert values["verify_runs_in_period"] == 1
        assert values["unsealed_events"] == 3

    def test_the_last_checkpoint_and_its_missing_anchor(self, personas: Any) -> None:
        events_seal(wait_seconds=0)
        checkpoint = AuditCheckpoint.objects.order_by("-through_event_id").first()
        assert checkpoint is not None
        values = _values(figures.audit(period=_period(), now=timezone.now()))
        assert values["last_checkpoint_through_event"] == checkpoint.through_event_id
        assert values["last_checkpoint_anchor"] is None
        assert values["checkpoints_in_period"] == AuditCheckpoint.objects.count()

    def test_no_run_yet_shows_none(self, personas: Any) -> None:
        values = _values(figures.audit(period=_period(), now=timezone.now()))
        assert values["last_successful_verify_at"] is None


class TestAccess:
    def test_the_right_of_access_figures(self, personas: Any) -> None:
        clerk, patient, now = personas.records_clerk, personas.patient, timezone.now()
        on_time = built(personas)
        records.request_fulfil(actor=clerk, request=on_time)
        late = built(personas, received_at=now - 40 * DAY)
        records.request_fulfil(actor=clerk, request=late)
        extended = request_verified(patient=patient, clerk=clerk)
        records.request_extend(
            actor=clerk,
            request=extended,
            reason="The records are in off-site storage.",
            new_due_day=deadlines.due_day(extended.original_due_at) + 10 * DAY,
        )
        denied = request_verified(patient=patient, clerk=clerk)
        records.request_deny(actor=clerk, request=denied, basis="Psychotherapy notes.")
        request_received(patient=patient, received_at=now - 25 * DAY)  # due in 5 days
        request_received(patient=patient, received_at=now - 35 * DAY)  # overdue
        values = _values(figures.access(user=personas.privacy_officer, period=_period(), now=now))
        assert values["received"] == 4  # on time, extended, denied, due soon
        assert (values["fulfilled"], values["fulfilled_on_time"], values["fulfilled_late"]) == (
            2,
            1,
            1,
        )
        assert (values["open"], values["due_within_7_days"], values["overdue"]) == (3, 1, 1)
        assert values["median_days_to_fulfil"] == 20  # 0 and 40 days
        assert (values["extensions"], values["denials"]) == (1, 1)


class TestDisclosures:
    def test_authorizations_by_state_disclosures_and_waivers(self, personas: Any) -> None:
        patient = personas.patient
        authorization_signed(patient=patient)
        revoked = authorization_signed(patient=patient)
        consent.authorization_revoke(
            actor=patient, authorization=revoked, source=RevocationSource.PORTAL
        )
        authorization_signed(patient=patient, expires_on=timezone.localdate() + 10 * DAY)
        package_send(personas)  # one disclosure, under the first authorization
        statement = consent.waiver_statement_publish(
            actor=personas.privacy_officer, text="E-mail is not encrypted end to end."
        )
        consent.waiver_accept(actor=patient, patient=patient, statement=statement, method="portal")
        later = timezone.now() + 11 * DAY
        values = _values(
            figures.disclosures(user=personas.privacy_officer, period=_period(), now=later)
        )
        assert (values["authorizations_active"], values["authorizations_expired"]) == (1, 1)
        assert values["authorizations_revoked"] == 1
        assert (values["disclosures_recorded"], values["waivers_in_force"]) == (1, 1)


class TestDeliveries:
    def test_failed_and_bounced_notices_open_and_letters(self, personas: Any) -> None:
        for _ in range(4):
            message_sent(author=personas.clinician, patient=personas.patient)
        failed, bounced, letter, resent = Delivery.objects.order_by("created_at")
        # The delivery worker's outcomes, written as it writes them.
        Delivery.objects.filter(pk=failed.pk).update(state=DeliveryState.FAILED)
        Delivery.objects.filter(pk=bounced.pk).update(state=DeliveryState.BOUNCED)
        Delivery.objects.filter(pk=letter.pk).update(
            channel=Channel.LETTER, state=DeliveryState.SENT, sent_at=timezone.now()
        )
        replacement = Delivery.objects.create(message=resent.message)
        Delivery.objects.filter(pk=resent.pk).update(
            state=DeliveryState.FAILED, replaced_by=replacement
        )
        values = _values(figures.deliveries(period=_period()))
        assert (values["failed_open"], values["bounced_open"]) == (1, 1)
        assert (values["letters_sent"], values["letters_waiting"]) == (1, 0)


class TestRetention:
    def test_holds_in_force_last_purge_and_objects_erased(self, personas: Any) -> None:
        officer = personas.privacy_officer
        hold_place(actor=officer, scope="patient", patient=personas.other_patient, reason="Suit")
        released = hold_place(
            actor=officer, scope="patient", patient=personas.other_patient, reason="Old"
        )
        hold_release(actor=officer, hold=released)
        message_with_file(personas)
        later = years_later(10, days=1)
        with time_machine.travel(later):
            run = purge(later)
        values = _values(figures.retention(period=Period.last_days(now=later), now=later))
        assert values["holds_in_force"] == 1
        assert values["objects_erased"] == sum(run.purged.values()) > 0
        assert values["purges_in_period"] == 1


class TestAnchors:
    def test_the_last_checkpoint_names_its_anchor(
        self, personas: Any, settings: Any, tmp_path: Any
    ) -> None:
        settings.AUDIT_ANCHOR_SINK = "file"
        settings.AUDIT_ANCHOR_PATH = str(tmp_path / "audit-anchors.jsonl")
        events_seal(wait_seconds=0)
        [anchor] = AuditAnchor.objects.order_by("-checkpoint__through_event_id")[:1]
        values = _values(figures.audit(period=_period(), now=timezone.now()))
        assert values["last_checkpoint_anchor"] == anchor.location
        assert str(tmp_path) in anchor.location


class TestWorkforce:
    def test_nothing_is_asked_before_a_policy_is_published(self, personas: Any) -> None:
        section = hooks.workforce_section(
            user=personas.privacy_officer, period=_period(), now=timezone.now()
        )
        assert section is None

    def test_staff_who_have_not_acknowledged_the_current_policy(self, personas: Any) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.clinician, personas.privacy_officer)
        section = hooks.workforce_section(
            user=personas.privacy_officer, period=_period(), now=timezone.now()
        )
        assert section is not None
        values = _values(section)
        staff = User.objects.filter(
            role__in=[Role.CLINICIAN, Role.RECORDS_CLERK, Role.PRIVACY_OFFICER], is_active=True
        ).count()
        assert values["active_staff"] == staff
        assert values["staff_pending"] == staff - 2
        assert values["acknowledged_in_period"] == 2
        [row] = section.tables[0].rows
        assert (row["version"], row["acknowledged by"]) == (1, 2)


class TestActivityReview:
    def test_when_the_period_was_reviewed_and_by_whom(self, personas: Any, client_for: Any) -> None:
        period = _period()
        client_for(personas.privacy_officer).post(
            reverse("audit:activity_review_record"),
            {
                "start": period.first_day.isoformat(),
                "end": period.last_day.isoformat(),
                "findings": "Nothing out of the ordinary.",
            },
        )
        review = ActivityReview.objects.get()
        section = hooks.activity_review_section(
            user=personas.privacy_officer, period=period, now=timezone.now()
        )
        assert section is not None
        values = _values(section)
        assert values["period_reviewed_at"] == review.reviewed_at.isoformat()
        assert values["last_review_at"] == review.reviewed_at.isoformat()
        [row] = section.tables[0].rows
        assert row["findings"] == "Nothing out of the ordinary."
        labels = {figure.key: figure.label for figure in section.figures}
        assert labels["admin"] == "Administrative actions"  # every list named, none by its code
        assert all("_" not in label for label in labels.values())


class TestBusinessAssociates:
    def test_in_use_renewing_and_lapsed(self, personas: Any) -> None:
        today = timezone.localdate()
        officer = personas.privacy_officer
        associate_added(officer, name="Northwind Backup Ltd")
        associate_added(officer, name="Relay Mail Inc", renewal_on=today + timedelta(days=10))
        associate_added(
            officer,
            name="Old Scanner Co",
            signed_on=today - timedelta(days=800),
            renewal_on=today - timedelta(days=5),
        )
        section = hooks.business_associates_section(
            user=officer, period=_period(), now=timezone.now()
        )
        assert section is not None
        assert _values(section) == {"in_use": 3, "renewing_30_days": 1, "lapsed": 1}
        assert {row["name"] for row in section.tables[0].rows} == {
            "Northwind Backup Ltd",
            "Relay Mail Inc",
            "Old Scanner Co",
        }
