"""Every URL of messaging classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import (
    OFFICER,
    PUBLIC,
    SIGNED_IN,
    STAFF,
    THREAD_READERS,
    Route,
    draft,
    guest_package,
    sent,
    template,
)

ROUTES: dict[str, Route] = {
    "messaging:inbox": Route(SIGNED_IN, STAFF),
    "messaging:compose_start": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "messaging:compose": Route(
        SIGNED_IN, STAFF, methods=("GET", "POST"), kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    # Drafts are their author's alone: the clinician's draft is 404 for everyone else.
    "messaging:draft": Route(
        SIGNED_IN, frozenset({"clinician"}), kwargs=lambda p: {"message_id": draft(p).pk}
    ),
    "messaging:thread": Route(
        SIGNED_IN, THREAD_READERS, kwargs=lambda p: {"thread_id": sent(p).thread_id}
    ),
    "messaging:thread_reply": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("POST",),
        kwargs=lambda p: {"thread_id": sent(p).thread_id},
        ok_status=(400,),  # an empty reply is refused with the form shown again
    ),
    "messaging:thread_assign": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("POST",),
        kwargs=lambda p: {"thread_id": sent(p).thread_id},
        ok_status=(302,),
    ),
    "messaging:thread_handled": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("POST",),
        kwargs=lambda p: {"thread_id": sent(p).thread_id},
        ok_status=(302,),
    ),
    "messaging:thread_confidential": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("POST",),
        kwargs=lambda p: {"thread_id": sent(p).thread_id},
        ok_status=(302,),
    ),
    "messaging:recall": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("POST",),
        kwargs=lambda p: {"message_id": sent(p).pk},
        ok_status=(302,),
    ),
    "messaging:attachment": Route(
        SIGNED_IN, THREAD_READERS, kwargs=lambda p: {"attachment_id": sent(p).attachments.get().pk}
    ),
    "messaging:delivery_resend": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("GET", "POST"),
        kwargs=lambda p: {"delivery_id": sent(p).deliveries.get().pk},
    ),
    "messaging:delivery_letter": Route(
        SIGNED_IN,
        THREAD_READERS,
        methods=("POST",),
        kwargs=lambda p: {"delivery_id": sent(p).deliveries.get().pk},
    ),
    "messaging:templates": Route(SIGNED_IN, STAFF),
    "messaging:template_new": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "messaging:template_edit": Route(
        SIGNED_IN, STAFF, methods=("GET", "POST"), kwargs=lambda p: {"pk": template(p).pk}
    ),
    "messaging:template_archive": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"pk": template(p).pk},
        ok_status=(302,),
    ),
    "messaging:delivery_policy": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "messaging:bounce_webhook": Route(PUBLIC, methods=("POST",), ok_status=(400,), csrf=False),
    "messaging:guest_compose": Route(
        SIGNED_IN, STAFF, methods=("GET", "POST"), kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "messaging:guest_packages": Route(
        SIGNED_IN, STAFF, kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "messaging:guest_recall": Route(
        SIGNED_IN,
        THREAD_READERS,  # the clinician sent it; a records clerk sees only their own packages
        methods=("POST",),
        kwargs=lambda p: {"package_id": guest_package(p).pk},
        ok_status=(302,),
    ),
}
