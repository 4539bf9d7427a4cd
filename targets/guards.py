"""What the guarded reference routes (`targets/guards_fastapi.py`) accept, and which of FastAPI's
ways to guard a websocket route the installed release has. This module needs no FastAPI: the
contracts (`conformance/families/contracts/guards.py`) import it in every run.

    /guards/route-dependencies      @router.websocket(..., dependencies=[Depends(...)])
    /guards/parameter               a parameter with Depends(...)
    /guards/http-bearer             HTTPBearer behind a checking dependency (seed 003's shape)
    /guards/api-key-query           APIKeyQuery
    /guards/api-key-header          APIKeyHeader
    /guards/api-key-cookie          APIKeyCookie
    /guards/oauth2                  OAuth2PasswordBearer, tokens from POST /token
    /guards/scopes                  Security(..., scopes=[...]) read through SecurityScopes
    /guards/overridden/route        a parameter guard replaced by app.dependency_overrides

Every guarded route accepts, sends `{"user": <who the guard let in>}` and closes 1000.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

# Guard credentials: the key or bearer token, and the user it names. An app given with --app
# must accept them on the same routes.
GUARD_USERS = {"wsconform-guard-alice": "alice", "wsconform-guard-bob": "bob"}
# /guards/scopes needs SCOPE; only alice's token carries it.
SCOPE = "rooms:join"
USER_SCOPES = {"alice": (SCOPE,), "bob": ()}
API_KEY_QUERY = "api_key"
API_KEY_HEADER = "x-api-key"
API_KEY_COOKIE = "wsconform-session"
# Who /guards/overridden/route lets in: its app's dependency_overrides replace the guard.
OVERRIDE_USER = "override-user"

GUARDS = (
    "route-dependencies",
    "parameter",
    "http-bearer",
    "api-key-query",
    "api-key-header",
    "api-key-cookie",
    "oauth2",
    "scopes",
    "overridden",
)
# Each guard's route (a user's app is judged where it has /guards/parameter).
ROUTES = {guard: f"/guards/{guard}" for guard in GUARDS} | {
    "overridden": "/guards/overridden/route"
}
SECURITY_CLASSES = {
    "http-bearer": "HTTPBearer",
    "api-key-query": "APIKeyQuery",
    "api-key-header": "APIKeyHeader",
    "api-key-cookie": "APIKeyCookie",
    "oauth2": "OAuth2PasswordBearer",
    "scopes": "OAuth2PasswordBearer",
}


def missing_guards() -> dict[str, str]:
    """Each guard the installed FastAPI cannot put on a websocket route, with the reason; read
    from its API, never from its version number (as `targets/compat.py` does for Starlette)."""
    from fastapi import APIRouter, security  # only asked where FastAPI serves the routes

    missing = {}
    if "dependencies" not in inspect.signature(APIRouter.websocket).parameters:
        # FastAPI 0.97.0 (#4534) added `dependencies` to websocket routes.
        missing["route-dependencies"] = (
            "the installed FastAPI's websocket routes take no dependencies"
        )
    for guard, name in SECURITY_CLASSES.items():
        if not _takes_a_websocket(getattr(security, name)):
            # Up to at least 0.141.1 the security classes' __call__ takes a `Request`, which
            # FastAPI never passes to a websocket route's dependency (the call fails).
            missing[guard] = f"the installed FastAPI's {name} takes a Request, not a WebSocket"
    return missing


def _takes_a_websocket(scheme: Any) -> bool:
    """The security class's __call__ takes an HTTPConnection (a WebSocket is one)."""
    from starlette.requests import HTTPConnection

    taken = typing.get_type_hints(scheme.__call__).get("request")
    return isinstance(taken, type) and issubclass(HTTPConnection, taken)
