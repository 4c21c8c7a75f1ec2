"""The patient search finds the few matches among many patients from indexes: with
twenty thousand other patients loaded (and ANALYZEd), a search by name, MRN or birth
date reads the name trigrams, the MRN and birth-date indexes and no patient it does
not show, finds the patient, and costs the same queries as with a few patients."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.other_patients import patients_load
from tests.conftest import page_query_count
from tests.plans import full_reads, page_plans

pytestmark = pytest.mark.django_db

SEARCH = reverse("directory:search")
OTHER_PATIENTS = 20_000
PEOPLE = ("accounts_user", "accounts_patientprofile")

# The persona's name, MRN and birth date (tests/conftest.py), and what each should read.
QUERIES = {
    "Quartermaine": ("accounts_user_name_trgm", "accounts_profile_name_trgm"),
    "mrn-555001": ("accounts_profile_mrn_ci",),
    "1980-01-02": ("accounts_profile_born",),
}


def crowd(personas: Any) -> None:
    count = patients_load(count=OTHER_PATIENTS, verified_by=personas.privacy_officer.pk)
    assert count == OTHER_PATIENTS


def found(client: Any, query: str) -> str:
    response = client.post(SEARCH, {"q": query})
    assert response.status_code == 200
    return str(response.content.decode())


class TestWithManyOtherPatients:
    @pytest.mark.parametrize("who", ["records_clerk", "privacy_officer", "clinician"])
    def test_each_search_reads_its_indexes_and_no_patient_it_does_not_show(
        self, personas: Any, client_for: Any, who: str
    ) -> None:
        crowd(personas)
        client = client_for(getattr(personas, who))
        for query, indexes in QUERIES.items():
            plans = page_plans(client, SEARCH, {"q": query})
            assert not full_reads(plans, PEOPLE), (who, query)
            if who != "clinician":  # the clinician's search starts from their care team
                [plan] = [p for p in plans if "UNION" in p.split("\n", 1)[0]]
                for index in indexes:
                    assert index in plan, (who, query, plan)
            assert "Penelope Quartermaine" in found(client, query), (who, query)

    def test_one_or_two_letters_find_the_start_of_a_word_of_the_name(
        self, personas: Any, client_for: Any
    ) -> None:
        # No trigram to index: the planner may read on until it has enough matches, as
        # it judges a short name common; what the page finds is what is checked here.
        crowd(personas)
        client = client_for(personas.records_clerk)
        assert "Penelope Quartermaine" in found(client, "qu")
        assert "Penelope Quartermaine" not in found(client, "ua")

    def test_the_searches_cost_the_same_queries(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.records_clerk)

        def counts() -> list[int]:
            searches = [_post_query_count(client, query) for query in QUERIES]
            return [page_query_count(client, SEARCH), *searches]

        before = counts()
        crowd(personas)
        assert counts() == before

    def test_the_queues_staff_list_reads_only_staff(self, personas: Any, client_for: Any) -> None:
        crowd(personas)
        plans = page_plans(client_for(personas.records_clerk), reverse("records:queue"))
        assert not full_reads(plans, PEOPLE)


def _post_query_count(client: Any, query: str) -> int:
    """As ``page_query_count``: one search first, not counted (warm per-process caches)."""
    assert client.post(SEARCH, {"q": query}).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.post(SEARCH, {"q": query}).status_code == 200
    return len(captured)
