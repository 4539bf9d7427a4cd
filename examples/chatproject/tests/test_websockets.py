"""The project's own tests, with wsconform's Python API: one test per WebSocket route, each
driving generated connections on the in-memory server."""

from __future__ import annotations

import wsconform

app = wsconform.from_app("chatproject.main:app")


@app.parametrize()
def test_websocket_route(route: wsconform.Route) -> None:
    route.check()
