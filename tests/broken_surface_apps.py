"""Broken versions of the framework-surface routes (`targets/surface.py`), one mistake each, the
kind a framework regression makes: a prefix or a convertor ignored, a dependency or an exception
handler skipped, a close code or a denial body lost. Each is the reference app with one route
shadowed (Starlette matches routes in order), so `--app tests.broken_surface_apps:<name>` works.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.datastructures import URL, Address, Headers, QueryParams
from starlette.endpoints import WebSocketEndpoint
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from wsconform.targets import guards, guards_fastapi, reference, surface
from wsconform.targets.compat import handle_websocket_exceptions


def shadowing(route: BaseRoute) -> FastAPI:
    app = FastAPI()
    app.router.routes.append(route)
    app.router.routes.extend(reference.app.router.routes)
    return app


def _websocket(path: str, endpoint: Any) -> WebSocketRoute:
    return WebSocketRoute(path, endpoint)


async def _echo_elsewhere(websocket: WebSocket) -> None:
    # What a dropped prefix looks like from the prefixed path: nothing answers there.
    await websocket.close(code=1008)


async def _value_as_text(websocket: WebSocket) -> None:
    """The route's convertor dropped: the segment arrives as text (and matches anything)."""
    await surface.send_value_and_close(websocket, websocket.path_params["value"])


async def _item_as_text(websocket: WebSocket) -> None:
    await surface.send_value_and_close(websocket, websocket.path_params["item_id"])


