"""Contracts of the guarded routes (`targets/guards.py`): for each way FastAPI documents to guard
a websocket route, a valid credential is let in (and the route learns whose it is), a missing or
bad one is refused before accept, the way the framework refuses: a user's dependency raising
WebSocketException closes before accept (a server answers HTTP 403); a security class, or a
dependency checking what it extracted, raises HTTPException 401, which reaches the client as a
denial response with that status where the server offers websocket.http.response (elsewhere
only that the client is kept out: never accepted, sent nothing). A guard the installed FastAPI
lacks is `unimplemented`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from wsconform.conformance.engine.checks import DENIAL_EXTENSION
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.vocabulary import Accepted, Headers, Message
from wsconform.conformance.families.contracts.endpoints import (
    Conversation,
    closed_with,
    json_of,
    oauth2_token,
    server_claims,
)
from wsconform.conformance.families.contracts.surface import refused
from wsconform.targets import guards
from wsconform.targets.servers.base import EXPECT_BOUND_S, Transport

ALICE, BOB = "wsconform-guard-alice", "wsconform-guard-bob"
# Status of a refusal by HTTPException: the security classes' for a missing credential since
# FastAPI 0.122.0 (#13786; every release whose classes take a websocket is later), and the
# reference's checking dependencies' for a bad one.
HTTP_EXCEPTION_STATUS = 401
# A close before accept, which a server answers with HTTP 403 (ASGI www, 'Close - send event').
CLOSE_STATUS = 403


@dataclass(frozen=True)
class Attempt:
    """One connection to a guarded route: its path and headers."""

    path: str
    headers: Headers = ()


@dataclass(frozen=True)
class Guard:
    """A guarded route's contract: who each valid attempt lets in, and the attempts refused."""

    name: str  # as in targets.guards.GUARDS
    let_in: tuple[tuple[Attempt, str], ...]
    kept_out: tuple[Attempt, ...]
    refusal_status: int  # where the transport shows one and the server can send it

    @property
    def check_id(self) -> str:
        return f"contract.guard.{self.name}"


def _header(path: str, name: str, value: str | None) -> Attempt:
    return Attempt(path, () if value is None else ((name, value),))


def _keyed(path: str, user: str) -> Guard:
    """A route guarded by the user's own dependency reading the key header (it refuses with
    WebSocketException); `user` is what the route greets alice's key with."""
    name = guards.API_KEY_HEADER
    return Guard(
        path.rsplit("/", 1)[-1],
        ((_header(path, name, ALICE), user),),
        (_header(path, name, None), _header(path, name, ALICE + "x")),
        CLOSE_STATUS,
    )


def _bearer(path: str, user_token: tuple[str, str], others: Sequence[str | None]) -> Guard:
    token, user = user_token
    return Guard(
        path.rsplit("/", 1)[-1],
        ((_header(path, "authorization", f"Bearer {token}"), user),),
        tuple(_header(path, "authorization", value) for value in others),
        HTTP_EXCEPTION_STATUS,
    )


QUERY_ROUTE = "/guards/api-key-query"
# Every guard whose credentials are fixed (the OAuth2 route's come from POST /token).
STATIC_GUARDS = {
    guard.name: guard
    for guard in (
        _keyed("/guards/route-dependencies", "guarded"),  # the route is not told who
        _keyed("/guards/parameter", "alice"),
        _bearer("/guards/http-bearer", (ALICE, "alice"), (None, "Bearer wrong", f"Basic {ALICE}")),
        Guard(
            "api-key-query",
            ((Attempt(f"{QUERY_ROUTE}?{urlencode({guards.API_KEY_QUERY: BOB})}"), "bob"),),
            (
                Attempt(QUERY_ROUTE),
                Attempt(f"{QUERY_ROUTE}?{urlencode({guards.API_KEY_QUERY: 'wrong'})}"),
            ),
            HTTP_EXCEPTION_STATUS,
        ),
        Guard(
            "api-key-header",
            ((_header("/guards/api-key-header", guards.API_KEY_HEADER, BOB), "bob"),),
            (
                _header("/guards/api-key-header", guards.API_KEY_HEADER, None),
                _header("/guards/api-key-header", guards.API_KEY_HEADER, "wrong"),
            ),
            HTTP_EXCEPTION_STATUS,
        ),
        Guard(
            "api-key-cookie",
            (
                (
                    _header("/guards/api-key-cookie", "cookie", f"{guards.API_KEY_COOKIE}={BOB}"),
                    "bob",
                ),
            ),
            (
                _header("/guards/api-key-cookie", "cookie", None),
                _header("/guards/api-key-cookie", "cookie", f"{guards.API_KEY_COOKIE}=wrong"),
            ),
            HTTP_EXCEPTION_STATUS,
        ),
        # Bob's token is valid but lacks the scope the route asks for.
        _bearer("/guards/scopes", (ALICE, "alice"), (None, f"Bearer {BOB}", "Bearer wrong")),
        Guard(
            "overridden",
            ((Attempt(guards.ROUTES["overridden"]), guards.OVERRIDE_USER),),
            (),
            CLOSE_STATUS,
        ),
    )
}


async def _problems(transport: Transport, guard: Guard) -> list[str]:
    problems = []
    for attempt, user in guard.let_in:
        chat = await Conversation.open(transport, attempt.path, attempt.headers)
        greeting = json_of(await chat.hear()) if chat.accepted else None
        end = await chat.hear() if chat.accepted else None
        await chat.connection.release()
        if greeting != {"user": user} or end is None or not closed_with(end, 1000):
            problems.append(f"{attempt} (lets in {user}): client saw {chat.seen!r}")
    undeliverable = guard.refusal_status == HTTP_EXCEPTION_STATUS and (
        DENIAL_EXTENSION not in (await server_claims(transport)).extensions
    )
    for attempt in guard.kept_out[:1] if undeliverable else guard.kept_out:
        if undeliverable:
            # The framework refuses with a denial response this server cannot send: the guard
            # is judged on keeping the client out; how such a handshake ends (an HTTP 500, or
            # daphne's hang) is app-return.before-accept-denies's subject, not the guard's. One
            # attempt, with the expect bound: on a server that hangs, each costs the bound.
            chat = Conversation(await transport.connect(attempt.path, attempt.headers))
            await chat.hear(EXPECT_BOUND_S)
            ok = not any(isinstance(event, (Accepted, Message)) for event in chat.seen)
        else:
            chat = await Conversation.open(transport, attempt.path, attempt.headers)
            ok = refused(chat.seen, guard.refusal_status)
        await chat.connection.release()
        if not ok:
            problems.append(f"{attempt} (kept out): client saw {chat.seen!r}")
    return problems


async def guard_contract(transport: Transport, name: str) -> list[Judgement]:
    """The contract of one guard (a name of targets.guards.GUARDS): one judgement."""
    check_id = f"contract.guard.{name}"
    missing = guards.missing_guards().get(name)
    if missing is not None:
        return [Judgement(check_id, None, missing)]
    guard = await _oauth2_guard(transport) if name == "oauth2" else STATIC_GUARDS[name]
    problems = await _problems(transport, guard)
    shown = "; ".join(problems) if problems else "valid let in, missing and bad refused"
    return [Judgement(check_id, not problems, shown)]


async def _oauth2_guard(transport: Transport) -> Guard:
    """/guards/oauth2 with a token POST /token issued to johndoe."""
    token = await oauth2_token(transport, "johndoe")
    return _bearer("/guards/oauth2", (token, "johndoe"), (None, "Bearer wrong", f"Basic {token}"))
