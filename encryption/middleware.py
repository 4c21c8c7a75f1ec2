"""Content whose data key was destroyed answers 410 Gone, never a server error."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from encryption.errors import Erased


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
