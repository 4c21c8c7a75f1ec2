"""No send path bypasses the disclosure decision.

Every public function of the modules that send is found by its name and must be
classified here: to the patient (their own account and confirmed address, 45 CFR
164.502(a)(1)(i): no authorization needed), to a third party (must pass
``disclosure_decide``), or not a send at all. A new send service fails
``test_every_send_service_is_classified`` until someone decides which it is, and each
third-party one is then called without a covering authorization and must send nothing.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from django.utils import timezone

from consent.models import Disclosure, Purpose, RecordCategory
from messaging.errors import MessagingError
from messaging.models import GuestPackage
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed

SEND_MODULES = (
    "messaging.services",
    "messaging.delivery",
    "messaging.guests",
    "messaging.guest_pickup",
    "messaging.content_delivery",
    "messaging.proxy_notices",
    "messaging.selectors",
    "messaging.tasks",
    "records.services.intake",
    "records.services.notices",
    "records.services.fulfilment",
    "records.services.reads",
    "records.tasks",
)
SENDS = re.compile(r"send|compose|deliver|disclos|share|letter|package|notice|resend|reply|fulfil")

TO_THE_PATIENT = {
    "messaging.services.message_compose",
    "messaging.services.messages_send_bulk",
    "messaging.delivery.delivery_create",
    "messaging.delivery.deliveries_create",
    "messaging.delivery.deliveries_send",
    "messaging.delivery.delivery_send",
    "messaging.delivery.letter_render",
    "messaging.delivery.delivery_resend_request",
    "messaging.delivery.deliveries_resend_confirmed",  # the address the patient confirmed
    "messaging.delivery.deliveries_sweep",
    "messaging.tasks.delivery_send",
    "messaging.tasks.deliveries_send_batch",
    "messaging.tasks.deliveries_sweep",
    # The message's own content to the patient's confirmed address, by the method the
    # delivery decision chose (messaging.delivery offers each delivery to it first).
    "messaging.content_delivery.content_deliver",
}
TO_A_THIRD_PARTY = {
    "messaging.guests.guest_package_send",
}
# They deliver the link or the code of a package that already passed the decision, and ask
# the decision again first: a revocation in between stops them.
GUEST_FOLLOW_UPS = {
    "messaging.guests.guest_link_deliver",
    "messaging.guests.guest_code_deliver",
}
# The package itself by verified TLS, run inside guest_link_deliver; it asks the decision
# again too (tests/messaging/test_guest_tls.py, with the TLS relay that would otherwise
# receive it: TestAskedAgain).
GUEST_CONTENT = {"messaging.content_delivery.guest_content_deliver"}
# They send only through the services above: to the patient with message_compose, to a
# directed third party with guest_package_send (tests/records/test_fulfilment.py shows a
# refused decision sending nothing).
DELEGATES = {
    "records.services.fulfilment.request_fulfil",
}
NOT_A_SEND = {
    "records.services.fulfilment.package_build_queue": "builds, sends nothing",
    "records.services.reads.package_download_record": "audit",
    "records.tasks.package_build": "builds, sends nothing",
    "messaging.tasks.guest_link_send": "the task running guest_link_deliver",
    "messaging.tasks.guest_code_send": "the task running guest_code_deliver",
    "messaging.guests.guest_links_resend_unsent": "the sweep prompting guest_link_send",
    "messaging.guests.guest_package_recall": "takes access away",
    "messaging.guests.package_refusal": "a read: whether a package may be picked up now",
    "messaging.selectors.delivery_for": "a read",
    "messaging.guest_pickup.guest_package_bound": "a read",
    "messaging.guest_pickup.guest_package_for": "a read, which asks the decision again",
    "messaging.selectors.guest_package_for_staff": "a read",
    "messaging.selectors.guest_packages_of": "a read",
    "messaging.guest_pickup.guest_package_view_record": "audit",
    "messaging.guests.guest_packages_list_record": "audit",
    "messaging.guests.guest_composer_open_record": "audit",
    # The patient writing to their care team: information goes to the covered entity.
    "messaging.services.reply_send": "from the patient to staff",
    "messaging.services.composer_open_record": "audit of opening the composer",
    "messaging.delivery.notice_rendered": "renders the notice's text (no content), sends nothing",
    "messaging.content_delivery.deliveries_for_content": "a read: which deliveries to offer",
    # "A message is waiting for someone you act for": no health information, no name, to a
    # proxy whose link lets them read the patient's messages; the link (and the thread's
    # confidential mark) is checked again at sending (tests/messaging/test_proxy_notices.py).
    "messaging.tasks.proxy_notice_send": "a notice with no health information to a proxy",
    "messaging.proxy_notices.proxy_notice_deliver": "the notice above, sent by that task",
    "messaging.proxy_notices.proxy_notices_create": "makes the notices above, sends nothing",
    "messaging.proxy_notices.proxy_notices_sweep": "prompts the task above for unsent ones",
}


def _send_functions() -> set[str]:
    found = set()
    for module_name in SEND_MODULES:
        module = import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not SENDS.search(name):
                continue
            if getattr(obj, "__module__", None) != module_name or not callable(obj):
                continue
            if inspect.isclass(obj):
                continue
            found.add(f"{module_name}.{name}")
    return found


def _function(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    function: Callable[..., Any] = getattr(import_module(module), name)
    return function


def test_every_send_service_is_classified() -> None:
    classified = (
        TO_THE_PATIENT
        | TO_A_THIRD_PARTY
        | GUEST_FOLLOW_UPS
        | GUEST_CONTENT
        | DELEGATES
        | set(NOT_A_SEND)
    )
    assert _send_functions() == classified


@pytest.mark.parametrize("dotted", sorted(TO_THE_PATIENT))
def test_a_send_to_the_patient_cannot_name_another_recipient(dotted: str) -> None:
    target = getattr(_function(dotted), "run", _function(dotted))  # a Celery task's body
    parameters = set(inspect.signature(target).parameters)
    assert not parameters & {"recipient", "recipient_email", "to", "email", "address"}


# How to call each third-party send for the test patient, to RECIPIENT_EMAIL.
THIRD_PARTY_CALLS: dict[str, Callable[[Any], Any]] = {
    "messaging.guests.guest_package_send": lambda p: _function(
        "messaging.guests.guest_package_send"
    )(
        actor=p.clinician,
        patient=p.patient,
        recipient_email=RECIPIENT_EMAIL,
        recipient_name="Dr. Ana Rivera",
        purpose=Purpose.LEGAL,  # the patient's authorization covers continuity of care only
        categories=[RecordCategory.LAB_RESULTS],
        subject="Results you asked for",
        body="Attached.",
        attachments=[],
        send_key=uuid.uuid4(),
    ),
}


def test_each_third_party_send_has_a_call_here() -> None:
    assert set(THIRD_PARTY_CALLS) == TO_A_THIRD_PARTY


@pytest.mark.parametrize("dotted", sorted(TO_A_THIRD_PARTY))
def test_a_third_party_send_without_a_covering_authorization_sends_nothing(
    dotted: str, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    authorization_signed(patient=personas.patient)  # the recipient, but another purpose
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(MessagingError):
        THIRD_PARTY_CALLS[dotted](personas)
    assert GuestPackage.objects.count() == 0
    assert Disclosure.objects.count() == 0
    assert smtp_server.messages == []


@pytest.mark.parametrize("dotted", sorted(GUEST_FOLLOW_UPS))
def test_a_guest_follow_up_after_a_revocation_sends_nothing(
    dotted: str, personas: Any, smtp_server: Any
) -> None:
    from consent.models import RevocationSource
    from consent.services import authorization_revoke
    from tests.messaging.factories import package_send

    auth = authorization_signed(patient=personas.patient)
    package = package_send(personas)  # on_commit never runs here: nothing went out yet
    GuestPackage.objects.filter(pk=package.pk).update(link_opened_at=timezone.now())
    authorization_revoke(actor=personas.patient, authorization=auth, source=RevocationSource.PORTAL)
    assert _function(dotted)(package_id=str(package.pk)) is False
    assert smtp_server.messages == []


@pytest.mark.parametrize("dotted", sorted(GUEST_FOLLOW_UPS))
def test_a_guest_follow_up_while_authorized_sends(
    dotted: str, personas: Any, smtp_server: Any
) -> None:
    from tests.messaging.factories import package_send

    authorization_signed(patient=personas.patient)
    package = package_send(personas)
    GuestPackage.objects.filter(pk=package.pk).update(link_opened_at=timezone.now())
    assert _function(dotted)(package_id=str(package.pk)) is True
    assert [m["X-Envelope-To"] for m in smtp_server.messages] == [RECIPIENT_EMAIL]
