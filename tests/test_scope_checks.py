"""Every scope check catches a server that builds that part of the scope wrong, and passes on
the in-memory driver, which builds it as the ASGI www spec says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.scope import probes as scope
from wsconform.conformance.families.scope.catalogue import SCOPE_CHECKS
from wsconform.targets.puppet import PuppetRegistry, build_puppet_app
from wsconform.targets.servers.inmemory import InMemoryTransport

ScopeRewrite = Callable[[dict[str, Any]], dict[str, Any]]


class RewritingScope:
    """A server's mistake, as a rewrite of the scope the app is given."""

    def __init__(self, app: ASGIApp, rewrite: ScopeRewrite) -> None:
        self.app, self.rewrite = app, rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        changed = self.rewrite(dict(scope)) if scope["type"] == "websocket" else scope
        await self.app(changed, receive, send)


def _merged_duplicates(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    merged: dict[bytes, bytes] = {}
    for name, value in headers:
        merged[name] = merged[name] + b"," + value if name in merged else value
    return list(merged.items())


BROKEN: dict[str, ScopeRewrite] = {
    "scope.path-decoded": lambda s: {**s, "path": s["raw_path"].decode()},
    "scope.raw-path-as-received": lambda s: {**s, "raw_path": s["path"].encode()},
    "scope.query-string-as-received": lambda s: {**s, "query_string": b"q=%F0%9F%8C%8D"},
    "scope.headers-duplicates-kept": lambda s: {**s, "headers": _merged_duplicates(s["headers"])},
    "scope.headers-order-kept": lambda s: {**s, "headers": sorted(s["headers"])},
    "scope.subprotocols-split": lambda s: {**s, "subprotocols": s["subprotocols"][-1:]},
    "scope.scheme-not-empty": lambda s: {**s, "scheme": ""},
    "scope.connection-facts": lambda s: {**s, "client": [s["client"][0], str(s["client"][1])]},
}


# Merging a duplicate necessarily changes the order of the header lines too.
ALSO_BROKEN = {"scope.headers-duplicates-kept": {"scope.headers-order-kept"}}


def judged(transport: InMemoryTransport, runner: LoopRunner) -> dict[str, bool | None]:
    seen, summary = runner.run(scope.observe(transport))
    return {j.check_id: j.ok for j in scope.judge(seen, summary)}


def test_every_scope_check_has_a_breakage() -> None:
    assert set(BROKEN) == {check.id for check in SCOPE_CHECKS}


@pytest.mark.parametrize("check_id", sorted(BROKEN))
def test_scope_check_catches_its_breakage(check_id: str, loop_runner: LoopRunner) -> None:
    registry = PuppetRegistry()
    app = RewritingScope(build_puppet_app(registry), BROKEN[check_id])
    verdicts = judged(InMemoryTransport(app, registry), loop_runner)
    assert verdicts[check_id] is False
    spared = {check_id, *ALSO_BROKEN.get(check_id, ())}
    assert all(ok for other, ok in verdicts.items() if other not in spared), verdicts


def test_scope_checks_pass_on_the_sound_driver(loop_runner: LoopRunner) -> None:
    verdicts = judged(InMemoryTransport(build_puppet_app()), loop_runner)
    assert verdicts == {check.id: True for check in SCOPE_CHECKS}
