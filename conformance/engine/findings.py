"""Findings in a user's app: one per distinct bug, whatever transports showed it.

A generic check that fails makes a finding: the route, the minimal connection plan Hypothesis
shrank it to, what the client saw on each server, the leaf exception and the app's frame that
raised it, whether replaying the plan alone on a freshly built app failed again ("confirmed"),
the command that runs it again, and a standalone script that reproduces it without wsconform.
Two failures are the same finding when they fail the same checks on the same route with the
same leaf exceptions raised at the same places (`error_signature`), whatever the values; on any
route, where only checks of the server's or the framework's layer failed. An app's crash is one
finding however each server answered it (a 1011 fails generic.no-server-error too, granian's
close without a code does not). An exception the server's own send raised for a message the
app was allowed to send is the server's: it is no part of an app's bug, and one cause of the
server's wherever in the app it escaped.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import CHECKS, Layer
from wsconform.conformance.engine.plans import (
    ClientDoes,
    CloseWith,
    ConnectionPlan,
    CrowdPlan,
    Fails,
    Join,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.rfc6455 import is_valid_wire_close_code
from wsconform.targets.servers.witness import (
    error_signature,
    is_server_send_failure,
    refusal_signature,
    the_apps_doing,
)


def finding_key(route: str, check_ids: Iterable[str], app_errors: Iterable[str]) -> str:
    """What makes two failures the same bug (see the module's docstring). Where every check
    that failed judges the server or the framework, not the app (a disconnect code, a scope
    value), the cause is the same whichever route showed it: one finding, not one per route."""
    ids = sorted(set(check_ids))
    errors = list(app_errors)
    if whose_doing(ids, errors):
        route = ""
        # The server's refused send is one cause wherever in the app it escaped.
        signatures = {
            refusal_signature(error) if is_server_send_failure(error) else error_signature(error)
            for error in errors
        }
    else:
        # The app's own exceptions make its bug; a send the server refused meanwhile is the
        # server's (its own checks judge it), not another bug of the app's.
        signatures = {error_signature(error) for error in the_apps_doing(errors)}
        if set(ids) <= _AN_APPS_CRASH and _CRASH in ids:
            # How a server answers the crash (a close 1011 on one, a close without a code on
            # another) is the server's: the crash is one finding whatever answered it.
            ids = [_CRASH]
    return json.dumps([route, ids, sorted(signatures - {""})])


# An exception escaping the app on one connection, and the server's answer to it.
_CRASH = "generic.no-unhandled-exception"
_AN_APPS_CRASH = frozenset({_CRASH, "generic.no-server-error"})


# App-layer checks whose failure is the server's answer to an exception that escaped the app
# (a close 1011, a 5xx, a drop): when every such exception is the server's own send refusing a
# message the app was allowed to send, the answer is the server's doing too (daphne refuses
# close codes other than 1000 and 3000-4999, then closes with 1011).
_ANSWERS_TO_AN_ESCAPE = frozenset({"generic.no-server-error"})


def whose_doing(check_ids: Iterable[str], app_errors: Iterable[str] = ()) -> str | None:
    """Who under the app a failure of these checks is the doing of, "the server" or "the
    framework", where every one of them judges that layer; None: the app's own. `app_errors`:
    what escaped the app meanwhile (the witness's reports)."""
    errors = list(app_errors)
    only_refusals = bool(errors) and all(is_server_send_failure(error) for error in errors)
    layers = {
        Layer.SERVER
        if only_refusals and check_id in _ANSWERS_TO_AN_ESCAPE
        else CHECKS[check_id].layer
        for check_id in check_ids
    }
    if Layer.APP in layers or not layers:
        return None
    return "the framework" if Layer.FRAMEWORK in layers else "the server"


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
    # The standalone script, relative to the report, once it has reproduced the finding.
    repro_script: str = ""
    repro_verdict: str = ""  # what the script printed when wsconform ran it
    # The server's or the framework's doing (then one finding for every route that showed
    # it: see finding_key); None: the app's.
    whose: str | None = None
    # A crowd's rooms, [target, headers] each, that its clients join (none for one connection).
    rooms: list[list[Any]] = field(default_factory=list)

    @classmethod
    def from_failure(
        cls,
        key: str,
        check_ids: list[str],
        plan: ConnectionPlan | CrowdPlan,
        observation: Observation,
    ) -> Finding:
        errors = observation.app_errors
        whose = whose_doing(check_ids, errors)
        # The app's bug is shown by its own exception, not by a send the server refused.
        shown = errors if whose else the_apps_doing(errors)
        leaf = shown[0].partition("\n")[0] if shown else f"client saw {observation.seen!r}"
        return cls(
            id=hashlib.sha1(key.encode()).hexdigest()[:8],
            route=plan.route,
            checks=sorted(set(check_ids)),
            plan=repr(plan),
            steps=[_step_data(step) for step in plan.steps],
            target=plan.target,
            headers=[list(header) for header in plan.headers],
            leaf=leaf[:500],
            whose=whose,
            rooms=[[target, [list(h) for h in headers]] for target, headers in plan.rooms]
            if isinstance(plan, CrowdPlan)
            else [],
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

    def confirmation(self) -> str:
        """What replaying the minimal example alone on a fresh app showed, in a few words
        (nothing where it was not replayed)."""
        confirmations = [seen.get("confirmed") for seen in self.servers.values()]
        if any(confirmations):
            return "confirmed on a fresh app"
        if False in confirmations:
            # Seen once, not again alone: a timing or another client's doing, not a proven bug.
            return "not confirmed: alone on a fresh app it did not fail again"
        return ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def merge(self, other: Finding) -> None:
        """Another transport's (or process's) record of the same finding (which may have
        failed more checks there: a server answering an app's crash with 1011)."""
        self.checks = sorted({*self.checks, *other.checks})
        self.servers.update(other.servers)
        self.reproduce.update(other.reproduce)
        self.hypothesis = self.hypothesis or other.hypothesis


def _step_data(step: object) -> list[Any]:
    if isinstance(step, ClientDoes):
        return ["client", step.client, *_step_data(step.action)]
    if isinstance(step, Join):
        return ["join", step.room]
    if isinstance(step, Fails):
        return ["fails", *_step_data(step.step)]
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

# The transports that call the app in wsconform's own process: a finding they showed is replayed
# by calling the app as ASGI; one only a real server showed is replayed on that server.
IN_PROCESS_SERVERS = ("inmemory", "testclient")
# How long wsconform waits for a script it has just written to say whether it reproduces.
VERIFY_BOUND_S = 90.0
REPRODUCED = "REPRODUCED"
TLS_SUFFIX = "+tls"  # the transports serving wss:// (targets/servers/tls.py)
CROWD_NOT_SCRIPTED = (
    "no standalone script: only a real server showed this crowd finding, and the script "
    "replays a crowd by calling the app as ASGI"
)

_HEADER = '''#!/usr/bin/env python3
"""wsconform finding {id}: {checks} on {route}.

{leaf}

{how}
It needs Python and your project's own dependencies, nothing of wsconform. Run it from the
folder you ran wsconform in:

    python {filename}

It prints REPRODUCED (exit 0) or NOT REPRODUCED (exit 3) with what it observed.
"""

'''

_IN_PROCESS = (
    "Replays the minimal connection by calling the app as ASGI directly (as a server would:\n"
    "its lifespan, a websocket scope, the client's messages), with every wait bounded."
)
_CROWD_IN_PROCESS = (
    "Replays the minimal crowd by calling the app as ASGI directly (as a server would: its\n"
    "lifespan, one websocket scope per client, each client's messages in the finding's order),\n"
    "with every wait bounded."
)
_ON_SERVER = (
    "Replays the minimal connection on {server}, where wsconform saw it, started with its own\n"
    "command line (`{command}`), with a plain-socket client."
)

_WITH_TLS = (
    "\nOn wss://: the certificate is made at run time by trustme (`pip install trustme`), and\n"
    "the client trusts its CA alone."
)
_BEHIND_NGINX = (
    "Replays the minimal connection behind nginx, where wsconform saw it: uvicorn started with\n"
    "its own command line (`{command}`), nginx (`apt-get install nginx`) in front of it from a\n"
    "temporary prefix with the configuration of wsconform's `nginx` transport (FINDING's\n"
    "`proxy_config`), and a plain-socket client connected to nginx."
)


def _valid_close_code_ranges() -> list[list[int]]:
    """RFC 6455's valid wire close codes, as [low, high] runs, for the script to judge with."""
    ranges: list[list[int]] = []
    for code in range(1000, 5000):
        if not is_valid_wire_close_code(code):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return ranges


def _leaf_exceptions(finding: Finding) -> list[str]:
    """The leaf exception types the app raised, as the finding's first app error names them."""
    for seen in finding.servers.values():
        for error in seen.get("app_errors", []):
            leaves = error_signature(error).split(" + ")
            return sorted({leaf.partition(" at ")[0] for leaf in leaves if leaf})
    return []


def replay_server(finding: Finding) -> str | None:
    """Where the script replays the finding: None for in process, or the real server that saw
    it, so that an outcome only a server shows is seen again there; a server without a proxy or
    TLS in front first (the fewest layers that show it), then by name."""
    if any(server in IN_PROCESS_SERVERS for server in finding.servers):
        return None
    seen_on = sorted(
        (_stack_layered(server), server) for server in finding.servers if _replayable(server)
    )
    return seen_on[0][1] if seen_on else None


def _stack_layered(server: str) -> bool:
    from wsconform.targets.servers.nginx_server import PROXY

    return server == PROXY or server.endswith(TLS_SUFFIX)


def _replayable(server: str) -> bool:
    """Whether the script can start `server` with only the user's project, trustme and nginx."""
    from wsconform.reports.repro import SERVER_COMMANDS, TLS_OPTIONS  # jinja2 comes with it
    from wsconform.targets.servers.nginx_server import PROXY

    base = server.removesuffix(TLS_SUFFIX)
    return server == PROXY or (base in TLS_OPTIONS if base != server else base in SERVER_COMMANDS)


def _server_command(server: str, app: str) -> list[str]:
    """The command line of the server the script starts: for `nginx`, the uvicorn behind it."""
    from wsconform.reports.repro import SERVER_COMMANDS, TLS_OPTIONS  # jinja2 comes with it
    from wsconform.targets.servers.nginx_server import FRONTED, PROXY

    base = FRONTED if server == PROXY else server.removesuffix(TLS_SUFFIX)
    module_app, is_factory = app.removesuffix("()"), app.endswith("()")
    command = [module_app if part == "repro:app" else part for part in SERVER_COMMANDS[base]]
    if server != base and server != PROXY:
        command.extend(TLS_OPTIONS[base])
    if is_factory and base.startswith(("uvicorn", "granian")):
        command.append("--factory")
    elif is_factory:
        command = [app if part == module_app else part for part in command]
    return command


def _proxy_config(server: str) -> str:
    """nginx.conf as the `nginx` transport runs it, the ports left for the script to fill."""
    from wsconform.targets.servers.nginx_server import PROXY, RECOMMENDED, nginx_config

    return nginx_config("{port}", "{upstream_port}", RECOMMENDED) if server == PROXY else ""


def repro_script(finding: Finding, app: str, app_path: str) -> str:
    """A script a user can attach to a bug report: the finding's minimal connection replayed on
    the app (see `wsconform.reports.finding_repro`), judged by the finding's checks."""
    from wsconform.reports import finding_repro  # a script body, read as text

    server = None if finding.rooms else replay_server(finding)
    command = _server_command(server, app) if server else []
    data = {
        "id": finding.id,
        "checks": finding.checks,
        "route": finding.route,
        "app": app,
        "factory": app.endswith("()"),
        "app_path": app_path,
        "target": finding.target,
        "headers": finding.headers,
        "steps": finding.steps,
        "leaf_exceptions": _leaf_exceptions(finding),
        "valid_close_codes": _valid_close_code_ranges(),
        "server": server or "",
        "server_command": command,
        "tls": bool(server and server.endswith(TLS_SUFFIX)),
        "proxy_config": _proxy_config(server or ""),
        "rooms": finding.rooms,
    }
    how = (
        (_BEHIND_NGINX if data["proxy_config"] else _ON_SERVER).format(
            server=server, command=" ".join(["python", *command])
        )
        + (_WITH_TLS if data["tls"] else "")
        if server
        else _CROWD_IN_PROCESS
        if finding.rooms
        else _IN_PROCESS
    )
    header = _HEADER.format(
        id=finding.id,
        checks=", ".join(finding.checks),
        route=finding.route,
        leaf=finding.leaf.replace("\\", "/").replace('"""', "'''"),
        how=how,
        filename=f"{finding.id}.py",
    )
    body = Path(finding_repro.__file__).read_text().partition('"""\n\n')[2]
    footer = (
        f"\n\nFINDING = json.loads({json.dumps(json.dumps(data, ensure_ascii=False))})\n\n"
        'if __name__ == "__main__":\n    sys.exit(main(FINDING))\n'
    )
    return header + body.replace("import asyncio\n", "import asyncio\nimport json\n", 1) + footer


def verify_repro_script(path: Path, bound_s: float = VERIFY_BOUND_S) -> str:
    """Run a script once, where wsconform runs, with this interpreter (the project's); its
    verdict line: REPRODUCED..., NOT REPRODUCED..., or why it gave none."""
    try:
        done = subprocess.run(
            [sys.executable, str(path)],
            capture_output=True,
            text=True,
            timeout=bound_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"NOT REPRODUCED: the script did not end within {bound_s:.0f} s"
    lines = [line for line in done.stdout.splitlines() if "REPRODUCED" in line]
    if done.returncode == 0 and lines and lines[-1].startswith(REPRODUCED):
        return lines[-1]
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return lines[-1] if lines else f"NOT REPRODUCED: the script failed: {last}"


def write_repro_scripts(
    findings: Iterable[Finding], app: str, app_path: str, directory: Path
) -> list[Path]:
    """A script per finding, run once: a finding links its script (`repro_script`, relative
    to the report) only if the script reproduced it; `repro_verdict` says what it printed."""
    written = []
    for finding in findings:
        if finding.rooms and replay_server(finding) is not None:
            # A crowd is replayed in process only; one a real server alone showed is replayed
            # by wsconform's own command (`reproduce`).
            finding.repro_verdict = CROWD_NOT_SCRIPTED
            continue
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{finding.id}.py"
        path.write_text(repro_script(finding, app, app_path))
        written.append(path)
        finding.repro_verdict = verify_repro_script(path)
        reproduced = finding.repro_verdict.startswith(REPRODUCED)
        finding.repro_script = f"{directory.name}/{path.name}" if reproduced else ""
    return written
