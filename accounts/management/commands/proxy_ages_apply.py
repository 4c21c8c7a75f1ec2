from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.services.proxies import proxy_ages_apply
from audit.context import system_actor


class Command(BaseCommand):
    help = (
        "Record the parents' proxy links that a child's age narrowed or ended today and tell "
        "the proxy and the patient (what the daily beat task does; a second run does nothing)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with system_actor("command:proxy_ages_apply"):
            done = proxy_ages_apply()
        self.stdout.write(f"Narrowed {done['narrowed']}, ended {done['aged_out']}.")
