"""Django's debug page, never for a signed-in person.

With ``DEBUG`` on (a developer's own machine only), a 500's technical page shows local
variables: for a signed-in patient or clinician those are health information. Their
error page stays the plain one; only anonymous requests get the traceback.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.views.debug import ExceptionReporter


class SignedInSafeExceptionReporter(ExceptionReporter):
    def get_traceback_html(self) -> Any:
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return render_to_string("500.html")
        return super().get_traceback_html()
