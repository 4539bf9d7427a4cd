"""The reference app: the endpoints the seed documents teach, written correctly.

Routes and messages are part of the suite's interface
(`conformance/families/contracts/endpoints.py` checks them):
a user can point `--app module:attr` at another app implementing the same routes and run the
same contracts against it. Where a seed gets something wrong, the comment says what and why.

The routes need Starlette only, except those FastAPI's features make (`reference_fastapi.py`,
`surface_fastapi.py`, `guards_fastapi.py`): without FastAPI (a project on Starlette alone, or a
Starlette release no FastAPI accepts) `app` is a Starlette app with the other routes, and
`FASTAPI_MISSING` says why the rest are absent (their contracts are skipped with it).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import jwt
from starlette import status
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.targets.compat import WebSocketException, handle_websocket_exceptions
from wsconform.targets.messages import receive_text

# Why the routes that need FastAPI are absent ("" when they are served).
FASTAPI_MISSING = ""
try:
    from wsconform.targets import guards_fastapi, reference_fastapi, surface_fastapi
except ModuleNotFoundError as missing:
    if missing.name != "fastapi":
        raise
    FASTAPI_MISSING = "FastAPI is not installed"

WELCOME = "Welcome to the chat room!"

# Tokens accepted by /secure/header and /secure/query.
VALID_TOKENS = frozenset({"wsconform-token-alice", "wsconform-token-bob"})

# Users of POST /token (the seeds' OAuth2 example); passwords are test fixtures, not secrets.
USERS = {"johndoe": "secret-john", "janedoe": "secret-jane"}

# /secure/jwt: HS256 tokens with these claims; `exp`, `aud`, `iss` and `sub` are required.
# 64 bytes or more, so that HS512-signed test tokens (which the route must refuse) are valid JWTs.
JWT_SECRET = "wsconform-reference-jwt-secret-" + "0123456789abcdef" * 3
JWT_AUDIENCE = "wsconform"
JWT_ISSUER = "wsconform-reference"

# RFC 6455 7.4.1: 1008 is "policy violation", the close code for a rejected credential. The
# seeds' OAuth2 example closes with 401, an HTTP status, which is not a valid close code.
POLICY_VIOLATION = 1008


async def welcome(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await websocket.send_text(WELCOME)
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return  # the client left before its greeting: nothing more to do


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await receive_text(websocket)
            await websocket.send_text(f"Message text was: {text}")
    except WebSocketDisconnect:
        return  # the client left: a normal end, nothing to log


async def count(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        for _ in range(3):
            await receive_text(websocket)
        await websocket.send_text("Messages received: 3")
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return


async def json_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await receive_text(websocket)
            try:
                original = json.loads(text)
            except ValueError:
                # RFC 6455 7.4.1: 1007 is for data inconsistent with the message's type.
                await websocket.close(code=1007, reason="Invalid JSON")
                return
            await websocket.send_json(
                {
                    "type": "response",
                    "original_message": original,
                    "timestamp": datetime.now(timezone.utc).isoformat(),
                }
            )
    except WebSocketDisconnect:
        return


def safe_reply(text: str) -> dict[str, Any]:
    """The three shapes /safe answers with; bad input is answered, never a reason to close."""
    try:
        message = json.loads(text)
    except ValueError:
        return {"error": "Invalid JSON format"}
    if not isinstance(message, dict) or "action" not in message:
        return {"error": "Missing 'action' field"}
    return {"success": True, "action": message["action"], "data": message.get("data")}


async def safe(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_json(safe_reply(await receive_text(websocket)))
    except WebSocketDisconnect:
        return


async def custom_close(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await receive_text(websocket)
            if text == "close":
                await websocket.close(code=1000, reason="Client requested close")
                return
            if text == "error":
                await websocket.close(code=1011, reason="Server error occurred")
                return
            await websocket.send_text(f"Received: {text}")
    except WebSocketDisconnect:
        return


async def moderated(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await websocket.send_text(WELCOME)
        while True:
            text = await receive_text(websocket)
            if text == "disconnect":
                await websocket.close(code=1000, reason="Disconnecting...")
                return
            if "bad message" in text:
                raise WebSocketException(code=POLICY_VIOLATION, reason="Inappropriate message")
            await websocket.send_text("Message received!")
    except WebSocketDisconnect:
        return


# --- chat with a connection manager ------------------------------------------------------------


@dataclass(eq=False)
class Member:
    """One connection, not one name: two tabs with the same name are two members."""

    username: str
    websocket: WebSocket


class ConnectionManager:
    def __init__(self) -> None:
        self.members: list[Member] = []

    async def join(self, member: Member) -> None:
        await member.websocket.accept()
        self.members.append(member)
        notice = {"sender": "system", "message": f"{member.username} joined the chat"}
        await self.send_to(self.others(member), notice)

    async def leave(self, member: Member) -> None:
        if member in self.members:
            self.members.remove(member)
            notice = {"sender": "system", "message": f"Client #{member.username} left the chat"}
            await self.send_to(self.members, notice)

    def others(self, member: Member) -> list[Member]:
        return [other for other in self.members if other is not member]

    async def say(self, member: Member, text: str) -> None:
        await self.send_to([member], {"sender": "You", "message": text})
        await self.send_to(self.others(member), {"sender": member.username, "message": text})

    async def send_to(self, members: Iterable[Member], payload: dict[str, str]) -> None:
        """Deliver to each in turn. A connection that fails has left (its client dropped before
        its handler heard of it): the others still get the payload, then hear it leave."""
        dead = []
        for member in list(members):
            try:
                await member.websocket.send_json(payload)
            except (WebSocketDisconnect, RuntimeError, OSError):
                dead.append(member)
        for member in dead:
            await self.leave(member)


manager = ConnectionManager()


async def chatroom_stats() -> dict[str, int]:
    return {"connections": len(manager.members)}


async def chatroom(websocket: WebSocket, username: str) -> None:
    member = Member(username, websocket)
    await manager.join(member)
    try:
        # A member whose own delivery failed has been dropped by the manager: its socket is
        # closed, and receiving on it again would raise.
        while member in manager.members:
            await manager.say(member, await receive_text(websocket))
    except WebSocketDisconnect:
        pass
    finally:
        await manager.leave(member)


# --- secured endpoints -------------------------------------------------------------------------


def bearer_token(authorization: str | None) -> str | None:
    """`Bearer <token>`, scheme case-insensitive (RFC 7235 2.1), exactly one space, no padding."""
    if authorization is None:
        return None
    parts = authorization.split(" ")
    if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


async def echo_after(websocket: WebSocket, greeting: str, reply: str) -> None:
    await websocket.accept()
    try:
        await websocket.send_text(greeting)
        while True:
            text = await receive_text(websocket)
            await websocket.send_text(reply.format(text=text))
    except WebSocketDisconnect:
        return


async def secure_header(websocket: WebSocket) -> None:
    if bearer_token(websocket.headers.get("authorization")) not in VALID_TOKENS:
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the client gets HTTP 403
        return
    await echo_after(websocket, "Welcome!", "Message text was: {text}")


async def verify_authorization(websocket: WebSocket) -> None:
    """A router-level dependency: it runs before the endpoint, so refusing here is before accept
    (the client gets HTTP 403 from a server, a close 1008 from TestClient)."""
    if bearer_token(websocket.headers.get("authorization")) not in VALID_TOKENS:
        raise WebSocketException(code=POLICY_VIOLATION)


async def secure_router(websocket: WebSocket) -> None:
    await echo_after(websocket, "Welcome!", "Message text was: {text}")


async def secure_query(websocket: WebSocket) -> None:
    # Browsers cannot set headers on a websocket, so the token travels in the query string.
    if websocket.query_params.get("token") not in VALID_TOKENS:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await echo_after(websocket, "Welcome!", "Message text was: {text}")


issued_tokens: dict[str, str] = {}


def access_token(username: str, password: str) -> dict[str, str]:
    """What POST /token answers (its OAuth2 password form is FastAPI's, `reference_fastapi`)."""
    if USERS.get(username) != password:
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST, detail="Incorrect username or password"
        )
    token = secrets.token_urlsafe(24)
    issued_tokens[token] = username
    return {"access_token": token, "token_type": "bearer"}


