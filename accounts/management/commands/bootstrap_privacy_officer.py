from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.forms import ValidationError
from django.urls import reverse

from accounts.errors import AccountsError
from accounts.services import privacy_officer_bootstrap
from audit.context import system_actor


class Command(BaseCommand):
    help = (
        "Create the first privacy officer and print a one-time invitation link. The "
        "password and second factor are set in the browser; never on the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The privacy officer's e-mail.")
        parser.add_argument("--name", required=True, help="Their full name.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        name = options["name"].strip()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError("--email is not an e-mail address") from None
        if not name:
            raise CommandError("--name must not be empty")
        try:
            with system_actor("command:bootstrap_privacy_officer"):
                token = privacy_officer_bootstrap(email=email, full_name=name)
        except AccountsError as error:
            raise CommandError(error.message) from None
        link = settings.PORTAL_BASE_URL + reverse("accounts:invitation_open", args=[token])
        hours = settings.INVITATION_TTL_HOURS
        self.stdout.write(
            f"Privacy officer account ready. Within {hours} hours, open this link in a "
            "browser to choose the password and set up the second factor (it works once):"
        )
        self.stdout.write(link)
