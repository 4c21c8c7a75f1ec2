from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from encryption.keyring import keyring
from encryption.models import Kek, KekProvider


class Command(BaseCommand):
    help = "List the key-encryption keys: state, whether this server has them, data keys each."

    def handle(self, *args: Any, **options: Any) -> None:
        ring = keyring()
        keks = Kek.objects.annotate(
            live=Count("data_keys", filter=Q(data_keys__destroyed_at__isnull=True))
        ).order_by("created_at")
        for kek in keks:
            here = kek.provider != KekProvider.LOCAL or ring.local.available(kek.key_id)
            self.stdout.write(
                f"{kek.key_id:<40} {kek.provider:<8} {kek.state:<8} "
                f"{'present' if here else 'MISSING':<8} {kek.live} data keys"
            )
        registered = set(keks.values_list("key_id", flat=True))
        for key_id in ring.local.keys:
            if key_id not in registered:
                self.stdout.write(f"{key_id:<40} local    (configured, not yet used)")
