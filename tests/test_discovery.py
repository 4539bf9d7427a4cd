"""Route discovery: included routers, mounted sub-apps (nested, with their own parameters),
Starlette convertors, and FastAPI's query, header and cookie parameters and dependencies."""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter, Cookie, Depends, FastAPI, Header, Query, WebSocket
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocket as StarletteWebSocket
from wsconform.conformance.engine.discovery import (
    Location,
    Parameter,
    describe_routes,
    discover,
    serves,
)


async def starlette_endpoint(websocket: StarletteWebSocket) -> None:
    await websocket.close()


def api_key(x_api_key: str = Header()) -> str:
    return x_api_key


def build_app() -> FastAPI:
    app = FastAPI()

    @app.websocket("/plain")
    async def plain(websocket: WebSocket) -> None:
        await websocket.close()

    router = APIRouter(prefix="/items", dependencies=[Depends(api_key)])

    @router.websocket("/{item_id}/live")
    async def item_live(
        websocket: WebSocket,
        item_id: int,
        since: int = Query(),
        lang: str | None = None,
        session: str | None = Cookie(default=None),
    ) -> None:
        await websocket.close()

    app.include_router(router)
    nested = Starlette(routes=[WebSocketRoute("/feed/{ref:uuid}", starlette_endpoint)])
    sub = Starlette(
        routes=[
            WebSocketRoute("/rooms/{n:int}/{ratio:float}", starlette_endpoint),
            WebSocketRoute("/files/{rest:path}", starlette_endpoint),
            Mount("/org/{org}", routes=[Mount("/deep", app=nested)]),
        ]
    )
    app.mount("/sub", sub)
    return app


def test_routers_mounts_convertors_and_fastapi_parameters_are_found() -> None:
    found = {endpoint.path: endpoint for endpoint in discover(build_app())}
    assert list(found) == [
        "/plain",
        "/items/{item_id}/live",
        "/sub/rooms/{n:int}/{ratio:float}",
        "/sub/files/{rest:path}",
        "/sub/org/{org}/deep/feed/{ref:uuid}",
    ]
    live = found["/items/{item_id}/live"]
    assert (live.framework, set(live.parameters), live.dependencies) == (
        "fastapi",
        {
            Parameter("item_id", Location.PATH, "int"),
            Parameter("since", Location.QUERY, "int"),
            Parameter("lang", Location.QUERY, "str", required=False),
            Parameter("session", Location.COOKIE, "str", required=False),
            Parameter("x-api-key", Location.HEADER, "str"),
        },
        ("api_key",),
    )
    assert [(p.name, p.type) for p in found["/sub/rooms/{n:int}/{ratio:float}"].parameters] == [
        ("n", "int"),
        ("ratio", "float"),
    ]
    assert [(p.name, p.type) for p in found["/sub/org/{org}/deep/feed/{ref:uuid}"].parameters] == [
        ("org", "str"),
        ("ref", "uuid"),
    ]
    assert found["/sub/files/{rest:path}"].parameters[0].type == "path"


def test_routes_listing_and_matching() -> None:
    endpoints = discover(build_app())
    listing = describe_routes(endpoints)
    assert "/items/{item_id}/live  [fastapi: item_live]" in listing
    assert "header:x-api-key: int" not in listing and "header:x-api-key: str" in listing
    ref = uuid.UUID(int=1)
    assert serves(endpoints, f"/sub/org/acme/deep/feed/{ref}?x=1")
    assert not serves(endpoints, "/sub/rooms/one/1.5")


def test_something_that_is_not_an_app_is_refused() -> None:
    with pytest.raises(TypeError, match="has no routes"):
        discover(object())
