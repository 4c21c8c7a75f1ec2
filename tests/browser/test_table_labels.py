"""On a phone the tables stack each row's cells and hide their column headings: each cell
then shows its column's heading above its text (static/js/table-labels.js, site.css).
Seen here on the records clerk's queue and on a patient's list of record requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.browser.helpers import sign_in_with_totp
from tests.records.factories import request_received

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = """(table) => Array.from(document.querySelector(table).tBodies[0].rows[0].cells)
    .map((cell) => getComputedStyle(cell, "::before").content)"""


def test_the_queue_on_a_phone_labels_each_cell(open_page: Any, personas: Any) -> None:
    request_received(patient=personas.patient)
    page = open_page(375)
    sign_in_with_totp(page, personas.records_clerk)
    page.goto(reverse("records:queue"))
    first = page.locator("table").first
    first.wait_for()
    assert page.evaluate(LABELS, "table") == [
        '"Patient"',
        '"Received"',
        '"Due"',
        '"Days left"',
        '"State"',
        '"Assigned"',
    ]
    assert first.locator("thead").is_hidden()


def test_a_wide_screen_keeps_its_column_headings(open_page: Any, personas: Any) -> None:
    request_received(patient=personas.patient)
    page = open_page(1280)
    sign_in_with_totp(page, personas.patient)
    page.goto(reverse("portal:records"))
    page.locator("table thead").wait_for()
    assert page.locator("table thead").is_visible()
    assert set(page.evaluate(LABELS, "table")) == {"none"}


def test_a_column_headed_for_screen_readers_only_gets_no_label(
    open_page: Any, personas: Any
) -> None:
    page = open_page(375)
    sign_in_with_totp(page, personas.patient)
    page.goto(reverse("accounts:security"))
    page.locator("table").first.wait_for()
    assert page.evaluate(LABELS, "table") == ['"Kind"', '"Details"', "none"]
