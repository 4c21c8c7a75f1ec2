"""The demo opens on the portal, not on the policy gate: its e-mail policy is published and
acknowledged by the demo staff, however often the seed runs."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import User
from compliance.models import PolicyAcknowledgement, PolicyDocument
from tests.conftest import sign_in_client


@pytest.mark.django_db
def test_one_policy_acknowledged_by_the_demo_staff_however_often_it_runs(
    settings: Any, client: Any
) -> None:
    settings.APP_MODE = "demo"
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo_policies", stdout=StringIO())
    call_command("seed_demo_policies", stdout=StringIO())
    assert list(PolicyDocument.objects.values_list("version", flat=True)) == [1]
    assert PolicyAcknowledgement.objects.count() == 3  # officer, clinician, records clerk
    clinician = User.objects.get(email="carl.clinician@demo.test")
    inbox = sign_in_client(client, clinician).get(reverse("messaging:inbox"))
    assert inbox.status_code == 200


@pytest.mark.django_db
def test_the_policy_seed_refuses_production(settings: Any) -> None:
    settings.APP_MODE = "production"
    with pytest.raises(CommandError):
        call_command("seed_demo_policies", stdout=StringIO())
