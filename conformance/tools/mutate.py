"""The suite's mutation score: small generated bugs in the WebSocket code of a server or framework
under test, each run through the part of the suite that judges it; a mutant the suite does not
notice (its run passes the gate) survives, and the survivors are the suite's to-do list.

    python -m wsconform.conformance.tools.mutate --target uvicorn-sansio [--sample 20] [--seed 0]
        [--timeout SECONDS] [--out reports/out/mutate] [--suite DIR --python PATH]
        [-- PYTEST ARGS]

`--suite` and `--python` run the mutants through another checkout of wsconform, in its own
environment (e.g. an older commit, to compare two versions of the suite on the same mutants):
the mutants are made from the package installed here, which that environment must also have.

Why an operator set of our own: mutmut mutates only the files of the project it runs in (it
copies them into its own `mutants/` tree), and cosmic-ray rewrites the module's file on disk in
place; the code under test here is an installed package, run by servers in other processes.
So each mutant is a copy of the whole installed package with one file changed, put first on
PYTHONPATH of a fresh pytest process (which the suite's server subprocesses inherit): the
installed files are never touched, and a mutant cannot leak into the next run.

A mutant is *killed* when its run fails (a finding or a gate difference, in either direction),
*killed by timeout* when its run exceeds the time bound (reported apart: a hang the suite
only noticed by its bound; --timeout, by default three times the unmutated run's time),
*survived* when its run passes. A run that cannot start (pytest's usage or internal error)
is an *error*, left out of the score. Mutants triaged as equivalent (no
observable difference is possible; `conformance/data/equivalent_mutants.toml`, each with its
reason) are not run. Score = (killed + killed by timeout) / (killed + killed by timeout +
survived). Writes `<target>.json` and `<target>.md` (each survivor with its diff) in --out.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from wsconform.conformance.data import EQUIVALENT_MUTANTS, read_toml
from wsconform.conformance.engine.results import MOVE_KINDS

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "out" / "mutate"
# The unmutated run's bound: past it the suite itself is too slow here to measure anything.
CLEAN_RUN_BOUND_S = 1200.0
# pytest's exit status -> the mutant's: 1 is a failed test or gate; 2 an interrupted session,
# which is how pytest-xdist ends a run stopped by -x, and how pytest ends one whose collection
# failed (a mutant that breaks an import). The others are pytest's own usage or internal errors.
_EXIT_STATUS = {0: "survived", 1: "killed", 2: "killed"}
# The unmutated run may fail on a loaded machine (a timing-dependent verdict): it is tried this
# many times, and the report says how many it took.
CLEAN_RUN_ATTEMPTS = 3
# A mutant's run may take this many times the unmutated one (servers torn down after a crash,
# a loaded machine) before it counts as killed by timeout, and never less than the floor.
TIMEOUT_FACTOR = 3.0
TIMEOUT_FLOOR_S = 60.0

# The gated suite's part that can see a transport, without the browser columns (they need
# Chromium and re-run what the frame client already judged) and the benchmarks. -x: the first
# failure is a kill, the rest of the run would only cost time.
_SUITE = (
    "conformance", "--ignore=conformance/bench", "--ignore=conformance/suite/test_browser.py",
    "--hypothesis-profile", "ci", "-n", "2", "--dist", "loadgroup", "-x", "-q",
    "-p", "no:cacheprovider",
)  # fmt: skip


@dataclass(frozen=True)
class MutationTarget:
    """One file of an installed package and the command whose result judges its mutants.
    `{results}` in the command is replaced by a results.json path inside the run's own
    temporary folder (never reports/out/, which the real suite owns)."""

    name: str
    package: str  # the top-level import package that is copied and shadowed
    module_file: str  # the mutated file, relative to the package's folder
    command: tuple[str, ...]
    cwd: Path = ROOT
    # Added to PYTHONPATH after the overlay (a self-test's own target package lives there).
    python_path: tuple[str, ...] = ()


def _suite_target(name: str, package: str, module_file: str, servers: str) -> MutationTarget:
    command = (sys.executable, "-m", "pytest", *_SUITE, "--server", servers, "--results")
    return MutationTarget(name, package, module_file, (*command, "{results}"))


TARGETS = {
    target.name: target
    for target in (
        # uvicorn's sansio implementation runs only under its own transport.
        _suite_target(
            "uvicorn-sansio",
            "uvicorn",
            "protocols/websockets/websockets_sansio_impl.py",
            "uvicorn-sansio",
        ),
        # Starlette's WebSocket class runs under every transport: our in-memory driver, its own
        # TestClient and one real server (the one with uvicorn's newest implementation).
        _suite_target(
            "starlette", "starlette", "websockets.py", "inmemory,testclient,uvicorn-sansio"
        ),
    )
}

# --- the operators -------------------------------------------------------------------------------

_COMPARISON_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Mutant:
    """One change to one node. `id` does not move when lines above it change: it hashes the
    enclosing function, the operator, the code before and after and which occurrence of that
    same change in the function it is."""

    id: str
    operator: str
    function: str
    line: int
    original: str
    replacement: str
    source: str = field(repr=False)  # the whole mutated module

    def diff(self, original_source: str, filename: str) -> str:
        return "".join(
            difflib.unified_diff(
                original_source.splitlines(keepends=True),
                self.source.splitlines(keepends=True),
                f"a/{filename}",
                f"b/{filename}",
                n=2,
            )
        )


@dataclass(frozen=True)
class _Edit:
    operator: str
    node: ast.expr | ast.stmt  # whose source segment is replaced
    replacement: str  # unparsed, at column 0


def _negated(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return ast.UnaryOp(ast.Not(), test)


def _constant_change(node: ast.Constant) -> object:
    """Another value of the same kind, or the node's own value when it has none we change."""
    value = node.value
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str) and value:
        return "XX" + value + "XX"
    if isinstance(value, bytes) and value:
        return b"XX" + value + b"XX"
    return value


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _edits_of(node: ast.AST) -> Iterator[_Edit]:
    """The mutations of one node (its children are visited on their own)."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            flipped = _COMPARISON_FLIPS.get(type(op))
            if flipped is not None:
                ops = [*node.ops[:index], flipped(), *node.ops[index + 1 :]]
                changed = ast.Compare(node.left, ops, node.comparators)
                yield _Edit("comparison-flip", node, ast.unparse(changed))
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield _Edit("boolean-operator", node, ast.unparse(ast.BoolOp(other, node.values)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _Edit("boolean-negation", node, ast.unparse(node.operand))
    elif isinstance(node, ast.Constant):
        changed_value = _constant_change(node)
        if changed_value != node.value or type(changed_value) is not type(node.value):
            yield _Edit("constant-change", node, repr(changed_value))
    elif isinstance(node, ast.If | ast.While):
        # A comparison's flip and a `not`'s removal already negate those tests.
        if not isinstance(node.test, ast.Compare | ast.UnaryOp):
            yield _Edit("boolean-negation", node.test, ast.unparse(_negated(node.test)))
        # An `elif` chain is left alone: swapping it would move the later branches' tests too.
        is_elif = len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)
        if isinstance(node, ast.If) and node.orelse and not is_elif:
            swapped = ast.If(node.test, node.orelse, node.body)
            yield _Edit("swapped-branches", node, ast.unparse(swapped))
    elif isinstance(node, ast.Expr) and not _is_docstring(node):
        operator = "removed-await" if isinstance(node.value, ast.Await) else "removed-statement"
        yield _Edit(operator, node, "pass")
    elif isinstance(node, ast.Assign | ast.AugAssign | ast.Raise):
        yield _Edit("removed-statement", node, "pass")


def _walk(node: ast.AST, function: str) -> Iterator[tuple[ast.AST, str]]:
    """Every node with its enclosing function's qualified name, in source order; annotations,
    docstrings and `if TYPE_CHECKING:` blocks are left out (nothing runs them)."""
    yield node, function
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns", "type_comment", "decorator_list"):
            continue
        children = value if isinstance(value, list) else [value]
        for child in children:
            if not isinstance(child, ast.AST):
                continue
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Constant) and isinstance(node, ast.Expr):
                continue  # a docstring's (or a bare constant's) text
            if isinstance(child, ast.JoinedStr):
                continue  # an f-string's parts have no source segment of their own to replace
            scope = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                scope = f"{function}.{child.name}" if function else child.name
            yield from _walk(child, scope)


def _apply(source: str, lines: list[str], edit: _Edit) -> str:
    """`source` with the edit's node replaced by its replacement, re-indented to the node's
    column (a swapped `if` spans several lines)."""
    node = edit.node
    start = sum(len(line) for line in lines[: node.lineno - 1]) + _char_offset(
        lines[node.lineno - 1], node.col_offset
    )
    assert node.end_lineno is not None and node.end_col_offset is not None
    end = sum(len(line) for line in lines[: node.end_lineno - 1]) + _char_offset(
        lines[node.end_lineno - 1], node.end_col_offset
    )
    indent = " " * node.col_offset
    replacement = edit.replacement.replace("\n", "\n" + indent)
    return source[:start] + replacement + source[end:]


def _char_offset(line: str, byte_offset: int) -> int:
    """ast's column offsets count UTF-8 bytes."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8"))


