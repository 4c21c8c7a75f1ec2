"""Showing new backup codes, and giving them back once more as a text file.

The codes are stored only as keyed hashes, so the file is built from the codes the page
posts back, and only those the account really holds. It is offered in the session that
just saw them, for a few minutes: a stolen session later cannot ask for the file.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services
from accounts.selectors import request_user

SESSION_BACKUP_CODES_UNTIL = "backup_codes_download_until"
DOWNLOAD_WINDOW_SECONDS = 5 * 60


def backup_codes_page(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    """The page that shows just-issued codes; it opens the download window."""
    request.session[SESSION_BACKUP_CODES_UNTIL] = time.time() + DOWNLOAD_WINDOW_SECONDS
    response = render(request, "accounts/backup_codes.html", {"codes": codes, "first": first})
    response["Cache-Control"] = "no-store"
    return response


def _refused(request: HttpRequest) -> HttpResponse:
    response = render(request, "accounts/backup_codes_expired.html", status=410)
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("code")
@require_POST
def backup_codes_download(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    until = request.session.get(SESSION_BACKUP_CODES_UNTIL)
    if not isinstance(until, (int, float)) or until < time.time():
        return _refused(request)
    codes = [code.strip() for code in request.POST.getlist("code")][:20]
    if not services.backup_codes_match(user=user, codes=codes):
        return _refused(request)
    services.backup_codes_download_record(user=user, count=len(codes))
    lines = [
        _("Backup codes for %(site)s") % {"site": settings.ORGANISATION_NAME},
        _("Each code works once. Keep this file somewhere safe."),
        "",
        *codes,
        "",
    ]
    response = HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="backup-codes.txt"'
    response["Cache-Control"] = "no-store"
    return response
