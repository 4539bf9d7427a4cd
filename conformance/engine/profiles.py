"""The Hypothesis profiles the suite runs under (`--hypothesis-profile NAME`), registered on
import: by this repository's conftest.py and by the plugin wherever it is installed."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Real servers make every step cost real milliseconds; examples are few but each is a whole
# conversation. `ci` is derandomized so that a CI run is repeatable and its baseline stable.
_slow_is_fine = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "dev",
    max_examples=30,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=_slow_is_fine,
)
settings.register_profile(
    "ci",
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
    max_examples=1000,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=_slow_is_fine,
)
PROFILES = ("dev", "ci", "nightly")
