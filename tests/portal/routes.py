"""Every URL of portal classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from typing import Any

from tests.access import (
    PATIENT,
    PORTAL,
    PUBLIC,
    SIGNED_IN,
    Route,
    record_request_kwargs,
    sent,
    signed,
)


def caregiver_link(personas: Any) -> dict[str, Any]:
    """A caregiver the patient invited (made as the service would leave it)."""
    from accounts.models import ProxyKind
    from tests.accounts.proxy_factories import link_made, make_proxy

    link = link_made(
        proxy=make_proxy("casey.caregiver@mail.test", "Casey Okonkwo-Lind"),
        patient=personas.patient,
        by=personas.patient,
        kind=ProxyKind.CAREGIVER,
    )
    return {"link_id": link.pk}


ROUTES: dict[str, Route] = {
    "portal:inbox": Route(SIGNED_IN, PORTAL),
    "portal:thread": Route(SIGNED_IN, PORTAL, kwargs=lambda p: {"thread_id": sent(p).thread_id}),
    "portal:reply": Route(
        SIGNED_IN,
        PORTAL,
        methods=("POST",),
        kwargs=lambda p: {"thread_id": sent(p).thread_id},
        ok_status=(400,),  # an empty reply is refused with the form shown again
    ),
    "portal:attachment": Route(
        SIGNED_IN, PORTAL, kwargs=lambda p: {"attachment_id": sent(p).attachments.get().pk}
    ),
    # A proxy's own page; anyone else: 404.
    "portal:acting_choose": Route(SIGNED_IN, frozenset({"proxy"}), methods=("GET", "POST")),
    "portal:guest_open": Route(
        PUBLIC, methods=("GET", "POST"), kwargs={"token": "x"}, ok_status=(404,)
    ),
    "portal:guest_code": Route(PUBLIC, methods=("GET", "POST"), ok_status=(404,)),
    "portal:guest_package": Route(PUBLIC, ok_status=(404,)),
    "portal:guest_attachment": Route(PUBLIC, kwargs={"attachment_id": "x"}, ok_status=(404,)),
    "portal:sharing": Route(SIGNED_IN, PORTAL),
    "portal:sharing_new": Route(SIGNED_IN, PORTAL, methods=("GET", "POST")),
    "portal:sharing_detail": Route(
        SIGNED_IN, PORTAL, kwargs=lambda p: {"authorization_id": signed(p).pk}
    ),
    "portal:sharing_revoke": Route(
        SIGNED_IN,
        PORTAL,
        methods=("POST",),
        kwargs=lambda p: {"authorization_id": signed(p).pk},
        ok_status=(400,),  # not confirmed: the page asks again
    ),
    "portal:accounting": Route(SIGNED_IN, PORTAL),
    "portal:preferences": Route(SIGNED_IN, PORTAL, methods=("GET", "POST")),
    "portal:delivery_method": Route(
        SIGNED_IN,
        PORTAL,
        methods=("GET", "POST"),
        ok_status=(302,),  # GET: to preferences
    ),
    "portal:waiver_accept": Route(
        SIGNED_IN,
        PORTAL,
        methods=("GET", "POST"),
        ok_status=(302,),  # GET: to preferences
    ),
    "portal:waiver_revoke": Route(SIGNED_IN, PORTAL, methods=("POST",), ok_status=(302,)),
    "portal:document_password": Route(SIGNED_IN, PATIENT, methods=("GET", "POST")),
    "portal:document_password_remove": Route(
        SIGNED_IN, PATIENT, methods=("POST",), ok_status=(302,)
    ),
    "portal:records": Route(SIGNED_IN, PORTAL),
    "portal:records_new": Route(SIGNED_IN, PORTAL, methods=("GET", "POST")),
    "portal:records_detail": Route(SIGNED_IN, PORTAL, kwargs=lambda p: record_request_kwargs(p)),
    "portal:records_withdraw": Route(
        SIGNED_IN,
        PORTAL,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(302,),
    ),
    "portal:proxies": Route(SIGNED_IN, PATIENT),
    "portal:proxy_invite": Route(
        SIGNED_IN,
        PATIENT,
        methods=("GET", "POST"),  # behind a fresh second factor; the matrix's is fresh
    ),
    "portal:proxy_revoke": Route(
        SIGNED_IN,
        PATIENT,
        methods=("GET", "POST"),  # GET asks; a POST without the box ticked asks again
        kwargs=caregiver_link,
    ),
}
