"""`--url`: ws:// or wss://, on this machine's loopback unless the user opts in to another host."""

from __future__ import annotations

import pytest
from wsconform.conformance.pytest_plugin import LiveUrl, parse_live_url


def test_a_wss_url_on_loopback_is_taken_with_its_port_and_path() -> None:
    assert parse_live_url("wss://127.0.0.1:8443/ws?room=1") == LiveUrl(
        "127.0.0.1", 8443, "/ws?room=1", tls=True
    )


def test_another_host_is_refused_without_the_opt_in() -> None:
    with pytest.raises(pytest.UsageError, match="pass --allow-remote-host"):
        parse_live_url("wss://staging.example/ws")


def test_another_host_is_taken_with_the_opt_in_on_its_schemes_default_port() -> None:
    live = parse_live_url("wss://staging.example/ws", allow_remote_host=True)
    assert live == LiveUrl("staging.example", 443, "/ws", tls=True)


def test_a_scheme_other_than_ws_or_wss_is_refused() -> None:
    with pytest.raises(pytest.UsageError, match="give ws://HOST:PORT/PATH"):
        parse_live_url("http://127.0.0.1:8000/ws")
