"""Waiting for a server to start is bounded in wall-clock time, not in ticks: a readiness check
that is itself slow (a connection attempt with its own timeout) does not stretch the bound."""

from __future__ import annotations

import threading
import time

from wsconform.targets.servers.network import wait_until

CHECK_S = 0.1  # what each readiness check costs, like accepts_connections' connect timeout
BOUND_S = 0.3


def test_a_server_that_never_gets_ready_is_given_up_on_within_the_bound() -> None:
    never = threading.Event()

    def slow_check() -> bool:
        return never.wait(CHECK_S)

    began = time.monotonic()
    ready = wait_until(slow_check, BOUND_S)
    # Counted in ticks, the bound was BOUND_S / 0.02 = 15 checks: 1.5 s and more.
    assert (ready, time.monotonic() - began < BOUND_S + 2 * CHECK_S + 0.2) == (False, True)
