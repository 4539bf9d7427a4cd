"""Every wire and upgrade check passes on a sound echo server, and fails on one with exactly
its flaw."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.wire import frames as wire
from wsconform.conformance.families.wire import handshakes as upgrade
from wsconform.conformance.families.wire.catalogue import (
    CLIENT_HANDSHAKE_CHECKS,
    UPGRADE_CHECKS,
    VARIATION_CHECKS,
    WIRE_CHECKS,
)
from wsconform.strategies.handshakes import variations
from wsconform.targets.frames import OP_TEXT, Frame
from wsconform.targets.wsclient import Endpoint

from tests.wire_servers import Flaw, serving

CAUGHT_BY = {
    "wire.pong-echoes-ping": Flaw.PONG_WITHOUT_PAYLOAD,
    "wire.fragments-reassembled": Flaw.ECHOES_EACH_FRAGMENT,
    "wire.control-between-fragments": Flaw.IGNORES_PING_BETWEEN_FRAGMENTS,
    "wire.invalid-utf8-fails": Flaw.PASSES_INVALID_UTF8,
    "wire.unmasked-frame-fails": Flaw.ACCEPTS_UNMASKED,
    "wire.reserved-bits-fail": Flaw.IGNORES_RESERVED_BITS,
    "wire.reserved-opcode-fails": Flaw.DROPS_UNKNOWN_OPCODES,
    "wire.long-control-frame-fails": Flaw.ANSWERS_LONG_PING,
    "wire.one-byte-close-fails": Flaw.ECHOES_SHORT_CLOSE,
    "wire.failure-close-code": Flaw.CLOSES_WITHOUT_CODE,
    "wire.no-data-after-close": Flaw.DATA_AFTER_CLOSE,
    "wire.close-ends-tcp": Flaw.KEEPS_TCP_AFTER_CLOSE,
    "wire.server-frames-unmasked": Flaw.MASKS_ITS_FRAMES,
    "wire.server-frames-no-reserved-bits": Flaw.SETS_RSV1,
    "wire.server-control-frames-short": Flaw.FRAGMENTS_ITS_PONG,
    "wire.length-boundaries-read": Flaw.CUTS_MESSAGES_AT_65535,
    "wire.server-length-minimal": Flaw.WIDE_SHORT_LENGTHS,
    "wire.accept-key": Flaw.WRONG_ACCEPT,
    "upgrade.missing-key-refused": Flaw.ACCEPTS_MISSING_KEY,
    "upgrade.unknown-version-refused": Flaw.VERSION_WITHOUT_HEADER,
    "upgrade.non-get-refused": Flaw.ACCEPTS_POST,
    "upgrade.space-before-colon-refused": Flaw.ACCEPTS_SPACE_BEFORE_COLON,
    "upgrade.nul-in-value-handled": Flaw.PASSES_NUL,
    "upgrade.cr-in-value-handled": Flaw.PASSES_CR,
    "upgrade.control-char-in-value-handled": Flaw.CUTS_VALUE_AT_CONTROL,
    "upgrade.obs-fold-handled": Flaw.PASSES_OBS_FOLD,
    "upgrade.long-header-answered": Flaw.SILENT_ON_LONG_HEADER,
    "upgrade.many-headers-answered": Flaw.SILENT_ON_MANY_HEADERS,
    "upgrade.refusal-closes-as-announced": Flaw.KEEPS_TCP_AFTER_REFUSAL,
    "upgrade.app-refusal-closes-as-announced": Flaw.KEEPS_TCP_AFTER_APP_REFUSAL,
    "upgrade.denial-closes-as-announced": Flaw.KEEPS_TCP_AFTER_DENIAL,
    "upgrade.client-handshakes-upgraded": Flaw.CONNECTION_MUST_EQUAL_UPGRADE,
    "upgrade.client-subprotocols-kept": Flaw.KEEPS_LAST_PROTOCOL_LINE,
}
ALL_CHECKS = WIRE_CHECKS + UPGRADE_CHECKS + CLIENT_HANDSHAKE_CHECKS


def verdicts(flaw: Flaw, runner: LoopRunner) -> dict[str, set[bool | None]]:
    async def probe() -> list[Judgement]:
        async with serving(flaw) as port:
            endpoint = Endpoint(port)
            results = await wire.run_probes(endpoint) + await upgrade.run_probes(endpoint)
            results += await upgrade.run_client_handshakes(endpoint)
            return [judgement for judgements, _ in results for judgement in judgements]

    judged: dict[str, set[bool | None]] = {}
    for judgement in runner.run(probe()):
        judged.setdefault(judgement.check_id, set()).add(judgement.ok)
    return judged


def test_every_wire_check_has_a_flawed_server() -> None:
    assert set(CAUGHT_BY) == {check.id for check in ALL_CHECKS}


def test_a_sound_server_passes_every_wire_check(loop_runner: LoopRunner) -> None:
    assert verdicts(Flaw.NONE, loop_runner) == {check.id: {True} for check in ALL_CHECKS}


@pytest.mark.parametrize("check_id", sorted(CAUGHT_BY))
def test_wire_check_catches_its_flaw(check_id: str, loop_runner: LoopRunner) -> None:
    assert False in verdicts(CAUGHT_BY[check_id], loop_runner)[check_id]


@pytest.mark.slow  # seconds: its own server per case, bounded waits
@pytest.mark.parametrize(("flaw", "pinged"), [(Flaw.NONE, True), (Flaw.NEVER_PINGS, False)])
def test_a_server_configured_to_ping_is_judged_by_its_pings(
    flaw: Flaw, pinged: bool, loop_runner: LoopRunner
) -> None:
    async def probe() -> Judgement:
        async with serving(flaw, ping_interval_s=wire.KEEPALIVE_INTERVAL_S) as port:
            return await wire.keepalive(
                Endpoint(port), "the echo server's ping interval", wire.KEEPALIVE_INTERVAL_S
            )

    judgement = loop_runner.run(probe())
    assert (judgement.check_id, judgement.ok) == ("wire.keepalive-pings-sent", pinged)


def test_a_compressed_scope_message_is_inflated() -> None:
    """Servers accept the recorded clients' permessage-deflate offers (uvicorn's websockets
    implementations do) and then compress the scope echo: RSV1 says so (RFC 7692 6)."""
    deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    sent = deflate.compress(b'{"subprotocols": ["chat"]}') + deflate.flush(zlib.Z_SYNC_FLUSH)
    frame = Frame(OP_TEXT, sent[:-4], rsv=0b100, masked=False)  # the tail 00 00 ff ff is dropped
    headers = {"sec-websocket-extensions": "permessage-deflate"}
    assert upgrade.message_payload(frame, headers) == b'{"subprotocols": ["chat"]}'


# Generated variations of the recorded handshakes: a sound server upgrades every one and hands
# the app what was sent; each flaw below is shown by some variation. CONNECTION_TOKEN_CASE_
# SENSITIVE upgrades every recorded handshake: only a generated one (a recased token) shows it.
VARIATIONS_CAUGHT_BY = {
    "upgrade.client-variations-upgraded": (
        Flaw.CONNECTION_TOKEN_CASE_SENSITIVE,
        Flaw.CONNECTION_MUST_EQUAL_UPGRADE,
    ),
    "upgrade.client-variations-kept": (Flaw.KEEPS_LAST_PROTOCOL_LINE,),
}
CLIENTS = upgrade.load_client_handshakes()


def replay_variations(flaw: Flaw, check_id: str, runner: LoopRunner) -> set[bool | None]:
    """The verdicts of `check_id` over generated variations, until one fails (it raises then,
    after shrinking, with the failing variation)."""
    judged: set[bool | None] = set()
    server = serving(flaw)
    endpoint = Endpoint(runner.run(server.__aenter__()))
    try:

        @settings(max_examples=40, derandomize=True, database=None, deadline=None)
        @given(
            st.sampled_from(CLIENTS).flatmap(lambda c: variations(c.lines).map(lambda v: (c, v)))
        )
        def replay(varied: tuple[upgrade.ClientHandshake, tuple[str, ...]]) -> None:
            judgements, _ = runner.run(upgrade.run_variation(endpoint, *varied))
            verdicts = {j.ok for j in judgements if j.check_id == check_id}
            judged.update(verdicts)
            assert False not in verdicts, [j.detail for j in judgements]

        replay()
    finally:
        runner.run(server.__aexit__(None, None, None))
    return judged


def test_every_variation_check_has_a_flawed_server() -> None:
    assert set(VARIATIONS_CAUGHT_BY) == {check.id for check in VARIATION_CHECKS}


@pytest.mark.parametrize("check_id", sorted(VARIATIONS_CAUGHT_BY))
def test_a_sound_server_passes_every_variation(check_id: str, loop_runner: LoopRunner) -> None:
    assert replay_variations(Flaw.NONE, check_id, loop_runner) == {True}


@pytest.mark.slow  # seconds: its own server per case, bounded waits
@pytest.mark.parametrize(
    ("check_id", "flaw"),
    [(check_id, flaw) for check_id, flaws in VARIATIONS_CAUGHT_BY.items() for flaw in flaws],
)
def test_variation_check_catches_its_flaw(
    check_id: str, flaw: Flaw, loop_runner: LoopRunner
) -> None:
    with pytest.raises(AssertionError):
        replay_variations(flaw, check_id, loop_runner)


@pytest.mark.parametrize(
    ("flaw", "cause"),
    [
        (Flaw.REFUSES_TAB_AFTER_HOST, "OWS HTAB after the host value: HTTP 400"),
        (
            Flaw.CONNECTION_TOKEN_CASE_SENSITIVE,
            "the connection member 'Upgrade' in another case: HTTP 400",
        ),
    ],
)
def test_one_refused_change_is_one_cause_whichever_client_made_it(
    flaw: Flaw, cause: str, loop_runner: LoopRunner
) -> None:
    """The variations the server refuses come from several clients and carry other changes
    too; each is refused for one change, so it is counted once, named by that change (no
    client, no port, no key)."""
    refused: dict[str, set[str]] = {}
    server = serving(flaw)
    endpoint = Endpoint(loop_runner.run(server.__aenter__()))
    try:

        @settings(max_examples=40, derandomize=True, database=None, deadline=None)
        @given(
            st.sampled_from(CLIENTS).flatmap(lambda c: variations(c.lines).map(lambda v: (c, v)))
        )
        def replay(varied: tuple[upgrade.ClientHandshake, tuple[str, ...]]) -> None:
            judgements, _ = loop_runner.run(upgrade.run_variation(endpoint, *varied))
            for judgement in judgements:
                if judgement.failure_cause is not None:
                    refused.setdefault(judgement.failure_cause, set()).add(varied[0].id)

        replay()
    finally:
        loop_runner.run(server.__aexit__(None, None, None))
    assert list(refused) == [cause]
    assert len(refused[cause]) >= 2


def test_a_limit_off_by_one_is_named_at_its_edge(loop_runner: LoopRunner) -> None:
    async def probe() -> list[Judgement]:
        async with serving(Flaw.CRASHES_AT_LINE_LIMIT) as port:
            results = await upgrade.run_probes(Endpoint(port))
        return [j for judgements, _ in results for j in judgements]

    failed = [
        j.detail for j in loop_runner.run(probe()) if j.check_id == "upgrade.long-header-answered"
    ]
    assert [detail for detail in failed if "HTTP 500" in detail] == [
        "b'GET /scope-echo/upgrade HTTP/1.1 ...' a 8192-byte header line: HTTP 500"
    ]


def test_recorded_handshakes_miss_what_variations_show(loop_runner: LoopRunner) -> None:
    assert verdicts(Flaw.CONNECTION_TOKEN_CASE_SENSITIVE, loop_runner)[
        "upgrade.client-handshakes-upgraded"
    ] == {True}
