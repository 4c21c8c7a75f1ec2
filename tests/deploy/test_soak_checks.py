"""The soak battery's checks on their own (the battery itself is test_soak.py): notices
exactly once at the relay, where a repeat taken at the instant of a worker's kill -9 is the
one allowance, and every package build a clerk started finished or failed with a reason.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.deploy.soak import CI, Outcome, Window, _check_builds, _check_notices

KILLED_AT = 1_000.0


def _mail(notice: str, at: float) -> dict[str, str]:
    return {"Message-ID": f"<notice-{notice}@localhost>", "X-Received-At": str(at)}


def _delivery(notice: str, state: str = "sent", failure: str = "") -> dict[str, Any]:
    return {
        "id": notice,
        "message": f"message-{notice}",
        "channel": "email",
        "state": state,
        "failure": failure,
    }


def _problems(mails: list[dict[str, str]], deliveries: list[dict[str, Any]]) -> list[str]:
    kill = Window(fault=1, name="kill -9 the worker", start=KILLED_AT - 2, struck=KILLED_AT)
    outcome = Outcome(plan=CI, records=[], windows=[kill], load_started=900.0, load_ended=1200.0)
    topology: Any = SimpleNamespace(smtp=SimpleNamespace(messages=mails))
    facts = {
        "deliveries": [*deliveries, _delivery("refused", "failed", "smtp_550 refused")],
        "messages_to_patients": [d["message"] for d in deliveries],
    }
    _check_notices(outcome, topology, facts)
    return outcome.problems


def test_each_notice_once_at_the_relay_passes() -> None:
    mails = [_mail("a", 950.0), _mail("b", 960.0)]
    assert _problems(mails, [_delivery("a"), _delivery("b")]) == []


def test_a_repeat_taken_as_the_worker_was_killed_is_allowed() -> None:
    mails = [_mail("a", KILLED_AT - 0.4), _mail("a", KILLED_AT + 9.0), _mail("b", 960.0)]
    assert _problems(mails, [_delivery("a"), _delivery("b")]) == []


def test_a_repeat_away_from_any_kill_breaks_the_run() -> None:
    mails = [_mail("a", 950.0), _mail("a", 970.0)]
    problems = _problems(mails, [_delivery("a")])
    assert "notice a sent but 2 copies at the relay" in problems
    assert any("1 notices reached the relay more than once" in p for p in problems)


def test_three_copies_break_the_run_even_at_the_kill() -> None:
    mails = [_mail("a", KILLED_AT), _mail("a", KILLED_AT + 5), _mail("a", KILLED_AT + 9)]
    assert "notice a sent but 3 copies at the relay" in _problems(mails, [_delivery("a")])


def test_a_sent_notice_missing_at_the_relay_breaks_the_run() -> None:
    assert _problems([], [_delivery("a")]) == ["notice a sent but 0 copies at the relay"]


def test_a_failed_notice_that_reached_the_relay_breaks_the_run() -> None:
    mails = [_mail("a", 950.0)]
    problems = _problems(mails, [_delivery("a", "failed", "smtp_550 refused")])
    assert problems == ["notice a failed, yet 1 copies at the relay"]


def _build_problems(builds: list[dict[str, str]]) -> list[str]:
    outcome = Outcome(plan=CI, records=[], windows=[], load_started=900.0, load_ended=1200.0)
    _check_builds(outcome, {"builds": builds})
    return outcome.problems


def test_builds_built_or_failed_with_a_reason_pass() -> None:
    builds = [{"state": "built", "failure": ""}, {"state": "failed", "failure": "StoreFull"}]
    assert _build_problems(builds) == []


def test_a_build_left_waiting_or_failed_without_a_reason_breaks_the_run() -> None:
    builds = [{"state": "queued", "failure": ""}, {"state": "failed", "failure": ""}]
    assert _build_problems(builds) == [
        "1 package builds still unfinished after the drain",
        "1 package builds failed without a reason",
    ]
