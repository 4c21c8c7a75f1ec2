"""The patient's side of proxies: who can act for them, inviting a caregiver, stopping one.

Every link is read with the signed-in patient as its patient, so another patient's link
answers 404. A representative's link (parent, guardian, power of attorney) is shown but
not changed here: staff record it after checking the authority, and staff end it. An
adult patient invites a caregiver after a fresh second factor (it lets someone else into
their record) and stops a caregiver's access at any time, without one (as revoking an
authorization: the right to take access back must stay easy to use).

Opening the list is not audited as a read of health information: it shows who the
patient let in, to the patient themselves, as the security page shows their own sign-in
factors; every change made from it is audited by its service with the patient's id.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages as flash
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import proxies
from accounts.errors import AccountsError
from accounts.models import ProxyKind, ProxyLink, User
from accounts.selectors import request_user
from accounts.services.proxies import (
    caregiver_invite,
    may_invite_caregiver,
    may_revoke,
    proxy_link_revoke,
)
from core.decorators import allowed_if, fresh_otp_required
from core.forms import posted
from portal.proxy_forms import CaregiverInviteForm, ProxyRevokeForm, scope_words

patients_only = allowed_if(lambda user: user.is_authenticated and user.is_patient)

# Where each of the invitation service's refusals is shown on the form.
INVITE_REFUSALS = {
    "email_other_account": "email",
    "already_linked": "email",
    "no_scope": "scopes",
    "dates": "ends_on",
}
# States of a link that are over: listed apart, under "Access that has ended".
ENDED = frozenset({"revoked", "expired", "aged_out"})


def _links_of(patient: User) -> QuerySet[ProxyLink]:
    """The patient's own links, newest first (what ``proxies.scopes_in_force`` reads is
    joined, so the list costs one query whatever its length)."""
    return (
        ProxyLink.objects.filter(patient=patient)
        .select_related("proxy", "patient__patient_profile")
        .defer("suspension_reason")  # the privacy officer's, never shown to the patient
        .order_by("-created_at")
    )


def _link_of(patient: User, link_id: Any) -> ProxyLink:
    link = _links_of(patient).filter(pk=link_id).first()
    if link is None:
        raise Http404
    return link


def _state(link: ProxyLink, in_force: frozenset[str], today: date) -> str:
    if link.revoked_at is not None:
        return "revoked"
    if link.aged_out_at is not None or proxies.minor_stage(link, today) == "ended":
        return "aged_out"
    if link.suspended_at is not None:
        return "suspended"
    if today < link.starts_on:
        return "not_started"
    if link.ends_on is not None and today > link.ends_on:
        return "expired"
    if not in_force:
        return "paused"  # an account switched off: nothing reaches the patient
    return "active" if link.proxy.has_usable_password() else "invited"


def _describe(link: ProxyLink, patient: User, today: date) -> dict[str, Any]:
    in_force = proxies.scopes_in_force(link, today)
    state = _state(link, in_force, today)
    return {
        "link": link,
        "state": state,
        # What reaches the patient today (a parent's narrowed by age); once it reaches
        # nothing, what was granted.
        "scopes": scope_words(in_force or frozenset(link.scopes)),
        "caregiver": link.kind == ProxyKind.CAREGIVER,
        "by_patient": link.revoked_by_id == patient.pk,
        # An expired caregiver's link too: until it is stopped it holds the place of the
        # one live link per person, and inviting them again would be refused.
        "may_stop": state not in ("revoked", "aged_out") and may_revoke(patient, link),
    }


@never_cache
@require_GET
@patients_only
def proxies_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    today = timezone.localdate()
    rows = [_describe(link, user, today) for link in _links_of(user)]
    return render(
        request,
        "portal/proxies.html",
        {
            "current": [row for row in rows if row["state"] not in ENDED],
            "ended": [row for row in rows if row["state"] in ENDED],
            "may_invite": may_invite_caregiver(user),
            "adult_age": proxies.minor_rules().ends_at,
            "area": "portal",
        },
    )


@sensitive_post_parameters("full_name", "email")
@never_cache
@require_http_methods(["GET", "POST"])
@patients_only
@fresh_otp_required  # it lets someone else into the patient's record
def proxy_invite(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not may_invite_caregiver(user):
        return render(
            request,
            "portal/proxy_invite.html",
            {"adults_only": True, "adult_age": proxies.minor_rules().ends_at, "area": "portal"},
            status=403,
        )
    form = CaregiverInviteForm(posted(request), own_email=user.email)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                link = caregiver_invite(
                    actor=user,
                    email=data["email"],
                    full_name=data["full_name"],
                    scopes=data["scopes"],
                    ends_on=data["ends_on"],
                )
            except AccountsError as error:
                if error.code not in INVITE_REFUSALS:
                    raise
                form.add_error(INVITE_REFUSALS[error.code], _refusal_text(error.code))
            else:
                flash.success(
                    request,
                    gettext(
                        "%(name)s can act for you once they sign in. If they are new here, "
                        "we e-mailed them a link to set up their account."
                    )
                    % {"name": link.proxy.full_name},
                )
                return redirect("portal:proxies")
        status = 400
    return render(
        request,
        "portal/proxy_invite.html",
        {"form": form, "area": "portal"},
        status=status,
    )


def _refusal_text(code: str) -> str:
    if code == "email_other_account":
        # Not which kind of account: that would tell the patient who else is one here.
        return gettext(
            "We cannot use this e-mail address for a caregiver. Ask them for another "
            "address, or contact us."
        )
    if code == "already_linked":
        return gettext(
            "This person can already act for you. To change what they may do, stop their "
            "access, then invite them again."
        )
    if code == "no_scope":
        return gettext("Tick at least one thing they may do.")
    return gettext("This date has passed. Choose a later date.")


@never_cache
@require_http_methods(["GET", "POST"])
@patients_only
def proxy_revoke(request: HttpRequest, link_id: Any) -> HttpResponse:
    """Ask, then stop a caregiver's access; the caregiver's next click is refused
    (``portal.acting`` checks the link on every request)."""
    user = request_user(request)
    today = timezone.localdate()
    row = _describe(_link_of(user, link_id), user, today)
    link: ProxyLink = row["link"]
    if not may_revoke(user, link):
        # A representative's authority is staff's to end: the page says whom to ask.
        context = {"row": row, "refused": True, "area": "portal"}
        return render(request, "portal/proxy_revoke.html", context, status=403)
    if link.revoked_at is not None:
        if request.method == "POST":  # already stopped (a second click): nothing to do
            return redirect("portal:proxies")
        return render(request, "portal/proxy_revoke.html", {"row": row, "area": "portal"})
    form = ProxyRevokeForm(posted(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            proxy_link_revoke(actor=user, link=link)
            flash.success(
                request,
                gettext("%(name)s can no longer act for you. This took effect at once.")
                % {"name": link.proxy.full_name},
            )
            return redirect("portal:proxies")
        status = 400
    return render(
        request,
        "portal/proxy_revoke.html",
        {"row": row, "form": form, "area": "portal"},
        status=status,
    )
