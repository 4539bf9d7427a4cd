"""Guarded reference routes: one per way FastAPI documents to guard a websocket route, each
written as a user writes it (`targets/guards.py` lists them and their credentials). A guard the
installed release lacks (`guards.missing_guards()`) is not declared; its contract is
`unimplemented` there.

Refusals are the framework's own: a user's dependency raises WebSocketException (FastAPI docs,
'WebSockets - Using Depends and others'), a security class or a checking dependency raises
HTTPException (which Starlette turns into a denial response before accept).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Security
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    SecurityScopes,
)
from starlette import status
from starlette.websockets import WebSocket
from wsconform.targets.compat import WebSocketException, handle_websocket_exceptions
from wsconform.targets.guards import (
    API_KEY_COOKIE,
    API_KEY_HEADER,
    API_KEY_QUERY,
    GUARD_USERS,
    OVERRIDE_USER,
    ROUTES,
    SCOPE,
    USER_SCOPES,
    missing_guards,
)
from wsconform.targets.surface import send_and_close

POLICY_VIOLATION = 1008


async def greet(websocket: WebSocket, user: str) -> None:
    await send_and_close(websocket, {"user": user})


# --- a user's own dependency --------------------------------------------------------------------


async def user_from_header(x_api_key: str | None = Header(None)) -> str:
    """Who the x-api-key header names; refusing here is before accept (HTTP 403 from a server)."""
    user = GUARD_USERS.get(x_api_key or "")
    if user is None:
        raise WebSocketException(code=POLICY_VIOLATION, reason="unknown key")
    return user


async def parameter_guarded(websocket: WebSocket, user: str = Depends(user_from_header)) -> None:
    await greet(websocket, user)


async def route_guarded(websocket: WebSocket) -> None:
    # The route sees no credential: the dependency in `dependencies=` alone guards it.
    await greet(websocket, "guarded")


# --- the security classes -----------------------------------------------------------------------

bearer = HTTPBearer()


def verify_bearer(credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> str:
    # Seed 003's shape: a plain (sync) function checking what HTTPBearer extracted.
    if credentials.credentials not in GUARD_USERS:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Invalid token")
    return credentials.credentials


async def bearer_guarded(websocket: WebSocket, token: str = Depends(verify_bearer)) -> None:
    await greet(websocket, GUARD_USERS[token])


def known_key(scheme: Callable[..., Any]) -> Callable[..., Any]:
    """A dependency checking the key `scheme` (an APIKey class) extracted."""

    async def user_of_key(key: str = Depends(scheme)) -> str:
        if key not in GUARD_USERS:
            raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Invalid key")
        return GUARD_USERS[key]

    return user_of_key


def key_guarded(scheme: Callable[..., Any]) -> Callable[..., Any]:
    checked = known_key(scheme)

    async def route(websocket: WebSocket, user: str = Depends(checked)) -> None:
        await greet(websocket, user)

    return route


oauth2 = OAuth2PasswordBearer(tokenUrl="token")


def oauth2_guarded(user_of: Callable[[str], str | None]) -> Callable[..., Any]:
    """Guarded by the reference's POST /token tokens (`user_of` names a token's user)."""

    async def current_user(token: str = Depends(oauth2)) -> str:
        user = user_of(token)
        if user is None:
            raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Invalid token")
        return user

    async def route(websocket: WebSocket, user: str = Depends(current_user)) -> None:
        await greet(websocket, user)

    return route


async def scoped_user(security_scopes: SecurityScopes, token: str = Depends(oauth2)) -> str:
    """The token's user, if it carries every scope the route asks for (FastAPI docs, 'OAuth2
    scopes': the scopes of every `Security` up the chain arrive in SecurityScopes)."""
    user = GUARD_USERS.get(token)
    if user is None or not set(security_scopes.scopes) <= set(USER_SCOPES[user]):
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Not enough scopes")
    return user


async def scopes_guarded(
    websocket: WebSocket, user: str = Security(scoped_user, scopes=[SCOPE])
) -> None:
    await greet(websocket, user)


# --- dependency_overrides -----------------------------------------------------------------------


def overridden_app() -> FastAPI:
    """An app whose parameter guard a user's test replaced, as such tests do: the override
    lets in OVERRIDE_USER with no credential at all."""
    app = FastAPI()
    handle_websocket_exceptions(app)
    app.websocket("/route")(parameter_guarded)
    app.dependency_overrides[user_from_header] = lambda: OVERRIDE_USER
    return app


def install(app: FastAPI, user_of: Callable[[str], str | None]) -> None:
    """Add every guarded route the installed FastAPI supports to `app` (the reference app);
    `user_of` names the user of a POST /token token."""
    missing = missing_guards()
    # Full paths, no router prefix: FastAPI < 0.75.2 (#2640) ignored a prefix on websockets.
    router = APIRouter()
    if "route-dependencies" not in missing:
        router.websocket(ROUTES["route-dependencies"], dependencies=[Depends(user_from_header)])(
            route_guarded
        )
    router.websocket(ROUTES["parameter"])(parameter_guarded)
    secured: dict[str, Callable[..., Any]] = {
        "http-bearer": bearer_guarded,
        "api-key-query": key_guarded(APIKeyQuery(name=API_KEY_QUERY)),
        "api-key-header": key_guarded(APIKeyHeader(name=API_KEY_HEADER)),
        "api-key-cookie": key_guarded(APIKeyCookie(name=API_KEY_COOKIE)),
        "oauth2": oauth2_guarded(user_of),
        "scopes": scopes_guarded,
    }
    for guard, route in secured.items():
        if guard not in missing:
            router.websocket(ROUTES[guard])(route)
    app.include_router(router)
    app.mount(ROUTES["overridden"].rsplit("/", 1)[0], overridden_app())
