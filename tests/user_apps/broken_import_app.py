"""An app whose import fails in its own code: a usage error showing the app's traceback."""

from __future__ import annotations

from starlette.applications import Starlette

SETTINGS: dict[str, str] = {}

database_url = SETTINGS["DATABASE_URL"]

app = Starlette()
