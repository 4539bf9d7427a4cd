"""The lifecycle model on its own: no transport, no app, just actions, outcomes and events in,
judgements and plans out."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect
from wsconform.conformance.checks import Grade, Verdict
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.model import (
    App,
    LifecycleModel,
    Listen,
    Plan,
)
from wsconform.conformance.engine.rfc6455 import is_valid_wire_close_code
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    Advertised,
    ClientClose,
    ClientDrop,
    ClientEvent,
    ClientListen,
    ClientRaised,
    ClientSendBytes,
    ClientSendJson,
    ClientSendText,
    Close,
    Closed,
    Connect,
    Denied,
    Message,
    NoEvent,
    RaiseError,
    RaiseWebSocketException,
    ReceiveBytes,
    ReceiveText,
    SendDenialResponse,
    SendText,
    StepOutcome,
    Visibility,
)
from wsconform.targets.puppet import Unsupported


class ServerSpecificGone(OSError):
    """What ASGI 2.4 lets a server raise for a send to a gone client: any OSError subclass."""


def handshaking() -> LifecycleModel:
    model = LifecycleModel()
    model.judge_client(Connect(), None, None)
    return model


def connected() -> LifecycleModel:
    model = handshaking()
    model.judge_server(Accept(), StepOutcome(), Accepted(subprotocol=None))
    return model


def after_client_close(code: int | None = 1000, reason: str = "") -> LifecycleModel:
    model = connected()
    model.judge_client(ClientClose(code, reason), None, Closed(code=code, reason=reason))
    return model


def verdicts(judgements: list[Judgement]) -> list[tuple[str, Verdict]]:
    return [(judgement.check_id, judgement.verdict) for judgement in judgements]


def verdicts_of(check_id: str, judgements: list[Judgement]) -> list[Verdict]:
    return [judgement.verdict for judgement in judgements if judgement.check_id == check_id]


# --- plans ----------------------------------------------------------------------------------------


def test_receive_with_an_empty_inbox_waits_for_the_client() -> None:
    assert connected().plan_server(ReceiveText()) == Plan(Listen.NOTHING, completes=False)


def test_receive_with_a_message_in_the_inbox_completes() -> None:
    model = connected()
    model.judge_client(ClientSendText("hi"), None, None)
    assert model.plan_server(ReceiveText()) == Plan(Listen.NOTHING, completes=True)


def test_client_send_resolves_a_waiting_receive() -> None:
    model = connected()
    model.judge_server(ReceiveText(), None, None)
    assert model.plan_client(ClientSendText("hi")) == Plan(Listen.NOTHING, resolves_pending=True)


def test_accept_during_the_handshake_expects_a_client_event() -> None:
    assert handshaking().plan_server(Accept()) == Plan(Listen.EVENT)


# --- close before accept ----------------------------------------------------------------------


def test_close_before_accept_denied_with_403_passes() -> None:
    judgements = handshaking().judge_server(Close(), StepOutcome(), Denied(status=403))
    assert verdicts(judgements) == [("handshake.close-before-accept-403", Verdict.PASS)]


def test_close_before_accept_seen_as_a_closed_connection_fails() -> None:
    # TestClient's report of a close before accept: WebSocketDisconnect(1000), no HTTP status.
    event = Closed(code=1000, close_frame_seen=False)
    judgements = handshaking().judge_server(Close(), StepOutcome(), event)
    assert verdicts(judgements) == [("handshake.close-before-accept-403", Verdict.FAIL)]


def test_close_before_accept_denied_with_another_status_fails() -> None:
    judgements = handshaking().judge_server(Close(), StepOutcome(), Denied(status=500))
    assert verdicts(judgements) == [("handshake.close-before-accept-403", Verdict.FAIL)]


# --- verdicts by grade ----------------------------------------------------------------------------


def test_drop_reported_with_1005_is_informational() -> None:
    # RFC 6455 only defines 1006; no text says a server must report a drop with it.
    model = connected()
    model.judge_server(ReceiveText(), None, None)
    outcome = StepOutcome.from_exception(WebSocketDisconnect(code=1005))
    judgements = model.judge_client(ClientDrop(), outcome, None)
    assert verdicts(judgements) == [
        ("disconnect.drop-reaches-app", Verdict.PASS),
        ("disconnect.drop-code-1006", Verdict.INFORMATIONAL),
    ]


def test_drop_reported_with_1006_passes() -> None:
    model = connected()
    model.judge_server(ReceiveText(), None, None)
    outcome = StepOutcome.from_exception(WebSocketDisconnect(code=1006))
    judgements = model.judge_client(ClientDrop(), outcome, None)
    assert verdicts(judgements) == [
        ("disconnect.drop-reaches-app", Verdict.PASS),
        ("disconnect.drop-code-1006", Verdict.PASS),
    ]


def test_client_close_code_lost_on_the_way_to_the_app_is_informational() -> None:
    # ASGI defines the disconnect event's code with no keyword: a best practice, not a MUST.
    model = connected()
    model.judge_server(ReceiveText(), None, None)
    outcome = StepOutcome.from_exception(WebSocketDisconnect(code=1000, reason="bye"))
    judgements = model.judge_client(ClientClose(4000, "bye"), outcome, Closed(4000, "bye"))
    assert verdicts(judgements) == [
        ("close.wire-code-valid", Verdict.PASS),
        ("close.server-answers-client-close", Verdict.PASS),
        ("disconnect.receive-after-client-close", Verdict.PASS),
        ("close.client-code-reaches-app", Verdict.INFORMATIONAL),
        ("close.client-reason-reaches-app", Verdict.PASS),
    ]


def test_client_close_without_a_code_should_reach_the_app_as_1005() -> None:
    model = connected()
    model.judge_server(ReceiveText(), None, None)
    outcome = StepOutcome.from_exception(WebSocketDisconnect(code=1000))
    judgements = model.judge_client(ClientClose(None), outcome, Closed(None))
    assert verdicts(judgements) == [
        ("close.server-answers-client-close", Verdict.PASS),
        ("disconnect.receive-after-client-close", Verdict.PASS),
        ("close.client-no-code-gives-1005", Verdict.NON_STRICT),
    ]


def test_a_client_close_unanswered_within_the_bound_is_the_should_and_does_not_derail() -> None:
    # RFC 6455 5.5.1: the answer MUST come and SHOULD come as soon as practical.
    model = connected()
    judgements = model.judge_client(ClientClose(1000), None, NoEvent(after_s=2.0))
    assert (verdicts(judgements), model.derailed) == (
        [("close.server-answers-client-close", Verdict.NON_STRICT)],
        False,
    )


def test_a_client_close_answered_by_a_drop_fails() -> None:
    event = Closed(code=1006, close_frame_seen=False)
    judgements = connected().judge_client(ClientClose(1000), None, event)
    assert verdicts(judgements) == [("close.server-answers-client-close", Verdict.FAIL)]


def test_a_transport_without_frames_cannot_judge_the_answering_close() -> None:
    model = LifecycleModel(visibility=Visibility(http_status=False, close_frames=False))
    model.judge_client(Connect(), None, None)
    model.judge_server(Accept(), StepOutcome(), Accepted(subprotocol=None))
    judgements = model.judge_client(ClientClose(1000), None, NoEvent(after_s=0.2))
    assert verdicts(judgements) == [("close.server-answers-client-close", Verdict.UNIMPLEMENTED)]


def test_a_feature_the_stack_lacks_is_judged_unimplemented() -> None:
    outcome = StepOutcome.from_exception(Unsupported("WebSocketException needs Starlette >= 0.21"))
    judgements = connected().judge_server(RaiseWebSocketException(4000), outcome, None)
    assert verdicts(judgements) == [
        ("app-error.websocket-exception-after-accept", Verdict.UNIMPLEMENTED)
    ]


def test_accept_without_the_headers_the_stack_cannot_send_is_unimplemented() -> None:
    model = handshaking()
    outcome = StepOutcome.partly_unsupported("accept(headers=...) needs Starlette >= 0.18")
    step = Accept(headers=(("x-conformance", "accepted"),))
    judgements = model.judge_server(step, outcome, Accepted(subprotocol=None))
    assert (verdicts(judgements), model.client.value) == (
        [
            ("handshake.accept-completes", Verdict.PASS),
            ("handshake.accept-headers", Verdict.UNIMPLEMENTED),
        ],
        "open",
    )


@pytest.mark.parametrize(("code_seen", "verdict"), [(4000, Verdict.PASS), (1000, Verdict.FAIL)])
def test_close_without_the_reason_the_stack_cannot_send_still_grades_the_code(
    code_seen: int, verdict: Verdict
) -> None:
    outcome = StepOutcome.partly_unsupported("close(reason=...) needs Starlette >= 0.18")
    event = Closed(code=code_seen, reason="", close_frame_seen=True)
    judgements = connected().judge_server(Close(4000, "bye"), outcome, event)
    assert (
        verdicts_of("close.code-delivered", judgements),
        verdicts_of("close.reason-delivered", judgements),
    ) == ([verdict], [Verdict.UNIMPLEMENTED])


# --- what the app may receive -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_sent", "kinds"),
    [
        (ClientSendText("t"), {"text"}),
        (ClientSendBytes(b"b"), {"bytes"}),
        (ClientSendJson({"j": 1}), {"text", "json"}),
    ],
    ids=["text", "bytes", "json"],
)
def test_receivable_kinds_follow_the_oldest_unread_message(
    first_sent: ClientSendText | ClientSendBytes | ClientSendJson, kinds: set[str]
) -> None:
    model = connected()
    model.judge_client(first_sent, None, None)
    model.judge_client(ClientSendBytes(b"later"), None, None)
    assert model.receivable_kinds() == kinds


def test_receivable_kinds_move_on_once_the_head_is_read() -> None:
    model = connected()
    model.judge_client(ClientSendBytes(b"first"), None, None)
    model.judge_client(ClientSendText("second"), None, None)
    model.judge_server(ReceiveBytes(), StepOutcome(value=b"first"), None)
    assert model.receivable_kinds() == {"text"}


def test_any_receive_is_allowed_with_an_empty_inbox() -> None:
    assert connected().receivable_kinds() == {"text", "bytes", "json"}


# --- derailing ----------------------------------------------------------------------------------


def test_model_derails_after_a_failed_judgement() -> None:
    model = handshaking()
    model.judge_server(Close(), StepOutcome(), Closed(code=1000, close_frame_seen=False))
    assert (model.derailed, model.finished, model.may_step()) == (True, True, False)


def test_model_stays_on_track_after_passing_judgements() -> None:
    model = connected()
    model.judge_server(SendText("hi"), StepOutcome(), Message("hi"))
    assert model.derailed is False


# --- send after the client left -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        (StepOutcome.from_exception(WebSocketDisconnect(code=1000)), Verdict.PASS),
        (StepOutcome.from_exception(ServerSpecificGone("client gone")), Verdict.PASS),
        (StepOutcome.from_exception(ConnectionResetError("reset")), Verdict.PASS),
        (StepOutcome.from_exception(RuntimeError("unexpected message")), Verdict.NON_STRICT),
        (StepOutcome(), Verdict.PASS),
        (None, Verdict.NON_STRICT),
    ],
    ids=[
        "websocket-disconnect",
        "oserror-subclass",
        "connection-reset",
        "runtime-error",
        "silent-before-the-app-noticed",
        "no-outcome",
    ],
)
def test_send_after_the_client_closed(outcome: StepOutcome | None, verdict: Verdict) -> None:
    judgements = after_client_close().judge_server(SendText("late"), outcome, None)
    assert verdicts_of("disconnect.send-after-client-gone", judgements) == [verdict]


def test_silent_send_after_the_app_saw_the_disconnect_is_non_strict() -> None:
    model = after_client_close()
    disconnect = StepOutcome.from_exception(WebSocketDisconnect(code=1000))
    model.judge_server(ReceiveText(), disconnect, None)
    judgements = model.judge_server(SendText("late"), StepOutcome(), None)
    assert verdicts(judgements) == [
        ("disconnect.send-after-client-gone", Verdict.NON_STRICT),
    ]


def test_send_after_a_drop_raising_an_oserror_passes() -> None:
    model = connected()
    model.judge_client(ClientDrop(), None, None)
    outcome = StepOutcome.from_exception(ServerSpecificGone("client gone"))
    judgements = model.judge_server(SendText("late"), outcome, None)
    assert verdicts_of("disconnect.send-after-client-gone", judgements) == [Verdict.PASS]


# --- close codes on the wire --------------------------------------------------------------------


@pytest.mark.parametrize("code", [1005, 1006, 1015])
def test_close_frame_with_a_forbidden_code_fails_wire_code_valid(code: int) -> None:
    judgements = connected().judge_client(ClientListen(), None, Closed(code=code))
    assert verdicts_of("close.wire-code-valid", judgements) == [Verdict.FAIL]


@pytest.mark.parametrize(
    ("event", "wire_verdicts"),
    [
        # RFC 6455 7.1.5: a close frame without a code is reported as 1005 but carries none.
        (Closed(code=None), []),
        # A TCP drop's 1006 is what the client reports, never what the server sent.
        (Closed(code=1006, close_frame_seen=False), []),
        (Closed(code=4000, reason="x"), [Verdict.PASS]),
    ],
    ids=["frame-without-code", "tcp-drop", "application-code"],
)
def test_close_without_a_forbidden_code_on_the_wire_is_not_graded_invalid(
    event: ClientEvent, wire_verdicts: list[Verdict]
) -> None:
    judgements = connected().judge_client(ClientListen(), None, event)
    assert verdicts_of("close.wire-code-valid", judgements) == wire_verdicts


def test_app_close_with_a_forbidden_code_relayed_to_the_wire_is_the_servers_should() -> None:
    # The app broke the rule first; relaying it is graded as a server that should have refused.
    judgements = connected().judge_server(Close(401), StepOutcome(), Closed(code=401))
    assert verdicts(judgements) == [("close.invalid-app-code-refused", Verdict.NON_STRICT)]


def test_app_close_with_a_forbidden_code_passes_when_the_server_refuses_it() -> None:
    outcome = StepOutcome.from_exception(ValueError("close code 1006 may not be sent"))
    judgements = connected().judge_server(Close(1006), outcome, NoEvent(after_s=2.0))
    assert verdicts(judgements) == [("close.invalid-app-code-refused", Verdict.PASS)]


def test_app_close_with_a_forbidden_code_that_left_the_socket_open_silently_fails() -> None:
    judgements = connected().judge_server(Close(1006), StepOutcome(), NoEvent(after_s=2.0))
    assert verdicts(judgements) == [("close.invalid-app-code-refused", Verdict.NON_STRICT)]


def test_app_close_with_a_forbidden_code_replaced_by_another_forbidden_one_fails() -> None:
    judgements = connected().judge_server(Close(401), StepOutcome(), Closed(code=1006))
    assert verdicts(judgements) == [
        ("close.wire-code-valid", Verdict.FAIL),
        ("close.invalid-app-code-refused", Verdict.PASS),
    ]


@pytest.mark.parametrize("code", [401, 999, 1004, 2999, 5000])
def test_codes_no_keyword_forbids_are_the_suites_policy_on_the_wire(code: int) -> None:
    """RFC 6455 7.4.2 sorts codes into ranges without a keyword: unused, reserved and
    out-of-range codes are policy, never the MUST that 7.4.1 sets for 1005/1006/1015."""
    judgements = connected().judge_client(ClientListen(), None, Closed(code=code))
    wire = [j for j in judgements if j.check_id == "close.wire-code-valid"]
    assert [(j.verdict, j.level) for j in wire] == [(Verdict.NON_STRICT, Grade.POLICY)]


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (999, False),
        (1000, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1011, True),
        (1012, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4999, True),
        (5000, False),
    ],
)
def test_is_valid_wire_close_code_at_the_boundaries(code: int, valid: bool) -> None:
    assert is_valid_wire_close_code(code) is valid


# --- HTTP statuses where the transport cannot see them ----------------------------------------


def no_http_model() -> LifecycleModel:
    model = LifecycleModel(visibility=Visibility(http_status=False, close_frames=False))
    model.judge_client(Connect(), None, None)
    return model


def test_close_before_accept_without_a_visible_status_is_unimplemented() -> None:
    judgements = no_http_model().judge_server(Close(), StepOutcome(), Denied(status=None))
    assert verdicts(judgements) == [("handshake.close-before-accept-403", Verdict.UNIMPLEMENTED)]


def test_a_denied_status_nobody_could_see_is_unimplemented_even_with_http() -> None:
    judgements = handshaking().judge_server(RaiseError(), None, Denied(status=None))
    assert verdicts(judgements) == [
        ("app-error.exception-before-accept-no-upgrade", Verdict.PASS),
        ("app-error.exception-before-accept-http-error", Verdict.UNIMPLEMENTED),
        ("app-error.exception-before-accept-5xx", Verdict.UNIMPLEMENTED),
    ]


def test_exception_before_accept_reraised_by_testclient_ends_the_handshake() -> None:
    event = ClientRaised("PuppetError", "puppet told to fail")
    judgements = no_http_model().judge_server(RaiseError(), None, event)
    assert verdicts(judgements) == [
        ("app-error.exception-before-accept-no-upgrade", Verdict.PASS),
        ("app-error.exception-before-accept-http-error", Verdict.UNIMPLEMENTED),
        ("app-error.exception-before-accept-5xx", Verdict.UNIMPLEMENTED),
    ]


def test_exception_before_accept_answered_with_403_is_an_error_but_not_the_5xx_practice() -> None:
    judgements = handshaking().judge_server(RaiseError(), None, Denied(status=403))
    assert verdicts(judgements) == [
        ("app-error.exception-before-accept-no-upgrade", Verdict.PASS),
        ("app-error.exception-before-accept-http-error", Verdict.PASS),
        ("app-error.exception-before-accept-5xx", Verdict.INFORMATIONAL),
    ]


def test_exception_before_accept_that_completes_the_handshake_fails() -> None:
    judgements = handshaking().judge_server(RaiseError(), None, Accepted(subprotocol=None))
    assert verdicts_of("app-error.exception-before-accept-no-upgrade", judgements) == [Verdict.FAIL]


def test_a_crash_ending_an_in_process_session_ends_the_connection() -> None:
    # TestClient's next receive raises once the app's side is gone: the session is over.
    event = ClientRaised("ClosedResourceError", "")
    judgements = connected().judge_server(RaiseError(), None, event)
    assert verdicts_of("app-error.exception-after-accept-closes", judgements) == [Verdict.PASS]


def test_a_crash_closed_as_a_normal_closure_breaks_the_policy() -> None:
    judgements = connected().judge_server(RaiseError(), None, Closed(code=1000))
    assert verdicts(judgements) == [
        ("close.wire-code-valid", Verdict.PASS),
        ("app-error.exception-after-accept-closes", Verdict.PASS),
        ("app-error.exception-after-accept-1011", Verdict.INFORMATIONAL),
        ("app-error.crash-not-normal-closure", Verdict.NON_STRICT),
    ]


# --- subprotocols and accept headers ------------------------------------------------------------


def test_a_subprotocol_header_when_the_app_chose_none_fails() -> None:
    model = LifecycleModel()
    model.judge_client(Connect(subprotocols=("chat.v1",)), None, None)
    judgements = model.judge_server(Accept(), StepOutcome(), Accepted(subprotocol="chat.v1"))
    assert verdicts_of("handshake.subprotocol-negotiated", judgements) == [Verdict.FAIL]


def test_no_subprotocol_header_when_the_app_chose_none_passes() -> None:
    model = LifecycleModel()
    model.judge_client(Connect(subprotocols=("chat.v1",)), None, None)
    judgements = model.judge_server(Accept(), StepOutcome(), Accepted(subprotocol=None))
    assert verdicts_of("handshake.subprotocol-negotiated", judgements) == [Verdict.PASS]


@pytest.mark.parametrize(
    ("seen", "verdict"),
    [
        ((("x-a", "1"), ("date", "today"), ("x-a", "2"), ("x-b", "3")), Verdict.PASS),
        ((("x-b", "3"), ("x-a", "1"), ("x-a", "2")), Verdict.FAIL),
        ((("x-a", "2"), ("x-b", "3")), Verdict.FAIL),
    ],
    ids=["in-order-with-server-headers", "reordered", "duplicate-lost"],
)
def test_accept_headers_keep_their_order_and_duplicates(
    seen: tuple[tuple[str, str], ...], verdict: Verdict
) -> None:
    step = Accept(headers=(("X-A", "1"), ("x-a", "2"), ("x-b", "3")))
    judgements = handshaking().judge_server(step, StepOutcome(), Accepted(None, seen))
    assert verdicts_of("handshake.accept-headers", judgements) == [verdict]


# --- denial responses ---------------------------------------------------------------------------


def test_a_send_after_a_denial_response_is_labelled_as_such() -> None:
    model = handshaking()
    model.judge_server(SendDenialResponse(403, b"no"), StepOutcome(), Denied(403, b"no"))
    outcome = StepOutcome.from_exception(RuntimeError("Cannot call send once a close message"))
    judgements = model.judge_server(SendText("late"), outcome, None)
    assert (model.app, verdicts(judgements)) == (
        App.RESPONSE,
        [("order.send-after-denial", Verdict.PASS)],
    )


def test_a_denial_response_on_a_server_without_the_extension_is_unimplemented() -> None:
    model = LifecycleModel(advertised=Advertised("2.4", ()))
    model.judge_client(Connect(), None, None)
    judgements = model.judge_server(SendDenialResponse(401), StepOutcome(), Denied(403))
    assert verdicts(judgements) == [("handshake.denial-response", Verdict.UNIMPLEMENTED)]


# --- what the server advertises -------------------------------------------------------------------


def advertising(version: str) -> LifecycleModel:
    model = LifecycleModel(advertised=Advertised(version, ("websocket.http.response",)))
    model.judge_client(Connect(), None, None)
    return model


def test_accept_headers_on_a_2_0_server_are_unimplemented() -> None:
    step = Accept(headers=(("x-a", "1"),))
    judgements = advertising("2.0").judge_server(step, StepOutcome(), Accepted(None, ()))
    assert verdicts_of("handshake.accept-headers", judgements) == [Verdict.UNIMPLEMENTED]


def test_a_dropped_close_reason_on_a_2_3_server_is_counted_once_as_informational() -> None:
    model = advertising("2.3")
    model.judge_server(Accept(), StepOutcome(), Accepted(None))
    judgements = model.judge_server(Close(4000, "bye"), StepOutcome(), Closed(4000, ""))
    assert verdicts(judgements) == [
        ("close.wire-code-valid", Verdict.PASS),
        ("close.code-delivered", Verdict.PASS),
        ("close.reason-delivered", Verdict.INFORMATIONAL),
    ]


def test_a_dropped_close_reason_on_a_2_2_server_is_unimplemented() -> None:
    model = advertising("2.2")
    model.judge_server(Accept(), StepOutcome(), Accepted(None))
    judgements = model.judge_server(Close(4000, "bye"), StepOutcome(), Closed(4000, ""))
    assert verdicts_of("close.reason-delivered", judgements) == [Verdict.UNIMPLEMENTED]


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        (StepOutcome(), Verdict.PASS),
        (StepOutcome.from_exception(RuntimeError("unexpected message")), Verdict.NON_STRICT),
    ],
    ids=["no-op", "runtime-error"],
)
def test_send_after_the_app_saw_the_disconnect_below_2_4_should_be_a_no_op(
    outcome: StepOutcome, verdict: Verdict
) -> None:
    model = advertising("2.3")
    model.judge_server(Accept(), StepOutcome(), Accepted(None))
    model.judge_client(ClientClose(1000), None, Closed(1000))
    disconnect = StepOutcome.from_exception(WebSocketDisconnect(code=1000))
    model.judge_server(ReceiveText(), disconnect, None)
    judgements = model.judge_server(SendText("late"), outcome, None)
    assert verdicts(judgements) == [("disconnect.send-after-client-gone", verdict)]


# --- a server's own close ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "verdict"),
    [
        (Closed(code=1001), Verdict.PASS),
        (Closed(code=1012), Verdict.PASS),
        (Closed(code=1000), Verdict.NON_STRICT),
    ],
    ids=["going-away", "restart", "normal-closure-nobody-asked-for"],
)
def test_a_servers_own_close_is_not_an_unexpected_event(event: Closed, verdict: Verdict) -> None:
    judgements = connected().judge_client(ClientListen(), None, event)
    assert verdicts_of("session.no-unexpected-event", judgements) == [verdict]


def test_a_keepalive_timeout_reaching_a_waiting_receive_is_not_unexpected() -> None:
    outcome = StepOutcome.from_exception(WebSocketDisconnect(code=1011))
    judgements = connected().judge_server(ReceiveText(), outcome, None)
    assert verdicts(judgements) == [("session.no-unexpected-event", Verdict.PASS)]


def test_a_receive_after_a_denial_response_raises_like_after_a_close() -> None:
    model = handshaking()
    model.judge_server(SendDenialResponse(400), StepOutcome(), Denied(400))
    outcome = StepOutcome.from_exception(RuntimeError('Need to call "accept" first.'))
    judgements = model.judge_server(ReceiveBytes(), outcome, None)
    assert verdicts(judgements) == [("order.receive-after-app-close", Verdict.PASS)]


def test_a_websocket_exceptions_reason_is_judged_like_a_close_reason() -> None:
    step = RaiseWebSocketException(4003, "Inappropriate message")
    judgements = connected().judge_server(step, StepOutcome(value="raising"), Closed(4003, ""))
    assert verdicts_of("close.reason-delivered", judgements) == [Verdict.INFORMATIONAL]
