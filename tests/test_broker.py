"""The suite's Redis broker: up and answering within the bound, always stopped, back on the
same port after a restart; where redis-server is missing, the reason names the install."""

from __future__ import annotations

import shutil

import pytest
from wsconform.targets.servers.broker import answers_ping, broker_missing, redis_broker


def test_missing_redis_server_is_a_reason_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert broker_missing() == (
        "redis-server is not installed (install it: apt-get install redis-server)"
    )


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_broker_restarts_on_its_port_and_is_always_stopped() -> None:
    with pytest.raises(RuntimeError, match="the test fails inside"), redis_broker() as broker:
        port = broker.port
        broker.restart()
        answered = answers_ping(port)
        raise RuntimeError("the test fails inside")
    assert (answered, answers_ping(port), broker.process) == (True, False, None)
