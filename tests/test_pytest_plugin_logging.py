"""asyncio's reports of tasks collected with an unretrieved exception keep one line, no traceback:
formatting one inside the collector can re-enter the AST compiler (see OneLineTaskReports)."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from wsconform.conformance.pytest_plugin import OneLineTaskReports


def test_a_collected_tasks_report_carries_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    asyncio_logger = logging.getLogger("asyncio")
    assert any(isinstance(f, OneLineTaskReports) for f in asyncio_logger.filters)

    async def fails() -> None:
        raise RuntimeError("left behind")

    loop = asyncio.new_event_loop()
    task = loop.create_task(fails())
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        del task
        gc.collect()
    reports = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert reports
    assert [(r.exc_info, r.getMessage().splitlines()[-1]) for r in reports] == [
        (None, "RuntimeError: left behind")
    ]
