"""`wsconform run` on apps whose bugs hide from a careless client: an authenticated route that
also requires another query parameter, a route that a crafted JWT crashes after accept, and a
JSON handler that trusts every object to carry the key it reads (tests/user_apps/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.discovery import discover
from wsconform.conformance.engine.plans import Observation
from wsconform.conformance.engine.vocabulary import Accepted, ClientEvent, Closed
from wsconform.conformance.families.generic.routes import (
    MessageVocabulary,
    bind_auth_routes,
    judge_bad_token_crash,
    load_auth_routes,
    message_vocabulary,
)
from wsconform.strategies import tokens
from wsconform.targets.servers.witness import RETURNED_OPEN

from tests.runs import WITHOUT_CROWDS
from tests.user_apps import json_commands_app
from tests.user_apps.csrf_auth import app as csrf_app

ROOT = Path(__file__).resolve().parents[1]
APPS = "tests.user_apps"


def wsconform(
    tmp_path: Path, app: str, *, crowds: bool = True
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """`wsconform run` on inmemory with the default profile, as a user types it (without the
    crowd pass unless `crowds`: see tests/runs.py); its exit status and results.json."""
    report = tmp_path / "report"
    command = [
        sys.executable, "-m", "wsconform.cli", "run", app,
        "--server", "inmemory", "--report-dir", str(report),
        *(() if crowds else ("--", *WITHOUT_CROWDS)),
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    results = report / "results.json"
    return run, json.loads(results.read_text()) if results.exists() else None


def test_an_auth_connection_carries_the_routes_other_required_parameters() -> None:
    config = ROOT / "tests" / "user_apps" / "csrf_auth" / "pyproject.toml"
    (feed, _) = bind_auth_routes(load_auth_routes(config), discover(csrf_app.app))
    assert feed.request("t0k") == ("/feed?csrf_token=example&token=t0k", ())


@pytest.mark.slow
def test_a_valid_token_is_accepted_and_accept_before_auth_found_despite_a_csrf_parameter(
    tmp_path: Path,
) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.csrf_auth.app:app")
    found = sorted((finding["route"], *finding["checks"]) for finding in results["findings"])
    assert found == [("/late", "generic.auth.rejects-bad-tokens")], run.stdout[-2000:]


def test_every_bad_token_flavour_is_its_own_token() -> None:
    flavours = tokens.bad_token_flavours("a.b.c")
    assert {"missing", "jwt alg none", "jwt header without alg"} <= set(flavours)
    assert "a.b.c" not in flavours.values()


def test_every_bad_credential_reaches_the_app_within_one_header_line() -> None:
    # A credential longer than the server reads in a header line never reaches the app: it
    # judges the server's limit (upgrade.long-header-answered), not the route's auth.
    valid = "wsconform-token-alice"
    lines = [f"authorization: Bearer {token}" for token in tokens.named_mutations(valid).values()]
    assert max(len(line) for line in lines) < tokens.HEADER_LINE_LIMIT


def test_a_bad_token_route_that_returns_open_is_no_crash() -> None:
    """A websocket left open at return is its own check's finding, not an exception."""
    config = ROOT / "tests" / "user_apps" / "csrf_auth" / "pyproject.toml"
    (feed, _) = bind_auth_routes(load_auth_routes(config), discover(csrf_app.app))
    seen: list[ClientEvent] = [Accepted(None, ()), Closed(1006, "", close_frame_seen=False)]
    left_open = Observation(seen, [f"websocket /feed: {RETURNED_OPEN}"])
    raised = Observation(seen, ["websocket /feed: KeyError at app.py:1 in feed: 'alg'"])
    verdicts = [judge_bad_token_crash(feed, "x", observed).ok for observed in (left_open, raised)]
    assert verdicts == [True, False]


@pytest.mark.slow
def test_a_crafted_token_that_crashes_the_route_after_accept_is_a_finding_of_its_own(
    tmp_path: Path,
) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.crafted_token.app:app", crowds=False)
    crashes = [
        finding
        for finding in results["findings"]
        if "generic.auth.bad-token-no-crash" in finding["checks"]
    ]
    assert run.returncode == 1
    assert [finding["leaf"].split(" in ")[0] for finding in crashes] == [
        "websocket /account: KeyError at tests/user_apps/crafted_token/app.py:47"
    ], results["findings"]


def test_the_route_code_gives_the_keys_and_values_its_messages_are_read_with() -> None:
    (commands,) = discover(json_commands_app.app)
    assert message_vocabulary(commands.handler) == MessageVocabulary(
        keys=("type", "action", "text", "room"), values=("websocket.disconnect", "join", "leave")
    )


@pytest.mark.slow
def test_a_json_object_without_the_key_the_route_reads_is_found_by_default(
    tmp_path: Path,
) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.json_commands_app:app", crowds=False)
    found = [(finding["plan"], finding["leaf"].split(" in ")[0]) for finding in results["findings"]]
    assert found == [
        (
            "connect '/commands'\n  send_text('{}')",
            "websocket /commands: KeyError at tests/user_apps/json_commands_app.py:28",
        )
    ], run.stdout[-2000:]
