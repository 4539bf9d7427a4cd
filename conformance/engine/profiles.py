"""The Hypothesis profiles the suite runs under (`--hypothesis-profile NAME`), registered on
import: by this repository's conftest.py and by the plugin wherever it is installed."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

# Real servers make every step cost real milliseconds; examples are few but each is a whole
# conversation. `ci` is derandomized so that a CI run is repeatable and its baseline stable.
_slow_is_fine = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# Every phase but Phase.explain. After a failure is shrunk, that phase replays it many times
# (each a whole conversation, a crowd on a fresh app) to annotate which parts of the program
# could vary; a finding's report already says what failed and holds the minimal program, so
# the replays cost a run with findings seconds to minutes (a failing state machine's search
# went from 17 s to under 1 s without it) for a comment nobody reads.
WITHOUT_EXPLAIN = tuple(phase for phase in Phase if phase is not Phase.explain)
settings.register_profile(
    "dev",
    phases=WITHOUT_EXPLAIN,
    max_examples=30,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=_slow_is_fine,
)
settings.register_profile(
    "ci",
    phases=WITHOUT_EXPLAIN,
    max_examples=40,
    stateful_step_count=15,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_slow_is_fine,
)
settings.register_profile(
    "nightly",
    phases=WITHOUT_EXPLAIN,
    max_examples=1000,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=_slow_is_fine,
)
PROFILES = ("dev", "ci", "nightly")
