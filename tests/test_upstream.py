"""Upstream news (`tox -e latest`): a verdict that moves is attributed to the releases of its own
stack that moved, never to an unrelated package; the gate names moved releases first."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder, gate_differences
from wsconform.conformance.engine.stacks import explain_difference, installed_stack
from wsconform.conformance.tools.atlas import Pair
from wsconform.conformance.tools.upstream import Change, find_cause_changes, find_changes, main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

LONG_HEADER = "upgrade.long-header-answered"
AUTH = "contract.auth.rejects-before-accept"
ORDER = "order.send-before-accept"


def _baseline(directory: Path, server: str, verdicts: dict[str, str], **recorded: str) -> None:
    payload: dict[str, Any] = {"transport": server, "recorded_with": recorded, "verdicts": verdicts}
    (directory / f"{server}.json").write_text(json.dumps(payload))


def test_a_sansio_flip_is_attributed_to_uvicorn_not_to_hypercorn(tmp_path: Path) -> None:
    _baseline(tmp_path, "uvicorn-sansio", {LONG_HEADER: "fail", AUTH: "fail", ORDER: "pass"})
    locked = {"uvicorn": "0.54.0", "hypercorn": "0.17.0", "starlette": "1.10.0"}
    newest = {"uvicorn": "0.55.0", "hypercorn": "0.18.0", "starlette": "1.10.0"}
    latest = {"uvicorn-sansio": {LONG_HEADER: "pass", AUTH: "pass", ORDER: "pass"}}
    changes = find_changes(latest, lambda server: locked, newest, baselines=tmp_path)
    assert changes == [
        Change(AUTH, "uvicorn-sansio", "fail", "pass", {"uvicorn": ("0.54.0", "0.55.0")}),
        Change(LONG_HEADER, "uvicorn-sansio", "fail", "pass", {"uvicorn": ("0.54.0", "0.55.0")}),
    ]
    assert (
        changes[1]
        .sentence()
        .startswith(
            "uvicorn 0.54.0 → 0.55.0: on uvicorn-sansio, upgrade.long-header-answered fail → pass"
        )
    )


def test_a_framework_check_is_attributed_to_starlette_on_any_server(tmp_path: Path) -> None:
    _baseline(tmp_path, "hypercorn", {ORDER: "pass", LONG_HEADER: "pass"})
    locked = {"hypercorn": "0.18.0", "starlette": "1.9.0"}
    newest = {"hypercorn": "0.18.0", "starlette": "1.10.0"}
    latest = {"hypercorn": {ORDER: "fail", LONG_HEADER: "fail"}}
    changes = find_changes(latest, lambda server: locked, newest, baselines=tmp_path)
    by_check = {change.check: change.moved for change in changes}
    # The order check is Starlette's; the header check is hypercorn's, whose stack did not move.
    assert by_check == {ORDER: {"starlette": ("1.9.0", "1.10.0")}, LONG_HEADER: {}}


def test_a_server_stack_follows_its_dependencies() -> None:
    stack = installed_stack("uvicorn-wsproto", LONG_HEADER)
    assert {"uvicorn", "wsproto", "h11"} <= stack
    assert "hypercorn" not in stack and "starlette" not in stack


def test_the_watch_writes_its_news_and_a_reviewable_atlas_pair(tmp_path: Path) -> None:
    installed = importlib.metadata.version("uvicorn")
    baselines = tmp_path / "expected"
    baselines.mkdir()
    _baseline(baselines, "uvicorn-sansio", {LONG_HEADER: "fail"}, uvicorn="0.0.1")
    recorder = ResultsRecorder()
    recorder.add("uvicorn-sansio", [Judgement(LONG_HEADER, True, "431")], dict)
    results = tmp_path / "results.json"
    recorder.write(results)
    out = tmp_path / "latest.json"
    assert main([str(results), "--out", str(out), "--baselines", str(baselines)]) == 0
    news = json.loads(out.read_text())
    assert news["changes"] == [
        {
            "check": LONG_HEADER,
            "server": "uvicorn-sansio",
            "locked_verdict": "fail",
            "latest_verdict": "pass",
            "moved": {"uvicorn": ["0.0.1", installed]},
            "sentence": f"uvicorn 0.0.1 → {installed}: on uvicorn-sansio, {LONG_HEADER} fail → pass"
            " (header lines of 8 KiB and 16 KiB, a byte under, at and over, and of 9 KiB are"
            " answered)",
        }
    ]
    assert news["locked"]["uvicorn"] and news["latest"]["uvicorn"] == installed
    assert f"uvicorn 0.0.1 → {installed}: on uvicorn-sansio" in out.with_suffix(".md").read_text()
    stanza = tomllib.loads((tmp_path / "latest-atlas.toml").read_text())["pair"][0]
    pair = Pair.from_toml(stanza)
    assert (pair.package, pair.buggy, pair.fixed, pair.servers) == (
        "uvicorn",
        "0.0.1",
        installed,
        ("uvicorn-sansio",),
    )


def test_the_gate_names_the_release_that_moved_beside_a_difference(tmp_path: Path) -> None:
    installed = importlib.metadata.version("uvicorn")
    _baseline(tmp_path, "uvicorn-sansio", {LONG_HEADER: "fail"}, uvicorn="0.0.1")
    recorder = ResultsRecorder()
    recorder.add("uvicorn-sansio", [Judgement(LONG_HEADER, True, "431")], dict)
    differences = gate_differences(
        recorder, tmp_path, lambda server, check: explain_difference(server, check, tmp_path)
    )
    assert differences == [
        f"uvicorn-sansio: {LONG_HEADER} fail -> pass (now passes)"
        f" [moved in its stack: uvicorn 0.0.1 → {installed}]"
    ]


def test_a_failure_a_moved_release_explains_is_news_and_any_other_fails(tmp_path: Path) -> None:
    gate = Gate(directory=tmp_path)
    failing = [Judgement(LONG_HEADER, False, "no answer to a 9 KiB header line")]
    for server in ("uvicorn-sansio", "hypercorn"):
        _baseline(tmp_path, server, {LONG_HEADER: "pass"}, uvicorn="0.0.1")
    # Inside a Hypothesis test too (contracts fail on findings so that it shrinks).
    assert gate.findings("uvicorn-sansio", failing) == []
    assert gate.findings("hypercorn", failing) == failing
    with pytest.raises(pytest.xfail.Exception, match=r"moved with a release of its stack: "):
        gate.settle("uvicorn-sansio", failing, "transcript")
    # uvicorn is not in hypercorn's stack: the same failure there is the code's to answer for.
    with pytest.raises(pytest.fail.Exception, match=r"none of them in these verdicts' stack"):
        gate.settle("hypercorn", failing, "transcript")


def test_a_new_cause_behind_an_unmoved_verdict_is_news_once_with_its_checks(
    tmp_path: Path,
) -> None:
    payload: dict[str, Any] = {
        "transport": "granian",
        "recorded_with": {},
        "verdicts": {LONG_HEADER: "fail", AUTH: "fail"},
        "causes": {LONG_HEADER: ["silence"], AUTH: ["silence"]},
    }
    (tmp_path / "granian.json").write_text(json.dumps(payload))
    rows = [
        {"check": check, "server": "granian", "verdict": "fail", "causes": {"a 500": "fail"}}
        for check in (LONG_HEADER, AUTH)
    ]
    locked, newest = {"granian": "2.8.0"}, {"granian": "2.9.0"}
    found = find_cause_changes(rows, lambda server: locked, newest, baselines=tmp_path)
    assert [(c.state, c.cause, c.checks) for c in found] == [
        ("gone", "silence", (AUTH, LONG_HEADER)),
        ("new", "a 500", (AUTH, LONG_HEADER)),
    ]
    assert found[1].moved == {"granian": ("2.8.0", "2.9.0")}
