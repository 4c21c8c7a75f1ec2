from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from audit.context import system_actor
from messaging import services
from messaging.models import Thread

# A fixed key: running the command again finds the message already sent.
WELCOME_KEY = uuid.UUID("5eed0000-0000-4000-8000-000000000001")


class Command(BaseCommand):
    help = "Send the demo patient one welcome message from the demo clinician (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.APP_MODE == "production":
            raise CommandError("seed_demo_messages refuses to run in production mode")
        clinician = User.objects.filter(email="carl.clinician@demo.test").first()
        patient = User.objects.filter(email="pat.patient@demo.test").first()
        if clinician is None or patient is None:
            raise CommandError("run seed_demo first")
        with system_actor("command:seed_demo_messages"):
            services.message_compose(
                actor=clinician,
                draft=services.Draft(
                    send_key=WELCOME_KEY,
                    patient=patient,
                    subject="Welcome to the secure portal",
                    body="Hello! This is where your care team sends you **secure messages**.\n\n"
                    "- Reply here with questions\n- Attachments open after you sign in",
                    category="administrative",
                ),
                send=True,
            )
        count = Thread.objects.filter(patient=patient).count()
        self.stdout.write(self.style.SUCCESS(f"Demo messages: {count} thread(s) for the patient"))
