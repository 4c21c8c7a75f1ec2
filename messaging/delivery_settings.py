"""The organisation's delivery policy, the patient's delivery preference, and the reads
that turn them into the inputs of the delivery decision (``messaging.delivery_decision``).

Kept apart from ``messaging.services`` and ``messaging.selectors`` (as ``guests`` is) so
those stay under the size where a module becomes a package; writes are ``*_update`` /
``*_set`` and audit old -> new, reads are ``*_current`` / ``*_of`` / ``*_for``.

The worker makes the decision again at send time (``messaging.content_delivery``) and
sends by TLS-verified e-mail, ordinary e-mail or a locked PDF when it says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.utils import timezone

from accounts import proxies
from accounts.models import ProxyScope, User
from audit.models import Outcome
from audit.services import event_record
from consent.models import EmailWaiver, WaiverStatement
from encryption.models import DataKey
from messaging import policies
from messaging.actions import MessagingAction
from messaging.delivery_decision import (
    DeliveryChoice,
    DeliveryInputs,
    Recipient,
    TlsState,
    WaiverState,
    delivery_decide,
)
from messaging.errors import MessagingError
from messaging.models import (
    ContentCategory,
    DeliveryMethod,
    DeliveryPolicy,
    DeliveryPreference,
    DocumentPassword,
)

# What a ceiling may be: at least 1 MiB (a letter with a scan), at most 50 MiB (beyond
# what most receiving mail servers accept, so the e-mail would bounce anyway).
MIN_MAX_MIB, MAX_MAX_MIB = 1, 50


@dataclass(frozen=True)
class PolicyValues:
    tls_email: bool
    protected_pdf: bool
    plain_email: bool
    email_max_bytes: int
    restricted_categories: frozenset[str]
    third_party_tls: bool


# --- reads ------------------------------------------------------------------------------------


def delivery_policy_current() -> DeliveryPolicy:
    """The saved policy, or the defaults (unsaved) until the officer first saves one."""
    return DeliveryPolicy.objects.filter(pk=1).first() or DeliveryPolicy()


def delivery_preference_of(patient: User) -> str:
    found = DeliveryPreference.objects.filter(patient=patient).values_list("method", flat=True)
    return next(iter(found), DeliveryMethod.PORTAL)


def methods_offered(policy: DeliveryPolicy) -> list[DeliveryMethod]:
    """The methods a patient may choose: the enabled ones, portal first."""
    return [m for m in DeliveryMethod if m in policy.enabled_methods]


@dataclass(frozen=True)
class PatientFacts:
    """What the decision needs to know about the patient, read in one query."""

    preference: str
    waiver: WaiverState
    document_password: bool


# The facts' five sub-selects as one constant statement: built with the ORM, compiling them
# cost five times what PostgreSQL spends running them, on every staff thread page view.
_PATIENT_FACTS_SQL = f"""
    SELECT
      (SELECT p.method FROM {DeliveryPreference._meta.db_table} p
        WHERE p.patient_id = u.id LIMIT 1),
      (SELECT w.statement_id FROM {EmailWaiver._meta.db_table} w
        WHERE w.patient_id = u.id AND w.revoked_at IS NULL ORDER BY w.id LIMIT 1),
      (SELECT s.id FROM {WaiverStatement._meta.db_table} s ORDER BY s.version DESC LIMIT 1),
      EXISTS(SELECT 1 FROM {EmailWaiver._meta.db_table} w WHERE w.patient_id = u.id),
      EXISTS(SELECT 1 FROM {DocumentPassword._meta.db_table} d
        JOIN {DataKey._meta.db_table} k ON k.id = d.data_key_id
        WHERE d.patient_id = u.id AND k.destroyed_at IS NULL)
    FROM {User._meta.db_table} u WHERE u.id = %s
