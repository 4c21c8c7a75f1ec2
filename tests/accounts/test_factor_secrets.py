"""Second-factor secrets nobody can read back: not from the database, a dump, or the admin."""

from __future__ import annotations

import base64
import importlib
import subprocess
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AuthenticatorApp, AuthenticatorKey, BackupCode, BackupCodes
from accounts.services import backup_codes_issue
from audit.models import AuditEvent
from encryption.models import DataKey
from tests.accounts.helpers import totp_now

pytestmark = pytest.mark.django_db


def _forms(key_hex: str) -> list[str]:
    """A key as it could appear: hex, and base32 as an app shows it."""
    raw = bytes.fromhex(key_hex)
    return [key_hex, key_hex.upper(), base64.b32encode(raw).decode().rstrip("=")]


def _dump() -> str:
    settings = connection.settings_dict
    result = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--host",
            settings["HOST"] or "127.0.0.1",
            "--port",
            str(settings["PORT"] or 5432),
            "--username",
            settings["USER"] or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class TestAuthenticatorKeys:
    def test_the_key_is_encrypted_in_its_row(self, personas: Any) -> None:
        device = AuthenticatorApp.objects.get(user=personas.patient)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT key FROM accounts_authenticatorkey WHERE id = %s", [device.secret_id]
            )
            stored = bytes(cursor.fetchone()[0])
        assert all(form.encode() not in stored for form in _forms(device.key))

    def test_a_code_from_the_key_signs_in_once(self, personas: Any) -> None:
        device = AuthenticatorApp.objects.get(user=personas.patient)
        code = totp_now(device)
        assert device.verify_token(code)
        assert not AuthenticatorApp.objects.get(pk=device.pk).verify_token(code)  # replayed

    def test_removing_the_app_shreds_its_key(self, personas: Any) -> None:
        device = AuthenticatorApp.objects.get(user=personas.patient)
        key = AuthenticatorKey.objects.get(pk=device.secret_id)
        data_key_id = key.data_key_id
        device.delete()
        assert not AuthenticatorKey.objects.filter(pk=key.pk).exists()
        assert DataKey.objects.get(pk=data_key_id).destroyed_at is not None


class TestBackupCodes:
    def test_they_are_stored_as_keyed_hashes_only(self, personas: Any) -> None:
        codes = backup_codes_issue(user=personas.patient)
        stored = " ".join(BackupCode.objects.values_list("digest", flat=True))
        assert len(codes) == 10
        assert all(c not in stored and c.replace("-", "") not in stored for c in codes)

    def test_a_code_works_once_and_a_wrong_one_never(self, personas: Any) -> None:
        code = backup_codes_issue(user=personas.patient)[0]
        device = BackupCodes.objects.get(user=personas.patient)
        assert not device.verify_token("zzzzz-zzzzz")
        device.throttle_reset()
        assert device.verify_token(code.upper())  # typed in capitals: still the code
        device.throttle_reset()
        assert not device.verify_token(code)
        assert device.codes.count() == 9


class TestNothingReadable:
    def test_a_database_dump_holds_no_key_and_no_code(self, personas: Any) -> None:
        codes = backup_codes_issue(user=personas.patient)
        keys = [d.key for d in AuthenticatorApp.objects.all()]
        dump = _dump()
        assert keys and all(form not in dump for key in keys for form in _forms(key))
        assert all(c not in dump and c.replace("-", "") not in dump for c in codes)

    def test_the_admin_shows_no_secret_and_no_third_party_device(
        self, personas: Any, client_for: Any
    ) -> None:
        codes = backup_codes_issue(user=personas.patient)
        key = AuthenticatorApp.objects.get(user=personas.patient).key
        client = client_for(personas.privacy_officer)
        index = client.get(reverse("admin:index")).content.decode().lower()
        assert "webauthn" not in index and "access attempt" not in index
        page = client.get(reverse("admin:accounts_user_change", args=[personas.patient.pk]))
        text = page.content.decode()
        assert all(form not in text for form in _forms(key))
        assert all(c not in text for c in codes)

    def test_opening_a_record_in_the_admin_is_audited(self, personas: Any, client_for: Any) -> None:
        client_for(personas.privacy_officer).get(
            reverse("admin:accounts_user_change", args=[personas.patient.pk])
        )
        event = AuditEvent.objects.get(action="accounts.admin_viewed")
        assert event.patient_id == personas.patient.pk


class TestLegacyFactorsMove:
    """Installations that used django-otp's own plugins: their rows move, hashed and encrypted."""

    @pytest.fixture
    def legacy_tables(self) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE otp_totp_totpdevice (id serial PRIMARY KEY, user_id bigint,"
                " name varchar(64), confirmed boolean, key varchar(80), step smallint,"
                " t0 bigint, digits smallint, tolerance smallint, drift smallint, last_t bigint)"
            )
            cursor.execute(
                "CREATE TABLE otp_static_staticdevice (id serial PRIMARY KEY, user_id bigint,"
                " name varchar(64), confirmed boolean)"
            )
            cursor.execute(
                "CREATE TABLE otp_static_statictoken (id serial PRIMARY KEY, device_id int,"
                " token varchar(16))"
            )
        yield
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TABLE otp_totp_totpdevice, otp_static_statictoken, otp_static_staticdevice"
            )

    def test_old_keys_and_codes_move_and_keep_working(
        self, personas: Any, legacy_tables: None
    ) -> None:
        from django.apps import apps

        user = personas.other_patient
        AuthenticatorApp.objects.filter(user=user).delete()
        key = "3132333435363738393031323334353637383930"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0, digits,"
                " tolerance, drift, last_t) VALUES (%s, 'Phone', true, %s, 30, 0, 6, 1, 0, -1)",
                [user.pk, key],
            )
            cursor.execute(
                "INSERT INTO otp_static_staticdevice (user_id, name, confirmed)"
                " VALUES (%s, 'Backup codes', true) RETURNING id",
                [user.pk],
            )
            device_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO otp_static_statictoken (device_id, token) VALUES (%s, 'abcd2345')",
                [device_id],
            )
        module = importlib.import_module("accounts.migrations.0006_second_factor_secrets_move")
        with connection.schema_editor() as editor:
            module.move(apps, editor)
        moved = AuthenticatorApp.objects.get(user=user)
        assert moved.key == key and moved.verify_token(totp_now(moved))
        assert BackupCodes.objects.get(user=user).verify_token("abcd2345")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM otp_totp_totpdevice")
            assert cursor.fetchone()[0] == 0
            cursor.execute("SELECT count(*) FROM otp_static_statictoken")
            assert cursor.fetchone()[0] == 0
