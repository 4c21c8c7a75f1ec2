"""Move second factors out of django-otp's TOTP and static-token tables, which keep them in
clear: TOTP keys into AuthenticatorApp (encrypted with their own data keys), backup codes
into BackupCode (keyed hashes). The old rows are deleted; the plugins are no longer
installed, so the tables are read with SQL where an earlier installation has them.

It uses the current models, not historical ones: encrypting needs the encryption app's
services. On a new installation the old tables do not exist and nothing runs.
"""

from django.db import migrations


def _table_exists(connection, name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        return cursor.fetchone()[0] is not None


def move(apps, schema_editor):
    connection = schema_editor.connection
    if _table_exists(connection, "otp_totp_totpdevice"):
        from accounts.models import AuthenticatorApp, AuthenticatorKey

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT user_id, name, confirmed, key, step, digits, tolerance, drift, last_t"
                " FROM otp_totp_totpdevice WHERE t0 = 0"
            )
            rows = cursor.fetchall()
        for user_id, name, confirmed, key, step, digits, tolerance, drift, last_t in rows:
            AuthenticatorApp(
                user_id=user_id,
                name=name,
                confirmed=confirmed,
                secret=AuthenticatorKey.objects.create(key=key),
                step=step,
                digits=digits,
                tolerance=tolerance,
                drift=drift,
                last_t=last_t,
            ).save()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM otp_totp_totpdevice")
    if _table_exists(connection, "otp_static_staticdevice"):
        from accounts.models import BackupCode, BackupCodes, backup_code_digest

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT d.id, d.user_id, d.name, d.confirmed, t.token FROM otp_static_staticdevice d"
                " LEFT JOIN otp_static_statictoken t ON t.device_id = d.id ORDER BY d.id"
            )
            rows = cursor.fetchall()
        devices = {}
        for old_id, user_id, name, confirmed, token in rows:
            if old_id not in devices:
                devices[old_id] = BackupCodes.objects.create(
                    user_id=user_id, name=name, confirmed=confirmed
                )
            if token:
                BackupCode.objects.create(device=devices[old_id], digest=backup_code_digest(token))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM otp_static_statictoken")
            cursor.execute("DELETE FROM otp_static_staticdevice")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_second_factor_secrets")]

    operations = [migrations.RunPython(move, migrations.RunPython.noop)]
