"""Findings in a user's app: one per distinct bug, whatever transports showed it.

A generic check that fails makes a finding: the route, the minimal connection plan Hypothesis
shrank it to, what the client saw on each server, the leaf exception and the app's frame that
raised it, whether replaying the plan alone on a freshly built app failed again ("confirmed"),
the command that runs it again, and a standalone script that reproduces it without wsconform.
Two failures are the same finding when they fail the same checks on the same route with the
same leaf exceptions raised at the same places (`error_signature`), whatever the values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wsconform.conformance.engine.plans import (
    CloseWith,
    ConnectionPlan,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.targets.servers.witness import error_signature


def finding_key(route: str, check_ids: Iterable[str], app_errors: Iterable[str]) -> str:
    """What makes two failures the same bug (see the module's docstring)."""
    signatures = sorted({error_signature(error) for error in app_errors} - {""})
    return json.dumps([route, sorted(set(check_ids)), signatures])


@dataclass
class Finding:
    id: str
    route: str
    checks: list[str]
    plan: str  # the minimal plan, as the report shows it
    steps: list[list[Any]]  # the same, as data: what the standalone script replays
    target: str
    headers: list[list[str]]
    leaf: str  # the leaf exception(s) and where the app raised them, or what the client saw
    # server -> {"client_events": [...], "app_errors": [...], "confirmed": bool | None}
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    reproduce: dict[str, str] = field(default_factory=dict)  # server -> command
    hypothesis: str = ""

    @classmethod
    def from_failure(
        cls, key: str, check_ids: list[str], plan: ConnectionPlan, observation: Observation
    ) -> Finding:
        errors = observation.app_errors
        leaf = errors[0].partition("\n")[0] if errors else f"client saw {observation.seen!r}"
        return cls(
            id=hashlib.sha1(key.encode()).hexdigest()[:8],
            route=plan.route,
            checks=sorted(set(check_ids)),
            plan=repr(plan),
            steps=[_step_data(step) for step in plan.steps],
            target=plan.target,
            headers=[list(header) for header in plan.headers],
            leaf=leaf[:500],
        )

    def seen_on(
        self,
        server: str,
        observation: Observation,
        confirmed: bool | None,
        reproduce: str,
        hypothesis: str,
    ) -> None:
        self.servers[server] = {
            "client_events": [repr(event) for event in observation.seen],
            "app_errors": observation.app_errors,
            "confirmed": confirmed,
        }
        self.reproduce[server] = reproduce
        self.hypothesis = self.hypothesis or hypothesis

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def merge(self, other: Finding) -> None:
        """Another transport's (or process's) record of the same finding."""
        self.servers.update(other.servers)
        self.reproduce.update(other.reproduce)
        self.hypothesis = self.hypothesis or other.hypothesis


def _step_data(step: object) -> list[Any]:
    if isinstance(step, SendText):
        return ["send_text", step.text]
    if isinstance(step, SendBytes):
        return ["send_bytes", step.data.hex()]
    if isinstance(step, CloseWith):
        return ["close", step.code, step.reason]
    return ["drop"]


def finding_from_json(payload: Mapping[str, Any]) -> Finding:
    return Finding(**payload)


# --- the standalone script ---------------------------------------------------------------------

_SCRIPT = '''"""wsconform finding {id}: {checks} on {route}.

{leaf}

Replays the minimal connection with Starlette's TestClient, which raises the app's own
exception here. Run it from the folder you ran wsconform in: python {filename}
"""

import sys

from starlette.testclient import TestClient

sys.path.insert(0, {app_path!r})
from {module} import {attribute} as target  # noqa: E402

app = {app_expression}

with TestClient(app) as client:  # runs the app's lifespan, as the servers did
    with client.websocket_connect({target!r}, headers={headers!r}) as websocket:
{steps}
print("the connection ended without an exception escaping the app")
'''


def repro_script(finding: Finding, app: str, app_path: str) -> str:
    """A script a user can attach to a bug report: the app's import and a plain client doing
    the minimal plan, nothing of wsconform."""
    module, _, attribute = app.partition(":")
    is_factory = attribute.endswith("()")
    lines = [f"        {_script_step(step)}" for step in finding.steps]
    if not finding.steps or finding.steps[-1][0] not in ("close", "drop"):
        lines.append("        websocket.close(1000)")
    return _SCRIPT.format(
        id=finding.id,
        checks=", ".join(finding.checks),
        route=finding.route,
        leaf=finding.leaf.replace('"""', "'''"),
        filename=f"{finding.id}.py",
        app_path=app_path or ".",
        module=module,
        attribute=attribute.removesuffix("()"),
        app_expression="target()  # the app factory" if is_factory else "target",
        target=finding.target,
        headers=dict(finding.headers),
        steps="\n".join(lines),
    )


def _script_step(step: list[Any]) -> str:
    kind = step[0]
    if kind == "send_text":
        return f"websocket.send_text({step[1]!r})"
    if kind == "send_bytes":
        return f"websocket.send_bytes(bytes.fromhex({step[1]!r}))"
    if kind == "close":
        code = 1005 if step[1] is None else step[1]
        return f"websocket.close({code}, {step[2]!r})"
    # TestClient has no TCP to abort: what a server tells the app when the client vanishes.
    return 'websocket.send({"type": "websocket.disconnect", "code": 1006})'


def write_repro_scripts(
    findings: Iterable[Finding], app: str, app_path: str, directory: Path
) -> list[Path]:
    written = []
    for finding in findings:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{finding.id}.py"
        path.write_text(repro_script(finding, app, app_path))
        written.append(path)
    return written
