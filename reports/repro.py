"""A standalone reproduction script for every server divergence in a results.json.

For each failing (check, server) cell whose evidence holds what was done (a lifecycle
transcript, a raw-ASGI probe's program, a wire or handshake probe's bytes), writes
`repro/<check>--<server>.py` beside the results: a raw ASGI app doing the app's steps (or
echoing), a plain-socket client doing the client's (or writing the same bytes), the server
started with its own command line, and a comparison with what wsconform saw: what a
maintainer needs for an upstream bug report, with no wsconform installed. The result's evidence
gets `repro_script`, which the report links.

    python -m wsconform.reports.repro reports/out/results.json
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from wsconform.conformance.checks import CHECKS
from wsconform.conformance.engine.results import write_results
from wsconform.conformance.engine.vocabulary import STEP_TYPES

FAILING = ("fail", "non-strict")
REPRO_PATH = "/repro"

# Each real server's own command line, run as `python <args>` with `repro.py` as the module.
UVICORN = ["-m", "uvicorn", "repro:app", "--host", "127.0.0.1", "--port", "{port}"]
GRANIAN = ["-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}"]
GUNICORN = ["-m", "gunicorn", "--workers", "1", "--bind", "127.0.0.1:{port}"]
SERVER_COMMANDS: dict[str, list[str]] = {
    "uvicorn-sansio": [*UVICORN, "--ws", "websockets-sansio"],
    "uvicorn-websockets": [*UVICORN, "--ws", "websockets"],
    "uvicorn-wsproto": [*UVICORN, "--ws", "wsproto"],
    "hypercorn": ["-m", "hypercorn", "repro:app", "--bind", "127.0.0.1:{port}"],
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "repro:app"],
    "granian": [*GRANIAN, "repro:app"],
    "gunicorn": [*GUNICORN, "--worker-class", "asgi", "repro:app"],
    "gunicorn-uvicorn": [*GUNICORN, "--worker-class", "uvicorn_worker.UvicornWorker", "repro:app"],
}
PACKAGES = {server: server.partition("-")[0] for server in SERVER_COMMANDS}
# A `<server>+tls` finding's script adds these to the server's command line, with the files
# of a certificate it makes at run time (the options targets/servers/*_server.py serve TLS with).
TLS_OPTIONS: dict[str, list[str]] = {
    "uvicorn-sansio": ["--ssl-certfile", "{certfile}", "--ssl-keyfile", "{keyfile}"],
    "hypercorn": ["--certfile", "{certfile}", "--keyfile", "{keyfile}"],
    "granian": ["--ssl-certificate", "{certfile}", "--ssl-keyfile", "{keyfile}"],
}


class NotReplayable(ValueError):
    """The evidence has no step the script could replay (or one it cannot express)."""


@dataclass
class Program:
    steps: list[list[Any]]  # ["app", step] or ["client", action]
    expected: dict[str, list[Any]]  # the summary the script compares its own run with


def _b64(value: Any) -> Any:
    """Text as the JSON codec's bytes object (what the ASGI message carries as bytes)."""
    return {"__bytes__": base64.b64encode(value.encode("latin-1")).decode("ascii")}


def app_step(step: Mapping[str, Any]) -> dict[str, Any]:
    """A puppet step (as evidence stores it) as the raw ASGI the script's app performs."""
    kind = step.get("kind")
    if kind == "RawSend":
        return {"send": [step["message"]]}
    if kind in ("RawReceive", "ReceiveText", "ReceiveBytes", "ReceiveJson"):
        return {"receive": True}
    if kind == "Accept":
        headers = [[_b64(name), _b64(value)] for name, value in step.get("headers", [])]
        message = {"type": "websocket.accept", "subprotocol": step.get("subprotocol")}
        return {"send": [{**message, "headers": headers} if headers else message]}
    if kind == "SendText":
        return {"send": [{"type": "websocket.send", "text": step["data"]}]}
    if kind == "SendBytes":
        return {"send": [{"type": "websocket.send", "bytes": step["data"]}]}
    if kind == "SendJson":
        text = json.dumps(step["data"], separators=(",", ":"), ensure_ascii=False)
        return {"send": [{"type": "websocket.send", "text": text}]}
    if kind in ("Close", "RaiseWebSocketException"):
        # Starlette turns a WebSocketException into exactly this close.
        close = {"type": "websocket.close", "code": step.get("code", 1000)}
        return {"send": [{**close, "reason": step["reason"]} if step.get("reason") else close]}
    if kind == "RaiseError":
        return {"raise": step.get("message", "raised on purpose")}
    if kind == "Return":
        return {"return": True}
    if kind == "SendDenialResponse":
        start = {"type": "websocket.http.response.start", "status": step["status"],
                 "headers": [[_b64("content-type"), _b64("text/plain")]]}  # fmt: skip
        return {"send": [start, {"type": "websocket.http.response.body", "body": step["body"]}]}
    raise NotReplayable(f"no raw ASGI for app step {kind!r}")


