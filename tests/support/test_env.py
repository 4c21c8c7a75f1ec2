from __future__ import annotations

import pytest

from support.env import ConfigError, Env, parse_database_url
from support.net import client_ip, relay_parse


class TestEnv:
    def test_booleans_accept_only_true_and_false(self) -> None:
        assert Env({"X": "true"}).boolean("X", False) is True
        with pytest.raises(ConfigError, match="X must be 'true' or 'false'"):
            Env({"X": "yes"}).boolean("X", False)

    def test_integers_are_validated_with_the_variable_named(self) -> None:
        with pytest.raises(ConfigError, match="PORT must be a whole number"):
            Env({"PORT": "eighty"}).integer("PORT", 1)
        with pytest.raises(ConfigError, match="PORT must be at least 1"):
            Env({"PORT": "0"}).integer("PORT", 1, minimum=1)

    def test_secrets_come_from_a_file(self, tmp_path) -> None:
        path = tmp_path / "key"
        path.write_text("s3cr3t\n")
        assert Env({"KEY_FILE": str(path)}).secret("KEY") == "s3cr3t"

    def test_a_secret_set_twice_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="not both"):
            Env({"KEY": "a", "KEY_FILE": "/x"}).secret("KEY")

    def test_error_messages_never_echo_the_value(self) -> None:
        with pytest.raises(ConfigError) as error:
            Env({"DEBUG": "hunter2"}).boolean("DEBUG", False)
        assert "hunter2" not in str(error.value)


class TestDatabaseUrl:
    def test_tcp_url(self) -> None:
        db = parse_database_url("postgresql://u:p%40ss@db.internal:6543/portal")
        assert (db["HOST"], db["PORT"], db["USER"], db["PASSWORD"], db["NAME"]) == (
            "db.internal",
            "6543",
            "u",
            "p@ss",
            "portal",
        )

    def test_unix_socket_url_from_pgserver(self) -> None:
        db = parse_database_url("postgresql://postgres:@/portal?host=/work/var/pgdata")
        assert db["HOST"] == "/work/var/pgdata" and db["NAME"] == "portal"

    def test_only_postgresql_is_accepted(self) -> None:
        with pytest.raises(ConfigError, match="postgresql://"):
            parse_database_url("sqlite:///db.sqlite3")


class TestClientIp:
    def test_without_trusted_proxies_forwarded_for_is_ignored(self) -> None:
        assert client_ip("10.0.0.1", "1.2.3.4", 0) == "10.0.0.1"

    def test_with_one_proxy_the_rightmost_entry_is_the_client(self) -> None:
        assert client_ip("10.0.0.1", "6.6.6.6, 1.2.3.4", 1) == "1.2.3.4"

    def test_garbage_falls_back_to_the_peer(self) -> None:
        assert client_ip("10.0.0.1", "not-an-ip", 1) == "10.0.0.1"


class TestRelayParse:
    def test_host_and_port(self) -> None:
        assert relay_parse("relay.example.org:587") == ("relay.example.org", 587)

    def test_an_ipv6_address_in_brackets(self) -> None:
        assert relay_parse("[2001:db8::1]:25") == ("2001:db8::1", 25)

    def test_empty_is_no_relay(self) -> None:
        assert relay_parse("  ") is None

    @pytest.mark.parametrize("value", ["relay.example.org", ":25", "relay:0", "relay:smtp"])
    def test_a_value_without_a_valid_port_is_refused(self, value: str) -> None:
        with pytest.raises(ValueError, match="must be host:port"):
            relay_parse(value)
