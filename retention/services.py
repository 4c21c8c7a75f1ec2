"""Retention writes: policy changes, legal holds, and the purge.

The purge crypto-shreds: for each object past its period and not held, one transaction
destroys its data keys, writes its tombstone and its audit event; after that commits
the ciphertext is deleted from the file store and the tombstone completed. A crash
between the two leaves an open tombstone (key gone, file kept), which the next run
finishes first. Nothing here ever touches audit events.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Actor
from audit.models import Outcome
from audit.services import EventSpec, event_record, events_record
from encryption.files import files_storage, orphans_delete
from encryption.services import data_keys_destroy
from records.deadlines import end_of_day
from retention.actions import RetentionAction
from retention.errors import RetentionError
from retention.kinds import KINDS, Holds
from retention.models import (
    HoldScope,
    LegalHold,
    PurgeRun,
    RetentionPolicy,
    RunState,
    Tombstone,
)
from retention.rules import RULES, Period, RecordKind, floor_refusal

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
FORECAST_DAYS = 30
# One purge at a time, across processes (a beat run and a command started by hand).
PURGE_LOCK = 0x5245_5445  # "RETE"


@dataclass(frozen=True)
class Effective:
    """The policy in force for one kind: its row, or the default."""

    kind: str
    clock_start: str
    period: Period
    row: RetentionPolicy | None

    @property
    def label(self) -> str:
        return str(RecordKind(self.kind).label)


def policies_effective() -> dict[str, Effective]:
    rows = {p.kind: p for p in RetentionPolicy.objects.select_related("updated_by")}
    found = {}
    for kind, rule in RULES.items():
        row = rows.get(kind)
        if row is None:
            found[kind] = Effective(kind, rule.clocks[0], rule.default, None)
        else:
            found[kind] = Effective(kind, row.clock_start, Period(row.amount, row.unit), row)
    return found


# --- policies ---------------------------------------------------------------------------------


def policy_update(
    *, actor: Actor, kind: str, clock_start: str, amount: int, unit: str
) -> RetentionPolicy:
    """Set one kind's period and clock. A period below a documentation floor is refused
    naming the rule (the refusal is audited outside the rolled-back transaction)."""
    rule = RULES[kind]
    period = Period(amount, unit)
    problem = floor_refusal(kind, period)
    if problem is None and clock_start not in rule.clocks:
        problem = "That event does not start the clock for this kind of record."
    if problem is not None:
        event_record(
            action=RetentionAction.POLICY_REFUSED,
            outcome=Outcome.DENIED,
            actor=actor,
            target_type="retention.retentionpolicy",
            target_id=kind,
            details={"kind": kind, "amount": amount, "unit": unit, "clock_start": clock_start},
        )
        raise RetentionError("below_floor", problem)
    with transaction.atomic():
        before = policies_effective()[kind]
        policy, _ = RetentionPolicy.objects.select_for_update().update_or_create(
            kind=kind,
            defaults={
                "clock_start": clock_start,
                "amount": amount,
                "unit": unit,
                "updated_at": timezone.now(),
                "updated_by": actor,
            },
        )
        event_record(
            action=RetentionAction.POLICY_CHANGED,
            actor=actor,
            target=policy,
            details={
                "kind": kind,
                "old_amount": before.period.amount,
                "old_unit": before.period.unit,
                "old_clock_start": before.clock_start,
                "new_amount": amount,
                "new_unit": unit,
                "new_clock_start": clock_start,
            },
        )
    return policy


# --- legal holds ------------------------------------------------------------------------------


def hold_place(
    *,
    actor: Actor,
    scope: str,
    patient: Actor,
    reason: str,
    thread: Any = None,
    request: Any = None,
    ends_on: date | None = None,
) -> LegalHold:
    if ends_on is not None and end_of_day(ends_on) <= timezone.now():
        raise RetentionError("hold_ends_in_past", "A hold's end date cannot be in the past.")
    with transaction.atomic():
        hold = LegalHold.objects.create(
            scope=scope,
            patient=patient,
            thread=thread if scope == HoldScope.THREAD else None,
            request=request if scope == HoldScope.REQUEST else None,
            reason=reason,
            placed_by=actor,
            ends_at=end_of_day(ends_on) if ends_on else None,
        )
        event_record(
            action=RetentionAction.HOLD_PLACED,
            actor=actor,
            target=hold,
            patient_id=patient.pk,
            details={"scope": scope, "ends": ends_on.isoformat() if ends_on else ""},
        )
    return hold


def hold_release(*, actor: Actor, hold: LegalHold) -> LegalHold:
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.released_at is not None:
            raise RetentionError("hold_released", "This hold has already been released.")
        locked.released_at, locked.released_by = timezone.now(), actor
        locked.save(update_fields=["released_at", "released_by"])
        event_record(
            action=RetentionAction.HOLD_RELEASED,
            actor=actor,
            target=locked,
            patient_id=locked.patient_id,
            details={"scope": locked.scope},
        )
    return locked


# --- the purge --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    due: dict[str, int]  # kind -> objects past their period by the horizon, not held
    unfinished: int  # tombstones of an interrupted purge, still holding files


def purge_forecast(*, now: datetime | None = None, days: int = 0) -> Forecast:
    """What a purge at ``now + days`` would erase, by kind: counts only, never who.

    A hold still in force then keeps its objects out of the count.
    """
    at = (now or timezone.now()) + timedelta(days=days)
    holds = Holds.at(at)
    due = {}
    for kind, policy in policies_effective().items():
        due[kind] = (
            KINDS[kind]
            .due(clock_start=policy.clock_start, cutoff=policy.period.before(at), holds=holds)
            .count()
        )
    unfinished = Tombstone.objects.filter(completed_at__isnull=True).count()
    return Forecast(due=due, unfinished=unfinished)


def retention_purge(
    *, trigger: str, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> PurgeRun | None:
    """Erase everything past its period and not held; None if another purge is running.

    Safe to run twice and after a crash: erased objects are no longer candidates, and
    open tombstones are completed before anything new is erased.
    """
    with _purge_lock() as acquired:
        if not acquired:
            return None
        return _purge(trigger=trigger, now=now or timezone.now(), batch_size=batch_size)


class _purge_lock:
    """A session-level advisory lock: held across the purge's many transactions."""

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [PURGE_LOCK])
            self.acquired = bool(cursor.fetchone()[0])
        return self.acquired

    def __exit__(self, *exc: object) -> None:
        if self.acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PURGE_LOCK])


