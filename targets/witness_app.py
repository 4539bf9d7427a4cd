"""The ASGI app a server in another process serves: the app under test, named by the import
string in `WSCONFORM_WITNESSED_APP`, wrapped so every exception escaping it is noted. The test
process reads (and clears) the notes with `GET /_wsconform/app-errors`, and waits until the app
has finished with every websocket with `GET /_wsconform/app-idle?within=S`.

In-process servers wrap the app object directly (`AppErrorWitness`); this is the same witness
for servers that can only load an app by import string.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any
from urllib.parse import parse_qs

from targets.servers.base import (
    APP_ERRORS_PATH,
    APP_IDLE_PATH,
    WITNESSED_APP_ENV,
    AppErrorWitness,
    load_app,
)


class RemoteAppErrorWitness:
    def __init__(self, import_string: str) -> None:
        self.errors: list[str] = []
        self.app = AppErrorWitness(load_app(import_string), self.errors.append)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == APP_ERRORS_PATH:
            await _answer_json(send, self.errors.copy())
            self.errors.clear()
        elif scope["type"] == "http" and scope["path"] == APP_IDLE_PATH:
            query = parse_qs(scope.get("query_string", b"").decode())
            bound = float(query.get("within", ["0"])[0])
            # In a thread: this loop must keep running the very connections being waited on.
            idle = await asyncio.to_thread(self.app.idle.wait, bound)
            await _answer_json(send, {"idle": idle})
        else:
            await self.app(scope, receive, send)


async def _answer_json(send: Any, value: Any) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(value).encode()})


def _witnessed_import_string() -> str:
    import_string = os.environ.get(WITNESSED_APP_ENV)
    if not import_string:
        raise RuntimeError(
            f"{__name__} serves the app named by ${WITNESSED_APP_ENV} (module:attr); it is unset"
        )
    return import_string


app = RemoteAppErrorWitness(_witnessed_import_string())
