"""Every URL pattern is classified; each class is checked against every persona.

A new URL that nobody classified fails ``test_every_url_is_classified``: deny by
default applies to the test suite too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PUBLIC, PRE_MFA, SIGNED_IN = "public", "pre_mfa", "signed_in"
ALL_ROLES = frozenset({"patient", "clinician", "records_clerk", "privacy_officer"})
STAFF = frozenset({"clinician", "records_clerk", "privacy_officer"})
OFFICER = frozenset({"privacy_officer"})
PATIENT = frozenset({"patient"})
RECORDS = frozenset({"records_clerk", "privacy_officer"})
# A thread a clinician started for their patient: not the records clerk's to read.
THREAD_READERS = frozenset({"clinician", "privacy_officer"})


@dataclass(frozen=True)
class Route:
    access: str
    roles: frozenset[str] = ALL_ROLES
    methods: tuple[str, ...] = ("GET",)
    # A dict, or a function of the personas that makes the objects the URL names.
    kwargs: dict[str, Any] | Callable[[Any], dict[str, Any]] = field(default_factory=dict)
    ok_status: tuple[int, ...] = (200,)
    csrf: bool = True  # False only for endpoints that authenticate by signature


ROUTES: dict[str, Route] = {
    "accounts:sign_in": Route(PUBLIC, methods=("GET", "POST")),
    "accounts:invitation_open": Route(PUBLIC, kwargs={"token": "x"}, ok_status=(410,)),
    "accounts:invitation_accept": Route(PUBLIC, methods=("GET", "POST"), ok_status=(410,)),
    "accounts:mfa_verify": Route(PRE_MFA, methods=("GET", "POST"), ok_status=(200, 302)),
    "accounts:mfa_enroll": Route(PRE_MFA, methods=("GET", "POST"), ok_status=(200, 302)),
    "accounts:sign_out": Route(PRE_MFA, methods=("POST",), ok_status=(302,)),
    "otp_webauthn:credential-authentication-begin": Route(PRE_MFA, methods=("POST",)),
    "otp_webauthn:credential-authentication-complete": Route(PRE_MFA, methods=("POST",)),
    "otp_webauthn:js-i18n-catalog": Route(PRE_MFA),
    "otp_webauthn:credential-registration-begin": Route(SIGNED_IN, methods=("POST",)),
    "otp_webauthn:credential-registration-complete": Route(
        SIGNED_IN,
        methods=("POST",),
        ok_status=(400,),  # no ceremony was begun
    ),
    "accounts:home": Route(SIGNED_IN),
    "accounts:session_keepalive": Route(SIGNED_IN, methods=("POST",), ok_status=(204,)),
    "accounts:security": Route(SIGNED_IN),
    "accounts:passkey_add": Route(SIGNED_IN),
    "accounts:password_change": Route(SIGNED_IN, methods=("GET", "POST")),
    "accounts:backup_codes": Route(SIGNED_IN, methods=("POST",)),
    "accounts:factor_remove": Route(
        SIGNED_IN, methods=("POST",), kwargs={"kind": "totpdevice", "pk": 999999}, ok_status=(404,)
    ),
    "accounts:patient_enroll": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "accounts:staff_create": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "accounts:demo_outbox": Route(SIGNED_IN, OFFICER, ok_status=(404,)),  # demo mode only
    "audit:search": Route(SIGNED_IN, OFFICER),
    "audit:event_detail": Route(SIGNED_IN, OFFICER, kwargs={"pk": 1}, ok_status=(200, 404)),
    "audit:export": Route(SIGNED_IN, OFFICER, kwargs={"fmt": "csv"}),
    "audit:my_access_log": Route(SIGNED_IN, frozenset({"patient"})),
    "accounts:email_change": Route(SIGNED_IN, methods=("GET", "POST")),
    "accounts:email_change_confirm": Route(
        SIGNED_IN, methods=("GET", "POST"), kwargs={"token": "x"}, ok_status=(410,)
    ),
    "messaging:inbox": Route(SIGNED_IN, STAFF),
    "messaging:compose_start": Route(SIGNED_IN, STAFF, methods=("GET", "POST")),
    "messaging:compose": Route(
        SIGNED_IN, STAFF, methods=("GET", "POST"), kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "messaging:draft": Route(
        SIGNED_IN,
        STAFF,
        kwargs={"message_id": "00000000-0000-0000-0000-000000000000"},
        ok_status=(404,),  # drafts are their author's alone: tests/messaging/test_views.py
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
    "messaging:bounce_webhook": Route(PUBLIC, methods=("POST",), ok_status=(400,), csrf=False),
    "portal:inbox": Route(SIGNED_IN, PATIENT),
    "portal:thread": Route(SIGNED_IN, PATIENT, kwargs=lambda p: {"thread_id": sent(p).thread_id}),
    "portal:reply": Route(
        SIGNED_IN,
        PATIENT,
        methods=("POST",),
        kwargs=lambda p: {"thread_id": sent(p).thread_id},
        ok_status=(400,),  # an empty reply is refused with the form shown again
    ),
    "portal:attachment": Route(
        SIGNED_IN, PATIENT, kwargs=lambda p: {"attachment_id": sent(p).attachments.get().pk}
    ),
    # Third parties: staff send, the guest picks up with the link (public, deny by default
    # inside: without a bound browser and a verified code everything is 404).
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
    "portal:guest_open": Route(
        PUBLIC, methods=("GET", "POST"), kwargs={"token": "x"}, ok_status=(404,)
    ),
    "portal:guest_code": Route(PUBLIC, methods=("GET", "POST"), ok_status=(404,)),
    "portal:guest_package": Route(PUBLIC, ok_status=(404,)),
    "portal:guest_attachment": Route(PUBLIC, kwargs={"attachment_id": "x"}, ok_status=(404,)),
    # Consent, the patient's side.
    "portal:sharing": Route(SIGNED_IN, PATIENT),
    "portal:sharing_new": Route(SIGNED_IN, PATIENT, methods=("GET", "POST")),
    "portal:sharing_detail": Route(
        SIGNED_IN, PATIENT, kwargs=lambda p: {"authorization_id": signed(p).pk}
    ),
    "portal:sharing_revoke": Route(
        SIGNED_IN,
        PATIENT,
        methods=("POST",),
        kwargs=lambda p: {"authorization_id": signed(p).pk},
        ok_status=(400,),  # not confirmed: the page asks again
    ),
    "portal:accounting": Route(SIGNED_IN, PATIENT),
    "portal:preferences": Route(SIGNED_IN, PATIENT, methods=("GET", "POST")),
    "portal:waiver_accept": Route(
        SIGNED_IN,
        PATIENT,
        methods=("GET", "POST"),
        ok_status=(302,),  # GET: to preferences
    ),
    "portal:waiver_revoke": Route(SIGNED_IN, PATIENT, methods=("POST",), ok_status=(302,)),
    # Consent, staff side.
    "consent:patient": Route(SIGNED_IN, STAFF, kwargs=lambda p: {"patient_id": p.patient.pk}),
    "consent:paper_record": Route(
        SIGNED_IN, STAFF, methods=("GET", "POST"), kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "consent:waiver_record": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"patient_id": p.patient.pk},
        ok_status=(302,),
    ),
    "consent:accounting_pdf": Route(
        SIGNED_IN, STAFF, kwargs=lambda p: {"patient_id": p.patient.pk}
    ),
    "consent:authorizations": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    "consent:authorization": Route(
        SIGNED_IN, STAFF, kwargs=lambda p: {"authorization_id": on_paper(p).pk}
    ),
    "consent:revoke": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"authorization_id": on_paper(p).pk},
        ok_status=(302,),  # without the written-request box: refused, back to the page
    ),
    "consent:event_expire": Route(
        SIGNED_IN,
        STAFF,
        methods=("POST",),
        kwargs=lambda p: {"authorization_id": on_paper(p).pk},
        ok_status=(302,),  # no expiry event named: refused, back to the page
    ),
    "consent:correct": Route(
        SIGNED_IN,
        STAFF,
        methods=("GET", "POST"),
        kwargs=lambda p: {"authorization_id": on_paper(p).pk},
    ),
    "consent:scan": Route(SIGNED_IN, STAFF, kwargs=lambda p: {"authorization_id": on_paper(p).pk}),
    "consent:fhir": Route(SIGNED_IN, STAFF, kwargs=lambda p: {"authorization_id": on_paper(p).pk}),
    "consent:waiver_statements": Route(SIGNED_IN, OFFICER, methods=("GET", "POST")),
    # Record requests: the clerk's queue and steps; the patient's own requests.
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
        ok_status=(302,),
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
    "records:build": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),  # not verified yet
    ),
    "records:build_status": Route(SIGNED_IN, RECORDS, kwargs=lambda p: record_request_kwargs(p)),
    "records:package": Route(
        SIGNED_IN, RECORDS, kwargs=lambda p: record_request_kwargs(p), ok_status=(404,)
    ),  # not built yet
    "records:fulfil": Route(
        SIGNED_IN,
        RECORDS,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(400,),
    ),
    "portal:records": Route(SIGNED_IN, PATIENT),
    "portal:records_new": Route(SIGNED_IN, PATIENT, methods=("GET", "POST")),
    "portal:records_detail": Route(SIGNED_IN, PATIENT, kwargs=lambda p: record_request_kwargs(p)),
    "portal:records_withdraw": Route(
        SIGNED_IN,
        PATIENT,
        methods=("POST",),
        kwargs=lambda p: record_request_kwargs(p),
        ok_status=(302,),
    ),
    "retention:overview": Route(SIGNED_IN, OFFICER),
    "retention:policy_edit": Route(
        SIGNED_IN, OFFICER, methods=("GET", "POST"), kwargs={"kind": "message_clinical"}
    ),
    "retention:holds": Route(SIGNED_IN, OFFICER),
    "retention:hold_place": Route(SIGNED_IN, OFFICER, methods=("POST",), ok_status=(400,)),
    "retention:hold_release": Route(
        SIGNED_IN, OFFICER, methods=("POST",), kwargs=lambda p: hold(p), ok_status=(302,)
    ),
    "retention:runs": Route(SIGNED_IN, OFFICER),
}
# The Django admin: every pattern is for OTP-verified privacy officers only.
ADMIN_PREFIX = "admin:"


def _names(patterns: list[Any], namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed>")
    return names


def test_every_url_is_classified() -> None:
    unclassified = {
        name
        for name in _names(get_resolver().url_patterns)
        if name not in ROUTES and not name.startswith(ADMIN_PREFIX)
    }
    assert unclassified == set(), f"classify these URLs in ROUTES: {sorted(unclassified)}"


def test_the_classification_names_only_real_urls() -> None:
    assert set(ROUTES) <= _names(get_resolver().url_patterns)


def sent(personas: Any) -> Any:
    from tests.messaging.factories import message_sent

    return message_sent(author=personas.clinician, patient=personas.patient)


def guest_package(personas: Any) -> Any:
    from tests.consent.factories import authorization_signed
    from tests.messaging.factories import package_send

    authorization_signed(patient=personas.patient)
    return package_send(personas)


def record_request_kwargs(personas: Any) -> dict[str, Any]:
    from tests.records.factories import request_received

    return {"request_id": request_received(patient=personas.patient).pk}


def record_document(personas: Any) -> dict[str, Any]:
    from encryption.uploads import attachment_check
    from records.services import documents_add
    from tests.messaging.factories import PDF_BYTES
    from tests.records.factories import request_verified

    request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
    (document,) = documents_add(
        actor=personas.records_clerk,
        request=request,
        uploads=[attachment_check(name="notes.pdf", data=PDF_BYTES)],
    )
    return {"request_id": request.pk, "document_id": document.pk}


def signed(personas: Any) -> Any:
    from tests.consent.factories import authorization_signed

    return authorization_signed(patient=personas.patient)


def on_paper(personas: Any) -> Any:
    from tests.consent.factories import authorization_on_paper

    return authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)


def hold(personas: Any) -> dict[str, Any]:
    from retention.services import hold_place

    placed = hold_place(
        actor=personas.privacy_officer, scope="patient", patient=personas.patient, reason="Audit"
    )
    return {"hold_id": placed.pk}


def template(personas: Any) -> Any:
    from messaging.models import MessageTemplate

    return MessageTemplate.objects.create(
        title="Results ready", body="Your results are ready.", created_by=personas.clinician
    )


def _url(name: str, personas: Any = None) -> str:
    route = ROUTES[name]
    kwargs = route.kwargs(personas) if callable(route.kwargs) else route.kwargs
    return reverse(name, kwargs=kwargs or None)


def _call(client: Client, name: str, personas: Any = None) -> Any:
    route = ROUTES[name]
    method = "get" if "GET" in route.methods else "post"
    return getattr(client, method)(_url(name, personas))


PROTECTED = sorted(n for n, r in ROUTES.items() if r.access != PUBLIC)
AFTER_MFA = sorted(n for n, r in ROUTES.items() if r.access == SIGNED_IN)
POST_ONLY = sorted(n for n, r in ROUTES.items() if r.methods == ("POST",))


@pytest.mark.django_db
@pytest.mark.parametrize("name", PROTECTED)
def test_anonymous_is_sent_to_sign_in(name: str, personas: Any) -> None:
    response = _call(Client(), name, personas)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign_in"))


@pytest.mark.parametrize("name", AFTER_MFA)
def test_password_only_is_sent_to_the_second_factor(
    name: str, personas: Any, client_for: Any
) -> None:
    client = client_for(personas.privacy_officer, verified=False)
    response = _call(client, name, personas)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))


@pytest.mark.parametrize("name", AFTER_MFA)
@pytest.mark.parametrize("role", sorted(ALL_ROLES))
def test_each_role_gets_the_page_or_404(
    name: str, role: str, personas: Any, client_for: Any
) -> None:
    route = ROUTES[name]
    user = next(u for u in personas.all() if u.role == role)
    response = _call(client_for(user), name, personas)
    if role in route.roles:
        assert response.status_code in route.ok_status
    else:
        assert response.status_code == 404
    # Nothing a signed-in person is shown may stay in a browser's or proxy's cache.
    assert "no-store" in response["Cache-Control"]
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("name", POST_ONLY)
def test_get_on_a_change_is_405(name: str, personas: Any, client_for: Any) -> None:
    response = client_for(personas.privacy_officer).get(_url(name, personas))
    assert response.status_code == 405


@pytest.mark.parametrize(
    "name",
    [n for n in POST_ONLY if not n.startswith("otp_webauthn:") and ROUTES[n].csrf]
    + ["accounts:sign_in"],
)
def test_post_without_csrf_token_is_refused(name: str, personas: Any) -> None:
    from tests.conftest import sign_in_client

    client = sign_in_client(Client(enforce_csrf_checks=True), personas.privacy_officer)
    response = client.post(_url(name, personas))
    assert response.status_code == 403
    assert b"This form has expired" in response.content


def test_webauthn_endpoints_refuse_posts_without_csrf(personas: Any) -> None:
    from tests.conftest import sign_in_client

    client = sign_in_client(Client(enforce_csrf_checks=True), personas.patient)
    response = client.post(reverse("otp_webauthn:credential-authentication-begin"))
    assert response.status_code == 403


@pytest.mark.parametrize("role", sorted(ALL_ROLES - OFFICER))
def test_the_admin_is_404_for_everyone_but_the_privacy_officer(
    role: str, personas: Any, client_for: Any
) -> None:
    user = next(u for u in personas.all() if u.role == role)
    assert client_for(user).get(reverse("admin:index")).status_code == 404


def test_the_admin_opens_for_a_verified_privacy_officer(personas: Any, client_for: Any) -> None:
    response = client_for(personas.privacy_officer).get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200


def test_the_admin_needs_the_second_factor(personas: Any, client_for: Any) -> None:
    response = client_for(personas.privacy_officer, verified=False).get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))
