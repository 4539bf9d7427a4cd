"""Order of the project's own tests: files holding end-to-end (`slow`) tests first.

tox runs them on four pytest-xdist workers, one file at a time each (`--dist loadfile
--no-loadscope-reorder`, tox.ini): on two cores, four keep both busy while end-to-end tests wait
on their servers and venvs (two left a third of the CPU idle). Handing out single tests instead
was slower: 3 min 25 s against 3 min 06 s (each worker made every module's fixtures). Started
first, the long files run beside each other and the many quick files fill whichever worker is
free at the end; in collection order (or xdist's own, by number of tests) one worker was left
finishing a minutes-long file alone.
"""

from __future__ import annotations

from collections import Counter

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow_tests_per_file = Counter(
        item.path for item in items if item.get_closest_marker("slow") is not None
    )
    # A stable sort: each file's tests stay together and in their order.
    items.sort(key=lambda item: -slow_tests_per_file[item.path])