def _purge(*, trigger: str, now: datetime, batch_size: int) -> PurgeRun:
    # We hold the lock, so a run still marked running was interrupted.
    PurgeRun.objects.filter(state=RunState.RUNNING).update(state=RunState.FAILED)
    with transaction.atomic():
        run = PurgeRun.objects.create(trigger=trigger, started_at=now)
        event_record(action=RetentionAction.PURGE_STARTED, target=run, details={"trigger": trigger})
    run.finished = _tombstones_finish(Tombstone.objects.filter(completed_at__isnull=True))
    run.save(update_fields=["finished"])
    failed = []
    for kind in RULES:
        try:
            while True:
                tombstones = _batch_erase(run=run, kind=kind, now=now, size=batch_size)
                if not tombstones:
                    break
                run.purged[kind] = run.purged.get(kind, 0) + len(tombstones)
                run.save(update_fields=["purged"])
                _tombstones_finish(Tombstone.objects.filter(pk__in=[t.pk for t in tombstones]))
        except Exception:
            # One object that cannot be erased must not stop every other kind, every
            # night: its batch rolled back whole; the error is logged (ids only) and the
            # run ends marked failed, naming the kind.
            logger.exception("retention: purge of %s stopped; other kinds go on", kind)
            failed.append(kind)
    run.orphans = orphans_delete()
    with transaction.atomic():
        run.state = RunState.FAILED if failed else RunState.FINISHED
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "finished_at", "orphans"])
        event_record(
            action=RetentionAction.PURGE_FINISHED,
            target=run,
            details={
                **{f"purged_{k}": n for k, n in sorted(run.purged.items())},
                **{f"finished_{k}": n for k, n in sorted(run.finished.items())},
                "orphan_files": run.orphans,
                "failed_kinds": failed,
            },
        )
    return run


