"""`wsconform.sarif`: the findings of a run as SARIF 2.1.0, so that CI code scanning (GitHub's
`upload-sarif`, GitLab, any SARIF viewer) annotates the app's line where each one was raised.

    python -m wsconform.reports.sarif [--results wsconform-report/results.json] [--out FILE]

Written beside results.json by every run. One result per finding, its rule the first failed
check (the others are named in the message), located at the leaf frame the finding names
(`KeyError at app/main.py:54 in track_order: ...`), relative to the folder the run was made
in, which is the project's (a URI a code-scanning upload resolves against the checkout).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

SARIF_FILE = "wsconform.sarif"  # beside results.json
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# In a finding's leaf: " at FILE:LINE in FUNCTION: " (targets/servers/witness.py, _describe_leaf).
_FRAME = re.compile(r" at (?P<file>[^:;]+):(?P<line>\d+) in [\w<>.]+: ")
# In a traceback: the frames, innermost last.
_TRACEBACK_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in ', re.M)


def sarif_log(results: Mapping[str, Any], project: Path) -> dict[str, Any]:
    """The SARIF log of `results` (a results.json), locations relative to `project`."""
    findings = results.get("findings") or []
    catalogue = {check["id"]: check for check in results.get("checks") or []}
    rule_ids = sorted({finding["checks"][0] for finding in findings})
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wsconform",
                        "version": _version(),
                        "rules": [
                            _rule(rule_id, catalogue.get(rule_id, {})) for rule_id in rule_ids
                        ],
                    }
                },
                "results": [_result(finding, project) for finding in findings],
            }
        ],
    }


def _version() -> str:
    try:
        return metadata.version("wsconform")
    except metadata.PackageNotFoundError:
        return "0"


def _rule(rule_id: str, check: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "shortDescription": {"text": check.get("title") or rule_id},
        "fullDescription": {"text": check.get("requirement") or check.get("title") or rule_id},
        "defaultConfiguration": {"level": "error"},
    }


def _result(finding: Mapping[str, Any], project: Path) -> dict[str, Any]:
    checks = ", ".join(finding["checks"])
    text = (
        f"{checks} on {finding['route']}: {finding['leaf']}\nMinimal connection: {finding['plan']}"
    )
    result: dict[str, Any] = {
        "ruleId": finding["checks"][0],
        "level": "error",
        "message": {"text": text},
        "partialFingerprints": {"wsconformFinding/v1": finding["id"]},
    }
    location = leaf_location(finding, project)
    if location is not None:
        uri, line = location
        result["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line},
                }
            }
        ]
    return result


def leaf_location(finding: Mapping[str, Any], project: Path) -> tuple[str, int] | None:
    """The project file and line where the finding's leaf exception was raised: the frame its
    leaf names when that is a file of the project, else the innermost frame of the project in
    its tracebacks (a leaf a library raised, called from the app); None when neither is."""
    for match in _FRAME.finditer(finding.get("leaf", "")):
        found = _in_project(match["file"], int(match["line"]), project)
        if found:
            return found
    for seen in (finding.get("servers") or {}).values():
        for error in seen.get("app_errors") or []:
            for match in reversed(list(_TRACEBACK_FRAME.finditer(error))):
                found = _in_project(match["file"], int(match["line"]), project)
                if found:
                    return found
    return None


def _in_project(file: str, line: int, project: Path) -> tuple[str, int] | None:
    path = (project / file).resolve()
    if not path.is_file() or not path.is_relative_to(project) or "site-packages" in path.parts:
        return None
    return path.relative_to(project).as_posix(), line


def write_sarif(results_path: Path, out: Path, project: Path | None = None) -> Path:
    """`out`, the SARIF log of the results.json at `results_path`."""
    results = json.loads(results_path.read_text())
    log = sarif_log(results, (project or Path.cwd()).resolve())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(log, indent=2) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="wsconform-report/results.json", type=Path)
    parser.add_argument("--out", default=None, type=Path)
    parser.add_argument("--project", default=".", type=Path)
    arguments = parser.parse_args()
    out = arguments.out or arguments.results.parent / SARIF_FILE
    print(write_sarif(arguments.results, out, arguments.project))


if __name__ == "__main__":
    main()