class _EndpointLosingTheCode(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_text(f"endpoint: {data}")

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        surface.endpoint_closes[websocket.path_params["key"]] = 1000  # not the client's code


async def _validated_loosely(websocket: WebSocket) -> None:
    await websocket.accept()
    params = websocket.query_params
    await websocket.send_json(
        {
            "number": websocket.path_params["number"],
            "limit": params.get("limit"),
            "client": websocket.headers.get("x-client"),
        }
    )
    await websocket.close(code=1000)


async def _refuses_after_accepting(websocket: WebSocket) -> None:
    await websocket.accept()  # the dependency's refusal comes too late
    await websocket.close(code=surface.REFUSAL_CODE)


async def _http_exception_discarded(websocket: WebSocket) -> None:
    """The handler's response is dropped and the app returns without a handshake message."""


async def _denial_truncated(websocket: WebSocket) -> None:
    if not surface.offers_denial(websocket):
        await websocket.close(code=1008)
        return
    await websocket.send({"type": "websocket.http.response.start", "status": 401, "headers": []})
    await websocket.send({"type": "websocket.http.response.body", "body": surface.DENIAL_BODY[:5]})


class _DropsMountParams(Mount):
    """A Mount that routes by its parameters but hands the route only the route's own."""

    def matches(self, scope: Any) -> Any:
        match, child = super().matches(scope)
        if child:
            inner = {
                k: v for k, v in child["path_params"].items() if k not in self.param_convertors
            }
            child = {**child, "path_params": inner}
        return match, child


def _prefix_dropped_params() -> FastAPI:
    """include_router whose prefix parameter routes but never reaches the route."""
    app = FastAPI()
    router = APIRouter()

    async def members(websocket: WebSocket) -> None:
        websocket.scope["path_params"].pop("team", None)
        await surface.routing_values(websocket)

    router.websocket("/members/{member}")(members)
    app.include_router(router, prefix="/surface/teams/{team}")
    app.router.routes.extend(reference.app.router.routes)
    return app


# A framework regression in what the WebSocket object hands the app: each a WebSocket class that
# gets one value wrong from a correct scope, and the /values route handed an instance of it.
class _ClientSwapped(WebSocket):
    @property
    def client(self) -> Address | None:
        host, port = self.scope["client"]
        return Address(port, host)


class _UrlFromServerAddress(WebSocket):
    """The Host header ignored, and the server's port kept even where it is the default."""

    @property
    def url(self) -> URL:
        host, port = self.scope["server"]
        return URL(f"{self.scope.get('scheme', 'ws')}://{host}:{port}{self.scope['path']}")


class _DuplicateHeaderDropped(WebSocket):
    @property
    def headers(self) -> Headers:
        return Headers(raw=list(dict(self.scope["headers"]).items()))  # the last line only


class _QueryKeyDeduplicated(WebSocket):
    @property
    def query_params(self) -> QueryParams:
        return QueryParams(dict(parse_qsl(self.scope["query_string"].decode("latin-1"))))


class _LastSubprotocolOnly(WebSocket):
    def __init__(self, scope: Any, receive: Any, send: Any) -> None:
        super().__init__({**scope, "subprotocols": scope["subprotocols"][-1:]}, receive, send)


def _values_as(websocket_class: type[WebSocket]) -> FastAPI:
    async def values(websocket: WebSocket) -> None:
        wrong = websocket_class(websocket.scope, websocket.receive, websocket.send)
        await surface.framework_values(wrong)

    return shadowing(_websocket("/surface/starlette/values", values))


def _mounted_variant(**options: Any) -> Mount:
    """The surface's mounted app rebuilt with `options` (no dependency, no handler...)."""
    app = FastAPI(**options)
    app.add_middleware(surface.MarkScope)
    app.add_api_websocket_route("/echo", surface.mounted_echo)
    return Mount("/surface/app", app=app)


prefix_dropped = shadowing(_websocket("/surface/prefixed/echo", _echo_elsewhere))
int_convertor_ignored = shadowing(_websocket("/surface/starlette/int/{value}", _value_as_text))
float_convertor_ignored = shadowing(_websocket("/surface/starlette/float/{value}", _value_as_text))
uuid_convertor_ignored = shadowing(_websocket("/surface/starlette/uuid/{value}", _value_as_text))
# Without `:path`, a value with slashes does not match at all.
path_convertor_ignored = shadowing(
    Mount("/surface/starlette", routes=[WebSocketRoute("/path/{value}", _value_as_text)])
)
fastapi_convertor_ignored = shadowing(_websocket("/surface/items/{item_id}", _item_as_text))
endpoint_close_code_lost = shadowing(
    _websocket("/surface/starlette/endpoint/{key}", _EndpointLosingTheCode)
)
validation_skipped = shadowing(_websocket("/surface/validated/{number}", _validated_loosely))
dependency_refuses_late = shadowing(
    _websocket("/surface/depends/websocket", _refuses_after_accepting)
)
http_exception_discarded = shadowing(_websocket("/surface/raise/http", _http_exception_discarded))
denial_body_truncated = shadowing(_websocket("/surface/denial/{kind}", _denial_truncated))
mount_params_dropped = shadowing(
    Mount(
        "/surface/starlette",
        routes=[
            _DropsMountParams(
                "/rooms/{room}",
                routes=[WebSocketRoute("/members/{member}", surface.routing_values)],
            )
        ],
    )
)
prefix_params_dropped = _prefix_dropped_params()
client_address_swapped = _values_as(_ClientSwapped)
url_from_server_address = _values_as(_UrlFromServerAddress)
duplicate_header_dropped = _values_as(_DuplicateHeaderDropped)
query_key_deduplicated = _values_as(_QueryKeyDeduplicated)
last_subprotocol_only = _values_as(_LastSubprotocolOnly)
app_dependency_skipped = shadowing(_mounted_variant(exception_handlers=surface.HANDLERS))
exception_handler_skipped = shadowing(_mounted_variant(dependencies=[Depends(surface.allowed)]))


# --- guards ignored (targets/guards_fastapi.py): what a FastAPI skipping each guard lets in -----


def _guard_ignored(user: str) -> Any:
    """The guarded route without its guard: everyone is let in as `user` (whom the valid
    credential names, so that only the refusals fail)."""

    async def route(websocket: WebSocket) -> None:
        await guards_fastapi.greet(websocket, user)

    return route


def guard_ignored(guard: str, user: str) -> FastAPI:
    return shadowing(_websocket(guards.ROUTES[guard], _guard_ignored(user)))


async def _scopes_ignored(
    websocket: WebSocket, user: str = Depends(guards_fastapi.scoped_user)
) -> None:
    """Security's scopes dropped: SecurityScopes arrives empty, so any valid token gets in."""
    await guards_fastapi.greet(websocket, user)


def _overrides_ignored() -> Mount:
    app = FastAPI()  # the user's override never reaches the route
    handle_websocket_exceptions(app)
    app.websocket("/route")(guards_fastapi.parameter_guarded)
    return Mount("/guards/overridden", app=app)


route_dependencies_ignored = guard_ignored("route-dependencies", "guarded")
parameter_dependency_ignored = guard_ignored("parameter", "alice")
http_bearer_ignored = guard_ignored("http-bearer", "alice")
api_key_query_ignored = guard_ignored("api-key-query", "bob")
api_key_header_ignored = guard_ignored("api-key-header", "bob")
api_key_cookie_ignored = guard_ignored("api-key-cookie", "bob")
oauth2_ignored = guard_ignored("oauth2", "johndoe")
scopes_ignored = shadowing(_websocket(guards.ROUTES["scopes"], _scopes_ignored))
dependency_overrides_ignored = shadowing(_overrides_ignored())
