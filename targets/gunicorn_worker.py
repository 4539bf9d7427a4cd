"""The uvicorn worker gunicorn loads (by import string) for the `gunicorn-uvicorn` transport.

uvicorn's settings reach a gunicorn worker only through the worker class (`CONFIG_KWARGS`), not
gunicorn's command line; this subclass gives it those of the `uvicorn-*` transports
(targets/servers/uvicorn_server.py). Only a gunicorn process imports it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker
from wsconform.targets.servers.base import MAX_MESSAGE_BYTES


# uvicorn_worker ships no type information: its class is `Any` to mypy.
class SuiteUvicornWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        # The suite's message limit, as --ws-max-size on the uvicorn transports.
        "ws_max_size": MAX_MESSAGE_BYTES,
        # The witness runs the app's lifespan itself (targets/servers/witness.py).
        "lifespan": "off",
        # Quiet: the witness keeps every app exception with its traceback, once.
        "access_log": False,
    }
