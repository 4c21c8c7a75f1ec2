"""Proxies: who acts for which patient, within what, today (45 CFR 164.502(g)).

One place answers "may this account act for this patient, for this?" (``acts_for``,
``acting_for``), so the portal's pages, the services they call and the daily age job
cannot disagree. A link reaches nothing once revoked, suspended, before its start, after
its end, or (a parent's) once the patient reaches the organisation's age for the end of
parental access; between the two ages a parent's scope is narrowed to the organisation's
limited scopes, whatever the link stores. The rules are read at every request, so a
revocation or a birthday takes effect on the proxy's next click, not at the next run of
the job (which records and tells what changed: ``accounts.tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation

from accounts.models import REPRESENTATIVE_KINDS, ProxyKind, ProxyLink, ProxyScope, Role, User

ALL_SCOPES = frozenset(ProxyScope.values)
# The session key holding the id of the patient a proxy acts for.
ACTING_FOR_SESSION_KEY = "acting_for"


@dataclass(frozen=True)
class MinorRules:
    full_until: int
    ends_at: int
    limited: frozenset[str]


def minor_rules() -> MinorRules:
    return MinorRules(
        full_until=settings.PROXY_MINOR_FULL_UNTIL,
        ends_at=settings.PROXY_MINOR_ENDS_AT,
        limited=frozenset(settings.PROXY_MINOR_LIMITED_SCOPES) & ALL_SCOPES,
    )


def age_on(born: date, day: date) -> int:
    """Whole years from ``born`` to ``day`` (a 29 February birthday counts on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _born(patient: User) -> date | None:
    profile = getattr(patient, "patient_profile", None)
    return profile.date_of_birth if profile is not None else None


def minor_stage(link: ProxyLink, today: date | None = None) -> str:
    """Where a parent's link stands by the patient's age: "full", "limited" or "ended"
    ("full" for every other kind of link: the age rules are a parent's)."""
    if link.kind != ProxyKind.PARENT:
        return "full"
    born = _born(link.patient)
    if born is None:  # no birth date on file: not treated as a minor's
        return "ended"
    age = age_on(born, today or timezone.localdate())
    rules = minor_rules()
    if age >= rules.ends_at:
        return "ended"
    return "limited" if age >= rules.full_until else "full"


def scopes_in_force(link: ProxyLink, today: date | None = None) -> frozenset[str]:
    """What the link lets its proxy do today: nothing when it is revoked, suspended, aged
    out, not started or past its end; a parent's narrowed by the patient's age."""
    today = today or timezone.localdate()
    if link.revoked_at or link.suspended_at or link.aged_out_at:
        return frozenset()
    if today < link.starts_on or (link.ends_on is not None and today > link.ends_on):
        return frozenset()
    if not (link.proxy.is_active and link.patient.is_active):
        return frozenset()
    stage = minor_stage(link, today)
    granted = frozenset(link.scopes) & ALL_SCOPES
    if stage == "ended":
        return frozenset()
    if stage == "limited":
        return granted & minor_rules().limited
    return granted


def _links(proxy: User) -> QuerySet[ProxyLink]:
    return ProxyLink.objects.filter(
        proxy=proxy, revoked_at__isnull=True, suspended_at__isnull=True, aged_out_at__isnull=True
    ).select_related("proxy", "patient__patient_profile")


def links_in_force(proxy: User, today: date | None = None) -> list[ProxyLink]:
    """The proxy's links that reach something today, in the patients' name order."""
    if not (proxy.is_authenticated and proxy.role == Role.PROXY):
        return []
    found = [link for link in _links(proxy) if scopes_in_force(link, today)]
    return sorted(found, key=lambda link: (link.patient.full_name, link.patient.pk))


@dataclass(frozen=True)
class Acting:
    """Who is signed in (``actor``) and whose data they see (``patient``): the patient
    themselves, or a proxy through ``link`` with ``scopes``."""

    actor: User
    patient: User
    link: ProxyLink | None
    scopes: frozenset[str]

    @property
    def is_proxy(self) -> bool:
        return self.link is not None

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def acting_for(user: User, patient_id: object = None, today: date | None = None) -> Acting | None:
    """The patient ``user`` acts for: themselves for a patient; for a proxy, the patient
    ``patient_id`` when a link in force reaches them (None otherwise)."""
    if not (user.is_authenticated and user.is_active):
        return None
    if user.role == Role.PATIENT:
        return Acting(actor=user, patient=user, link=None, scopes=ALL_SCOPES)
    if user.role != Role.PROXY or patient_id is None:
        return None
    try:
        wanted = int(str(patient_id))
    except ValueError:
        return None
    link = _links(user).filter(patient_id=wanted).first()
    if link is None:
        return None
    scopes = scopes_in_force(link, today)
    if not scopes:
        return None
    return Acting(actor=user, patient=link.patient, link=link, scopes=scopes)


def acts_for(actor: User, patient: User, scope: str) -> bool:
    """Whether ``actor`` may do ``scope`` for ``patient`` today: the patient always; a
    proxy through a link in force granting it. Services check this before acting."""
    if actor.pk == patient.pk:
        return actor.role == Role.PATIENT
    if actor.role != Role.PROXY:
        return False
    acting = acting_for(actor, patient.pk)
    return acting is not None and acting.patient.pk == patient.pk and acting.may(scope)


def representative_authority(actor: User, patient: User) -> str:
    """What a form calls the representative's authority when ``actor`` acts for
    ``patient`` as a personal representative (a parent, guardian or power of attorney:
    45 CFR 164.502(g)), from their link, in English as the staff read it; "" for anyone
    else (an invited caregiver is not a personal representative)."""
    acting = acting_for(actor, patient.pk) if actor.pk != patient.pk else None
    if acting is None or acting.link is None or acting.link.kind not in REPRESENTATIVE_KINDS:
        return ""
    with translation.override("en"):
        kind = str(ProxyKind(acting.link.kind).label)
    return f"{kind}: proxy access, documents verified by our staff"