def generate_mutants(source: str) -> list[Mutant]:
    """Every mutant of a module's source that still compiles, in source order."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    mutants = []
    seen: dict[str, int] = {}
    for node, function in _walk(tree, ""):
        for edit in _edits_of(node):
            original = ast.get_source_segment(source, edit.node) or ""
            mutated = _apply(source, lines, edit)
            try:
                compile(mutated, "<mutant>", "exec")
            except SyntaxError:
                continue  # e.g. a removed statement that was a block's only one
            key = f"{function}|{edit.operator}|{original}|{edit.replacement}"
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            digest = hashlib.sha1(f"{key}|{occurrence}".encode()).hexdigest()[:10]
            mutants.append(
                Mutant(
                    id=f"{function or '<module>'}:{edit.operator}:{digest}",
                    operator=edit.operator,
                    function=function or "<module>",
                    line=getattr(edit.node, "lineno", 0),
                    original=original,
                    replacement=edit.replacement,
                    source=mutated,
                )
            )
    return mutants


# --- running them --------------------------------------------------------------------------------


@dataclass
class MutantResult:
    id: str
    operator: str
    function: str
    line: int
    status: str  # killed, timeout, survived, error
    seconds: float
    diff: str
    output_tail: str = ""
    killed_by: list[str] = field(default_factory=list)


def package_dir(target: MutationTarget) -> Path:
    """Where the target's package is imported from: its own python_path first, as in a run."""
    spec = importlib.machinery.PathFinder.find_spec(target.package, list(target.python_path))
    spec = spec or importlib.util.find_spec(target.package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {target.package!r} is not installed here")
    return Path(next(iter(spec.submodule_search_locations)))


@contextlib.contextmanager
def overlay(target: MutationTarget, source: str) -> Iterator[Path]:
    """A temporary folder holding a copy of the target's package with `source` as its module
    file: put first on PYTHONPATH, it shadows the installed package for one run."""
    with tempfile.TemporaryDirectory(prefix=f"wsconform-mutant-{target.name}-") as tmp:
        folder = Path(tmp)
        copy = folder / "overlay" / target.package
        shutil.copytree(package_dir(target), copy, ignore=shutil.ignore_patterns("__pycache__"))
        (copy / target.module_file).write_text(source, encoding="utf-8")
        yield folder


def _env(folder: Path, target: MutationTarget) -> dict[str, str]:
    paths = [str(folder / "overlay"), *target.python_path, os.environ.get("PYTHONPATH")]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, paths)),
        # No bytecode beside the copy: each run compiles the source it was given.
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def check_overlay_is_used(target: MutationTarget, source: str) -> None:
    """Fail loudly when the copy would not shadow the installed package (e.g. a .pth that puts
    site-packages first): every mutant would then 'survive'."""
    dotted = target.module_file.removesuffix(".py").removesuffix("__init__").replace("/", ".")
    module = ".".join(filter(None, [target.package, dotted.strip(".")]))
    with overlay(target, source) as folder:
        found = subprocess.run(
            [target.command[0], "-c", f"import {module} as m; print(m.__file__)"],
            env=_env(folder, target),
            cwd=target.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if not found.stdout.strip().startswith(str(folder)):
            raise SystemExit(
                f"the mutated copy of {module} is not what a run imports:"
                f" {found.stdout.strip() or found.stderr.strip()[-500:]}"
            )


def run_once(target: MutationTarget, source: str, timeout_s: float) -> tuple[str, float, str]:
    """Run the target's command on `source`; (status, seconds, the output's tail)."""
    with overlay(target, source) as folder:
        command = [
            part.replace("{results}", str(folder / "results.json")) for part in target.command
        ]
        started = time.monotonic()
        with (folder / "run.log").open("w+b") as log:
            # A session of its own, so that a hung run's servers die with it.
            process = subprocess.Popen(
                command,
                cwd=target.cwd,
                env=_env(folder, target),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                _stop_group(process)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
    seconds = round(time.monotonic() - started, 1)
    status = "timeout" if code is None else _EXIT_STATUS.get(code, "error")
    return status, seconds, tail


def killed_by(output: str) -> list[str]:
    """What failed a run: the failed tests and the gate's differences, from pytest's output."""
    return [
        line.strip()
        for line in output.splitlines()
        if line.startswith(("FAILED ", "ERROR ")) or line.rstrip().endswith(MOVE_KINDS)
    ]


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def equivalent_mutants(target: str) -> dict[str, str]:
    """Mutant id -> why it cannot change what anyone observes, triaged by hand."""
    entries = read_toml(EQUIVALENT_MUTANTS).get("equivalent", [])
    return {entry["id"]: entry["reason"] for entry in entries if entry["target"] == target}


def select(mutants: Sequence[Mutant], sample: int | None, seed: int) -> list[Mutant]:
    """A repeatable sample (the same seed, the same mutants), in source order."""
    if sample is None or sample >= len(mutants):
        return list(mutants)
    chosen = random.Random(seed).sample(range(len(mutants)), sample)
    return [mutants[index] for index in sorted(chosen)]


def run_mutants(
    target: MutationTarget,
    original: str,
    mutants: Sequence[Mutant],
    timeout_s: float,
    progress: Callable[[MutantResult], None] = lambda result: None,
) -> list[MutantResult]:
    results = []
    for mutant in mutants:
        status, seconds, tail = run_once(target, mutant.source, timeout_s)
        result = MutantResult(
            mutant.id,
            mutant.operator,
            mutant.function,
            mutant.line,
            status,
            seconds,
            mutant.diff(original, f"{target.package}/{target.module_file}"),
            tail if status in ("survived", "error") else "",
            killed_by(tail) if status == "killed" else [],
        )
        progress(result)
        results.append(result)
    return results


def score(results: Sequence[MutantResult]) -> float | None:
    """Killed (by a finding or by the time bound) over every mutant that ran to a verdict."""
    counted = [r for r in results if r.status in ("killed", "timeout", "survived")]
    if not counted:
        return None
    return sum(r.status != "survived" for r in counted) / len(counted)


def summary(
    target: MutationTarget,
    version: str,
    generated: int,
    results: Sequence[MutantResult],
    equivalent: dict[str, str],
    settings: dict[str, Any],
) -> dict[str, Any]:
    counts = {status: 0 for status in ("killed", "timeout", "survived", "error")}
    for result in results:
        counts[result.status] += 1
    return {
        "target": target.name,
        "module": f"{target.package}/{target.module_file}",
        "version": version,
        "settings": settings,
        "generated": generated,
        "equivalent_skipped": equivalent,
        "counts": counts,
        "score": score(results),
        "mutants": [asdict(result) for result in results],
    }


def markdown(data: dict[str, Any]) -> str:
    counts = data["counts"]
    value = data["score"]
    shown = "n/a" if value is None else f"{value:.0%}"
    lines = [
        f"# Mutation score: {data['target']} ({data['module']} {data['version']})",
        "",
        f"**Score {shown}**: {counts['killed']} killed by a finding, {counts['timeout']} killed"
        f" by the time bound, {counts['survived']} survived, {counts['error']} could not run;"
        f" {len(data['mutants'])} run of {data['generated']} generated"
        f" ({len(data['equivalent_skipped'])} triaged as equivalent and not run)."
        f" Settings: {', '.join(f'{k}={v}' for k, v in data['settings'].items())}.",
        "",
        "| mutant | operator | line | status | seconds | killed by |",
        "|---|---|---|---|---|---|",
        *(
            f"| `{m['id']}` | {m['operator']} | {m['line']} | {m['status']} | {m['seconds']}"
            f" | {'<br>'.join(m['killed_by'][:3])} |"
            for m in data["mutants"]
        ),
    ]
    for status, title in (("survived", "Survivors"), ("timeout", "Killed by the time bound")):
        chosen = [m for m in data["mutants"] if m["status"] == status]
        if chosen:
            lines += ["", f"## {title}"]
            for mutant in chosen:
                lines += ["", f"### `{mutant['id']}` (line {mutant['line']})", "", "```diff"]
                lines += [mutant["diff"].rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, choices=sorted(TARGETS))
    parser.add_argument("--sample", type=int, help="run this many mutants (default: every one)")
    parser.add_argument("--seed", type=int, default=0, help="which sample (default 0)")
    parser.add_argument(
        "--timeout", type=float, help="seconds per mutant's run (default: 3x the unmutated run)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants, run none")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--suite", type=Path, help="another checkout of wsconform whose suite judges the mutants"
    )
    parser.add_argument("--python", help="the interpreter of that checkout's environment")
    parser.add_argument(
        "pytest_args", nargs="*", help="after --: added to each run's pytest command (e.g. -k)"
    )
    args = parser.parse_args(argv)
    if (args.suite is None) != (args.python is None):
        parser.error("--suite and --python go together: a checkout and its environment")
    target = TARGETS[args.target]
    target = replace(target, command=(*target.command, *args.pytest_args))
    if args.suite is not None:
        if not (args.suite / "conformance" / "suite").is_dir():
            parser.error(f"--suite {args.suite}: not a checkout of wsconform")
        target = replace(
            target, command=(args.python, *target.command[1:]), cwd=args.suite.resolve()
        )
    module_path = package_dir(target) / target.module_file
    original = module_path.read_text(encoding="utf-8")
    generated = generate_mutants(original)
    equivalent = equivalent_mutants(target.name)
    candidates = [mutant for mutant in generated if mutant.id not in equivalent]
    chosen = select(candidates, args.sample, args.seed)
    if args.list:
        for mutant in chosen:
            print(f"{mutant.id}  line {mutant.line}: {mutant.original!r} -> {mutant.replacement!r}")
        return 0
    check_overlay_is_used(target, original)
    # The unmutated copy must pass: otherwise every mutant would count as killed.
    unmutated_failures: list[str] = []
    for _ in range(CLEAN_RUN_ATTEMPTS):
        status, seconds, tail = run_once(target, original, CLEAN_RUN_BOUND_S)
        if status == "survived":
            break
        unmutated_failures += killed_by(tail) or [status]
        print(f"the unmutated {target.name} failed ({status}, {seconds}s):\n{tail}", flush=True)
    else:
        return 2
    print(
        f"{target.name}: the unmutated run passes in {seconds}s; {len(chosen)} mutants", flush=True
    )

    timeout_s = args.timeout or max(TIMEOUT_FLOOR_S, round(TIMEOUT_FACTOR * seconds))
    version = importlib.metadata.version(target.package)
    settings = {
        "suite": str(target.cwd),
        "sample": args.sample,
        "seed": args.seed,
        "pytest_args": " ".join(args.pytest_args),
        "unmutated_run_s": seconds,
        # A failure of the unmutated run before it passed: a verdict that flakes here, which
        # may also have killed a mutant (each killed mutant says what killed it).
        "unmutated_failures": unmutated_failures,
        "timeout_s": timeout_s,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    done: list[MutantResult] = []

    def progress(result: MutantResult) -> None:
        """Print the mutant's line and rewrite both files: a run cut short keeps what it did."""
        print(
            f"  {result.status:8} {result.seconds:6.1f}s  {result.id} (line {result.line})",
            flush=True,
        )
        done.append(result)
        data = summary(target, version, len(generated), done, equivalent, settings)
        (args.out / f"{target.name}.json").write_text(json.dumps(data, indent=1))
        (args.out / f"{target.name}.md").write_text(markdown(data))

    results = run_mutants(target, original, chosen, timeout_s, progress)
    data = summary(target, version, len(generated), results, equivalent, settings)
    print(markdown(data).split("\n\n")[1])
    print(f"written: {args.out / (target.name + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
