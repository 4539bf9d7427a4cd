"""The mutation score measures what it says: on a tiny target module, a mutant its judge must
kill is killed, one its judge cannot see survives, one that never ends is killed by the time
bound, and the score counts them; the installed files are never changed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from wsconform.conformance.data import EQUIVALENT_MUTANTS, read_toml
from wsconform.conformance.tools.mutate import (
    TARGETS,
    Mutant,
    MutationTarget,
    check_overlay_is_used,
    generate_mutants,
    killed_by,
    main,
    markdown,
    package_dir,
    run_mutants,
    score,
    summary,
)

DEMO = Path(__file__).parent / "mutation_demo"
MODULE = DEMO / "clamp_demo" / "__init__.py"
# The demo's "suite": a failed assertion is exit status 1, what pytest gives a failing run.
JUDGE = (
    "import clamp_demo as d; d.remember(1);"
    " assert (d.clamp(-5, 0, 10), d.clamp(5, 0, 10), d.clamp(50, 0, 10)) == (0, 5, 10);"
    " assert d.countdown(3) == 0"
)
TARGET = MutationTarget(
    name="demo",
    package="clamp_demo",
    module_file="__init__.py",
    command=(sys.executable, "-c", JUDGE),
    python_path=(str(DEMO),),
)


def _mutant(mutants: list[Mutant], operator: str, original: str) -> Mutant:
    (found,) = [m for m in mutants if m.operator == operator and m.original == original]
    return found


def test_every_generated_mutant_compiles_and_changes_the_module() -> None:
    source = MODULE.read_text()
    mutants = generate_mutants(source)
    assert len({m.id for m in mutants}) == len(mutants)
    for mutant in mutants:
        assert mutant.source != source
        compile(mutant.source, "<mutant>", "exec")


def test_mutant_ids_do_not_move_with_the_lines_above() -> None:
    source = MODULE.read_text()
    shifted = source.replace("seen: list[int] = []", "seen: list[int] = []\n\n\nOTHER = None")
    ids = {m.id for m in generate_mutants(source)}
    assert ids <= {m.id for m in generate_mutants(shifted)}


def test_the_score_counts_killed_survived_and_timed_out_mutants() -> None:
    source = MODULE.read_text()
    assert package_dir(TARGET) == MODULE.parent
    check_overlay_is_used(TARGET, source)
    mutants = generate_mutants(source)
    chosen = [
        _mutant(mutants, "comparison-flip", "value < low"),  # the judge clamps below low
        _mutant(mutants, "removed-statement", "seen.append(value)"),  # nobody reads `seen`
        _mutant(mutants, "removed-statement", "steps -= 1"),  # a loop that never ends
    ]
    results = run_mutants(TARGET, source, chosen, timeout_s=10)
    assert [r.status for r in results] == ["killed", "survived", "timeout"]
    assert score(results) == 2 / 3
    assert MODULE.read_text() == source
    page = markdown(summary(TARGET, "0", len(mutants), results, {}, {}))
    assert "-    seen.append(value)\n+    pass" in page


def test_a_killed_mutant_names_the_tests_and_gate_differences_that_killed_it() -> None:
    output = "\n".join(
        [
            "baseline gate: 2 difference(s) (the run fails):",
            "  uvicorn-sansio: close.code-delivered pass -> fail (new failure)",
            "  uvicorn-sansio: disconnect.drop-code-1006 informational -> pass (now passes)",
            "XFAIL conformance/suite/test_wire.py::test_wire_probes[uvicorn-sansio] - known",
            "FAILED conformance/suite/test_scenarios.py::test_directed_scenario[x] - failed",
        ]
    )
    assert killed_by(output) == [
        "uvicorn-sansio: close.code-delivered pass -> fail (new failure)",
        "uvicorn-sansio: disconnect.drop-code-1006 informational -> pass (now passes)",
        "FAILED conformance/suite/test_scenarios.py::test_directed_scenario[x] - failed",
    ]


def test_every_equivalent_mutant_names_its_target_and_says_why() -> None:
    entries = read_toml(EQUIVALENT_MUTANTS)["equivalent"]
    assert entries
    for entry in entries:
        assert entry["target"] in TARGETS
        assert entry["id"].count(":") == 2
        assert entry["reason"].strip()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--suite", "."], "--suite and --python go together"),
        (["--suite", "docs", "--python", sys.executable], "not a checkout of wsconform"),
    ],
)
def test_another_suite_is_asked_for_with_its_environment(
    extra: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--target", "uvicorn-sansio", "--list", *extra])
    assert (stopped.value.code, says in capsys.readouterr().err) == (2, True)
