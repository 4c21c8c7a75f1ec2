"""`manage.py db_grants`: give the application's role its privileges, as the owner.

Run after every `migrate`, with DATABASE_OWNER_URL (the owner) and DATABASE_URL (the
application's role) both set: ``deploy/systemd/portal-migrate.service`` does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.db_roles import RoleError, app_role_grant


class Command(BaseCommand):
    help = (
        "Grant the application's database role (DATABASE_URL's) what the web and workers "
        "need, and no more: on the audit tables SELECT and INSERT only. Run as the owner "
        "(DATABASE_OWNER_URL) after migrate."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.settings_dict["USER"] == settings.DATABASE_APP_ROLE:
            raise CommandError(
                "run as the owner of the tables: set DATABASE_OWNER_URL (and DATABASE_URL "
                "to the application's role)"
            )
        role = settings.DATABASE_APP_ROLE
        try:
            app_role_grant(role=role)
        except RoleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"granted {role} its privileges; it owns no audit table")
