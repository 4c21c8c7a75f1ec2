"""What the accounts services share: link tokens (only each nonce's hash is stored)
and the sweeps that re-send what never went out.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core import signing


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _enqueue_each(ids: Any, task: Any) -> int:
    """Prompt ``task`` once per id (the sweeps); returns how many."""
    count = 0
    for pk in ids:
        task.delay(pk)
        count += 1
    return count


def _link_token(model: Any, pk: int, key: str, salt: str) -> str:
    """Give the row a new link secret (only its hash is stored); return the signed token."""
    nonce = secrets.token_urlsafe(32)
    model.objects.filter(pk=pk).update(nonce_hash=_nonce_hash(nonce))
    return signing.dumps({key: pk, "n": nonce}, salt=salt)
