"""The access matrix every app inherits: each URL is classified once (``tests/<app>/routes.py``)
and each class of URL is checked against every persona (``tests/<app>/test_access.py``).

A new URL that nobody classified fails ``tests/test_access_complete.py``; a new app without
its own matrix fails there too: deny by default applies to the test suite as well.

Checked for every route: anonymous is sent to sign-in, a password-only session to the
second factor, each role gets the page (or 404 outside its scope, like a foreign object)
on every method the route accepts, the unrelated patient gets 404 for the patient's
objects, GET on a change is 405, a POST without the CSRF token is refused, and nothing
signed in is cacheable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from tests.conftest import sign_in_client

PUBLIC, PRE_MFA, SIGNED_IN = "public", "pre_mfa", "signed_in"
# "proxy": a guardian of personas.patient with every scope, acting for them (the
# ``proxy_persona`` fixture); a route naming the patient's objects that "proxy" may use
# is also refused (404) to a proxy of the unrelated patient.
ALL_ROLES = frozenset({"patient", "clinician", "records_clerk", "privacy_officer", "proxy"})
STAFF = frozenset({"clinician", "records_clerk", "privacy_officer"})
OFFICER = frozenset({"privacy_officer"})
PATIENT = frozenset({"patient"})
# The patient's portal pages that someone acting for them reaches (within their scope).
PORTAL = frozenset({"patient", "proxy"})
RECORDS = frozenset({"records_clerk", "privacy_officer"})
# A thread a clinician started for their patient: not the records clerk's to read.
THREAD_READERS = frozenset({"clinician", "privacy_officer"})


@dataclass(frozen=True)
class Route:
    access: str
    roles: frozenset[str] = ALL_ROLES
    methods: tuple[str, ...] = ("GET",)
    # A dict, or a function of the personas that makes the objects the URL names. When it
    # makes the patient's objects, the unrelated patient must get 404 (``patients_own``).
    kwargs: dict[str, Any] | Callable[[Any], dict[str, Any]] = field(default_factory=dict)
    ok_status: tuple[int, ...] = (200,)
    csrf: bool = True  # False only for endpoints that authenticate by signature
    fixtures: tuple[str, ...] = ()  # pytest fixtures the objects need (a signing identity)
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. the demo's mode
    patients_own: bool = True  # the objects belong to personas.patient


def _selects(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        test.routes_kind = kind  # type: ignore[attr-defined]
        return test

    return mark


def route_names(routes: dict[str, Route], kind: str) -> list[str]:
    """The route names a kind of check applies to (tests/conftest.py parametrizes by it)."""
    chosen = {
        "protected": lambda r: r.access != PUBLIC,
        "after_mfa": lambda r: r.access == SIGNED_IN,
        "post_only": lambda r: r.methods == ("POST",),
        "csrf": lambda r: r.methods == ("POST",) and r.csrf,
        "patient_objects": lambda r: (
            r.access == SIGNED_IN and callable(r.kwargs) and r.patients_own and "patient" in r.roles
        ),
        "proxy_objects": lambda r: (
            r.access == SIGNED_IN and callable(r.kwargs) and r.patients_own and "proxy" in r.roles
        ),
    }[kind]
    return sorted(name for name, route in routes.items() if chosen(route))


def url_names(patterns: list[Any], namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed>")
    return names


class AccessMatrix:
    """Subclass in tests/<app>/test_access.py with ``ROUTES`` from tests/<app>/routes.py."""

    ROUTES: ClassVar[dict[str, Route]] = {}

    def _url(self, name: str, personas: Any, request: Any, settings: Any) -> str:
        route = self.ROUTES[name]
        for fixture in route.fixtures:
            request.getfixturevalue(fixture)
        for key, value in route.settings.items():
            setattr(settings, key, value)
        kwargs = route.kwargs(personas) if callable(route.kwargs) else route.kwargs
        return reverse(name, kwargs=kwargs or None)

    def _call(self, client: Client, name: str, url: str, method: str | None = None) -> Any:
        route = self.ROUTES[name]
        method = method or ("GET" if "GET" in route.methods else "POST")
        return getattr(client, method.lower())(url)

    @_selects("protected")
    @pytest.mark.django_db
    def test_anonymous_is_sent_to_sign_in(
        self, name: str, personas: Any, request: Any, settings: Any
    ) -> None:
        response = self._call(Client(), name, self._url(name, personas, request, settings))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign_in"))

    @_selects("after_mfa")
    def test_password_only_is_sent_to_the_second_factor(
        self, name: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        client = client_for(personas.privacy_officer, verified=False)
        response = self._call(client, name, self._url(name, personas, request, settings))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))

    @_selects("after_mfa")
    @pytest.mark.parametrize("role", sorted(ALL_ROLES))
    def test_each_role_gets_the_page_or_404_on_every_method(
        self, name: str, role: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        route = self.ROUTES[name]
        if role == "proxy":
            client = request.getfixturevalue("proxy_persona")
        else:
            client = client_for(next(u for u in personas.all() if u.role == role))
        url = self._url(name, personas, request, settings)
        for method in route.methods:
            response = self._call(client, name, url, method)
            if role not in route.roles:
                assert response.status_code == 404, method
            elif method == route.methods[0] or len(route.methods) == 1:
                assert response.status_code in route.ok_status, method
            else:  # another accepted method: answered, neither refused nor broken
                assert response.status_code not in (404, 405) and response.status_code < 500
            # Nothing a signed-in person is shown may stay in a browser's or proxy's cache.
            assert "no-store" in response["Cache-Control"]
            assert "camera=()" in response["Permissions-Policy"]
            assert response["Cross-Origin-Resource-Policy"] == "same-origin"

    @_selects("patient_objects")
    def test_the_unrelated_patient_gets_404_for_the_patients_objects(
        self, name: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        route = self.ROUTES[name]
        url = self._url(name, personas, request, settings)
        client = client_for(personas.other_patient)
        for method in route.methods:
            assert self._call(client, name, url, method).status_code == 404, method

    @_selects("proxy_objects")
    def test_a_proxy_of_another_patient_gets_404_for_the_patients_objects(
        self, name: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        route = self.ROUTES[name]
        url = self._url(name, personas, request, settings)
        client = proxy_client(client_for, personas, personas.other_patient)
        for method in route.methods:
            assert self._call(client, name, url, method).status_code == 404, method

    @_selects("post_only")
    def test_get_on_a_change_is_405(
        self, name: str, personas: Any, client_for: Any, request: Any, settings: Any
    ) -> None:
        url = self._url(name, personas, request, settings)
        assert client_for(personas.privacy_officer).get(url).status_code == 405

    @_selects("csrf")
    def test_post_without_csrf_token_is_refused(
        self, name: str, personas: Any, request: Any, settings: Any
    ) -> None:
        client = sign_in_client(Client(enforce_csrf_checks=True), personas.privacy_officer)
        response = client.post(self._url(name, personas, request, settings))
        assert response.status_code == 403
        assert b"This form has expired" in response.content


def proxy_client(client_for: Any, personas: Any, patient: Any, email: str = "") -> Client:
    """A client of a guardian of ``patient`` with every scope, acting for them."""
    from accounts.proxies import ACTING_FOR_SESSION_KEY
    from tests.accounts.proxy_factories import link_made, make_proxy

    proxy = make_proxy(email or f"proxy.of.{patient.pk}@mail.test", "Parker Lindqvist")
    link_made(proxy=proxy, patient=patient, by=personas.records_clerk)
    client = client_for(proxy)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = patient.pk
    session.save()
    return client


# --- the objects routes name (made through the real services) ----------------------------


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


def totp_of(user: Any) -> dict[str, Any]:
    from accounts.models import AuthenticatorApp

    return {"kind": "authenticatorapp", "pk": AuthenticatorApp.objects.get(user=user).pk}


def an_event(personas: Any) -> int:
    from audit.services import event_record

    return event_record(action="accounts.sign_in", target=personas.patient).pk


def draft(personas: Any) -> Any:
    from tests.messaging.factories import message_sent

    return message_sent(author=personas.clinician, patient=personas.patient, send=False)


def built(personas: Any) -> Any:
    from tests.records.factories import built as request_built

    return request_built(personas)
