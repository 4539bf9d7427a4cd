"""What the self-tests add to a `wsconform run` (or a suite run with --app) whose assertions are
not about crowds: the crowd pass (hundreds of generated crowds per route, each on a fresh app)
is most of such a run's time, and tests/test_crowd_checks.py and the crowd-finding tests judge
it. The tests that assert a correct app gives no finding keep it: there a false alarm from any
pass is what they look for."""

from __future__ import annotations

# pytest's own selection, after `--` for `wsconform run`.
WITHOUT_CROWDS = ("-k", "not test_crowd_on_route")