def _batch_erase(*, run: PurgeRun, kind: str, now: datetime, size: int) -> list[Tombstone]:
    """Erase up to ``size`` due objects of one kind in one transaction.

    The policy and the holds are read afresh in each batch's transaction, so a hold
    placed or a period lengthened while a long purge runs counts from the next batch.
    """
    with transaction.atomic():
        policy = policies_effective()[kind]
        cutoff, holds = policy.period.before(now), Holds.at(now)
        spec = KINDS[kind]
        due = spec.due(clock_start=policy.clock_start, cutoff=cutoff, holds=holds)
        rows = list(
            due.order_by("clock", "pk").select_for_update(of=("self",), skip_locked=True)[:size]
        )
        tombstones, events = [], []
        for obj in rows:
            erasure = spec.erase(obj)
            erased_at = timezone.now()
            data_keys_destroy(data_key_ids=erasure.data_key_ids, at=erased_at)
            if erasure.delete is not None:
                erasure.delete()
            if erasure.then is not None:
                erasure.then()
            tombstones.append(
                Tombstone(
                    kind=policy.kind,
                    object_id=str(obj.pk),
                    patient_id=obj.owner,
                    clock_started_at=obj.clock,
                    erased_at=erased_at,
                    clock_start=policy.clock_start,
                    amount=policy.period.amount,
                    unit=policy.period.unit,
                    storage_names=erasure.storage_names,
                    run=run,
                )
            )
            events.append(
                EventSpec(
                    target_type=erasure.target_type,
                    target_id=str(obj.pk),
                    patient_id=obj.owner,
                    details={
                        "kind": policy.kind,
                        "run": run.pk,
                        "clock_start": policy.clock_start,
                        "amount": policy.period.amount,
                        "unit": policy.period.unit,
                        **erasure.details,
                    },
                )
            )
        Tombstone.objects.bulk_create(tombstones)
        if events:
            events_record(action=RetentionAction.OBJECT_PURGED, events=events)
    return tombstones


def _tombstones_finish(tombstones: Any) -> dict[str, int]:
    """Delete the ciphertext of erased objects from the store; complete their tombstones.

    A store that fails leaves the tombstone open for the next run (and the failure in the
    log, with the random storage name only); the keys are already gone either way.
    """
    storage = files_storage()
    finished: Counter[str] = Counter()
    for tombstone in list(tombstones.order_by("pk")):
        try:
            for name in tombstone.storage_names:
                storage.delete(name)  # a missing object is not an error
        except Exception:
            logger.exception("retention: ciphertext %s could not be deleted; will retry", name)
            continue
        Tombstone.objects.filter(pk=tombstone.pk).update(completed_at=timezone.now())
        finished[tombstone.kind] += 1
    return dict(finished)


def overview_view_record(*, forecast_total: int) -> None:
    """The officer opened the retention overview: the 30-day forecast's size only."""
    event_record(action=RetentionAction.OVERVIEW_VIEWED, details={"forecast_total": forecast_total})


def policy_refusal_record(*, kind: str, amount: int, unit: str) -> None:
    """A period below the floor, refused by the form: audited with what was asked."""
    event_record(
        action=RetentionAction.POLICY_REFUSED,
        outcome=Outcome.DENIED,
        target_type="retention.retentionpolicy",
        target_id=kind,
        details={"kind": kind, "amount": amount, "unit": unit[:16]},
    )


def holds_list_record(*, holds: Sequence[LegalHold]) -> None:
    """The holds list names patients (and reasons): which patients it showed is recorded."""
    event_record(
        action=RetentionAction.HOLDS_LISTED,
        details={"shown": len(holds), "patients": sorted({h.patient_id for h in holds})},
    )
