from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.errors import AccountsError
from accounts.models import IdentityMethod, User
from accounts.services import recovery_issue
from audit.context import system_actor


class Command(BaseCommand):
    help = (
        "Send a second-factor recovery link to an account's address, from the server: the way "
        "back for a privacy officer's own account when no other privacy officer can do it. "
        "Verify the person's identity first and say how."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--method", required=True, choices=IdentityMethod.values)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError("No account uses that address.")
        try:
            with system_actor("command:recovery_issue"):
                recovery_issue(actor=None, user=user, identity_method=options["method"])
        except AccountsError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            "A recovery link was sent to the account's address; it works once, for 24 hours."
        )