def client_step(action: Mapping[str, Any]) -> dict[str, Any]:
    kind = action.get("kind")
    if kind == "Connect":
        return {"kind": "connect", "headers": action.get("headers", []),
                "subprotocols": action.get("subprotocols", []),
                "query": action.get("query", "")}  # fmt: skip
    if kind == "ClientSendText":
        return {"kind": "send-text", "data": action["data"]}
    if kind == "ClientSendJson":
        return {"kind": "send-text", "data": json.dumps(action["data"])}
    if kind == "ClientSendBytes":
        return {"kind": "send-bytes", "data": action["data"]}
    if kind == "ClientClose":
        return {"kind": "close", "code": action.get("code"), "reason": action.get("reason", "")}
    if kind == "ClientDrop":
        return {"kind": "drop"}
    if kind in ("ClientListen", "Observe"):
        return {"kind": "observe"}
    raise NotReplayable(f"no client step for {kind!r}")


def _outcome(outcome: Mapping[str, Any] | None) -> str:
    if outcome is None:
        return "pending"
    exc_type = outcome.get("exc_type")
    return str(exc_type) if exc_type else "ok"


def _event(event: Mapping[str, Any] | None) -> list[Any]:
    if event is None:
        return ["NoEvent", None, None]
    kind = event.get("kind")
    if kind == "Closed":
        return ["Closed", 1006 if not event.get("close_frame_seen", True) else event.get("code"),
                None]  # fmt: skip
    return [kind, None, event.get("status") if kind == "Denied" else None]


def program_from_evidence(evidence: Mapping[str, Any]) -> Program:
    """The steps of a raw probe (`program` + `app_steps` + `client_saw`) or of a lifecycle
    transcript, with what wsconform observed."""
    steps: list[list[Any]] = []
    app: list[str] = []
    client: list[list[Any]] = []
    if "program" in evidence:
        outcomes: Iterator[Mapping[str, Any]] = iter(evidence.get("app_steps", []))
        seen = iter(evidence.get("client_saw", []))
        for item in evidence["program"]:
            kind = item.get("kind")
            if kind == "Briefly":
                item = item["step"]
                kind = item.get("kind")
            if kind == "Observe":
                steps.append(["client", {"kind": "observe"}])
                client.append(_event(next(seen, None)))
            elif kind in STEP_TYPES:  # an app step, by the vocabulary's own list
                steps.append(["app", app_step(item)])
                app.append(_outcome(next(outcomes, {}).get("outcome")))
            else:
                steps.append(["client", client_step(item)])
    elif "transcript" in evidence:
        for line in evidence["transcript"]:
            if line["actor"] == "app":
                steps.append(["app", app_step(line["action"])])
                app.append(_outcome(line.get("outcome")))
            else:
                steps.append(["client", client_step(line["action"])])
            if line.get("client_saw") is not None:
                steps.append(["client", {"kind": "observe"}])
                client.append(_event(line["client_saw"]))
    else:
        raise NotReplayable("the evidence holds no steps")
    if not any(actor == "client" and step["kind"] == "connect" for actor, step in steps):
        raise NotReplayable("no connection in the steps")
    return Program(steps, {"app": app, "client": client})


def script_name(check_id: str, server: str) -> str:
    return f"{check_id}--{server}.py"


def render(check_id: str, server: str, result: Mapping[str, Any], program: Program) -> str:
    """The script of a lifecycle or raw probe: the steps, played by a raw app and a client."""
    query = next(
        (step.get("query") for actor, step in program.steps if step.get("kind") == "connect"),
        "",
    )
    return _template("repro.py.j2", check_id, server, result).render(
        steps_json=repr(json.dumps(program.steps, ensure_ascii=False)),
        expected_json=repr(json.dumps(program.expected)),
        path=REPRO_PATH + (f"?{query}" if query else ""),
    )


