"""The compliance figures: what the dashboard shows and the evidence pack exports.

One plain function per section, each returning a ``Section`` of named values (counts,
shares, times as ISO strings) with, where one exists, the link to the list behind the
figure. The dashboard and the pack call the same functions with the same period, so
the numbers an auditor reads in the pack are the ones the privacy officer saw.

Figures over time use a ``Period`` of whole local days (``TIME_ZONE``); figures about
the present state ("accounts locked", "holds in force") are as of ``now``. Every figure
is counted from the rows themselves (aggregates, bounded in number of queries
whatever the data), never taken from a setting or assumed. The one check that touches
the file store, "files missing from the store", costs a request per file, so it runs
only when the pack is built and on at most ``FILE_CHECK_LIMIT`` files (the newest).

Nothing here holds health information: counts, dates, key ids and event numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import device_classes

from accounts.actions import AccountsAction
from accounts.models import Actor, FactorRecovery, Role, User
from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEvent, AuditSeal, Outcome
from consent.models import Disclosure, EmailWaiver
from consent.selectors import authorizations_listed
from encryption.actions import EncryptionAction
from encryption.files import files_storage
from encryption.keyring import keyring
from encryption.models import EncryptedFile, EncryptedModel, Kek, KekProvider, KekState
from evidence import hooks
from messaging.actions import MessagingAction
from messaging.models import Channel, Delivery, DeliveryState
from records import deadlines
from records.actions import RecordsAction
from records.models import OPEN_STATES, NoticeKind, RequestNotice, RequestState
from records.policies import requests_visible_to
from records.selectors import DUE_SOON_DAYS
from retention.models import LegalHold, PurgeRun, Tombstone

DEFAULT_DAYS = 30
# The longest period one pack covers: a quarter. The pack is built in the request; a
# quarter of checkpoints at the sealer's busiest (one per 10 s, about 800,000) streams
# in well under the web timeout (see evidence.pack).
MAX_PERIOD_DAYS = 92
# Files checked against the store per pack, newest first: one request each (a HEAD on
# S3), so about a minute at worst on a remote store.
FILE_CHECK_LIMIT = 2000

Value = int | float | str | None


@dataclass(frozen=True)
class Period:
    """Whole local days, ``first_day`` to ``last_day`` inclusive."""

    first_day: date
    last_day: date

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> Period:
        today = deadlines.local_day(now or timezone.now())
        return cls(today - timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime:
        return deadlines.end_of_day(self.first_day - timedelta(days=1))

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return deadlines.end_of_day(self.last_day)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def within(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start, f"{field_name}__lt": self.end})

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "time_zone": settings.TIME_ZONE,
        }

    def audit_link(self, action: str, **extra: str) -> str:
        """The audit search for ``action`` over the period (the list behind a count)."""
        query = {
            "action": action,
            "date_from": self.first_day.isoformat(),
            "date_to": self.last_day.isoformat(),
            **extra,
        }
        return f"{reverse('audit:search')}?{urlencode(query)}"


@dataclass(frozen=True)
class Figure:
    """One named value. ``kind`` says how to show it: count, share (0 to 1), when (an
    ISO time), days, or text."""

    key: str
    label: str
    value: Value
    kind: str = "count"
    link: str = ""
    note: str = ""

    @property
    def display(self) -> str:
        if self.value is None:
            return "Never" if self.kind == "when" else "Not available"
        if self.kind == "share":
            return f"{float(self.value) * 100:.1f} %"
        if self.kind == "when":
            moment = datetime.fromisoformat(str(self.value))
            return timezone.localtime(moment).strftime("%d %b %Y, %H:%M")
        if self.kind == "days":
            return f"{self.value} days"
        return str(self.value)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Value]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    note: str = ""

    def values(self) -> dict[str, Value]:
        return {figure.key: figure.value for figure in self.figures}

    def as_json(self, *, period: Period, as_of: datetime) -> dict[str, Any]:
        return {
            "section": self.key,
            "title": self.title,
            "period": period.as_dict(),
            "as_of": _when(as_of),
            "figures": self.values(),
            "labels": {figure.key: figure.label for figure in self.figures},
            "tables": {table.key: table.rows for table in self.tables},
            "note": self.note,
        }


def _when(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- authentication (45 CFR 164.312(d), 164.308(a)(5)(ii)(C)) -------------------------------


def _any_device(**conditions: Any) -> Q:
    """Has a confirmed device that completes a sign-in (as ``accounts.selectors``
    ``has_second_factor``: backup codes only while some remain)."""
    found = Q(pk__in=[])
    for model in device_classes():
        devices = model.objects.filter(user=OuterRef("pk"), confirmed=True, **conditions)
        if model._meta.model_name == "backupcodes":
            devices = devices.filter(codes__isnull=False)
        found |= Q(Exists(devices))
    return found


def _passkey() -> Q:
    from django_otp_webauthn.models import WebAuthnCredential

    return Q(Exists(WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)))


def authentication(*, period: Period, now: datetime) -> Section:
    """Active accounts by role with and without a second factor and a passkey; accounts
    locked (django-axes, as the directory shows them) or recovering now; lockouts."""
    cooloff = now - settings.AXES_COOLOFF_TIME
    locked = AccessAttempt.objects.filter(
        username__iexact=OuterRef("email"),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gte=cooloff,
    )
    recovering = FactorRecovery.objects.filter(
        user=OuterRef("pk"), used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )
    groups = (
        User.objects.filter(is_active=True)
        .annotate(
            factor=_any_device(),
            passkey=_passkey(),
            locked=Exists(locked),
            recovering=Exists(recovering),
        )
        .values("role", "factor", "passkey", "locked", "recovering")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_role = {role: {"accounts": 0, "factor": 0, "passkey": 0} for role in Role.values}
    locked_n = recovering_n = 0
    for group in groups:
        counts = by_role.setdefault(group["role"], {"accounts": 0, "factor": 0, "passkey": 0})
        counts["accounts"] += group["n"]
        counts["factor"] += group["n"] if group["factor"] else 0
        counts["passkey"] += group["n"] if group["passkey"] else 0
        locked_n += group["n"] if group["locked"] else 0
        recovering_n += group["n"] if group["recovering"] else 0
    rows: list[dict[str, Value]] = [
        {
            "role": role,
            "accounts": counts["accounts"],
            "with_second_factor": counts["factor"],
            "without_second_factor": counts["accounts"] - counts["factor"],
            "with_passkey": counts["passkey"],
        }
        for role, counts in by_role.items()
    ]
    total = sum(c["accounts"] for c in by_role.values())
    with_factor = sum(c["factor"] for c in by_role.values())
    staff_without = sum(
        c["accounts"] - c["factor"] for role, c in by_role.items() if role != Role.PATIENT
    )
    passkeys = sum(c["passkey"] for c in by_role.values())
    lockouts = AuditEvent.objects.filter(
        period.within("occurred_at"), action=AccountsAction.LOCKED_OUT
    ).count()
    staff_list = reverse("directory:staff_list")
    return Section(
        key="authentication",
        title="Authentication",
        figures=[
            Figure("accounts", "Active accounts", total),
            Figure("with_second_factor", "Accounts with a second factor", with_factor),
            Figure(
                "without_second_factor", "Accounts without a second factor", total - with_factor
            ),
            Figure(
                "staff_without_second_factor",
                "Staff accounts without a second factor",
                staff_without,
                link=staff_list,
            ),
            Figure(
                "passkey_share",
                "Share of accounts with a passkey",
                _share(passkeys, total),
                "share",
            ),
            Figure("locked", "Accounts locked now", locked_n, link=staff_list),
            Figure(
                "recovering",
                "Accounts recovering a lost second factor",
                recovering_n,
                link=period.audit_link(AccountsAction.RECOVERY_ISSUED),
            ),
            Figure(
                "lockouts_in_period",
                "Lockouts in the period",
                lockouts,
                link=period.audit_link(AccountsAction.LOCKED_OUT),
            ),
        ],
        tables=[
            Table(
                "by_role",
                "Active accounts by role",
                (
                    "role",
                    "accounts",
                    "with_second_factor",
                    "without_second_factor",
                    "with_passkey",
                ),
                rows,
            )
        ],
    )


# --- encryption (45 CFR 164.312(a)(2)(iv), 164.312(e)(2)(ii)) --------------------------------


def encrypted_models() -> list[type[EncryptedModel]]:
    """Every model whose rows carry a data key, the file records apart."""
    return sorted(
        (
            model
            for model in apps.get_models()
            if issubclass(model, EncryptedModel)
            and not model._meta.proxy
            and model is not EncryptedFile
        ),
        key=lambda model: model._meta.label_lower,
    )


def _live_and_erased(model: type[EncryptedModel]) -> tuple[int, int]:
    counts = model._default_manager.aggregate(
        total=Count("pk"), live=Count("pk", filter=Q(data_key__destroyed_at__isnull=True))
    )
    return counts["live"], counts["total"] - counts["live"]


def files_missing(*, limit: int = FILE_CHECK_LIMIT) -> tuple[int, int]:
    """(checked, missing): the newest ``limit`` files under a live data key, each looked
    up in the store. An erased file's ciphertext is deleted on purpose and not checked."""
    storage = files_storage()
    names = (
        EncryptedFile.objects.filter(data_key__destroyed_at__isnull=True)
        .order_by("-created_at")
        .values_list("storage_name", flat=True)[:limit]
    )
    checked = missing = 0
    for name in names.iterator():
        checked += 1
        missing += 0 if storage.exists(name) else 1
    return checked, missing


