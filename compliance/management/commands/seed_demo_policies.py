from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import STAFF_ROLES, Role, User
from audit.context import system_actor
from compliance import services
from compliance.models import PolicyDocument, PolicyKind

DEMO_EMAIL_POLICY = """\
Patient information travels only inside the portal: send it as a secure message, never \
by ordinary e-mail, text message or a personal account.

The portal's e-mail notices say only that something is waiting. Do not add health \
information to any e-mail, subject line or calendar invitation.

A patient may ask for ordinary e-mail after being told the risks; the portal records \
that choice. Respect it, and nothing beyond it.

Report a message sent to the wrong person to the privacy officer the same day."""


class Command(BaseCommand):
    help = (
        "Publish the demo's e-mail and messaging policy, acknowledged by the demo staff, so "
        "the demo opens on the portal and not on the policy gate (idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.APP_MODE == "production":
            raise CommandError("seed_demo_policies refuses to run in production mode")
        officer = User.objects.filter(email="priya.officer@demo.test").first()
        if officer is None or officer.role != Role.PRIVACY_OFFICER:
            raise CommandError("run seed_demo first")
        with system_actor("command:seed_demo_policies"):
            document = PolicyDocument.objects.filter(
                kind=PolicyKind.EMAIL_MESSAGING, superseded_at__isnull=True
            ).first() or services.policy_publish(
                actor=officer,
                kind=PolicyKind.EMAIL_MESSAGING,
                title="E-mail and secure messaging",
                text=DEMO_EMAIL_POLICY,
            )
            staff = User.objects.filter(
                email__endswith="@demo.test", role__in=STAFF_ROLES, is_active=True
            )
            for person in staff:
                services.policy_acknowledge(actor=person, document=document)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo policy: {document.title} v{document.version}, acknowledged by the demo staff"
            )
        )
