"""Content whose data key was destroyed answers 410 Gone, and an upload the full file
store could not take answers 503 with a message: never a bare server error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from encryption.errors import Erased, StoreFull

logger = logging.getLogger(__name__)


class ErasedMiddleware:
    """Turns ``Erased`` raised by a view (a download of a purged file, say) into a 410 page.

    Views check ``is_erased`` where they can say more; this is the floor under all of
    them, including downloads, which raise before they stream or audit anything.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Erased):
            return None
        return render(request, "erased.html", {"on": exception.erased_at}, status=410)


# How long a person is asked to wait before trying again (an operator frees the disk).
STORE_FULL_RETRY_SECONDS = 300


class StoreFullMiddleware:
    """Turns ``StoreFull`` raised by any upload view into a 503 page that says nothing was
    sent or saved (the upload's transaction rolled back; the partial object is deleted).
    One floor under every view of ``UPLOAD_VIEWS``, as ``ErasedMiddleware`` is for reads.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, StoreFull):
            return None
        logger.error("an upload was refused: the encrypted file store is full")
        response = render(request, "store_full.html", status=503)
        response["Retry-After"] = str(STORE_FULL_RETRY_SECONDS)
        return response
