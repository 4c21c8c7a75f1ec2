"""The records and sharing pages name whose records they are when a proxy acts: a parent
reading "My records" would take them for their own (issue 22's follow-up)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.urls import reverse

from tests.accounts.proxy_factories import EVERYTHING, acting_client, link_made, make_proxy
from tests.consent.factories import authorization_signed
from tests.records.factories import request_received

pytestmark = pytest.mark.django_db


def _text(html: str, tag: str) -> str:
    found = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", html, re.S)
    assert found, f"no <{tag}> on the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def _pages(personas: Any) -> dict[str, tuple[str, str, str]]:
    """url -> (the patient's own heading, the heading a proxy sees, the proxy's title)."""
    request = request_received(patient=personas.patient)
    authorization = authorization_signed(patient=personas.patient)
    name = personas.patient.full_name
    return {
        reverse("portal:records"): ("My records", f"Records for {name}", "Records"),
        reverse("portal:records_new"): (
            "Request a copy of my records",
            f"Request a copy of {name}'s records",
            "Request a copy of records",
        ),
        reverse("portal:records_detail", args=[request.pk]): (
            "My request for my records",
            f"A request for {name}'s records",
            "A request for records",
        ),
        reverse("portal:sharing"): (
            "Sharing your records",
            f"Sharing {name}'s records",
            "Sharing records",
        ),
        reverse("portal:sharing_new"): (
            "Share my records with someone",
            f"Share {name}'s records with someone",
            "Share records with someone",
        ),
        reverse("portal:accounting"): (
            "Who we have sent your records to",
            f"Who we have sent {name}'s records to",
            "Who we have sent records to",
        ),
        reverse("portal:sharing_detail", args=[authorization.pk]): (
            "",
            f"← Sharing {name}'s records",
            "",
        ),
    }


def test_a_proxy_sees_whose_records_each_page_is_about(personas: Any, client_for: Any) -> None:
    proxy = make_proxy()
    link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=EVERYTHING)
    client = acting_client(client_for, proxy, personas.patient)
    for url, (_own, theirs, title) in _pages(personas).items():
        html = client.get(url).content.decode()
        if title:
            assert _text(html, "h1") == theirs, url
            assert _text(html, "title").startswith(title), url
            # Titles land in browser history and tab lists: no patient's name there.
            assert personas.patient.full_name not in _text(html, "title"), url
        else:
            assert theirs in " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split()), url
        headings = " ".join(_text(html, tag) for tag in ("title", "h1")).lower()
        assert "my records" not in headings and "your records" not in headings, url


def test_the_lists_are_not_the_proxys_own(personas: Any, client_for: Any) -> None:
    proxy = make_proxy()
    link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=EVERYTHING)
    client = acting_client(client_for, proxy, personas.patient)
    records = client.get(reverse("portal:records")).content.decode()
    assert _text(records, "h2") == "Requests"
    sharing = client.get(reverse("portal:sharing")).content.decode()
    assert _text(sharing, "h2") == "Authorizations"
    assert _text(
        client_for(personas.patient).get(reverse("portal:sharing")).content.decode(), "h2"
    ) == ("Your authorizations")


def test_the_patient_still_reads_about_their_own(personas: Any, client_for: Any) -> None:
    client = client_for(personas.patient)
    for url, (own, _theirs, _title) in _pages(personas).items():
        html = client.get(url).content.decode()
        if own:
            assert _text(html, "h1") == own, url
        assert personas.patient.full_name + "'s" not in html, url


def test_a_proxy_reads_them_in_spanish(personas: Any, client_for: Any) -> None:
    proxy = make_proxy()
    proxy.language = "es"
    proxy.save(update_fields=["language"])
    link_made(proxy=proxy, patient=personas.patient, by=personas.records_clerk, scopes=EVERYTHING)
    client = acting_client(client_for, proxy, personas.patient)
    name = personas.patient.full_name
    html = client.get(reverse("portal:records")).content.decode()
    assert _text(html, "h1") == f"Registros de {name}"
    html = client.get(reverse("portal:sharing")).content.decode()
    assert _text(html, "h1").startswith(f"Compartir los registros de {name}")
