"""An app error is charged to the connection that caused it: asking for app errors first waits
until the app has finished with every websocket (its witness's count of open connections, in
this process or the server's), even when the app raises well after the client has gone."""

from __future__ import annotations

import pytest
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.contracts.endpoints import leave_midway
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport

LATE_RAISER = "tests.broken_apps:echo_raises_after_slow_cleanup"


async def errors_of_one_connection(transport: Transport, *, wait_for_the_app: bool) -> list[str]:
    try:
        await leave_midway(transport, "/echo", ["hello"], "close")
        if wait_for_the_app:
            return await transport.drain_app_errors()
        # What a drain without the wait sees: the error has not happened yet.
        return await transport.take_app_errors()
    finally:
        await transport.aclose()


@pytest.mark.parametrize("server", list(all_transports()))
def test_an_error_raised_after_the_client_left_is_charged_to_its_connection(
    server: str, loop_runner: LoopRunner
) -> None:
    spec = all_transports()[server]
    if (reason := spec.unavailable_reason()) is not None:
        pytest.skip(f"{server}: {reason}")
    with spec.serve(LATE_RAISER) as transport:
        errors = loop_runner.run(errors_of_one_connection(transport, wait_for_the_app=True))
    if server == "testclient":
        # Leaving TestClient's websocket session cancels the app's task (its cancel scope),
        # so the slow cleanup never gets to raise: nothing to charge, now or later.
        assert errors == []
    else:
        assert len(errors) == 1 and "cleanup failed after the client left" in errors[0], errors


def test_without_the_wait_the_late_error_would_be_missed(loop_runner: LoopRunner) -> None:
    """The broken target of the test above: the same drain without waiting misses the error,
    so the wait is what charges it correctly."""
    with all_transports()["inmemory"].serve(LATE_RAISER) as transport:
        errors = loop_runner.run(errors_of_one_connection(transport, wait_for_the_app=False))
    assert errors == []
