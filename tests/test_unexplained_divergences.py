"""The servers as each other's oracle: a transport whose observation differs from another's on
the same program, under the same verdicts, is listed as an unexplained divergence (with both
transcripts, in index.json and on the page); one whose verdicts differ is the model's to explain
and is not; sound transports list nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Action,
    ClientClose,
    ClientDrop,
    Connect,
    ReceiveText,
)
from wsconform.reports.html import write_report
from wsconform.reports.results_file import unexplained_divergences
from wsconform.targets.puppet import build_puppet_app
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests.broken_targets import broken_middleware, disconnect_code_replaced, when
from tests.test_report import baselines, results_json, text_of

# The app is handed a close reason with every disconnect, also after a TCP drop, when the
# client sent none: after a drop the model judges the code, not the reason.
invents_a_disconnect_reason = broken_middleware(
    to_app=when("websocket.disconnect", lambda message: {**message, "reason": "invented"})
)
# A drop reported to the app as a normal close: a verdict changes.
reports_a_drop_as_1000 = broken_middleware(to_app=disconnect_code_replaced(1006, 1000))
DROP_WHILE_THE_APP_RECEIVES: list[Action] = [Connect(), Accept(), ClientDrop(), ReceiveText()]
# After a client's close, the reason is judged: the same breakage changes a verdict.
CLOSE_WHILE_THE_APP_RECEIVES: list[Action] = [
    Connect(),
    Accept(),
    ClientClose(1000, "later"),
    ReceiveText(),
]


def observations(
    runner: LoopRunner, transports: Mapping[str, Transport], program: list[Action]
) -> dict[str, Any]:
    recorder = ResultsRecorder()
    for name, transport in transports.items():
        session = runner.run(run_actions(transport, program, "oracle"))
        recorder.add_observation(name, session.program(), session.observation())
    observed: dict[str, Any] = recorder.to_json()["observations"]
    return observed


def test_a_difference_under_equal_verdicts_is_listed_with_both_transcripts(
    loop_runner: LoopRunner,
) -> None:
    # A third transport judged otherwise is compared with neither, and hides nothing.
    transports = {
        "inmemory": InMemoryTransport(build_puppet_app()),
        "broken": invents_a_disconnect_reason(),
        "judged-otherwise": reports_a_drop_as_1000(),
    }
    (entry,) = unexplained_divergences(
        observations(loop_runner, transports, DROP_WHILE_THE_APP_RECEIVES)
    )
    assert entry["servers"] == [["broken"], ["inmemory"]]
    assert entry["first_difference"]["step"] == 3
    assert "invented" in json.dumps(entry["first_difference"]["broken"])
    assert "invented" not in json.dumps(entry["first_difference"]["inmemory"])
    assert set(entry["transcripts"]) == {"broken", "inmemory"}


def test_a_difference_the_verdicts_explain_is_not_listed(loop_runner: LoopRunner) -> None:
    transports = {
        "inmemory": InMemoryTransport(build_puppet_app()),
        "broken": invents_a_disconnect_reason(),
    }
    seen = observations(loop_runner, transports, CLOSE_WHILE_THE_APP_RECEIVES)
    (by_transport,) = seen.values()
    assert by_transport["broken"]["observed"] != by_transport["inmemory"]["observed"]
    assert unexplained_divergences(seen) == []


def test_sound_transports_list_nothing(loop_runner: LoopRunner) -> None:
    transports = {
        "inmemory": InMemoryTransport(build_puppet_app()),
        "inmemory-again": InMemoryTransport(build_puppet_app()),
    }
    assert (
        unexplained_divergences(observations(loop_runner, transports, DROP_WHILE_THE_APP_RECEIVES))
        == []
    )


def test_the_report_lists_them(loop_runner: LoopRunner, tmp_path: Path) -> None:
    transports = {
        "inmemory": InMemoryTransport(build_puppet_app()),
        "broken": invents_a_disconnect_reason(),
    }
    results = {
        **results_json(),
        "observations": observations(loop_runner, transports, DROP_WHILE_THE_APP_RECEIVES),
    }
    path = tmp_path / "out" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(results))
    write_report(path, tmp_path / "no-storage", baselines(tmp_path, "pass"))
    (listed,) = json.loads((path.parent / "index.json").read_text())["unexplained_divergences"]
    assert listed["servers"] == [["broken"], ["inmemory"]]
    page = text_of((path.parent / "index.html").read_text())
    assert "broken vs inmemory : at step 3 (ReceiveText)" in page
    assert "'invented'" in page
