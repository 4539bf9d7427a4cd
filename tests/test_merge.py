"""`reports.merge`: the results of one CI job per transport become the results of one run."""

from __future__ import annotations

import json
from pathlib import Path

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.vocabulary import Advertised
from wsconform.reports.merge import main

INMEMORY = [Judgement("data.text-exact", True, "ok"), Judgement("close.code-delivered", False, "")]
UVICORN = [Judgement("data.text-exact", False, "stripped")]
PROGRAM = '[{"kind": "Connect"}]'


def recorded(*runs: tuple[str, list[Judgement]]) -> ResultsRecorder:
    recorder = ResultsRecorder()
    for server, judgements in runs:
        recorder.add(server, judgements, lambda: {"session": "s"})
        recorder.add_advertised(server, Advertised("2.4"))
        # The same program on every server: the merged file compares them.
        recorder.add_observation(server, PROGRAM, {"observed": [server]})
    return recorder


def test_merged_results_equal_one_run_of_every_server(tmp_path: Path) -> None:
    recorded(("inmemory", INMEMORY)).write(tmp_path / "a.json")
    uvicorn = recorded(("uvicorn-sansio", UVICORN))
    uvicorn.add_unavailable("inmemory", "run in another job")  # must not hide a's verdicts
    uvicorn.write(tmp_path / "b.json")
    status = main([str(tmp_path / "all.json"), str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    merged = json.loads((tmp_path / "all.json").read_text())
    one_run = json.loads(
        json.dumps(recorded(("inmemory", INMEMORY), ("uvicorn-sansio", UVICORN)).to_json())
    )
    keys = ("servers", "unavailable_servers", "advertised", "results", "checks", "observations")
    assert (status, {key: merged[key] for key in keys}) == (
        0,
        {key: one_run[key] for key in keys},
    )


def test_runs_of_different_stacks_are_refused(tmp_path: Path) -> None:
    for name, starlette in (("a", "1.10.0"), ("b", "0.37.2")):
        data = recorded(("inmemory", INMEMORY)).to_json()
        data["environment"]["starlette"] = starlette
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    status = main([str(tmp_path / "all.json"), str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert (status, (tmp_path / "all.json").exists()) == (2, False)


def test_a_file_that_is_not_results_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("[]")
    assert main([str(tmp_path / "all.json"), str(tmp_path / "bad.json")]) == 2


def test_a_pair_in_two_runs_keeps_the_causes_of_both(tmp_path: Path) -> None:
    # The same server in two jobs (e.g. split by test file), failing one check for two reasons.
    first = [Judgement("close.code-delivered", False, "", cause="raised; client saw nothing")]
    second = [Judgement("close.code-delivered", False, "", cause="client saw close 1000")]
    recorded(("daphne", first)).write(tmp_path / "a.json")
    recorded(("daphne", second)).write(tmp_path / "b.json")
    main([str(tmp_path / "all.json"), str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    merged = json.loads((tmp_path / "all.json").read_text())
    one_run = recorded(("daphne", first + second)).to_json()
    assert [row.get("causes") for row in merged["results"]] == [
        row.get("causes") for row in one_run["results"]
    ]
