"""Who may message whom and read which threads. One place answers "may they?" and
"which ones?", so lists and detail pages cannot disagree.

Clinicians work with the patients on whose care team they are. Records clerks may
write to any patient (record requests) but read only the threads they started or were
assigned (DESIGN: they see the request queue, not clinical correspondence; minimum
necessary, 45 CFR 164.502(b)). The privacy officer sees every thread. Patients see
their own threads only.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Actor, Role, User
from messaging.models import GuestPackage, Thread

ALL_PATIENTS_ROLES = frozenset({Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def can_compose(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff_member)


def manages_delivery_policy(user: Actor) -> bool:
    """The organisation's delivery policy: the privacy officer alone (DESIGN: roles)."""
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)


def patients_messageable_by(user: Actor) -> QuerySet[User]:
    patients = User.objects.filter(role=Role.PATIENT, is_active=True)
    if not can_compose(user):
        return patients.none()
    if user.role in ALL_PATIENTS_ROLES:
        return patients
    return patients.filter(care_team__staff=user)


def threads_visible_to(user: Actor) -> QuerySet[Thread]:
    threads = Thread.objects.all()
    if not (user.is_authenticated and user.is_active):
        return threads.none()
    if user.is_patient:
        return threads.filter(patient=user)
    if user.role == Role.PRIVACY_OFFICER:
        return threads
    if user.role == Role.RECORDS_CLERK:
        return threads.filter(Q(created_by=user) | Q(assigned_to=user))
    if user.is_staff_member:
        return threads.filter(patient__care_team__staff=user)
    return threads.none()


def threads_visible_to_proxy_of(patient: Actor) -> QuerySet[Thread]:
    """What someone acting for ``patient`` may see of their threads: all but the ones
    staff marked confidential (those are the patient's alone)."""
    return threads_visible_to(patient).filter(confidential=False)


def sees_care_team_only(user: Actor) -> bool:
    """Whether ``threads_visible_to`` limits this member of staff to their care teams'
    patients (a clinician), so a list of their threads can start from those patients."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff_member
        and not user.is_patient
        and user.role not in ALL_PATIENTS_ROLES
    )


def guest_packages_visible_to(user: Actor) -> QuerySet[GuestPackage]:
    """Third-party packages staff may read, by the rule for threads: the privacy officer
    all, clinicians their care team's patients', records clerks only the ones they sent
    (minimum necessary, 45 CFR 164.502(b))."""
    packages = GuestPackage.objects.all()
    if not can_compose(user):
        return packages.none()
    if user.role == Role.PRIVACY_OFFICER:
        return packages
    if user.role == Role.RECORDS_CLERK:
        return packages.filter(created_by=user)
    return packages.filter(patient__care_team__staff=user)


def may_message(user: Actor, patient: User) -> bool:
    if not can_compose(user) or not (patient.is_active and patient.role == Role.PATIENT):
        return False
    if user.role in ALL_PATIENTS_ROLES:
        return True  # the same answer as patients_messageable_by, without a query
    return patients_messageable_by(user).filter(pk=patient.pk).exists()


# Who decides that a conversation is the patient's alone (a teenager's, for instance):
# their clinicians and the privacy officer; a records clerk handles requests, not care.
CONFIDENTIAL_MARKERS = frozenset({Role.CLINICIAN, Role.PRIVACY_OFFICER})


def marks_confidential(user: Actor) -> bool:
    """Whether ``user`` may mark the threads they see confidential (or not): with
    ``threads_visible_to``, a clinician the care team's threads, the officer any."""
    return bool(can_compose(user) and user.role in CONFIDENTIAL_MARKERS)


def may_mark_confidential(user: Actor, thread: Thread) -> bool:
    return marks_confidential(user) and threads_visible_to(user).filter(pk=thread.pk).exists()


def may_message_in(user: Actor, thread: Thread) -> bool:
    """``may_message(user, thread.patient)`` for a thread read through
    ``threads_visible_to(user)`` (``selectors.thread_for``): for care-team staff that read
    already proved the care-team membership ``patients_messageable_by`` asks for, so the
    reply form of the thread page does not ask it again."""
    patient = thread.patient
    if not sees_care_team_only(user):
        return may_message(user, patient)
    return can_compose(user) and patient.is_active and patient.role == Role.PATIENT


def may_be_assigned(user: Actor, thread: Thread) -> bool:
    """Who can take a thread on: its patient's care team, records clerks, the privacy
    officer (an assignment is what lets a clerk read it)."""
    if not can_compose(user):
        return False
    if user.role in ALL_PATIENTS_ROLES:
        return True
    return thread.patient.care_team.filter(staff=user).exists()