"""  # noqa: S608 - table names are constants


def patient_facts_of(patient: User) -> PatientFacts:
    """The patient's delivery preference, waiver state (in force, signed under an older
    statement, revoked, none) and whether a readable document password is set, in one
    query (the reply form on a staff thread page asks this on every view)."""
    with connection.cursor() as cursor:
        cursor.execute(_PATIENT_FACTS_SQL, [patient.pk])
        row = cursor.fetchone()
    if row is None:  # not a saved user: nothing chosen, signed or set
        return PatientFacts(DeliveryMethod.PORTAL, WaiverState.NONE, False)
    preference, waiver_statement, statement_current, any_waiver, has_document_password = row
    if waiver_statement is not None:
        stale = statement_current is not None and statement_current != waiver_statement
        waiver = WaiverState.OLD_STATEMENT if stale else WaiverState.IN_FORCE
    else:
        waiver = WaiverState.REVOKED if any_waiver else WaiverState.NONE
    return PatientFacts(
        preference=preference or DeliveryMethod.PORTAL,
        waiver=waiver,
        document_password=has_document_password,
    )


def waiver_state_of(patient: User) -> WaiverState:
    return patient_facts_of(patient).waiver


def delivery_inputs_for(
    *,
    patient: User,
    recipient: Recipient = Recipient.PATIENT,
    size_bytes: int = 0,
    categories: Iterable[str] = (),
    tls: TlsState = TlsState.UNKNOWN,
    one_time_password: bool = False,
    policy: DeliveryPolicy | None = None,
) -> DeliveryInputs:
    """The decision's inputs for content about ``patient``. The caller has already
    checked it may see the patient. The recipient's TLS state is not looked up here (the
    MX check is its own part) and defaults to "unknown"; a third party's address is the
    one their authorization names, so it counts as confirmed. A password source is the
    patient's own document password (when the patient is the recipient) or a staff
    one-time password (``one_time_password``: the caller says whether one was given)."""
    policy = policy or delivery_policy_current()
    is_patient = recipient == Recipient.PATIENT
    facts = (
        patient_facts_of(patient)
        if is_patient
        else PatientFacts(DeliveryMethod.PORTAL, WaiverState.NONE, document_password=False)
    )
    return DeliveryInputs(
        recipient=recipient,
        enabled=policy.enabled_methods,
        preference=facts.preference,
        waiver=facts.waiver,
        address_confirmed=patient.email_verified_at is not None if is_patient else True,
        size_bytes=size_bytes,
        max_bytes=policy.email_max_bytes,
        categories=frozenset(categories),
        restricted=frozenset(policy.restricted_categories),
        tls=tls,
        third_party_tls=policy.third_party_tls,
        password_source=one_time_password or facts.document_password,
    )


def delivery_choice_for(
    *,
    patient: User,
    recipient: Recipient = Recipient.PATIENT,
    size_bytes: int = 0,
    categories: Iterable[str] = (),
    policy: DeliveryPolicy | None = None,
) -> DeliveryChoice:
    """The method for a message staff send to ``patient`` (or, with ``recipient``, to a
    third party the patient authorized) now: what the composer, the
    reply form and the patient page show, and what decides whether the send issues a
    one-time password. Where the patient chose the locked PDF, set no document password
    and nothing else refuses it, the sender is given a one-time password when they send
    (``one_time_password`` on the choice) instead of the message going by portal."""
    inputs = delivery_inputs_for(
        patient=patient,
        recipient=recipient,
        size_bytes=size_bytes,
        categories=categories,
        policy=policy,
    )
    choice = delivery_decide(inputs)
    if choice.wanted != DeliveryMethod.PROTECTED_PDF or inputs.password_source:
        return choice
    with_one_time = delivery_decide(replace(inputs, password_source=True))
    if with_one_time.method != DeliveryMethod.PROTECTED_PDF:
        return choice
    return replace(with_one_time, one_time_password=True)


def restricted_kinds_text(policy: DeliveryPolicy | None = None) -> str:
    """The kinds this organisation keeps off e-mail, for a sensitive-content field's help
    (from ``policy`` when the caller has read it already)."""
    restricted = (policy or delivery_policy_current()).restricted_categories
    labels = [str(label) for code, label in ContentCategory.choices if code in restricted]
    if not labels:
        return "This organisation keeps no kind off e-mail."
    return f"Kept off e-mail here: {', '.join(labels)}."


# --- writes -----------------------------------------------------------------------------------


def _values(policy: DeliveryPolicy) -> dict[str, object]:
    return {
        "tls_email": policy.tls_email,
        "protected_pdf": policy.protected_pdf,
        "plain_email": policy.plain_email,
        "email_max_bytes": policy.email_max_bytes,
        "restricted_categories": sorted(policy.restricted_categories),
        "third_party_tls": policy.third_party_tls,
    }


def delivery_policy_refusal_record(*, actor: User, fields: Iterable[str]) -> None:
    """A refused edit (the form said no): which fields (the form's own names), never what
    was typed."""
    event_record(
        action=MessagingAction.DELIVERY_POLICY_REFUSED,
        outcome=Outcome.DENIED,
        actor=actor,
        target_type="messaging.deliverypolicy",
        target_id=1,
        details={"fields": sorted(str(f)[:64] for f in fields)},
    )


@transaction.atomic
def delivery_policy_update(*, actor: User, values: PolicyValues) -> DeliveryPolicy:
    """Save the organisation's policy and audit every changed value, old -> new."""
    if not policies.manages_delivery_policy(actor):
        raise MessagingError("not_officer", "Only the privacy officer sets the delivery policy.")
    unknown = values.restricted_categories - set(ContentCategory.values)
    if unknown:
        raise MessagingError("category", "Choose categories from the list.")
    if not MIN_MAX_MIB * 1024 * 1024 <= values.email_max_bytes <= MAX_MAX_MIB * 1024 * 1024:
        raise MessagingError(
            "size", f"The e-mail size limit must be {MIN_MAX_MIB} to {MAX_MAX_MIB} MiB."
        )
    policy = DeliveryPolicy.objects.select_for_update().filter(pk=1).first() or DeliveryPolicy()
    before = _values(policy)
    policy.tls_email = values.tls_email
    policy.protected_pdf = values.protected_pdf
    policy.plain_email = values.plain_email
    policy.email_max_bytes = values.email_max_bytes
    policy.restricted_categories = sorted(values.restricted_categories)
    policy.third_party_tls = values.third_party_tls
    policy.updated_at, policy.updated_by = timezone.now(), actor
    policy.save()
    after = _values(policy)
    changed = [k for k in after if before[k] != after[k]]
    details: dict[str, object] = {"changed": changed}
    for key in changed:  # audit details are shallow: old_<field> and new_<field>
        details[f"old_{key}"], details[f"new_{key}"] = before[key], after[key]
    event_record(
        action=MessagingAction.DELIVERY_POLICY_CHANGED,
        actor=actor,
        target=policy,
        details=details,
    )
    return policy


@transaction.atomic
def delivery_preference_set(*, actor: User, patient: User, method: str) -> DeliveryPreference:
    """The patient's chosen method; only a method the policy enables may be chosen. In
    the portal: the patient's own choice, or their proxy's when the link lets them
    manage sharing."""
    if actor.uses_portal and not proxies.acts_for(actor, patient, ProxyScope.MANAGE_SHARING):
        raise MessagingError("not_yours", "This is not yours to change.")
    if method not in delivery_policy_current().enabled_methods:
        raise MessagingError("method_not_offered", "This way of sending is not offered.")
    preference = DeliveryPreference.objects.select_for_update().filter(
        patient=patient
    ).first() or DeliveryPreference(patient=patient, updated_by=actor)
    before = preference.method if preference.pk else DeliveryMethod.PORTAL
    preference.method = method
    preference.updated_at, preference.updated_by = timezone.now(), actor
    preference.save()
    event_record(
        action=MessagingAction.DELIVERY_PREFERENCE_CHANGED,
        actor=actor,
        target=preference,
        patient_id=patient.pk,
        details={"old": str(before), "new": method},
    )
    return preference
