"""Every URL of records classified for the access matrix (tests/access.py)."""

from __future__ import annotations

from tests.access import (
    RECORDS,
    SIGNED_IN,
    Route,
    built,
    record_document,
    record_request_kwargs,
)

ROUTES: dict[str, Route] = {
    "records:queue": Route(SIGNED_IN, RECORDS),
    "records:alerts_read": Route(SIGNED_IN, RECORDS, methods=("POST",), ok_status=(302,)),
    "records:new": Route(SIGNED_IN, RECORDS, methods=("GET", "POST")),
    "records:new_for": Route(
        SIGNED_IN, RECORDS, methods=("GET", "POST"), kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "records:request": Route(SIGNED_IN, RECORDS, kwargs=lambda p: record_request_kwargs(p)),
    "records:verify": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
    "records:assign": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(302,),
    ),
    "records:fee": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
    "records:extend": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
    "records:deny": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
    "records:withdraw": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),  # not confirmed
    ),
    "records:documents": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
    "records:document_remove": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_document(p),
        ok_status=(302,),
    ),
    "records:document_rename": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_document(p),
        ok_status=(302,),
    ),
    "records:document_move": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_document(p),
        ok_status=(302,),
    ),
    "records:build": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),  # not verified yet
    ),
    "records:build_status": Route(SIGNED_IN, RECORDS, kwargs=lambda p: record_request_kwargs(p)),
    "records:package": Route(
        SIGNED_IN, RECORDS, kwargs=lambda p: {"request_id": built(p).pk}, fixtures=("organisation",)
    ),
    "records:fulfil": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
}
