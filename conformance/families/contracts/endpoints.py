"""Contracts of the reference endpoints, as plain async functions of a transport.

Each takes a `Transport` serving any app with the reference routes (`targets/reference.py` by
default, `--app` otherwise) and returns judgements naming `contract.*` checks; no pytest inside,
so the same functions serve the conformance run, the self-tests and users' own harnesses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from wsconform.conformance.engine.judgements import Judgement, app_raised, deadline_only
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    Closed,
    Headers,
    Message,
    NoEvent,
    only_silence,
    rejected_before_accept,
)
from wsconform.targets.servers.base import (
    QUIET_BOUND_S,
    REPLY_BOUND_S,
    ClientConnection,
    Transport,
)
from wsconform.targets.servers.witness import is_server_send_failure, the_apps_doing

WELCOME = "Welcome to the chat room!"
# Credentials the reference routes accept; an app swapped in with --app must accept them too.
VALID_TOKENS = ("wsconform-token-alice", "wsconform-token-bob")
OAUTH2_USERS = {"johndoe": "secret-john", "janedoe": "secret-jane"}


@dataclass
class Conversation:
    """One client on one route, keeping everything it saw as evidence."""

    connection: ClientConnection
    seen: list[ClientEvent] = field(default_factory=list)

    @classmethod
    async def open(cls, transport: Transport, path: str, headers: Headers = ()) -> Conversation:
        conversation = cls(await transport.connect(path, headers))
        await conversation.hear()
        return conversation

    @property
    def accepted(self) -> bool:
        return bool(self.seen) and isinstance(self.seen[0], Accepted)

    async def hear(self, bound: float = REPLY_BOUND_S) -> ClientEvent:
        event = await self.connection.next_event(bound)
        self.seen.append(event)
        return event

    async def say(self, text: str) -> ClientEvent:
        await self.connection.send_text(text)
        return await self.hear()

    async def leave(self) -> None:
        await self.connection.close(1000)
        await self.connection.release()


@dataclass(frozen=True)
class Claims:
    """What the server tells the app it implements (ASGI spec version, extensions)."""

    spec_version: str
    extensions: tuple[str, ...]

    def at_least(self, version: str) -> bool:
        return _version(self.spec_version) >= _version(version)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


async def server_claims(transport: Transport) -> Claims:
    """Read from /surface/asgi; the spec's defaults where it says nothing (an app without the
    route is judged as on a 2.0 server: no feature newer than 2.0 is held against it)."""
    chat = await Conversation.open(transport, "/surface/asgi")
    got = json_of(await chat.hear()) if chat.accepted else None
    await chat.connection.release()
    if not isinstance(got, dict):
        return Claims("2.0", ())
    return Claims(str(got.get("spec_version", "2.0")), tuple(got.get("extensions", ())))


async def reason_if_claimed(transport: Transport, reason: str) -> str | None:
    """The close reason a contract may expect: a close reason is ASGI www 2.3, so on a server
    advertising less it is not judged (None), as the lifecycle model grades it."""
    return reason if (await server_claims(transport)).at_least("2.3") else None


def closed_with(event: ClientEvent, code: int, reason: str | None = None) -> bool:
    return (
        isinstance(event, Closed)
        and event.code == code
        and (reason is None or event.reason == reason)
    )


async def welcome(transport: Transport) -> list[Judgement]:
    chat = await Conversation.open(transport, "/welcome")
    greeting, end = await chat.hear(), await chat.hear()
    await chat.connection.release()
    ok = chat.accepted and greeting == Message(WELCOME) and closed_with(end, 1000)
    return [Judgement("contract.welcome", ok, f"client saw {chat.seen!r}")]


async def echo_each(transport: Transport, texts: Sequence[str]) -> list[Judgement]:
    chat = await Conversation.open(transport, "/echo")
    replies = [await chat.say(text) for text in texts]
    await chat.leave()
    expected = [Message(f"Message text was: {text}") for text in texts]
    ok = chat.accepted and replies == expected
    return [Judgement("contract.echo.exact", ok, f"sent {list(texts)!r}, client saw {chat.seen!r}")]


async def echo_in_order(transport: Transport, texts: Sequence[str]) -> list[Judgement]:
    chat = await Conversation.open(transport, "/echo")
    for text in texts:
        await chat.connection.send_text(text)
    replies = [await chat.hear() for _ in texts]
    await chat.leave()
    ok = replies == [Message(f"Message text was: {text}") for text in texts]
    return [
        Judgement("contract.echo.order", ok, f"{len(texts)} messages; replies {replies[:5]!r}...")
    ]


async def count(transport: Transport) -> list[Judgement]:
    chat = await Conversation.open(transport, "/count")
    early = [await _say_quietly(chat, "one"), await _say_quietly(chat, "two")]
    answer = await chat.say("three")
    end = await chat.hear()
    await chat.connection.release()
    ok = (
        chat.accepted
        and all(isinstance(event, NoEvent) for event in early)
        and answer == Message("Messages received: 3")
        and closed_with(end, 1000)
    )
    return [Judgement("contract.count", ok, f"client saw {chat.seen!r}")]


async def _say_quietly(chat: Conversation, text: str) -> ClientEvent:
    await chat.connection.send_text(text)
    return await chat.hear(QUIET_BOUND_S)


async def json_original(transport: Transport, value: Any) -> list[Judgement]:
    chat = await Conversation.open(transport, "/json")
    reply = await chat.say(json.dumps(value))
    await chat.leave()
    parsed = json_of(reply)
    ok = (
        isinstance(parsed, dict)
        and set(parsed) == {"type", "original_message", "timestamp"}
        and parsed["type"] == "response"
        and parsed["original_message"] == value
        and _is_utc_iso8601(parsed["timestamp"])
    )
    return [Judgement("contract.json.original", ok, f"sent {value!r}, got {reply!r}")]


def json_of(event: ClientEvent) -> Any:
    if not isinstance(event, Message) or not isinstance(event.data, str):
        return None
    try:
        return json.loads(event.data)
    except ValueError:
        return None


def _is_utc_iso8601(value: Any) -> bool:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.utcoffset() == timedelta(0)


def safe_shape(text: str) -> dict[str, Any]:
    """What /safe must answer, written from the contract rather than copied from the app."""
    try:
        message = json.loads(text)
    except ValueError:
        return {"error": "Invalid JSON format"}
    if isinstance(message, dict) and "action" in message:
        return {"success": True, "action": message["action"], "data": message.get("data")}
    return {"error": "Missing 'action' field"}


async def safe(transport: Transport, text: str) -> list[Judgement]:
    chat = await Conversation.open(transport, "/safe")
    reply = json_of(await chat.say(text))
    still_open = json_of(await chat.say('{"action": "ping"}'))
    await chat.leave()
    ok = reply == safe_shape(text) and still_open == safe_shape('{"action": "ping"}')
    return [Judgement("contract.safe.shapes", ok, f"sent {text!r}, client saw {chat.seen!r}")]


async def custom_close(transport: Transport) -> list[Judgement]:
    outcomes = []
    for command, code, reason in (
        ("close", 1000, "Client requested close"),
        ("error", 1011, "Server error occurred"),
    ):
        expected = await reason_if_claimed(transport, reason)
        chat = await Conversation.open(transport, "/custom-close")
        other = await chat.say("hello")
        end = await chat.say(command)
        await chat.connection.release()
        outcomes.append(other == Message("Received: hello") and closed_with(end, code, expected))
    shown = f"close/error handled: {outcomes} (reasons judged: {expected is not None})"
    return [Judgement("contract.custom-close", all(outcomes), shown)]


async def moderated(transport: Transport) -> list[Judgement]:
    results = []
    for last, code, reason in (
        ("disconnect", 1000, "Disconnecting..."),
        ("this is a bad message", 1008, "Inappropriate message"),
    ):
        expected = await reason_if_claimed(transport, reason)
        chat = await Conversation.open(transport, "/moderated")
        greeting = await chat.hear()
        ordinary = await chat.say("hello")
        end = await chat.say(last)
        await chat.connection.release()
        results.append(
            greeting == Message(WELCOME)
            and ordinary == Message("Message received!")
            and closed_with(end, code, expected)
        )
    shown = f"disconnect/bad message handled: {results} (reasons judged: {expected is not None})"
    return [Judgement("contract.moderated", all(results), shown)]


async def rooms(transport: Transport, query: dict[str, str]) -> list[Judgement]:
    """Valid parameters: a non-empty room and an integer user_id; anything else is refused."""
    chat = await Conversation.open(transport, "/rooms?" + urlencode(query))
    room, user_id = query.get("room", ""), query.get("user_id", "")
    valid = bool(room) and _is_int(user_id)
    if valid:
        greeting = await chat.hear()
        reply = await chat.say("hi")
        ok = (
            chat.accepted
            and greeting == Message(f"Welcome to room {room}, user {int(user_id)}!")
            and reply == Message(f"[{room}] User {int(user_id)}: hi")
        )
    else:
        ok = rejected_before_accept(chat.seen)
    await chat.leave()
    return [Judgement("contract.rooms", ok, f"query {query!r}: client saw {chat.seen!r}")]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


async def leave_midway(
    transport: Transport, route: str, texts: Sequence[str], how: str
) -> list[Judgement]:
    """Send some texts without reading, then close or drop: only `server_errors` judges this."""
    connection = await transport.connect(route)
    await connection.next_event(REPLY_BOUND_S)
    for text in texts:
        await connection.send_text(text)
    if how == "drop":
        await connection.drop()
    else:
        await connection.close(1001)
    await connection.release()
    return []


async def server_errors(transport: Transport, what: str) -> list[Judgement]:
    """Whatever ran before: did any exception escape the app? One the server's own send raised
    for a message it had to take (the witness's SERVER_SEND_FAILED) is the server's, judged by
    its own check: it is named in the detail, not counted again here."""
    reports = await transport.drain_app_errors()
    errors = the_apps_doing(reports)
    servers = [report for report in reports if is_server_send_failure(report)]
    return [
        Judgement(
            "contract.no-server-error",
            not errors,
            f"{what}: app errors {errors!r}"
            + (f"; the server's failed sends (not the app's): {servers!r}" if servers else ""),
            cause=app_raised(errors),
        )
    ]


# --- secured routes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """Where the credential travels for one secured route: Authorization header or ?token=."""

    route: str
    in_query: bool = False

    def request(self, token: str | None) -> tuple[str, Headers]:
        """Path and headers carrying `token` (the whole header value; None sends nothing)."""
        if token is None:
            return self.route, ()
        if self.in_query:
            return f"{self.route}?{urlencode({'token': token})}", ()
        return self.route, (("authorization", token),)


SECURED = {
    "header": Credential("/secure/header"),
    # The same check as /secure/header, made by a dependency declared on the route's router.
    "router": Credential("/secure/router"),
    "query": Credential("/secure/query", in_query=True),
    "oauth2": Credential("/secure/oauth2"),
    "jwt-header": Credential("/secure/jwt"),
    "jwt-query": Credential("/secure/jwt", in_query=True),
}


async def oauth2_token(transport: Transport, username: str) -> str:
    reply = await transport.request(
        "POST", "/token", data={"username": username, "password": OAUTH2_USERS[username]}
    )
    token: str = reply.json()["access_token"]
    return token


async def secured_accepts(
    transport: Transport, kind: str, token: str, greeting: str
) -> list[Judgement]:
    """`token` is the full credential: the Authorization value, or the query token."""
    credential = SECURED[kind]
    path, headers = credential.request(token)
    chat = await Conversation.open(transport, path, headers)
    hello = await chat.hear()
    await chat.leave()
    ok = chat.accepted and hello == Message(greeting)
    return [
        Judgement(
            "contract.auth.accepts-valid", ok, f"{kind} {token[:40]!r}: client saw {chat.seen!r}"
        )
    ]


async def try_credential(transport: Transport, path: str, headers: Headers) -> list[ClientEvent]:
    """Connect with one credential and leave; what the client saw."""
    chat = await Conversation.open(transport, path, headers)
    if chat.accepted:
        await chat.hear(QUIET_BOUND_S)  # what an accepted bad credential is sent is evidence
    await chat.leave()
    return chat.seen


async def secured_rejects(transport: Transport, kind: str, token: str | None) -> list[Judgement]:
    seen = await try_credential(transport, *SECURED[kind].request(token))
    shown = None if token is None else token[:60]
    judgement = Judgement(
        "contract.auth.rejects-before-accept",
        rejected_before_accept(seen),
        f"{kind} credential {shown!r}: client saw {seen!r}",
    )
    return [deadline_only(judgement, only_silence(seen))]


# --- chat -------------------------------------------------------------------------------------


def chat_message(sender: str, message: str) -> Message:
    """What a chat member receives, as the wire carries it (compact JSON, like send_json)."""
    return Message(json.dumps({"sender": sender, "message": message}, separators=(",", ":")))


def _same_json(event: ClientEvent, expected: Message) -> bool:
    return json_of(event) == json_of(expected) and json_of(event) is not None


async def chat(transport: Transport) -> list[Judgement]:
    """Two tabs with the same name, a drop, a clean leave: every member hears exactly what the
    contract says, once, and the manager is empty at the end."""
    checks: list[tuple[str, bool]] = []

    async def expect(who: Conversation, label: str, expected: Message) -> None:
        checks.append((label, _same_json(await who.hear(), expected)))

    alice = await Conversation.open(transport, "/chatroom/alice")
    bob = await Conversation.open(transport, "/chatroom/bob")
    await expect(alice, "alice hears bob join", chat_message("system", "bob joined the chat"))
    bob_tab = await Conversation.open(transport, "/chatroom/bob")
    await expect(alice, "alice hears the second bob", chat_message("system", "bob joined the chat"))
    await expect(bob, "bob hears his second tab", chat_message("system", "bob joined the chat"))

    await bob.connection.send_text("hi")
    await expect(bob, "bob hears himself as You", chat_message("You", "hi"))
    await expect(alice, "alice hears bob", chat_message("bob", "hi"))
    await expect(bob_tab, "bob's tab hears bob", chat_message("bob", "hi"))

    await bob_tab.connection.drop()  # abruptly: the manager must notice and carry on
    await expect(
        alice, "alice hears the tab leave", chat_message("system", "Client #bob left the chat")
    )
    await expect(
        bob, "bob hears the tab leave", chat_message("system", "Client #bob left the chat")
    )
    await alice.connection.send_text("still there?")
    await expect(alice, "alice hears herself", chat_message("You", "still there?"))
    await expect(bob, "bob hears alice after the drop", chat_message("alice", "still there?"))

    await alice.leave()
    await expect(
        bob, "bob hears alice leave", chat_message("system", "Client #alice left the chat")
    )
    checks.append(("nothing more for bob", isinstance(await bob.hear(QUIET_BOUND_S), NoEvent)))
    await bob.leave()
    await bob_tab.connection.release()
    checks.append(("stats return to 0", await eventually_no_connections(transport)))
    failed = [label for label, ok in checks if not ok]
    return [
        Judgement("contract.chat", not failed, f"failed: {failed}" if failed else "all delivered")
    ]


async def eventually_no_connections(transport: Transport) -> bool:
    """Leaving is processed by the app after the client is gone: once the app has finished with
    every websocket (bounded), GET /chatroom/stats must say 0."""
    await transport.app_idle(REPLY_BOUND_S)
    stats = (await transport.request("GET", "/chatroom/stats")).json()
    return bool(stats == {"connections": 0})