def _check_view(check_id: str) -> dict[str, str]:
    check = CHECKS.get(check_id)
    if check is None:
        return {"id": check_id, "title": check_id, "grade": "", "requirement": "", "source": ""}
    return {"id": check.id, "title": check.title, "grade": check.grade.value,
            "requirement": check.requirement, "source": check.source}  # fmt: skip


def render_replay(check_id: str, server: str, result: Mapping[str, Any]) -> str:
    """The script of a wire or handshake probe: the same bytes, written to the server."""
    replay = result["evidence"]["replay"]
    return _template("repro_bytes.py.j2", check_id, server, result).render(
        request=replay["request"],
        writes=replay["writes"],
        expected_json=repr(json.dumps(replay["expected"])),
    )


class _Template:
    """A script template with what every script says about its cell already filled in."""

    def __init__(self, template: jinja2.Template, common: dict[str, Any]) -> None:
        self._template = template
        self._common = common

    def render(self, **specific: Any) -> str:
        return self._template.render(**self._common, **specific)


def _template(name: str, check_id: str, server: str, result: Mapping[str, Any]) -> _Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        keep_trailing_newline=True,
        autoescape=False,  # Python scripts, not HTML
    )
    command = SERVER_COMMANDS[server]
    details = result.get("evidence", {}).get("details") or [""]
    common = {
        "check": _check_view(check_id),
        "server": server,
        "verdict": result["verdict"],
        "detail": " ".join(str(details[0]).split())[:400],
        "package": PACKAGES[server],
        "filename": script_name(check_id, server),
        "command": command,
        "manual": ["python", *(part.replace("{port}", "8000") for part in command)],
    }
    return _Template(environment.get_template(name), common)


def render_shutdown(check_id: str, server: str, result: Mapping[str, Any]) -> str:
    """The script of a shutdown: three connections held, SIGTERM, what each client gets."""
    after = result["evidence"]["client_saw_after_stop"]
    expected = {state: _after_stop(event) for state, event in after.items()}
    return _template("repro_shutdown.py.j2", check_id, server, result).render(
        expected_json=repr(json.dumps(expected))
    )


def _after_stop(event: Mapping[str, Any]) -> list[Any]:
    kind = event.get("kind")
    if kind == "Denied":
        return ["http", event.get("status")]
    if kind == "Closed":
        return ["close", event.get("code")] if event.get("close_frame_seen", True) else ["drop"]
    return ["nothing"]


def script_for(check_id: str, server: str, result: Mapping[str, Any]) -> str:
    """The script for a failing cell: bytes replayed (wire, handshake), a shutdown, or steps
    played."""
    evidence = result.get("evidence") or {}
    if evidence.get("replay"):
        return render_replay(check_id, server, result)
    if evidence.get("client_saw_after_stop"):
        return render_shutdown(check_id, server, result)
    return render(check_id, server, result, program_from_evidence(evidence))


def write_scripts(results: Iterable[dict[str, Any]], folder: Path) -> list[Path]:
    """A script per failing (check, server) cell on a real server with replayable evidence;
    each such result gets `repro_script` (relative to the report) in its evidence."""
    written: list[Path] = []
    for result in results:
        server, check_id = result.get("server", ""), result.get("check", "")
        if result.get("verdict") not in FAILING or server not in SERVER_COMMANDS:
            continue
        try:
            script = script_for(check_id, server, result)
        except NotReplayable:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / script_name(check_id, server)
        path.write_text(script)
        result.setdefault("evidence", {})["repro_script"] = f"{folder.name}/{path.name}"
        written.append(path)
    return written


def add_scripts(results_path: Path) -> list[Path]:
    """Write the scripts of a results.json into `repro/` beside it and link them from it."""
    data = json.loads(results_path.read_text())
    written = write_scripts(data.get("results", []), results_path.parent / "repro")
    if written:
        write_results(data, results_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wsconform.reports.repro", description=__doc__)
    parser.add_argument("results", type=Path, help="a results.json")
    arguments = parser.parse_args(argv)
    written = add_scripts(arguments.results)
    print(f"wrote {len(written)} repro scripts into {arguments.results.parent / 'repro'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
