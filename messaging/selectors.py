"""Reads that take the acting user and return only what that user may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.http import Http404
from django.utils import timezone

from accounts.models import Actor, CareTeamMember, PatientProfile, Role, User
from audit.models import AuditEvent
from consent.models import Authorization, AuthorizationStatus
from messaging import policies
from messaging.actions import MessagingAction
from messaging.models import (
    Attachment,
    Channel,
    Delivery,
    DeliveryState,
    GuestPackage,
    Message,
    MessageState,
    MessageTemplate,
    Thread,
)

SEARCH_LIMIT = 20
TRIGRAM = 3  # the shortest text a trigram index finds anywhere in a name
MATCHES_READ = 1000


def patient_search(*, user: Actor, query: str) -> list[User]:
    """By name (any part), exact MRN, or date of birth (YYYY-MM-DD); within the user's scope.

    Someone who sees every patient (there may be a million) gets the matches of each way
    of matching from its own index (the names' trigrams, the MRN in upper case, the birth
    date), joined by id: an OR across the account and the profile would read every
    patient. A name of one or two letters has no trigram, so there it matches the start
    of a word of the name ("Li" finds Li Wei and Ana Lima, not Julia). Someone who sees
    their care team's patients searches those alone, from the team.
    """
    query = query.strip()
    if len(query) < 2:
        return []
    patients = policies.patients_messageable_by(user).select_related("patient_profile")
    born = _date(query)
    if getattr(user, "role", "") not in policies.ALL_PATIENTS_ROLES:
        condition = Q(full_name__icontains=query) | Q(patient_profile__legal_name__icontains=query)
        condition |= Q(patient_profile__mrn__iexact=query)
        if born is not None:
            condition |= Q(patient_profile__date_of_birth=born)
        return list(patients.filter(condition).order_by("full_name")[:SEARCH_LIMIT])
    profiles = _name_part("legal_name", query) | Q(mrn__iexact=query)
    if born is not None:
        profiles |= Q(date_of_birth=born)
    matches = (
        User.objects.filter(_name_part("full_name", query))
        .values_list("pk", flat=True)
        .union(PatientProfile.objects.filter(profiles).values_list("user_id", flat=True), all=True)
    )
    # UNION ALL: it stops at the limit (a patient found twice is one in ``pk__in``).
    # The ids first, in a query of their own: planned inside the page's query, a short
    # name's matches are guessed at tens of thousands and every patient is read to join
    # them. Past MATCHES_READ the search is too vague to list: the page shows the first
    # few in name order of those read, and the user narrows it.
    ids = list(matches[:MATCHES_READ])
    return list(patients.filter(pk__in=ids).order_by("full_name")[:SEARCH_LIMIT])


def _name_part(field: str, query: str) -> Q:
    """Any part of the name; one or two letters (no trigram) at the start of a word."""
    if len(query) >= TRIGRAM:
        return Q(**{f"{field}__icontains": query})
    return Q(**{f"{field}__istartswith": query}) | Q(**{f"{field}__icontains": f" {query}"})


def _uuid_or_404(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def patient_for(*, user: Actor, patient_id: Any) -> User:
    patient = (
        policies.patients_messageable_by(user)
        .select_related("patient_profile")
        .filter(pk=patient_id)
        .first()
    )
    if patient is None:
        raise Http404
    return patient


INBOX_FILTERS = ("open", "mine", "unassigned", "handled", "all")


# A notice that did not reach the patient and was not replaced by one that did.
NOTICE_FAILED = Q(state__in=(DeliveryState.FAILED, DeliveryState.BOUNCED), replaced_by__isnull=True)
# 45 CFR 164.522(b): a postal-only patient's notice is a letter someone must print.
LETTER_DUE = Q(channel=Channel.LETTER, state=DeliveryState.PENDING)


def _inbox_threads(user: Actor, view: str) -> QuerySet[Thread]:
    return (
        policies.threads_visible_to(user)
        .filter(last_message_at__isnull=False)
        .filter(_inbox_view(user, view))
        .select_related("data_key", "patient", "assigned_to")
        # Kept on the thread by the services: the sort reads no message rows.
        .annotate(unread=F("staff_unread"))
        .order_by(*INBOX_ORDER)
    )


def staff_inbox(*, user: Actor, view: str = "open") -> QuerySet[Thread]:
    """The care team's threads with unread counts and a flag for undelivered notices
    (``staff_queue`` counts them; the inbox's page is ``staff_inbox_page``)."""
    of_thread = Delivery.objects.filter(message__thread=OuterRef("pk"))
    return _inbox_threads(user, view).annotate(
        notice_failed=Exists(of_thread.filter(NOTICE_FAILED)),
        letter_to_print=Exists(of_thread.filter(LETTER_DUE)),
    )


INBOX_ORDER = ("-staff_unread", "-last_message_at")
INBOX_PAGE_SIZE = 25


@dataclass(frozen=True)
class InboxPage:
    """One page of the staff inbox, read without counting the whole inbox (the count of
    every thread the privacy officer may see grows with the table): it knows whether a
    next page exists, not how many there are. Answers what ``components/pagination.html``
    asks of a page; ``paginator`` is None, so it shows no total."""

    object_list: list[Thread]
    number: int
    more: bool
    paginator: None = None

    def has_next(self) -> bool:
        return self.more

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.more or self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def _inbox_view(user: Actor, view: str) -> Q:
    return {
        "open": Q(handled_at__isnull=True),
        "mine": Q(assigned_to=user.pk, handled_at__isnull=True),
        "unassigned": Q(assigned_to__isnull=True, handled_at__isnull=True),
        "handled": Q(handled_at__isnull=False),
    }.get(view, Q())


def staff_inbox_page(*, user: Actor, view: str = "open", page: Any = 1) -> InboxPage:
    """A page of ``staff_inbox``, in three small queries however many threads other
    patients have.

    The first finds the page's threads by index, in order; the second reads those few;
    the third their notices' flags. (In one query the planner weighs each flag's
    subquery against every thread the filter matches, not the page's 25, and reads
    every failed notice in the table to answer it.)

    A clinician's threads are their care teams' patients' (``policies``): that page
    starts from those patients, each one's first threads in the inbox's order (index
    ``messaging_thread_team``, as many as the page needs), instead of walking everyone's
    open threads until enough are the team's."""
    number = int(page) if str(page).isdigit() and int(page) > 0 else 1
    start = (number - 1) * INBOX_PAGE_SIZE
    wanted = INBOX_PAGE_SIZE + 1  # one more than a page tells whether there is a next one
    shown = _inbox_view(user, view)
    if policies.sees_care_team_only(user) and view != "mine":
        first = (
            Thread.objects.filter(patient=OuterRef("patient_id"), last_message_at__isnull=False)
            .filter(shown)
            .order_by(*INBOX_ORDER)
            .values("pk")[: start + wanted]
        )
        candidates = [
            pk
            for ids in CareTeamMember.objects.filter(staff=user.pk).values_list(
                ArraySubquery(first), flat=True
            )
            for pk in ids
        ]
        skip = start
    else:
        candidates = list(
            policies.threads_visible_to(user)
            .filter(last_message_at__isnull=False)
            .filter(shown)
            .order_by(*INBOX_ORDER)
            .values_list("pk", flat=True)[start : start + wanted]
        )
        skip = 0
    rows = list(_inbox_threads(user, view).filter(pk__in=candidates)[skip : skip + wanted])
    shown_threads = rows[:INBOX_PAGE_SIZE]
    _notice_flags_set(shown_threads)
    return InboxPage(object_list=shown_threads, number=number, more=len(rows) > INBOX_PAGE_SIZE)


def _notice_flags_set(threads: list[Thread]) -> None:
    """Each thread's ``notice_failed`` and ``letter_to_print``, in one query over these
    threads' messages (as subqueries, the planner may read every pending letter in the
    table once per thread: their index is small, however many there are)."""
    failed: set[Any] = set()
    letters: set[Any] = set()
    if threads:
        flagged = (
            Delivery.objects.filter(message__thread__in=[t.pk for t in threads])
            .filter(NOTICE_FAILED | LETTER_DUE)
            .values_list("message__thread_id", "channel", "state")
        )
        for thread_id, channel, state in flagged:
            due = channel == Channel.LETTER and state == DeliveryState.PENDING
            (letters if due else failed).add(thread_id)
    for thread in threads:
        thread.notice_failed = thread.pk in failed  # type: ignore[attr-defined]
        thread.letter_to_print = thread.pk in letters  # type: ignore[attr-defined]


def _visible(user: Actor, for_proxy: bool) -> QuerySet[Thread]:
    if for_proxy:
        return policies.threads_visible_to_proxy_of(user)
    return policies.threads_visible_to(user)


def thread_for(*, user: Actor, thread_id: Any, for_proxy: bool = False) -> Thread:
    """One thread the user may see, or 404 (also for a malformed id). With ``for_proxy``,
    ``user`` is the patient someone acts for: their confidential threads are not found."""
    _uuid_or_404(thread_id)
    visible = _visible(user, for_proxy)
    if user.is_patient:  # a thread holding only a staff draft does not exist for the patient
        visible = visible.filter(last_message_at__isnull=False)
    thread = (
        visible.select_related("data_key", "patient__patient_profile").filter(pk=thread_id).first()
    )
    if thread is None:
        raise Http404
    return thread


THREAD_PAGE_SIZE = 20


def thread_messages(*, user: Actor, thread: Thread, page: Any = None) -> Page[Message]:
    """Sent and recalled messages, the newest ``THREAD_PAGE_SIZE`` first (page 1), shown
    oldest first within the page; the user's own draft in the thread too. The query count
    does not grow with the thread."""
    visible = Q(state__in=(MessageState.SENT, MessageState.RECALLED))
    related: list[Prefetch[Any, Any, Any]] = [
        Prefetch("attachments", queryset=Attachment.objects.select_related("file__data_key"))
    ]
    joined = ["data_key", "author"]
    if not user.is_patient:  # the notices are the care team's to see, not the patient's
        visible |= Q(state=MessageState.DRAFT, author=user)
        related.append(Prefetch("deliveries", queryset=Delivery.objects.order_by("created_at")))
        joined.append("opened_by")  # the receipt says who opened it (a proxy, by name)
    messages = (
        thread.messages.filter(visible)
        .select_related(*joined)
        .prefetch_related(*related)
        .order_by("-created_at", "-pk")
    )
    shown = Paginator(messages, THREAD_PAGE_SIZE).get_page(page)
    shown.object_list = list(reversed(list(shown.object_list)))
    return shown


@dataclass(frozen=True)
class Receipts:
    """When the patient first opened each message (``Message.opened_at``, set with the
    first opening's audit event) and downloaded each attachment (the audit log)."""

    opened: dict[str, datetime]
    downloaded: dict[str, datetime]
    # Who opened each opened message first, as the staff page says it: "the patient", or
    # "<name> (proxy) for the patient"; "" when not known (older openings, a deleted
    # account): the page then names no one.
    opener: dict[str, str]


def read_receipts(*, thread: Thread, messages: list[Message]) -> Receipts:
    """The page's receipts. The openings are on the messages already: the audit log is
    read only for the page's attachments, if it has any (the patient's events grow with
    every page they open)."""
    opened = {str(m.pk): m.opened_at for m in messages if m.opened_at is not None}
    opener = {str(m.pk): _opener(m, thread) for m in messages if m.opened_at is not None}
    attachment_ids = [str(a.pk) for m in messages for a in m.attachments.all()]
    downloaded: dict[str, datetime] = {}
    if attachment_ids:
        rows = (
            AuditEvent.objects.filter(
                patient_id=thread.patient_id,
                actor_id=thread.patient_id,
                action=MessagingAction.ATTACHMENT_DOWNLOADED,
                target_id__in=attachment_ids,
            )
            .values("target_id")
            .annotate(first=Min("occurred_at"))
        )
        downloaded = {row["target_id"]: row["first"] for row in rows}
    return Receipts(opened, downloaded, opener)


def _opener(message: Message, thread: Thread) -> str:
    if message.opened_by_id is None:
        return ""
    if message.opened_by_id == thread.patient_id:
        return "the patient"
    proxy = message.opened_by
    return f"{proxy.full_name} (proxy) for the patient" if proxy is not None else ""


def attachment_for(*, user: Actor, attachment_id: Any, for_proxy: bool = False) -> Attachment:
    """An attachment of a sent message in a thread the user may see, or 404 (``for_proxy``
    as for ``thread_for``)."""
    _uuid_or_404(attachment_id)
    attachment = (
        Attachment.objects.select_related("file__data_key", "message__thread")
        .filter(pk=attachment_id, message__thread__in=_visible(user, for_proxy))
        .first()
    )
    if attachment is None:
        raise Http404
    message = attachment.message
    if message.state == MessageState.DRAFT and message.author_id != user.pk:
        raise Http404
    if user.is_patient and (message.state != MessageState.SENT or message.is_expired()):
        raise Http404
    return attachment


def draft_for(*, user: Actor, message_id: Any) -> Message:
    _uuid_or_404(message_id)
    draft = (
        Message.objects.select_related("thread__data_key", "thread__patient", "data_key")
        .filter(pk=message_id, author=user, state=MessageState.DRAFT)
        .first()
    )
    if draft is None or not policies.may_message(user, draft.thread.patient):
        raise Http404
    return draft


def drafts_of(*, user: Actor) -> QuerySet[Message]:
    return (
        Message.objects.filter(author=user, state=MessageState.DRAFT)
        .select_related("thread__data_key", "thread__patient")
        .order_by("-created_at")
    )


def templates_active() -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.filter(archived_at__isnull=True)


# Who can see a thread, as one constant statement: the ORM took seven times longer to
# build it (an OR across a join, made DISTINCT) than PostgreSQL to run it, on every view of
# a staff thread page. The rule is ``policies.threads_visible_to``'s: the roles that see
# every patient, and the patient's care team.
_ASSIGNEES_SQL = f"""
    SELECT u.id, u.full_name FROM {User._meta.db_table} u
    WHERE u.is_active AND (
      u.role = ANY(%s)
      OR (u.role = %s AND EXISTS(
        SELECT 1 FROM {CareTeamMember._meta.db_table} c
        WHERE c.staff_id = u.id AND c.patient_id = %s)))
    ORDER BY u.full_name
"""  # noqa: S608 - table names are constants


def staff_assignees(*, thread: Thread) -> list[tuple[int, str]]:
    """Staff who can see the thread, as (id, name) for the assignment menu (one query)."""
    roles = sorted(str(role) for role in policies.ALL_PATIENTS_ROLES)
    with connection.cursor() as cursor:
        cursor.execute(_ASSIGNEES_SQL, [roles, str(Role.CLINICIAN), thread.patient_id])
        return [(pk, name) for pk, name in cursor.fetchall()]


def message_for(*, user: Actor, message_id: Any) -> Message:
    """A message in a thread the user may see, or 404."""
    message = (
        Message.objects.select_related("thread")
        .filter(pk=_uuid_or_404(message_id), thread__in=policies.threads_visible_to(user))
        .first()
    )
    if message is None:
        raise Http404
    return message


def delivery_for(*, user: Actor, delivery_id: Any) -> Delivery:
    """A notice about a message in a thread the (staff) user may see, or 404."""
    delivery = (
        Delivery.objects.select_related("message__thread__patient__patient_profile")
        .filter(pk=_uuid_or_404(delivery_id), message__thread__in=policies.threads_visible_to(user))
        .first()
    )
    if delivery is None:
        raise Http404
    return delivery


def threads_showing_subject(*, thread_ids: list[Any]) -> set[Any]:
    """Which of these threads still hold a sent message. A thread whose every message was
    recalled shows no subject either: a message sent to the wrong patient must not leave
    its subject behind. Asked for one page's threads only (one small query)."""
    return set(
        Message.objects.filter(thread_id__in=thread_ids, state=MessageState.SENT)
        .values_list("thread_id", flat=True)
        .distinct()
    )


def patient_inbox(*, user: Actor, for_proxy: bool = False) -> QuerySet[Thread]:
    """The patient's threads: those with unopened messages first, then newest first
    (``for_proxy``: without the confidential ones, for someone acting for them).

    The "new" mark is the thread's own ``patient_unread_until``, so the sort reads the
    patient's thread rows (index ``messaging_thread_patient``) and no message; the
    newest message's details are read for the page's rows only.
    """
    now = timezone.now()  # the application's clock, as ``Message.is_expired`` uses
    latest = Message.objects.filter(
        thread=OuterRef("pk"), state__in=(MessageState.SENT, MessageState.RECALLED)
    ).order_by("-created_at")
    return (
        _visible(user, for_proxy)
        .filter(last_message_at__isnull=False)
        # Prefetched, not joined: the sort then runs over narrow rows and only the page's
        # 20 data keys are read.
        .prefetch_related("data_key")
        .annotate(
            # Never NULL (a NULL would sort first): false for a thread with no mark.
            has_unread=ExpressionWrapper(
                Q(patient_unread_until__isnull=False, patient_unread_until__gt=now),
                output_field=BooleanField(),
            ),
            # What became of the newest message, so the list can say "withdrawn" or
            # "expired" instead of promising something the thread will not show.
            latest_state=Subquery(latest.values("state")[:1]),
            latest_expires_at=Subquery(latest.values("expires_at")[:1]),
            # Who wrote the newest message, read in the same query (no query per row).
            latest_author_name=Subquery(latest.values("author__full_name")[:1]),
            latest_author_role=Subquery(latest.values("author__role")[:1]),
            latest_from_patient=Subquery(latest.values("from_patient")[:1]),
        )
        .annotate(
            latest_expired=ExpressionWrapper(
                Q(latest_expires_at__lte=now), output_field=BooleanField()
            )
        )
        .order_by("-has_unread", "-last_message_at")
    )


@dataclass(frozen=True)
class Waiting:
    """What the patient's home says about messages: how many unread, and the newest one's
    author and date. No subject: the home page names no health information. ``more``:
    counted in the newest ``WAITING_THREADS`` conversations only, and there are more."""

    unread: int
    newest_author: str = ""
    newest_author_role: str = ""
    newest_at: datetime | None = None
    more: bool = False


# The home page counts new messages in at most this many conversations (the newest with
# something new), then says "at least": so its cost does not grow with a patient's own
# backlog, nor with the size of the tables around it.
WAITING_THREADS = 100


def patient_waiting(*, user: Actor) -> Waiting:
    """Unread messages from the care team to this patient: the count and the newest one's
    author and date (a window over the same rows), in the newest ``WAITING_THREADS``
    conversations whose "new" mark is on, found first from the patient's own index."""
    now = timezone.now()
    # Only the threads whose "new" mark is still on hold such messages: the query starts
    # from those few, not from every unopened message in the table.
    marked = list(
        policies.threads_visible_to(user)
        .filter(patient_unread_until__gt=now)
        .order_by("-last_message_at")
        .values_list("pk", flat=True)[: WAITING_THREADS + 1]
    )
    if not marked:
        return Waiting(unread=0)
    newest = (
        Message.objects.filter(
            thread__in=marked[:WAITING_THREADS],
            from_patient=False,
            state=MessageState.SENT,
            opened_at__isnull=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(thread__data_key__destroyed_at__isnull=False)
        .annotate(unread=Window(Count("pk")))
        .order_by("-sent_at", "-created_at")
        .values_list("unread", "author__full_name", "author__role", "sent_at", "created_at")
        .first()
    )
    if newest is None:
        return Waiting(unread=0)
    count, author_name, author_role, sent_at, created_at = newest
    return Waiting(
        unread=count,
        newest_author=author_name,
        newest_author_role=author_role,
        newest_at=sent_at or created_at,
        more=len(marked) > WAITING_THREADS,
    )


@dataclass(frozen=True)
class StaffQueue:
    """A staff member's message queue on their home page: counts only, each up to
    ``HOME_COUNT_CAP`` (``unread_more``/``failed_more``: there may be more)."""

    unread_threads: int
    failed_notices: int
    unread_more: bool = False
    failed_more: bool = False


# The home page stops counting here: "1,000 or more" tells a member of staff as much as
# an exact figure would, and counting every unread thread of a large organisation on each
# view of the home page costs time that grows with the organisation. Failed notices are
# meant to be few, and each one is work for the privacy officer: 100 or more says so.
HOME_COUNT_CAP = 1000
HOME_FAILED_CAP = 100


def staff_queue(*, user: Actor, failed: bool = False) -> StaffQueue:
    """Open conversations this person may open that hold unread patient replies and, with
    ``failed``, those whose e-mail notice failed: the same rows as ``staff_inbox``,
    counted up to a cap. Each count starts from the few rows it counts: the unread
    threads from the open-inbox index (ordered by the unread count), the failed notices
    from their own partial index (``messaging_delivery_failed``)."""
    threads = _inbox_threads(user, "open").select_related(None).order_by()
    unread = threads.filter(staff_unread__gt=0)[:HOME_COUNT_CAP].count()
    failed_threads: list[Any] = []
    if failed:
        failed_threads = list(
            Delivery.objects.filter(NOTICE_FAILED, message__thread__in=threads.values("pk"))
            .order_by()
            .values_list("message__thread", flat=True)[:HOME_FAILED_CAP]
        )
    return StaffQueue(
        unread_threads=unread,
        failed_notices=len(set(failed_threads)),
        unread_more=unread >= HOME_COUNT_CAP,
        failed_more=len(failed_threads) >= HOME_FAILED_CAP,
    )


# --- guest packages: the staff's reads ------------------------------------------------------


def guest_packages_of(*, user: Actor, patient: User) -> QuerySet[GuestPackage]:
    """A patient's packages this staff member may read (``policies.guest_packages_visible_to``:
    a records clerk sees only the ones they sent)."""
    if not policies.may_message(user, patient):
        return GuestPackage.objects.none()
    return (
        policies.guest_packages_visible_to(user)
        .filter(patient=patient)
        .select_related("created_by", "data_key")
        .prefetch_related("attachments")
        .order_by("-created_at")
    )


def guest_package_for_staff(*, user: Actor, package_id: str) -> GuestPackage:
    try:
        pk = uuid.UUID(package_id)
    except ValueError:
        raise Http404 from None
    package = (
        policies.guest_packages_visible_to(user)
        .filter(pk=pk, patient__in=policies.patients_messageable_by(user))
        .select_related("patient")
        .first()
    )
    if package is None:
        raise Http404
    return package


def guest_state(package: GuestPackage, now: datetime | None = None) -> str:
    """The one word staff see for where a package stands."""
    now = now or timezone.now()
    if package.is_erased:
        return "removed"
    if package.recalled_at is not None:
        return "recalled"
    if package.locked_at is not None:
        return "locked"
    if package.expires_at <= now:
        return "expired"
    if package.first_viewed_at is not None:
        return "viewed"
    if package.verified_at is not None:
        return "verified"
    if package.link_opened_at is not None:
        return "opened"
    return "sent" if package.link_sent_at is not None else "waiting"


def authorizations_active_for(patient: User) -> list[Authorization]:
    """The patient's authorizations in force now: the composer offers their recipients.
    They are a convenience; the decision at send time is what decides."""
    current = Authorization.objects.filter(patient=patient, superseded_at__isnull=True).order_by(
        "-signed_at"
    )
    return [a for a in current if a.status() == AuthorizationStatus.ACTIVE]
