"""The body of a finding's standalone repro script (`conformance.engine.findings.repro_script`
puts this module's source below the finding's description and above its data).

It needs the Python standard library and the user's own project, nothing else (but trustme for
a finding seen on `wss://`, and nginx for one seen behind it): no wsconform,
no TestClient or httpx (whose APIs differ across the Starlette releases a project may pin).
An in-process finding is replayed by calling the app as ASGI directly: a scope, a receive
queue, the app's sends collected, every wait bounded in time; a crowd finding so too, one
scope per client, their steps in the finding's order. A finding only a real server showed is
replayed on that server, started with its own command line, by a plain-socket client (on
`wss://` with a certificate trustme makes at run time, or behind nginx started from a temporary
prefix, where wsconform saw it so).
Either way the script judges what it saw with the finding's checks and prints REPRODUCED or
NOT REPRODUCED with the observation, so that wsconform can run it once and link it only if it
reproduces.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

Message = MutableMapping[str, Any]
BOUND_S = 10.0  # the longest the script waits for any one thing (the app's answer, a server)
# On a real server nothing tells the client that the app is done with a step: it listens for
# what the step causes until the server has been quiet this long, as wsconform's run did.
STEP_QUIET_S = 0.5


# --- what was observed, and the finding's checks judged on it ------------------------------------


@dataclass
class Seen:
    """What the client saw (as wire-level events) and what the app raised (leaf type names)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    client_closed_at: int | None = None  # how many events had come when the client closed
    raised: list[str] = field(default_factory=list)
    traceback: str = ""

    def before_client_close(self) -> list[dict[str, Any]]:
        return (
            self.events if self.client_closed_at is None else self.events[: self.client_closed_at]
        )