def encryption(*, now: datetime, check_files: bool = False) -> Section:
    """Rows and files under a live data key or erased (crypto-shredded), counted per model;
    the key-encryption keys by state and age; the last rotation."""
    model_rows: list[dict[str, Value]] = []
    for model in encrypted_models():
        live, erased = _live_and_erased(model)
        model_rows.append({"model": model._meta.label_lower, "live": live, "erased": erased})
    rows_live = sum(int(row["live"] or 0) for row in model_rows)
    rows_erased = sum(int(row["erased"] or 0) for row in model_rows)
    files_live, files_erased = _live_and_erased(EncryptedFile)

    ring = keyring()
    keys = Kek.objects.annotate(
        live=Count("data_keys", filter=Q(data_keys__destroyed_at__isnull=True))
    ).order_by("created_at")
    key_rows: list[dict[str, Value]] = []
    unreachable = 0
    for kek in keys:
        present = kek.provider != KekProvider.LOCAL or ring.local.available(kek.key_id)
        unreachable += 0 if present else kek.live
        key_rows.append(
            {
                "key_id": kek.key_id,
                "provider": kek.provider,
                "state": kek.state,
                "created_at": _when(kek.created_at),
                "age_days": (now - kek.created_at).days,
                "promoted_at": _when(kek.promoted_at),
                "retired_at": _when(kek.retired_at),
                "present_on_this_server": present,
                "live_data_keys": kek.live,
            }
        )
    primary = next((kek for kek in keys if kek.state == KekState.PRIMARY), None)
    primary_since = (primary.promoted_at or primary.created_at) if primary else None
    last_rotation = (
        AuditEvent.objects.filter(action=EncryptionAction.KEY_ROTATED)
        .order_by("-id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    rotations = reverse("audit:search") + "?" + urlencode({"action": EncryptionAction.KEY_ROTATED})
    checked: int | None = None
    missing: int | None = None
    if check_files:
        checked, missing = files_missing()
    file_note = (
        ""
        if check_files
        else "Checked against the store when the evidence pack is built (one request per file)."
    )
    return Section(
        key="encryption",
        title="Encryption",
        figures=[
            Figure("rows_live", "Encrypted rows under a live data key", rows_live),
            Figure("rows_erased", "Encrypted rows erased (data key destroyed)", rows_erased),
            Figure(
                "rows_live_share",
                "Share of encrypted rows under a live data key",
                _share(rows_live, rows_live + rows_erased),
                "share",
            ),
            Figure("files_live", "Stored files under a live data key", files_live),
            Figure("files_erased", "Stored files erased", files_erased),
            Figure(
                "files_live_share",
                "Share of stored files under a live data key",
                _share(files_live, files_live + files_erased),
                "share",
            ),
            Figure(
                "files_checked",
                f"Stored files checked in the store (newest, at most {FILE_CHECK_LIMIT})",
                checked,
                note=file_note,
            ),
            Figure("files_missing", "Files missing from the store", missing, note=file_note),
            Figure("keys", "Key-encryption keys", len(key_rows)),
            Figure(
                "data_keys_unreachable",
                "Live data keys under a key this server lacks",
                unreachable,
            ),
            Figure(
                "primary_key_age_days",
                "Age of the primary key",
                (now - primary_since).days if primary_since else None,
                "days",
            ),
            Figure(
                "last_rotation_at", "Last key rotation", _when(last_rotation), "when", rotations
            ),
        ],
        tables=[
            Table(
                "rows_by_model", "Encrypted rows by model", ("model", "live", "erased"), model_rows
            ),
            Table(
                "keys",
                "Key-encryption keys",
                (
                    "key_id",
                    "provider",
                    "state",
                    "created_at",
                    "age_days",
                    "promoted_at",
                    "retired_at",
                    "present_on_this_server",
                    "live_data_keys",
                ),
                key_rows,
            ),
        ],
    )


# --- audit (45 CFR 164.312(b)) ----------------------------------------------------------------


def audit(*, period: Period, now: datetime) -> Section:
    """The last verification of the chain (``audit_verify`` records each run), the events
    not sealed yet, and the last signed checkpoint with its anchor outside the database."""
    runs = AuditEvent.objects.filter(action=AuditAction.VERIFIED)
    last_run = runs.order_by("-id").first()
    last_ok = runs.filter(outcome=Outcome.SUCCESS).order_by("-id").first()
    in_period = runs.filter(period.within("occurred_at")).aggregate(
        n=Count("pk"), failed=Count("pk", filter=~Q(outcome=Outcome.SUCCESS))
    )
    sealed_through = AuditSeal.objects.aggregate(head=Max("event_id"))["head"] or 0
    unsealed = AuditEvent.objects.filter(id__gt=sealed_through).count()
    checkpoint = AuditCheckpoint.objects.order_by("-through_event_id").first()
    anchor = hooks.checkpoint_anchors([checkpoint]).get(checkpoint.pk) if checkpoint else None
    checkpoints = AuditCheckpoint.objects.filter(period.within("created_at")).count()
    verified = period.audit_link(AuditAction.VERIFIED)
    return Section(
        key="audit",
        title="Audit trail",
        figures=[
            Figure(
                "last_verify_at",
                "Last audit_verify run",
                _when(last_run.occurred_at) if last_run else None,
                "when",
                verified,
            ),
            Figure(
                "last_verify_outcome",
                "Outcome of the last run",
                last_run.outcome if last_run else None,
                "text",
            ),
            Figure(
                "last_successful_verify_at",
                "Last successful audit_verify",
                _when(last_ok.occurred_at) if last_ok else None,
                "when",
                verified,
            ),
            Figure(
                "last_successful_verify_through_event",
                "Verified up to event",
                _verified_through(last_ok),
                "text",
            ),
            Figure("verify_runs_in_period", "Verification runs in the period", in_period["n"]),
            Figure(
                "verify_failures_in_period",
                "Verification runs that found a break",
                in_period["failed"],
                link=period.audit_link(AuditAction.VERIFIED, outcome=Outcome.ERROR),
            ),
            Figure("unsealed_events", "Events not sealed yet", unsealed),
            Figure(
                "last_checkpoint_at",
                "Last checkpoint",
                _when(checkpoint.created_at) if checkpoint else None,
                "when",
            ),
            Figure(
                "last_checkpoint_through_event",
                "Last checkpoint covers events up to",
                checkpoint.through_event_id if checkpoint else None,
                "text",
            ),
            Figure(
                "last_checkpoint_anchor",
                "Anchor of the last checkpoint outside the database",
                anchor.get("location") if anchor else None,
                "text",
                note="" if anchor else "No anchor recorded for this checkpoint.",
            ),
            Figure("checkpoints_in_period", "Checkpoints signed in the period", checkpoints),
        ],
    )


def _verified_through(run: AuditEvent | None) -> int | None:
    """The last event the run verified; runs recorded before it was noted answer None."""
    if run is None:
        return None
    through = run.details.get("through_event_id")
    return int(through) if isinstance(through, int) else None


# --- right of access (45 CFR 164.524) -----------------------------------------------------


def access(*, user: Actor, period: Period, now: datetime) -> Section:
    """Requests received, fulfilled on time or late, open and due soon, the median time to
    fulfil, extensions and denials: over the requests ``user`` works (every one, for the
    privacy officer)."""
    requests = requests_visible_to(user)
    received = requests.filter(period.within("received_at")).count()
    closed = list(
        requests.filter(
            period.within("closed_at"),
            state__in=[RequestState.FULFILLED, RequestState.PARTLY_DENIED],
        ).values_list("received_at", "closed_at", "due_at")
    )
    on_time = sum(1 for _, closed_at, due_at in closed if closed_at and closed_at < due_at)
    days = [
        (deadlines.local_day(closed_at) - deadlines.local_day(received_at)).days
        for received_at, closed_at, _ in closed
        if closed_at is not None
    ]
    soon = deadlines.end_of_day(deadlines.local_day(now) + timedelta(days=DUE_SOON_DAYS))
    open_counts = requests.filter(state__in=OPEN_STATES).aggregate(
        open=Count("pk"),
        due_soon=Count("pk", filter=Q(due_at__gt=now, due_at__lte=soon)),
        overdue=Count("pk", filter=Q(due_at__lte=now)),
    )
    extensions = requests.filter(period.within("extended_at")).count()
    denials = RequestNotice.objects.filter(
        period.within("created_at"), kind=NoticeKind.DENIAL, request__in=requests
    ).count()
    queue = reverse("records:queue")
    return Section(
        key="access",
        title="Right of access",
        figures=[
            Figure(
                "received", "Requests received in the period", received, link=f"{queue}?view=all"
            ),
            Figure(
                "fulfilled",
                "Requests fulfilled in the period",
                len(closed),
                link=f"{queue}?view=closed",
            ),
            Figure("fulfilled_on_time", "Fulfilled on time", on_time),
            Figure("fulfilled_late", "Fulfilled late", len(closed) - on_time),
            Figure(
                "on_time_share", "Share fulfilled on time", _share(on_time, len(closed)), "share"
            ),
            Figure("open", "Requests open now", open_counts["open"], link=f"{queue}?view=open"),
            Figure(
                "due_within_7_days",
                "Open and due within 7 days",
                open_counts["due_soon"],
                link=f"{queue}?view=due_soon",
            ),
            Figure(
                "overdue",
                "Open and overdue",
                open_counts["overdue"],
                link=f"{queue}?view=overdue",
            ),
            Figure(
                "median_days_to_fulfil",
                "Median days to fulfil",
                statistics.median(days) if days else None,
                "days",
            ),
            Figure(
                "extensions",
                "Extensions used in the period",
                extensions,
                link=period.audit_link(RecordsAction.REQUEST_EXTENDED),
            ),
            Figure(
                "denials",
                "Denials in the period (in full or in part)",
                denials,
                link=period.audit_link(RecordsAction.REQUEST_DENIED),
            ),
        ],
    )


# --- disclosures and consent (45 CFR 164.508, 164.528) ------------------------------------


def disclosures(*, user: Actor, period: Period, now: datetime) -> Section:
    """Authorizations by state now (as the officer's list counts them), disclosures
    recorded in the period, e-mail waivers in force."""
    by_state = {
        state: authorizations_listed(user=user, state=state, at=now).count()
        for state in ("active", "expiring", "expired", "revoked")
    }
    recorded = Disclosure.objects.filter(period.within("disclosed_at")).aggregate(
        n=Count("pk"), accountable=Count("pk", filter=Q(accounting_required=True))
    )
    waivers = EmailWaiver.objects.filter(revoked_at__isnull=True).count()
    listed = reverse("consent:authorizations")
    return Section(
        key="disclosures",
        title="Disclosures and consent",
        figures=[
            Figure(
                "authorizations_active",
                "Authorizations active",
                by_state["active"],
                link=f"{listed}?state=active",
            ),
            Figure(
                "authorizations_expiring",
                "Active and ending within 30 days",
                by_state["expiring"],
                link=f"{listed}?state=expiring",
            ),
            Figure(
                "authorizations_expired",
                "Authorizations expired",
                by_state["expired"],
                link=f"{listed}?state=expired",
            ),
            Figure(
                "authorizations_revoked",
                "Authorizations revoked",
                by_state["revoked"],
                link=f"{listed}?state=revoked",
            ),
            Figure(
                "disclosures_recorded",
                "Disclosures recorded in the period",
                recorded["n"],
                link=period.audit_link("consent.disclosure_recorded"),
            ),
            Figure(
                "disclosures_accountable",
                "Of which the accounting must list (164.528)",
                recorded["accountable"],
            ),
            Figure("waivers_in_force", "Unencrypted e-mail waivers in force", waivers),
        ],
    )


# --- deliveries (45 CFR 164.522(b), 164.530(c)) -------------------------------------------


def deliveries(*, period: Period) -> Section:
    """Notices that failed or bounced and were not resent, and postal letters."""
    unresolved = Q(replaced_by__isnull=True)
    counts = Delivery.objects.aggregate(
        failed=Count("pk", filter=unresolved & Q(state=DeliveryState.FAILED)),
        bounced=Count("pk", filter=unresolved & Q(state=DeliveryState.BOUNCED)),
        letters_waiting=Count("pk", filter=Q(channel=Channel.LETTER, state=DeliveryState.PENDING)),
        letters_sent=Count(
            "pk",
            filter=Q(channel=Channel.LETTER, state=DeliveryState.SENT) & period.within("sent_at"),
        ),
        notices_sent=Count(
            "pk",
            filter=Q(channel=Channel.EMAIL, state=DeliveryState.SENT) & period.within("sent_at"),
        ),
    )
    inbox = reverse("messaging:inbox")
    return Section(
        key="deliveries",
        title="Deliveries",
        figures=[
            Figure("failed_open", "Failed notices not resent", counts["failed"], link=inbox),
            Figure("bounced_open", "Bounced notices not resent", counts["bounced"], link=inbox),
            Figure(
                "notices_sent",
                "E-mail notices sent in the period",
                counts["notices_sent"],
                link=period.audit_link(MessagingAction.NOTICE_SENT),
            ),
            Figure(
                "letters_sent",
                "Postal letters printed in the period",
                counts["letters_sent"],
                link=period.audit_link(MessagingAction.LETTER_PRINTED),
            ),
            Figure(
                "letters_waiting", "Postal letters waiting to be printed", counts["letters_waiting"]
            ),
        ],
    )


# --- retention (45 CFR 164.316(b)(2), 164.530(j)) ------------------------------------------


def retention(*, period: Period, now: datetime) -> Section:
    last = PurgeRun.objects.order_by("-started_at").first()
    purges = PurgeRun.objects.filter(period.within("started_at")).count()
    erased = Tombstone.objects.filter(period.within("erased_at")).count()
    holds = LegalHold.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now), released_at__isnull=True
    ).count()
    runs = reverse("retention:runs")
    return Section(
        key="retention",
        title="Retention",
        figures=[
            Figure(
                "last_purge_at",
                "Last purge",
                _when(last.started_at) if last else None,
                "when",
                runs,
            ),
            Figure(
                "last_purge_state", "State of the last purge", last.state if last else None, "text"
            ),
            Figure("purges_in_period", "Purges in the period", purges, link=runs),
            Figure("objects_erased", "Objects erased in the period", erased, link=runs),
            Figure(
                "holds_in_force", "Legal holds in force", holds, link=reverse("retention:holds")
            ),
        ],
    )


# --- all of them -----------------------------------------------------------------------------


def _pending(key: str, title: str) -> Section:
    return Section(key=key, title=title, note="Not recorded by this installation yet.")


def sections(
    *, user: Actor, period: Period, now: datetime | None = None, check_files: bool = False
) -> list[Section]:
    """Every section, in the dashboard's order. ``check_files`` looks each stored file up
    in the store (the pack)."""
    now = now or timezone.now()
    built: list[Section] = [
        authentication(period=period, now=now),
        encryption(now=now, check_files=check_files),
        audit(period=period, now=now),
        access(user=user, period=period, now=now),
        disclosures(user=user, period=period, now=now),
        deliveries(period=period),
        retention(period=period, now=now),
    ]
    later: list[tuple[str, str, Callable[..., Section | None]]] = [
        ("workforce", "Workforce policy acknowledgement", hooks.workforce_section),
        ("activity_review", "Activity review", hooks.activity_review_section),
        ("business_associates", "Business associates", hooks.business_associates_section),
    ]
    for key, title, hook in later:
        built.append(hook(user=user, period=period, now=now) or _pending(key, title))
    return built
