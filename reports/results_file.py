"""Reading a results.json the suite wrote: one place for what makes a file one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ResultsFileError(ValueError):
    """The file is missing, unreadable or not a wsconform results.json; the message says why."""


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ResultsFileError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict) or not {"servers", "checks", "results"} <= data.keys():
        raise ResultsFileError(f"{path} is not a wsconform results.json")
    return data