def valid_close_code(code: int, ranges: list[list[int]]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def judge(check: str, seen: Seen, finding: dict[str, Any]) -> str | None:
    """Why `check` fails on what was seen, or None when it passes (or cannot be judged)."""
    events = seen.events
    accepted = bool(events) and events[0]["kind"] == "Accepted"
    if check == "generic.no-unhandled-exception":
        expected = {name.rpartition(".")[2] for name in finding["leaf_exceptions"]}
        if seen.raised and expected <= set(seen.raised):
            return f"the app raised {', '.join(seen.raised)}"
        return None
    if check == "generic.no-server-error":
        for event in seen.before_client_close():
            if event["kind"] == "Denied" and (event.get("status") or 0) >= 500:
                return f"HTTP {event['status']} before the client closed"
            if event["kind"] == "Closed" and event.get("code") == 1011:
                return "close 1011 before the client closed"
            if event["kind"] == "Closed" and accepted and not event.get("close_frame_seen", True):
                return "the connection was dropped without a close frame"
        return None
    if check == "generic.close-code-valid":
        bad = [
            event["code"]
            for event in events
            if event["kind"] == "Closed"
            and event.get("close_frame_seen", True)
            and event.get("code") is not None
            and not valid_close_code(event["code"], finding["valid_close_codes"])
        ]
        return f"invalid close codes {bad}" if bad else None
    if check == "generic.no-data-before-denial":
        if not accepted and any(event["kind"] == "Message" for event in events):
            return "a message reached the client of a refused connection"
        return None
    if check == "generic.browser.refusal-visible":
        first = events[0] if events else {}
        refused_with_code = first.get("kind") == "Closed" and not first.get(
            "close_frame_seen", True
        )
        if refused_with_code and first.get("code") not in (None, 1000):
            return f"the handshake was refused with close {first['code']} before accept"
        status = first.get("status") if first.get("kind") == "Denied" else None
        if status is not None and status not in (403, 404) and status < 500:
            return f"the handshake was refused with HTTP {status}"
        return None
    return None


def verdict(finding: dict[str, Any], seen: Seen, where: str) -> int:
    print(f"on {where}, the client saw:")
    for event in seen.events:
        print(f"  {event}")
    if seen.traceback:
        print("the app raised:\n" + seen.traceback.rstrip())
    failing = {check: judge(check, seen, finding) for check in finding["checks"]}
    for check, why in failing.items():
        print(f"  {check}: {why or 'not failed this time'}")
    if all(failing.values()):
        print(f"REPRODUCED: {'; '.join(str(why) for why in failing.values())}")
        return 0
    print("NOT REPRODUCED: this run did not fail every check of the finding (see above)")
    return 3


# --- in process: the app called as ASGI ----------------------------------------------------------


def load_app(finding: dict[str, Any]) -> Any:
    sys.path.insert(0, os.path.abspath(finding["app_path"] or "."))
    module_name, _, attribute = finding["app"].partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.removesuffix("()").split("."):
        target = getattr(target, part)
    return target() if finding["factory"] else target


def leaves(error: BaseException) -> list[BaseException]:
    """The innermost exceptions of an exception group, or the exception itself."""
    nested = getattr(error, "exceptions", None)
    if isinstance(nested, tuple) and nested:
        return [leaf for inner in nested for leaf in leaves(inner)]
    return [error]


class Lifespan:
    """The app's lifespan, run as servers run it by default: an app that does not support it
    (raises on the lifespan scope) is served without one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}  # fmt: skip
        try:
            await self.app(scope, self.inbox.get, self.outbox.put)
        except BaseException:
            await self.outbox.put({"type": "unsupported"})

    async def _step(self, message: str) -> None:
        if self.task is None or self.task.done():
            return
        await self.inbox.put({"type": message})
        answer = await asyncio.wait_for(self.outbox.get(), BOUND_S)
        if answer["type"].endswith(".failed"):
            raise SystemExit(f"the app's lifespan failed: {answer.get('message', '')}")

    async def startup(self) -> None:
        self.task = asyncio.ensure_future(self._run())
        await self._step("lifespan.startup")

    async def shutdown(self) -> None:
        try:
            await self._step("lifespan.shutdown")
        finally:
            if self.task is not None and not self.task.done():
                self.task.cancel()


class AsgiConnection:
    """One websocket connection to the app, as a server would make it, seen from both sides."""

    def __init__(
        self, app: Any, target: str, header_list: list[list[str]], state: dict[str, Any]
    ) -> None:
        path, _, query = target.partition("?")
        headers = [(name.lower(), value) for name, value in header_list]
        protocols = [value for name, value in headers if name == "sec-websocket-protocol"]
        self.scope = {
            "type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "scheme": "ws", "path": unquote(path),
            "raw_path": path.encode("ascii", "replace"), "root_path": "",
            "query_string": query.encode("latin-1"), "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"127.0.0.1:8000")]
            + [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            "subprotocols": [p.strip() for value in protocols for p in value.split(",")],
            "state": dict(state), "extensions": {"websocket.http.response": {}},
        }  # fmt: skip
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.seen = Seen()
        self.changed = asyncio.Event()
        self.waiting = False  # the app waits in receive() with nothing queued
        self.client_gone = False
        self.disconnect: Message | None = None
        self.state = "connecting"  # connecting, open, denying, closed
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        if self.inbox.empty() and self.disconnect is not None:
            await asyncio.sleep(0)  # servers repeat the disconnect; let the loop breathe
            return dict(self.disconnect)
        if self.inbox.empty():
            self.waiting = True
            self.changed.set()
        message = await self.inbox.get()
        self.waiting = False
        if message["type"] == "websocket.disconnect":
            self.disconnect = message
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        event: dict[str, Any] | None = None
        if self.state == "closed" or self.client_gone:
            raise OSError(f"{kind!r} after the connection was closed")  # ASGI spec 2.4
        if kind == "websocket.accept" and self.state == "connecting":
            self.state = "open"
            event = {"kind": "Accepted", "subprotocol": message.get("subprotocol")}
        elif kind == "websocket.close":
            if self.state == "connecting":  # a close before accept refuses the handshake
                event = {"kind": "Denied", "status": 403}
            else:
                code = message.get("code", 1000)
                event = {"kind": "Closed", "code": code, "reason": message.get("reason") or ""}
            self.state = "closed"
        elif kind == "websocket.send" and self.state == "open":
            data = message.get("text")
            event = {"kind": "Message", "data": data if data is not None else message.get("bytes")}
        elif kind == "websocket.http.response.start" and self.state == "connecting":
            self.state = "denying"
            event = {"kind": "Denied", "status": message["status"]}
        elif kind == "websocket.http.response.body" and self.state == "denying":
            if not message.get("more_body", False):
                self.state = "closed"
        else:
            raise RuntimeError(f"{kind!r} in state {self.state!r}: no server accepts it")
        if event is not None:
            self.seen.events.append(event)
        self.changed.set()

    async def _run_app(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as error:
            self.seen.raised = [type(leaf).__name__ for leaf in leaves(error)]
            self.seen.traceback = "".join(traceback.format_exception(error))
            if not self.client_gone:
                self._server_ends(1011 if self.state == "open" else 500)
        else:
            if (
                self.state == "open" and not self.client_gone
            ):  # returned without closing: servers drop it or close it
                self.seen.events.append({"kind": "Closed", "code": 1006, "close_frame_seen": False})
            elif self.state == "connecting":
                self._server_ends(500)
        finally:
            self.changed.set()

    def _server_ends(self, status_or_code: int) -> None:
        if self.state == "open":
            self.seen.events.append({"kind": "Closed", "code": status_or_code})
        elif self.state == "connecting":
            self.seen.events.append({"kind": "Denied", "status": status_or_code})
        self.state = "closed"

    async def _until(self, condition: Callable[[], bool]) -> None:
        """Until `condition` holds, the app has ended, or the bound has passed."""

        async def wait() -> None:
            while not (condition() or (self.task is not None and self.task.done())):
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(wait(), BOUND_S)
        except asyncio.TimeoutError:
            print(f"  (nothing more from the app within {BOUND_S} s)")

    async def play(self, steps: list[list[Any]]) -> Seen:
        self.task = asyncio.ensure_future(self._run_app())
        await self.inbox.put({"type": "websocket.connect"})
        await self._until(lambda: self.state != "connecting")
        if self.state == "open":
            ended = False
            for step in steps:
                ended = await self._step(step)
                if ended or self.task.done():
                    break
            if not ended and not self.task.done():
                await self._client_closes({"type": "websocket.disconnect", "code": 1000})
        await self._until(lambda: False)  # the app's end, bounded
        if not self.task.done():
            self.task.cancel()
        return self.seen

    async def _client_closes(self, message: Message) -> None:
        self.seen.client_closed_at = len(self.seen.events)
        self.client_gone = True
        await self.inbox.put(message)

    async def _step(self, step: list[Any]) -> bool:
        kind = step[0]
        print(f"client: {kind} {step[1:]!r:.120}")
        if kind == "send_text":
            await self._sent({"type": "websocket.receive", "text": step[1]})
            return False
        if kind == "send_bytes":
            await self._sent({"type": "websocket.receive", "bytes": bytes.fromhex(step[1])})
            return False
        # A close (1005 when the frame carries no code) or a TCP drop (1006): what a server
        # tells the app in both cases.
        code = 1006 if kind == "drop" else (1005 if step[1] is None else step[1])
        reason = "" if kind == "drop" else step[2]
        await self._client_closes({"type": "websocket.disconnect", "code": code, "reason": reason})
        return True

    async def _sent(self, message: Message) -> None:
        """Deliver a message, then wait until the app has taken it and waits for the next one
        (or has ended): what it answered is then all in."""
        self.waiting = False
        await self.inbox.put(message)
        await self._until(lambda: self.waiting and self.inbox.empty())


async def replay_in_process(finding: dict[str, Any]) -> Seen:
    app = load_app(finding)
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        connection = AsgiConnection(app, finding["target"], finding["headers"], lifespan.state)
        return await connection.play(finding["steps"])
    finally:
        await lifespan.shutdown()


# --- a crowd: several clients of one app, their steps in the finding's order ---------------------

# Once every client has gone, how long the app's handlers have to return (as wsconform waited).
HANDLERS_FINISH_S = 1.0


@dataclass
class CrowdStep:
    """One client's step: who was live in which room before it, what each client got during it."""

    client: int
    action: list[Any]
    live_before: dict[int, int]
    received: dict[int, list[dict[str, Any]]]


def bad_end(seen: Seen) -> dict[str, Any] | None:
    """The server's ending of a connection that was not its client's doing."""
    accepted = bool(seen.events) and seen.events[0]["kind"] == "Accepted"
    for event in seen.before_client_close():
        if event["kind"] == "Denied" and (event.get("status") or 0) >= 500:
            return event
        if event["kind"] == "Closed" and (
            event.get("code") == 1011 or (accepted and not event.get("close_frame_seen", True))
        ):
            return event
    return None


def ended(seen: Seen) -> bool:
    return seen.client_closed_at is not None or any(
        event["kind"] in ("Closed", "Denied") for event in seen.events
    )


class Crowd:
    """The clients of a crowd finding on one app, each an `AsgiConnection`, stepped in turn:
    after each step, until every handler waits for its client again or has ended (bounded)."""

    def __init__(self, app: Any, finding: dict[str, Any], state: dict[str, Any]) -> None:
        self.app, self.finding, self.state = app, finding, state
        self.members: dict[int, AsgiConnection] = {}
        self.rooms: dict[int, int] = {}
        self.steps: list[CrowdStep] = []
        self.handlers_finished = True

    def live(self) -> dict[int, int]:
        return {
            client: self.rooms[client]
            for client, member in self.members.items()
            if member.seen.events
            and member.seen.events[0]["kind"] == "Accepted"
            and not ended(member.seen)
        }

    async def settle(self, bound: float) -> bool:
        """Until every handler waits in receive() with nothing queued, or has ended."""

        def settled() -> bool:
            return all(
                member.task is not None
                and (member.task.done() or (member.waiting and member.inbox.empty()))
                for member in self.members.values()
            )

        async def wait() -> None:
            while not settled():
                for member in self.members.values():
                    member.changed.clear()
                waits = [asyncio.ensure_future(m.changed.wait()) for m in self.members.values()]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in waits:
                        waiting.cancel()

        try:
            await asyncio.wait_for(wait(), bound)
        except asyncio.TimeoutError:
            return False
        return True

    async def step(self, client: int, action: list[Any]) -> None:
        print(f"client {client}: {action[0]} {action[1:]!r:.120}")
        live_before = self.live()
        counts = {c: len(m.seen.events) for c, m in self.members.items()}
        member = self.members.get(client)
        kind = action[0]
        if kind == "join":
            room = min(action[1], len(self.finding["rooms"]) - 1)
            target, headers = self.finding["rooms"][room]
            member = AsgiConnection(self.app, target, headers, self.state)
            self.members[client], self.rooms[client], counts[client] = member, room, 0
            member.task = asyncio.ensure_future(member._run_app())
            await member.inbox.put({"type": "websocket.connect"})
        elif member is None or ended(member.seen):
            return
        elif kind in ("send_text", "send_bytes", "fails"):
            sent = action[1:] if kind == "fails" else action
            data = sent[1] if sent[0] == "send_text" else bytes.fromhex(sent[1])
            key = "text" if sent[0] == "send_text" else "bytes"
            member.waiting = False
            await member.inbox.put({"type": "websocket.receive", key: data})
        else:  # a close (1005 without a code) or a TCP drop (1006), as the app hears them
            code = 1006 if kind == "drop" else (1005 if action[1] is None else action[1])
            reason = "" if kind == "drop" else action[2]
            await member._client_closes(
                {"type": "websocket.disconnect", "code": code, "reason": reason}
            )
        await self.settle(STEP_QUIET_S)
        received = {
            c: m.seen.events[counts.get(c, 0) :]
            for c, m in self.members.items()
            if len(m.seen.events) > counts.get(c, 0)
        }
        self.steps.append(CrowdStep(client, action, live_before, received))

    async def play(self) -> None:
        for _, client, *action in self.finding["steps"]:
            await self.step(client, action)
        for client in sorted(self.members):  # then everyone still there leaves
            await self.step(client, ["close", 1000, ""])
        self.handlers_finished = await self.settle(HANDLERS_FINISH_S)
        for member in self.members.values():
            if member.task is not None and not member.task.done():
                member.task.cancel()

    def raised(self) -> list[str]:
        return [name for member in self.members.values() for name in member.seen.raised]


def judge_crowd(check: str, crowd: Crowd, finding: dict[str, Any]) -> str | None:
    """Why `check` fails on what the crowd saw (as wsconform judged it), or None."""
    expected = {name.rpartition(".")[2] for name in finding["leaf_exceptions"]}
    if expected and not expected <= set(crowd.raised()):
        return None  # not the finding's own error: another bug, or none
    if check == "generic.crowd.no-collateral-failure":
        return collateral_failure(crowd, expected)
    if check == "generic.crowd.survivors-keep-working":
        return refused_newcomer(crowd)
    if check == "generic.crowd.broadcast-reaches-all":
        return broadcast_gap(crowd)
    if check == "generic.crowd.handlers-finish":
        if crowd.handlers_finished:
            return None
        return f"a handler was still running {HANDLERS_FINISH_S} s after every client had gone"
    return None


def collateral_failure(crowd: Crowd, expected: set[str]) -> str | None:
    """A client ended badly by the server, or whose handler raised the finding's error after
    it had left, that never made its own handler fail (wsconform found that its own steps,
    alone, do not fail): what the others did made it fail."""
    failed_itself: set[int] = set()
    for step in crowd.steps:
        if step.action[0] == "fails":
            failed_itself.add(step.client)
        for client, events in sorted(step.received.items()):
            end = bad_end(crowd.members[client].seen)
            if client not in failed_itself and end is not None and end in events:
                doing = f"client {step.client}'s {step.action}"
                return f"client {client}'s connection ended with {end} at {doing}"
    for client, member in sorted(crowd.members.items()):
        left = member.seen.client_closed_at is not None
        if (
            client not in failed_itself
            and left
            and expected
            and expected <= set(member.seen.raised)
        ):
            return f"client {client}'s handler raised {', '.join(sorted(expected))} after it left"
    return None


def refused_newcomer(crowd: Crowd) -> str | None:
    """A newcomer refused by a room that let one in with as many members or more before."""
    let_in_with: dict[int, int] = {}
    for step in crowd.steps:
        if step.action[0] != "join":
            continue
        room = crowd.rooms[step.client]
        present = sum(r == room for r in step.live_before.values())
        events = step.received.get(step.client, [])
        if events and events[0]["kind"] == "Accepted" and not ended(Seen(events)):
            let_in_with[room] = max(let_in_with.get(room, -1), present)
        elif let_in_with.get(room, -1) >= present:
            return (
                f"client {step.client} was refused ({events}) by room {room} with {present} "
                f"member(s), where a newcomer was let in with {let_in_with[room]} before"
            )
    return None


def broadcast_gap(crowd: Crowd) -> str | None:
    """A message that reached every other live member of its room (two at least) before, sent
    by a member that had not sent it, missing some live member now."""
    broadcast: set[tuple[int, str]] = set()
    senders: dict[tuple[int, str], set[int]] = {}
    for step in crowd.steps:
        action = step.action
        if action[0] not in ("send_text", "send_bytes") or step.client not in step.live_before:
            continue
        room = step.live_before[step.client]
        key = (room, repr(action))
        others = [c for c, r in step.live_before.items() if r == room and c != step.client]
        listening = [c for c in others if not ended(Seen(step.received.get(c, [])))]
        missed = [
            c
            for c in listening
            if not any(event["kind"] == "Message" for event in step.received.get(c, []))
        ]
        if key in broadcast and step.client not in senders.get(key, set()) and missed:
            return f"client {step.client}'s {action} reached everyone before, not {missed} now"
        if len(others) >= 2 and not missed:
            broadcast.add(key)
        senders.setdefault(key, set()).add(step.client)
    return None


async def replay_crowd_in_process(finding: dict[str, Any]) -> Crowd:
    app = load_app(finding)
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        crowd = Crowd(app, finding, lifespan.state)
        await crowd.play()
        return crowd
    finally:
        await lifespan.shutdown()


def crowd_verdict(finding: dict[str, Any], crowd: Crowd) -> int:
    for client, member in sorted(crowd.members.items()):
        print(f"client {client} saw:")
        for event in member.seen.events:
            print(f"  {event}")
        if member.seen.traceback:
            print("  its handler raised:\n" + member.seen.traceback.rstrip())
    failing = {check: judge_crowd(check, crowd, finding) for check in finding["checks"]}
    for check, why in failing.items():
        print(f"  {check}: {why or 'not failed this time'}")
    if all(failing.values()):
        print(f"REPRODUCED: {'; '.join(str(why) for why in failing.values())}")
        return 0
    print("NOT REPRODUCED: this run did not fail every check of the finding (see above)")
    return 3


# --- on a real server: its own command line and a plain-socket client ---------------------------


class SocketClient:
    """A WebSocket client on a plain socket: the handshake, masked frames, events as they come."""

    def __init__(
        self, port: int, target: str, headers: list[list[str]], tls: ssl.SSLContext | None
    ) -> None:
        self.seen = Seen()
        self._changed = threading.Condition()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND_S)
        if tls is not None:  # wss://, the handshake bounded by the socket's timeout
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                 *(f"{name}: {value}" for name, value in headers)]  # fmt: skip
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()

    def _event(self, event: dict[str, Any]) -> None:
        with self._changed:
            self.seen.events.append(event)
            self._changed.notify_all()

    def ended(self) -> bool:
        return any(event["kind"] in ("Closed", "Denied") for event in self.seen.events)

    def listen(self, quiet_s: float) -> None:
        """Until the server has sent nothing for `quiet_s` or the connection has ended."""
        with self._changed:
            while not self.ended():
                if not self._changed.wait_for(self._more_than(len(self.seen.events)), quiet_s):
                    return

    def _more_than(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.seen.events) > count

    def _recv(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _read(self) -> None:
        try:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += self._recv(1)
            status = int(head.split(b" ", 2)[1])
            if status != 101:
                self._event({"kind": "Denied", "status": status})
                return
            self._event({"kind": "Accepted"})
            while True:
                first, second = self._recv(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._recv(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._recv(8))[0]
                payload = self._recv(length)
                opcode = first & 0x0F
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    self._event({"kind": "Closed", "code": code,
                                 "reason": payload[2:].decode("utf-8", "replace")})  # fmt: skip
                    self.frame(0x8, payload[:2])
                    return
                if opcode == 0x9:
                    self.frame(0xA, payload)
                elif opcode in (0x0, 0x1, 0x2):
                    self._event({"kind": "Message", "data": payload[:200]})
        except (EOFError, OSError, ValueError, IndexError):
            if not self.ended():
                self._event({"kind": "Closed", "code": 1006, "close_frame_seen": False})

    def frame(self, opcode: int, payload: bytes) -> None:
        mask, length = os.urandom(4), len(payload)
        if length < 126:
            header = bytes([0x80 | opcode, 0x80 | length])
        elif length < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", length)
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        with contextlib.suppress(OSError):  # the server may have gone: a drop to observe
            self.sock.sendall(header + mask + masked)

    def play(self, steps: list[list[Any]]) -> Seen:
        with self._changed:  # the handshake's answer
            self._changed.wait_for(lambda: bool(self.seen.events), BOUND_S)
        self.listen(STEP_QUIET_S)  # and what the app does at once, before the client acts
        if self.seen.events and self.seen.events[0]["kind"] == "Accepted":
            for kind, *arguments in steps:
                print(f"client: {kind} {arguments!r:.120}")
                if self.ended():
                    break
                if kind == "send_text":
                    self.frame(0x1, arguments[0].encode())
                elif kind == "send_bytes":
                    self.frame(0x2, bytes.fromhex(arguments[0]))
                elif kind == "close":
                    code, reason = arguments
                    self.seen.client_closed_at = len(self.seen.events)
                    self.frame(
                        0x8, b"" if code is None else struct.pack("!H", code) + reason.encode()
                    )
                else:  # a TCP reset, no close frame
                    self.seen.client_closed_at = len(self.seen.events)
                    self.sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.sock.close()
                    return self.seen
                self.listen(STEP_QUIET_S)
            if not self.ended():
                self.seen.client_closed_at = len(self.seen.events)
                self.frame(0x8, struct.pack("!H", 1000))
            self.listen(BOUND_S)
        self.sock.close()
        return self.seen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Any, what: str) -> None:
    deadline = time.monotonic() + BOUND_S * 2
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise SystemExit(f"{what} did not start:\n{output}") from None
            time.sleep(0.05)  # polling the port: the server says nothing when ready


@contextlib.contextmanager
def started(
    command: list[str], log: Any, port: int, what: str, **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """A process listening on `port`, always stopped (terminated, then killed)."""
    print(f"{what}:", " ".join(command))
    process = subprocess.Popen(command, stdout=log, stderr=log, **popen)
    try:
        wait_listening(port, process, log, what)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(BOUND_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(BOUND_S)


def make_certificate(folder: str) -> tuple[dict[str, str], ssl.SSLContext]:
    """A CA made now and a certificate for 127.0.0.1 signed by it (trustme): the files the
    server is given, and a client context that trusts that CA alone."""
    import trustme  # only a wss:// finding needs it
    from cryptography.hazmat.primitives import serialization  # trustme's own dependency

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    files = {
        "certfile": os.path.join(folder, "cert.pem"),
        "keyfile": os.path.join(folder, "key.pem"),
    }
    with open(files["certfile"], "wb") as cert:
        cert.write(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    with open(files["keyfile"], "wb") as key_file:  # PKCS#8: the one format every server reads
        key_file.write(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    authority.configure_trust(context)
    return files, context


def nginx_binary() -> str:
    # Debian's package puts nginx in /usr/sbin, which an ordinary user's PATH may lack.
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        raise SystemExit("nginx is not installed (install it with `apt-get install nginx`)")
    return found


def replay_on_server(finding: dict[str, Any]) -> Seen:
    port = free_port()
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.path.abspath(finding["app_path"] or "."), environment.get("PYTHONPATH")])
    )
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as log:
        files, tls = make_certificate(folder) if finding["tls"] else ({}, None)
        proxy = finding["proxy_config"]
        server_port = free_port() if proxy else port
        command = [sys.executable]
        for part in finding["server_command"]:
            for name, value in {"port": str(server_port), **files}.items():
                part = part.replace("{" + name + "}", value)
            command.append(part)
        with contextlib.ExitStack() as processes:
            processes.enter_context(started(command, log, server_port, "server", env=environment))
            if proxy:  # nginx in front, every file it writes under a temporary prefix
                os.mkdir(os.path.join(folder, "tmp"))
                with open(os.path.join(folder, "nginx.conf"), "w") as config:
                    config.write(proxy.replace("{port}", str(port))
                                 .replace("{upstream_port}", str(server_port)))  # fmt: skip
                nginx = [nginx_binary(), "-p", folder + os.sep, "-c", "nginx.conf",
                         "-e", "stderr", "-g", "daemon off;"]  # fmt: skip
                processes.enter_context(started(nginx, log, port, "nginx"))
            seen = SocketClient(port, finding["target"], finding["headers"], tls).play(
                finding["steps"]
            )
        log.seek(0)
        output = log.read().decode(errors="replace")
    # The server logs what escaped the app; its type names are the raised leaves.
    seen.raised = [name for name in finding["leaf_exceptions"] if name.rpartition(".")[2] in output]
    if seen.raised:
        seen.traceback = output[-3000:]
    return seen


def main(finding: dict[str, Any]) -> int:
    print(
        f"wsconform finding {finding['id']}: {', '.join(finding['checks'])} on {finding['route']}"
    )
    if finding["rooms"]:
        return crowd_verdict(finding, asyncio.run(replay_crowd_in_process(finding)))
    if finding["server_command"]:
        return verdict(finding, replay_on_server(finding), finding["server"])
    return verdict(finding, asyncio.run(replay_in_process(finding)), "the app, called as ASGI")
