"""A JWT route that accepts, then verifies (pyproject.toml beside it declares its token): an
ordinary bad token is closed with 4401, but a crafted one whose header has no `alg` crashes it
after accept (KeyError)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

SECRET = b"secret-for-tests"


def _encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decoded(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _signature(signed_part: str) -> str:
    return _encoded(hmac.new(SECRET, signed_part.encode(), hashlib.sha256).digest())


def valid_token() -> str:
    signed_part = ".".join(
        _encoded(json.dumps(part).encode()) for part in ({"alg": "HS256"}, {"sub": "alice"})
    )
    return f"{signed_part}.{_signature(signed_part)}"


def subject_of(token: str) -> str | None:
    try:
        header_part, payload_part, signature = token.split(".")
        header = json.loads(_decoded(header_part))
        claims = json.loads(_decoded(payload_part))
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    if header["alg"] != "HS256":  # the bug: trusts that every header names its algorithm
        return None
    expected = _signature(f"{header_part}.{payload_part}")
    same = hmac.compare_digest(signature.encode(), expected.encode())
    return str(claims.get("sub")) if same else None


async def account(websocket: WebSocket) -> None:
    await websocket.accept()
    subject = subject_of(websocket.query_params.get("token", ""))
    if subject is None:
        await websocket.close(code=4401, reason="login again")
        return
    await websocket.send_text(f"hello {subject}")
    await websocket.close()


app = Starlette(routes=[WebSocketRoute("/account", account)])