async def secure_oauth2(websocket: WebSocket) -> None:
    username = issued_tokens.get(bearer_token(websocket.headers.get("authorization")) or "")
    if username is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await echo_after(websocket, f"Welcome {username}!", "You wrote: {text}")


def jwt_subject(token: str | None) -> str | None:
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            JWT_SECRET,
            algorithms=["HS256"],  # never from the token's header: `alg: none` is refused
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["exp", "aud", "iss", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


async def secure_jwt(websocket: WebSocket) -> None:
    header_token = bearer_token(websocket.headers.get("authorization"))
    subject = jwt_subject(header_token or websocket.query_params.get("token"))
    if subject is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await echo_after(websocket, f"Welcome {subject}!", "You wrote: {text}")


def issue_jwt(subject: str, *, lifetime_s: float = 300.0, **overrides: Any) -> str:
    """A token /secure/jwt accepts (tests and users' token commands call this)."""
    now = datetime.now(timezone.utc).timestamp()
    claims = {
        "sub": subject,
        "aud": JWT_AUDIENCE,
        "iss": JWT_ISSUER,
        "iat": int(now),
        "exp": int(now + lifetime_s),
    }
    claims.update(overrides)
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


# --- the app ------------------------------------------------------------------------------------


async def chatroom_stats_json(request: Request) -> JSONResponse:
    return JSONResponse(await chatroom_stats())


async def chatroom_by_path(websocket: WebSocket) -> None:
    """/chatroom/{username} as Starlette calls a route: the name is a path parameter."""
    await chatroom(websocket, websocket.path_params["username"])


def starlette_app() -> Starlette:
    """The routes that need Starlette only, as a Starlette app."""
    routes: list[BaseRoute] = [
        WebSocketRoute("/welcome", welcome),
        WebSocketRoute("/echo", echo),
        WebSocketRoute("/count", count),
        WebSocketRoute("/json", json_endpoint),
        WebSocketRoute("/safe", safe),
        WebSocketRoute("/custom-close", custom_close),
        WebSocketRoute("/moderated", moderated),
        Route("/chatroom/stats", chatroom_stats_json),
        WebSocketRoute("/chatroom/{username}", chatroom_by_path, name="chatroom"),
        WebSocketRoute("/secure/header", secure_header),
        WebSocketRoute("/secure/query", secure_query),
        WebSocketRoute("/secure/jwt", secure_jwt),
    ]
    app = Starlette(routes=routes)
    handle_websocket_exceptions(app)
    return app


def fastapi_app() -> Starlette:
    """Every route, as the seeds write them: FastAPI routes, and the framework surface."""
    from fastapi import FastAPI  # imports: FASTAPI_MISSING is empty

    app = FastAPI(title="wsconform reference endpoints")
    handle_websocket_exceptions(app)
    surface_fastapi.install(app)  # the rest of the frameworks' WebSocket surface, under /surface
    for path, endpoint in (
        ("/welcome", welcome),
        ("/echo", echo),
        ("/count", count),
        ("/json", json_endpoint),
        ("/safe", safe),
        ("/custom-close", custom_close),
        ("/moderated", moderated),
        ("/rooms", reference_fastapi.rooms),
    ):
        app.websocket(path)(endpoint)
    app.get("/chatroom/stats")(chatroom_stats)
    app.websocket("/chatroom/{username}")(chatroom)
    app.websocket("/secure/header")(secure_header)
    app.include_router(reference_fastapi.secured_router(verify_authorization, secure_router))
    app.websocket("/secure/query")(secure_query)
    app.post("/token")(reference_fastapi.token_route(access_token))
    app.websocket("/secure/oauth2")(secure_oauth2)
    app.websocket("/secure/jwt")(secure_jwt)
    guards_fastapi.install(app, issued_tokens.get)  # each way FastAPI guards a route, /guards
    return app


app = starlette_app() if FASTAPI_MISSING else fastapi_app()
