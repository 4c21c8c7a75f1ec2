"""The system check on the organisation's age rules for a parent's proxy access."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts.checks import proxy_minor_rules_check


def ids(found: list[Any]) -> list[str]:
    return [message.id for message in found]


class TestProxyMinorRulesCheck:
    def test_the_defaults_pass(self) -> None:
        assert proxy_minor_rules_check() == []

    def test_full_access_past_the_end_is_an_error(self, settings: Any) -> None:
        settings.PROXY_MINOR_FULL_UNTIL, settings.PROXY_MINOR_ENDS_AT = 16, 14
        assert ids(proxy_minor_rules_check()) == ["accounts.E001"]

    def test_equal_ages_mean_no_limited_years_and_pass(self, settings: Any) -> None:
        settings.PROXY_MINOR_FULL_UNTIL = settings.PROXY_MINOR_ENDS_AT = 18
        assert proxy_minor_rules_check() == []

    def test_an_unknown_scope_is_an_error_naming_it(self, settings: Any) -> None:
        settings.PROXY_MINOR_LIMITED_SCOPES = ["read_messages", "read_mesages"]
        found = proxy_minor_rules_check()
        assert ids(found) == ["accounts.E002"]
        assert "read_mesages" in found[0].msg

    def test_manage_py_check_stops_on_it(self, settings: Any) -> None:
        settings.PROXY_MINOR_LIMITED_SCOPES = ["everything"]
        with pytest.raises(SystemCheckError, match=r"accounts\.E002"):
            call_command("check")
