"""The lifecycle model: pure Python, no I/O.

Given the actions so far it says, for the next one, what must be observed (`plan_*`: whether the
step completes, whether the client should see an event or silence), then grades what was
observed (`judge_*`), naming the check each judgement belongs to. It follows Starlette's two
WebSocket states (application and client), the ASGI www spec and RFC 6455; where those leave a
choice open, it accepts every allowed answer.

When an observation contradicts the model in a way that leaves the real state unknown, the
model is *derailed*: the session is ended and a new one starts, so one quirk does not hide the
next finding.
"""

from __future__ import annotations

import enum
import functools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from wsconform.conformance.checks import CHECKS, Grade
from wsconform.conformance.engine.judgements import (
    ACCEPT_HEADERS_NOT_SENT,
    Judgement,
    client_close_code_heard,
    deadline_only,
)
from wsconform.conformance.engine.rfc6455 import (
    FORBIDDEN_ON_THE_WIRE,
    is_valid_wire_close_code,
)
from wsconform.conformance.engine.vocabulary import (
    LATEST_SPEC,
    Accept,
    Accepted,
    Advertised,
    ClientAction,
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
    ReceiveJson,
    ReceiveText,
    Return,
    SendBytes,
    SendDenialResponse,
    SendJson,
    SendText,
    ServerStep,
    StepOutcome,
    Visibility,
    event_shape,
    outcome_shape,
)

UNSUPPORTED = "Unsupported"  # exc_type of a step the installed stack cannot perform
APP_GONE = "AppGone"  # exc_type of a step submitted after the app stopped running


# Checks about the very end of a connection: whatever they find, the app's side of the session
# is still well defined, so the model does not derail (the app's disconnect is still judged).
_TERMINAL_CHECKS = frozenset({"close.server-answers-client-close"})

# Close codes a server may send on its own account without the app asking (RFC 6455 7.4.1 and
# IANA): going away on shutdown, an unexpected condition (keepalive timeouts), restart.
SERVER_OWN_CLOSE_CODES = frozenset({1001, 1011, 1012})


class Listen(enum.Enum):
    NOTHING = "nothing"  # no client observation belongs to this action
    QUIET = "quiet"  # listen briefly; anything that arrives is unexpected
    EVENT = "event"  # an event must arrive within the bound


@dataclass(frozen=True)
class Plan:
    listen: Listen
    completes: bool = True  # the step's outcome is due now (False: it legitimately waits)
    resolves_pending: bool = False  # a client action that completes a waiting receive


@functools.cache
def plan_of(listen: Listen, completes: bool = True, resolves_pending: bool = False) -> Plan:
    """The plan, built once: there are twelve, every action needs one, and building a frozen
    dataclass costs more than the rest of planning."""
    return Plan(listen, completes, resolves_pending)


# The step kinds the model tells apart, as tuples: `isinstance` with `A | B` builds the union
# anew at every call, and these are checked at every step.
_SENDS = (SendText, SendBytes, SendJson)
_RECEIVES = (ReceiveText, ReceiveBytes, ReceiveJson)
_ENDS = (Close, RaiseWebSocketException, RaiseError, Return, SendDenialResponse)
_CLOSES = (Close, RaiseWebSocketException)
_CLIENT_SENDS_OR_DROP = (ClientSendText, ClientSendBytes, ClientSendJson, ClientDrop)
_CLIENT_WITHOUT_RECEIVE = (ClientListen, Connect)  # actions that complete no waiting receive


class App(enum.Enum):
    """Starlette's application_state, plus ENDED once the puppet has returned or raised.

    Starlette passes through RESPONSE to DISCONNECTED as the denial response's last body goes
    out; the model stays in RESPONSE after a denial so that what follows is labelled as
    following a denial, not a close."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RESPONSE = "response"
    DISCONNECTED = "disconnected"
    ENDED = "ended"


class Client(enum.Enum):
    IDLE = "idle"
    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSED_IT = "closed by the client"
    DROPPED = "dropped by the client"
    ENDED = "ended by the server"


@dataclass
class LifecycleModel:
    app: App = App.CONNECTING
    client: Client = Client.IDLE
    offered: tuple[str, ...] = ()
    client_close: tuple[int | None, str] | None = None
    inbox: deque[tuple[str, Any]] = field(default_factory=deque)
    pending: ReceiveText | ReceiveBytes | ReceiveJson | None = None
    app_saw_disconnect: bool = False
    derailed: bool = False
    # What the server advertises decides which features it is judged on.
    advertised: Advertised = LATEST_SPEC
    visibility: Visibility = field(default_factory=Visibility)
    # The code the app itself asked for in the step being judged (an invalid one is the app's
    # mistake first; see close.invalid-app-code-refused).
    _app_close_code: int | None = None
    # A close before accept the client saw no answer to within the bound: the www spec's "must
    # close with 403" sets no deadline, and some servers (granian) answer only once the app has
    # returned, so the 403 is judged when the app ends (`answer_due` holds what was asked).
    answer_due: str | None = None

    # --- what may happen next (preconditions depend on this state only) -------------------------

    @property
    def active(self) -> bool:
        return self.client is not Client.IDLE

    @property
    def connection_over(self) -> bool:
        return self.client in (Client.CLOSED_IT, Client.DROPPED, Client.ENDED)

    @property
    def finished(self) -> bool:
        """Nothing more to learn from this session: over on both sides, or derailed."""
        return self.derailed or (
            self.connection_over and self.app is not App.CONNECTING and self.pending is None
        )

    @property
    def app_alive(self) -> bool:
        return self.app is not App.ENDED

    def may_step(self) -> bool:
        return self.active and not self.derailed and self.app_alive and self.pending is None

    def may_raise(self) -> bool:
        """Raising is graded only while the client can still see its effect."""
        return (
            self.may_step()
            and self.client in (Client.HANDSHAKING, Client.OPEN)
            and self.app
            in (
                App.CONNECTING,
                App.CONNECTED,
            )
        )

    def may_deny(self) -> bool:
        return self.may_step() and self.app is App.CONNECTING and self.client is Client.HANDSHAKING

    def may_client_act(self) -> bool:
        return self.active and not self.derailed and self.client is Client.OPEN

    def may_drop(self) -> bool:
        """Data still in flight when TCP is reset may be lost, so drops wait for an empty inbox."""
        return self.may_client_act() and not self.inbox

    def receivable_kinds(self) -> set[str]:
        """Which receive_* the app may call now without a type mismatch (Starlette would raise
        KeyError reading `text` from a bytes message, which tests nothing of interest)."""
        if self.app is not App.CONNECTED or not self.inbox:
            return {"text", "bytes", "json"}
        head = self.inbox[0][0]
        return {"bytes"} if head == "bytes" else ({"text", "json"} if head == "json" else {"text"})

    def sendable_kinds(self) -> set[str]:
        """What the client may send now without mismatching a waiting receive."""
        if isinstance(self.pending, ReceiveBytes):
            return {"bytes"}
        if isinstance(self.pending, ReceiveJson):
            return {"json"}
        if isinstance(self.pending, ReceiveText):
            return {"text", "json"}
        return {"text", "bytes", "json"}

    # --- server steps ---------------------------------------------------------------------------

    def plan_server(self, step: ServerStep) -> Plan:
        client_open = self.client is Client.OPEN
        handshaking = self.client is Client.HANDSHAKING
        if isinstance(step, Accept):
            if self.app is App.CONNECTING:
                return plan_of(Listen.EVENT if handshaking else Listen.NOTHING)
            return plan_of(Listen.QUIET if client_open else Listen.NOTHING)
        if isinstance(step, _SENDS):
            if self.app is App.CONNECTING:
                return plan_of(Listen.QUIET if handshaking else Listen.NOTHING)
            return plan_of(
                Listen.EVENT if self.app is App.CONNECTED and client_open else Listen.NOTHING
            )
        if isinstance(step, _RECEIVES):
            waits = self.app is App.CONNECTED and client_open and not self.inbox
            return plan_of(Listen.NOTHING, completes=not waits)
        if isinstance(step, _ENDS):
            live = self.app in (App.CONNECTING, App.CONNECTED) and (handshaking or client_open)
            live = live or (self.answer_due is not None and isinstance(step, Return))
            return plan_of(Listen.EVENT if live else Listen.NOTHING)
        raise TypeError(f"not a server step: {step!r}")

    def judge_server(
        self, step: ServerStep, outcome: StepOutcome | None, event: ClientEvent | None
    ) -> list[Judgement]:
        self._app_close_code = step.code if isinstance(step, _CLOSES) else None
        # The cause of a failure here: this step, in this state, did this, and the client saw
        # that (the step's arguments, e.g. a generated close code, are the run's data).
        app_state = self.app

        def observed() -> str:
            return (
                f"{_kind(step)} ({app_state.value}): {outcome_shape(outcome)};"
                f" client saw {event_shape(event)}"
            )

        judgements = self._judge_event_invariants(event)
        if outcome is not None and outcome.exc_type == APP_GONE:
            # The server (TestClient, after a close before accept) has already cancelled the
            # app: nothing the step was meant to test can be observed any more.
            self.app, self.derailed = App.ENDED, True
            return judgements
        if isinstance(step, Accept):
            judgements += self._accept(step, outcome, event)
        elif isinstance(step, _SENDS):
            judgements += self._send(step, outcome, event)
        elif isinstance(step, _RECEIVES):
            judgements += self._receive(step, outcome)
        elif isinstance(step, Close):
            judgements += self._close(step, outcome, event)
        elif isinstance(step, RaiseWebSocketException):
            judgements += self._raise_websocket_exception(step, outcome, event)
        elif isinstance(step, RaiseError):
            judgements += self._raise_error(event)
        elif isinstance(step, Return):
            judgements += self._return(event)
        elif isinstance(step, SendDenialResponse):
            judgements += self._deny(step, outcome, event)
        if not _any_failed(judgements):  # the commonest: nothing to word, nothing derails
            return self._as_advertised(judgements)
        judgements = self._as_advertised(_caused_by(judgements, observed))
        if _any_failed(judgements):
            self.derailed = True
        return judgements

    def _accept(
        self, step: Accept, outcome: StepOutcome | None, event: ClientEvent | None
    ) -> list[Judgement]:
        if self.app is App.CONNECTED:
            return [
                _raises_runtime_error("order.duplicate-accept", "second accept", outcome, event)
            ]
        if self.app is not App.CONNECTING:
            return [_raises_runtime_error(self._after_end_check(), "accept after close", outcome)]
        if self.client is not Client.HANDSHAKING:
            self.app = App.CONNECTED
            return []
        completed = isinstance(event, Accepted) and outcome is not None and not outcome.raised
        judgements = [
            deadline_only(
                Judgement(
                    "handshake.accept-completes",
                    completed,
                    f"accept -> {_show(outcome)}, client saw {event!r}",
                ),
                _waited(outcome, event),
            )
        ]
        if isinstance(event, Accepted):
            if step.subprotocol is not None or self.offered or event.subprotocol is not None:
                # RFC 6455 4.2.2: the header carries the app's choice, and is absent when the
                # app chose none.
                judgements.append(
                    Judgement(
                        "handshake.subprotocol-negotiated",
                        event.subprotocol == step.subprotocol,
                        f"app chose {step.subprotocol!r} from {self.offered!r}, "
                        f"client saw {event.subprotocol!r}",
                        cause="the 101 does not name the app's subprotocol choice",
                    )
                )
            unsupported = outcome.unsupported_part if outcome is not None else None
            if step.headers and unsupported:
                judgements.append(Judgement("handshake.accept-headers", None, unsupported))
            elif step.headers:
                judgements.append(_accept_headers_judgement(step, event))
            self.app, self.client = App.CONNECTED, Client.OPEN
        return judgements

    def _send(
        self,
        step: SendText | SendBytes | SendJson,
        outcome: StepOutcome | None,
        event: ClientEvent | None,
    ) -> list[Judgement]:
        if self.app is App.CONNECTING:
            return [
                _raises_runtime_error(
                    "order.send-before-accept", "send before accept", outcome, event
                )
            ]
        if self.app in (App.DISCONNECTED, App.RESPONSE):
            return [_raises_runtime_error(self._after_end_check(), "send after close", outcome)]
        if self.client is Client.OPEN:
            check_id, expected = _data_check(step)
            ok = outcome is not None and not outcome.raised and _same_message(step, event)
            shown = f"app sent {expected!r} ({_show(outcome)}), client saw {event!r}"
            return [deadline_only(Judgement(check_id, ok, shown), _waited(outcome, event))]
        # The client has left: ASGI 2.4 lets the server raise an OSError subclass.
        return self._send_after_client_left(outcome)

    def _after_end_check(self) -> str:
        """The ordering check a step after the app's last message belongs to."""
        return "order.send-after-denial" if self.app is App.RESPONSE else "order.send-after-close"

    def _send_after_client_left(self, outcome: StepOutcome | None) -> list[Judgement]:
        """ASGI 2.4: a send on a closed connection should raise an OSError subclass; before 2.4
        the core spec's rule applies: with no error condition specified, send is a no-op."""
        check_id = "disconnect.send-after-client-gone"
        raises_oserror = self.advertised.at_least("2.4")
        if outcome is None:
            return [Judgement(check_id, False, "send to a gone client did not return")]
        if outcome.raised_any("WebSocketDisconnect"):
            self.app = App.DISCONNECTED  # Starlette moves there when it converts OSError
            code = outcome.value.get("code") if isinstance(outcome.value, dict) else None
            return [
                Judgement(check_id, True, f"raised {outcome.exc_type}"),
                # Starlette's conversion (0.36.0) reports the connection's end as abnormal.
                Judgement(
                    "disconnect.send-after-client-gone-code",
                    code == 1006,
                    f"send to a gone client raised WebSocketDisconnect({code!r})",
                ),
            ]
        elif outcome.raised_any("OSError"):
            judgement = Judgement(check_id, True, f"raised {outcome.exc_type} (an OSError)")
        elif outcome.raised:
            wanted = "an OSError subclass" if raises_oserror else "a no-op (spec < 2.4)"
            judgement = Judgement(
                check_id,
                False,
                f"raised {outcome.exc_type}: {outcome.exc_message} (should be {wanted})",
            )
        elif self.app_saw_disconnect and raises_oserror:
            judgement = Judgement(
                check_id, False, "send succeeded silently after the app saw the disconnect"
            )
        elif self.app_saw_disconnect:
            judgement = Judgement(check_id, True, "a no-op, as spec < 2.4 asks")
        else:
            judgement = Judgement(
                check_id, True, "send returned before the server noticed the client left"
            )
        return [judgement]

    def _receive(
        self, step: ReceiveText | ReceiveBytes | ReceiveJson, outcome: StepOutcome | None
    ) -> list[Judgement]:
        if self.app is App.CONNECTING:
            return [
                _raises_runtime_error(
                    "order.receive-before-accept", "receive before accept", outcome
                )
            ]
        if self.app in (App.DISCONNECTED, App.RESPONSE):
            return [
                _raises_runtime_error(
                    "order.receive-after-app-close", "receive after close", outcome
                )
            ]
        if self.inbox:
            return self._deliver(step, outcome)
        if self.client is Client.OPEN:
            self.pending = step
            if outcome is None:
                return []
            self.pending = None
            if _server_own_disconnect(outcome):
                # The server ended the connection for a reason of its own (shutdown, keepalive
                # timeout): legitimate, but nothing more can be learnt from this session.
                self.app_saw_disconnect, self.client, self.derailed = True, Client.ENDED, True
                return [
                    Judgement(
                        "session.no-unexpected-event",
                        True,
                        f"the server closed on its own account: {_show(outcome)}",
                    )
                ]
            return [
                Judgement(
                    "session.no-unexpected-event",
                    False,
                    f"receive returned {_show(outcome)} with nothing sent",
                )
            ]
        return self._judge_disconnect(outcome)

    def _deliver(self, step: ServerStep, outcome: StepOutcome | None) -> list[Judgement]:
        kind, data = self.inbox.popleft()
        check_id = {"bytes": "data.bytes-exact", "json": "data.json-exact"}.get(
            kind, "data.text-exact"
        )
        if isinstance(step, ReceiveText):
            expected: Any = data if kind == "text" else json.dumps(data)
            check_id = "data.text-exact" if kind == "text" else check_id
        else:
            expected = data
        ok = outcome is not None and not outcome.raised and outcome.value == expected
        shown = f"client sent {expected!r}, app received {_show(outcome)}"
        return [deadline_only(Judgement(check_id, ok, shown), outcome is None)]

    def _judge_disconnect(self, outcome: StepOutcome | None) -> list[Judgement]:
        """A receive after the client closed or dropped."""
        if self.app_saw_disconnect:
            return [
                Judgement(
                    "disconnect.receive-after-client-close",
                    _raised(outcome, "RuntimeError")
                    and not _raised(outcome, "WebSocketDisconnect"),
                    f"second receive after the disconnect: {_show(outcome)}",
                )
            ]
        got_disconnect = _raised(outcome, "WebSocketDisconnect")
        code = reason = None
        if got_disconnect and outcome is not None and isinstance(outcome.value, dict):
            code, reason = outcome.value.get("code"), outcome.value.get("reason")
        if self.client is Client.DROPPED:
            judgements = [
                deadline_only(
                    Judgement(
                        "disconnect.drop-reaches-app",
                        got_disconnect,
                        f"receive after a drop: {_show(outcome)}",
                    ),
                    outcome is None,
                ),
            ]
            if got_disconnect:
                judgements.append(
                    Judgement("disconnect.drop-code-1006", code == 1006, f"code {code!r}")
                )
        else:
            assert self.client_close is not None
            sent_code, sent_reason = self.client_close
            judgements = [
                deadline_only(
                    Judgement(
                        "disconnect.receive-after-client-close",
                        got_disconnect,
                        f"first receive after the client's close: {_show(outcome)}",
                    ),
                    outcome is None,
                )
            ]
            if got_disconnect and sent_code is None:
                judgements.append(
                    Judgement(
                        "close.client-no-code-gives-1005", code == 1005, f"app got code {code!r}"
                    )
                )
            elif got_disconnect:
                judgements.append(
                    Judgement(
                        "close.client-code-reaches-app",
                        code == sent_code,
                        f"client sent {sent_code}, app got {code!r}",
                        cause=client_close_code_heard(code),
                    )
                )
            if got_disconnect and sent_reason:
                judgements.append(
                    Judgement(
                        "close.client-reason-reaches-app",
                        reason == sent_reason,
                        f"client sent {sent_reason!r}, app got {reason!r}",
                    )
                )
        if got_disconnect:
            self.app_saw_disconnect = True
        return judgements

    def _close(
        self, step: Close, outcome: StepOutcome | None, event: ClientEvent | None
    ) -> list[Judgement]:
        if self.app in (App.DISCONNECTED, App.RESPONSE):
            return [_raises_runtime_error("order.duplicate-close", "second close", outcome)]
        if self.app is App.CONNECTING:
            self.app = App.DISCONNECTED
            if self.client is not Client.HANDSHAKING:
                return []
            asked = f"close({step.code}) before accept"
            if isinstance(event, NoEvent):
                self.answer_due = asked  # judged once the app has ended (see _return)
                return []
            self.client = Client.ENDED
            return [self._close_before_accept_answered(asked, event)]
        if self.client is not Client.OPEN:
            # Starlette marks the app DISCONNECTED before handing the close to the server.
            judgements = self._send_after_client_left(outcome)
            self.app = App.DISCONNECTED
            return judgements
        self.app, self.client = App.DISCONNECTED, Client.ENDED
        if not is_valid_wire_close_code(step.code):
            # The app asked for a code RFC 6455 forbids on the wire: what the session does next
            # is anyone's guess.
            self.derailed = True
            return [_invalid_app_code_judgement(step.code, outcome, event)]
        shown = f"close({step.code}, {step.reason!r}) -> {_show(outcome)}, client saw {event!r}"
        judgements = [
            deadline_only(
                Judgement(
                    "close.code-delivered",
                    _closed_with(event, step.code) and outcome is not None and not outcome.raised,
                    shown,
                ),
                _waited(outcome, event),
            )
        ]
        return judgements + _reason_judgement(step.reason, outcome, event)

    def _raise_websocket_exception(
        self, step: RaiseWebSocketException, outcome: StepOutcome | None, event: ClientEvent | None
    ) -> list[Judgement]:
        before_accept = self.app is App.CONNECTING
        check_id = (
            "app-error.websocket-exception-before-accept"
            if before_accept
            else "app-error.websocket-exception-after-accept"
        )
        if outcome is not None and outcome.exc_type == UNSUPPORTED:
            return [Judgement(check_id, None, outcome.exc_message)]
        self.app, self.client = App.ENDED, Client.ENDED
        waited = isinstance(event, NoEvent)
        if before_accept:
            return [
                deadline_only(
                    Judgement(
                        check_id,
                        self._refused_with(event, lambda status: status == 403),
                        f"WebSocketException({step.code}) before accept: client saw {event!r}",
                    ),
                    waited,
                )
            ]
        judgements = [
            deadline_only(
                Judgement(
                    check_id,
                    _closed_with(event, step.code),
                    f"WebSocketException({step.code}, {step.reason!r}): client saw {event!r}",
                ),
                waited,
            )
        ]
        return judgements + _reason_judgement(step.reason, outcome, event)

    def _end_app(self) -> tuple[bool, bool]:
        """The app returned or raised: was it before accept, and was a client there to see it?"""
        before_accept = self.app is App.CONNECTING
        client_there = self.client in (Client.HANDSHAKING, Client.OPEN)
        self.app = App.ENDED
        if client_there:
            self.client = Client.ENDED
        return before_accept, client_there

    def _raise_error(self, event: ClientEvent | None) -> list[Judgement]:
        before_accept, client_there = self._end_app()
        if not client_there:
            return []
        seen = f"client saw {event!r}"
        if before_accept:
            # TestClient re-raises the app's exception: no 101, and its session is over.
            ended = isinstance(event, Denied | ClientRaised) or (
                isinstance(event, Closed) and not event.close_frame_seen
            )
            return [
                deadline_only(
                    Judgement("app-error.exception-before-accept-no-upgrade", ended, seen),
                    isinstance(event, NoEvent),
                ),
                Judgement(
                    "app-error.exception-before-accept-http-error",
                    self._refused_with(event, lambda status: status >= 400),
                    seen,
                ),
                Judgement(
                    "app-error.exception-before-accept-5xx",
                    self._refused_with(event, lambda status: 500 <= status < 600),
                    seen,
                ),
            ]
        # The connection ended: a close, or an in-process client (TestClient) whose session
        # raised on the next receive because the app's side of it is gone (ClosedResourceError,
        # or the app's own exception re-raised).
        ended = isinstance(event, Closed | ClientRaised)
        return [
            deadline_only(
                Judgement("app-error.exception-after-accept-closes", ended, seen),
                isinstance(event, NoEvent),
            ),
            Judgement("app-error.exception-after-accept-1011", _closed_with(event, 1011), seen),
            Judgement("app-error.crash-not-normal-closure", not _closed_with(event, 1000), seen),
        ]

    def _close_before_accept_answered(self, asked: str, event: ClientEvent | None) -> Judgement:
        judgement = Judgement(
            "handshake.close-before-accept-403",
            self._refused_with(event, lambda status: status == 403),
            f"{asked}: client saw {event!r}",
        )
        return deadline_only(judgement, isinstance(event, NoEvent))

    def _return(self, event: ClientEvent | None) -> list[Judgement]:
        if self.answer_due is not None:
            asked, self.answer_due = self.answer_due, None
            self.app, self.client = App.ENDED, Client.ENDED
            return [
                self._close_before_accept_answered(
                    f"{asked}, nothing within the bound; once the app returned", event
                )
            ]
        before_accept, client_there = self._end_app()
        if not client_there:
            return []
        if before_accept:
            # Nothing says which answer a handshake the app never answered gets: any refusal.
            refused = isinstance(event, Denied | ClientRaised | Closed)
            return [Judgement("app-return.before-accept-denies", refused, f"client saw {event!r}")]
        return [
            Judgement(
                "app-return.after-accept-closes", isinstance(event, Closed), f"client saw {event!r}"
            )
        ]

    def _deny(
        self, step: SendDenialResponse, outcome: StepOutcome | None, event: ClientEvent | None
    ) -> list[Judgement]:
        if outcome is not None and outcome.exc_type == UNSUPPORTED:
            return [Judgement("handshake.denial-response", None, outcome.exc_message)]
        self.app, self.client = App.RESPONSE, Client.ENDED
        shown = f"denial {step.status} {step.body!r} -> {_show(outcome)}, client saw {event!r}"
        if isinstance(event, Denied) and event.status is None:
            return [Judgement("handshake.denial-response", None, f"no HTTP here: {shown}")]
        ok = isinstance(event, Denied) and (event.status, event.body) == (step.status, step.body)
        return [
            deadline_only(
                Judgement(
                    "handshake.denial-response",
                    ok and outcome is not None and not outcome.raised,
                    shown,
                ),
                _waited(outcome, event),
            )
        ]

    def _refused_with(
        self, event: ClientEvent | None, status_ok: Callable[[int], bool]
    ) -> bool | None:
        """Was the handshake refused with an HTTP status `status_ok` accepts? None where the
        transport cannot see the HTTP answer; a completed handshake is a failure anywhere."""
        if isinstance(event, Accepted | Message):
            return False
        if isinstance(event, Denied) and event.status is not None:
            return status_ok(event.status)
        if not self.visibility.http_status or isinstance(event, Denied):
            return None
        return False

    # --- what the server advertises ------------------------------------------------------------

    def _as_advertised(self, judgements: list[Judgement]) -> list[Judgement]:
        return graded_as_advertised(judgements, self.advertised)

    # --- client actions ------------------------------------------------------------------------

    def plan_client(self, action: ClientAction) -> Plan:
        if isinstance(action, ClientListen):
            return plan_of(Listen.QUIET)
        if isinstance(action, ClientClose):
            # RFC 6455 5.5.1: the server answers with a close frame, unless it sent one first.
            answer = self.client is Client.OPEN and self.visibility.close_frames
            return plan_of(
                Listen.EVENT if answer else Listen.QUIET, resolves_pending=self.pending is not None
            )
        if isinstance(action, _CLIENT_SENDS_OR_DROP):
            return plan_of(Listen.NOTHING, resolves_pending=self.pending is not None)
        return plan_of(Listen.NOTHING)

    def judge_client(
        self, action: ClientAction, pending_outcome: StepOutcome | None, event: ClientEvent | None
    ) -> list[Judgement]:
        # The cause of a failure here: what the client saw after this action, in this state;
        # for the app's pending receive, what the receive did.
        client_state = self.client

        def after() -> str:
            return f"{_kind(action)} ({client_state.value})"

        judgements = self._judge_event_invariants(event)
        if isinstance(action, Connect):
            self.app, self.client, self.offered = (
                App.CONNECTING,
                Client.HANDSHAKING,
                action.subprotocols,
            )
        elif isinstance(action, ClientSendText):
            self.inbox.append(("text", action.data))
        elif isinstance(action, ClientSendBytes):
            self.inbox.append(("bytes", action.data))
        elif isinstance(action, ClientSendJson):
            self.inbox.append(("json", action.data))
        elif isinstance(action, ClientClose):
            judgements += self._client_closed(event)
            self.client, self.client_close = Client.CLOSED_IT, (action.code, action.reason)
        elif isinstance(action, ClientDrop):
            self.client = Client.DROPPED
        elif isinstance(action, ClientListen):
            judgements.append(self._listened(event))
        judgements = _caused_by(judgements, lambda: f"{after()}: client saw {event_shape(event)}")
        if self.pending is not None and not isinstance(action, _CLIENT_WITHOUT_RECEIVE):
            step, self.pending = self.pending, None

            def received() -> str:
                return f"{after()}: the app's {_kind(step)} {outcome_shape(pending_outcome)}"

            judgements += _caused_by(self._receive(step, pending_outcome), received)
        judgements = self._as_advertised(judgements)
        if _any_failed(judgements) and any(
            j.ok is False and j.check_id not in _TERMINAL_CHECKS for j in judgements
        ):
            self.derailed = True
        return judgements

    def _client_closed(self, event: ClientEvent | None) -> list[Judgement]:
        if isinstance(event, Message):
            return [
                Judgement(
                    "session.no-unexpected-event", False, f"after the client's close: {event!r}"
                )
            ]
        if self.client is not Client.OPEN:
            return []
        if not self.visibility.close_frames:
            return [Judgement("close.server-answers-client-close", None, "no frames here")]
        shown = f"after the client's close frame the client saw {event!r}"
        if isinstance(event, NoEvent):
            # RFC 6455 5.5.1: the answer MUST come, and SHOULD come as soon as practical; within
            # the bound it did not, which is the SHOULD.
            return [Judgement("close.server-answers-client-close", False, shown, Grade.SHOULD)]
        answered = isinstance(event, Closed) and event.close_frame_seen
        return [Judgement("close.server-answers-client-close", answered, shown)]

    def _listened(self, event: ClientEvent | None) -> Judgement:
        if (
            isinstance(event, Closed)
            and event.close_frame_seen
            and event.code in SERVER_OWN_CLOSE_CODES
        ):
            # A close of the server's own (shutdown, keepalive timeout) is legitimate, and
            # ends what this session can learn.
            self.client, self.derailed = Client.ENDED, True
            return Judgement(
                "session.no-unexpected-event", True, f"the server closed on its own: {event!r}"
            )
        return Judgement(
            "session.no-unexpected-event",
            isinstance(event, NoEvent),
            f"client listened and saw {event!r}",
        )

    # --- invariants on every observation -------------------------------------------------------

    def _judge_event_invariants(self, event: ClientEvent | None) -> list[Judgement]:
        if not (isinstance(event, Closed) and event.close_frame_seen and event.code is not None):
            return []
        valid = is_valid_wire_close_code(event.code)
        if event.code == self._app_close_code and not valid:
            return []  # the server relayed the app's invalid code: judged as such by _close
        shown = f"close frame with code {event.code}"
        if event.code in FORBIDDEN_ON_THE_WIRE:
            why = "RFC 6455 7.4.1: an endpoint must not set it in a close frame"
            level = None
        else:
            # 7.4.2 only sorts codes into ranges (0-999 unused, 1004 and 1016-2999 reserved,
            # nothing past 4999) and gives no keyword: the suite's policy.
            why = "no code RFC 6455 7.4 assigns to a sender (7.4.2 has no keyword: policy)"
            level = Grade.POLICY
        return [Judgement("close.wire-code-valid", valid, f"{shown}: {why}", level, cause=shown)]


def _waited(outcome: StepOutcome | None, event: ClientEvent | None) -> bool:
    """Nothing went wrong but time: the step did not complete, or the client saw nothing, within
    the bound, and the step raised nothing."""
    late = outcome is None or isinstance(event, NoEvent)
    return late and not (outcome is not None and outcome.raised)


def _server_own_disconnect(outcome: StepOutcome) -> bool:
    """A receive that raised WebSocketDisconnect with a code a server closes with on its own."""
    code = outcome.value.get("code") if isinstance(outcome.value, dict) else None
    return outcome.raised_any("WebSocketDisconnect") and code in SERVER_OWN_CLOSE_CODES


def _invalid_app_code_judgement(
    code: int, outcome: StepOutcome | None, event: ClientEvent | None
) -> Judgement:
    """The app closed with a code no endpoint may send: the server should refuse it (raise
    out of send) rather than relay it; a replacement code is judged by the wire invariant.
    SHOULD where RFC 6455 forbids the code with a keyword, the suite's policy elsewhere."""
    check_id = "close.invalid-app-code-refused"
    shown = f"app closed with {code} -> {_show(outcome)}, client saw {event!r}"
    level = None if code in FORBIDDEN_ON_THE_WIRE else Grade.POLICY
    if level is Grade.POLICY:
        shown += " (RFC 6455 gives no keyword for this code: policy)"
    if isinstance(event, Closed) and event.close_frame_seen and event.code == code:
        relayed = "the app's invalid close code relayed to the wire"
        return Judgement(check_id, False, f"relayed to the wire: {shown}", level, cause=relayed)
    refused = outcome is not None and outcome.raised
    if isinstance(event, NoEvent) and not refused:
        return Judgement(
            check_id,
            False,
            f"send() returned, nothing reached the wire, the socket stayed open: {shown}",
            level,
            cause="the app's invalid close code neither refused nor sent",
        )
    return Judgement(check_id, True, shown)


def _reason_judgement(
    reason: str, outcome: StepOutcome | None, event: ClientEvent | None
) -> list[Judgement]:
    """The reason of the app's close (or WebSocketException), judged where a close frame came."""
    if not (reason and isinstance(event, Closed) and event.close_frame_seen):
        return []
    unsupported = outcome.unsupported_part if outcome is not None else None
    return [
        Judgement(
            "close.reason-delivered",
            None if unsupported else event.reason == reason,
            unsupported or f"app's reason {reason!r}, client saw {event.reason!r}",
            cause="the close frame carries another reason than the app's"
            if event.reason
            else "the close frame carries no reason",
        )
    ]


def _accept_headers_judgement(step: Accept, event: Accepted) -> Judgement:
    """ASGI www 2.1: the accept headers appear in the 101 in the order given, duplicates kept;
    headers the server adds under other names are ignored."""
    wanted = [(name.lower(), value) for name, value in step.headers]
    names = {name for name, _ in wanted}
    seen = [header for header in event.headers if header[0] in names]
    if not seen:
        cause = ACCEPT_HEADERS_NOT_SENT
    elif sorted(seen) == sorted(wanted):
        cause = "the 101 carries the app's accept headers in another order"
    else:
        cause = "the 101 carries the app's accept headers altered"
    return Judgement(
        "handshake.accept-headers",
        seen == wanted,
        f"app gave {wanted!r}, the 101 carried {seen!r}",
        cause=cause,
    )


def _kind(move: ServerStep | ClientAction) -> str:
    """A step's or action's name without its data: a text, bytes or JSON message is one kind
    of move (the payload a run generated is not what the server did)."""
    name = type(move).__name__
    if name.startswith(("Send", "Receive", "ClientSend")):
        for suffix in ("Text", "Bytes", "Json"):
            name = name.removesuffix(suffix)
    return name


def _caused_by(judgements: list[Judgement], observed: Callable[[], str]) -> list[Judgement]:
    """Each failure that names no cause of its own caused by what this step observed (worded
    only when there is one: most steps pass, and the wording costs as much as the judging)."""
    if not _any_failed(judgements):
        return judgements
    cause = observed()
    return [replace(j, cause=cause) if j.ok is False and j.cause is None else j for j in judgements]


def _any_failed(judgements: list[Judgement]) -> bool:
    # Not any() over a generator: asked at every step, where building one is most of the cost.
    return False in [judgement.ok for judgement in judgements]


def _closed_with(event: ClientEvent | None, code: int) -> bool:
    """A close frame with this code reached the client (its reason is judged on its own)."""
    return isinstance(event, Closed) and event.close_frame_seen and event.code == code


def _raised(outcome: StepOutcome | None, name: str) -> bool:
    return outcome is not None and outcome.raised_any(name)


def _raises_runtime_error(
    check_id: str, what: str, outcome: StepOutcome | None, event: ClientEvent | None = None
) -> Judgement:
    """The step raised RuntimeError and, if the client listened, nothing reached it."""
    quiet = isinstance(event, NoEvent | None)
    seen = "" if event is None else f", client saw {event!r}"
    judgement = Judgement(
        check_id, _raised(outcome, "RuntimeError") and quiet, f"{what}: {_show(outcome)}{seen}"
    )
    return deadline_only(judgement, outcome is None and quiet)


def _show(outcome: StepOutcome | None) -> str:
    if outcome is None:
        return "no outcome within the bound"
    if outcome.raised:
        return f"raised {outcome.exc_type}({outcome.exc_message!r})"
    return f"returned {outcome.value!r}"


def _data_check(step: SendText | SendBytes | SendJson) -> tuple[str, Any]:
    if isinstance(step, SendText):
        return "data.text-exact", step.data
    if isinstance(step, SendBytes):
        return "data.bytes-exact", step.data
    return "data.json-exact", step.data


def _same_message(step: SendText | SendBytes | SendJson, event: ClientEvent | None) -> bool:
    if not isinstance(event, Message):
        return False
    if isinstance(step, SendJson):
        return isinstance(event.data, str) and _loads(event.data) == (True, step.data)
    return type(event.data) is type(step.data) and event.data == step.data


def _loads(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


# The checks of a feature a server may not claim: the only ones `graded_as_advertised` regrades.
_FEATURE_CHECKS = frozenset(
    check_id for check_id, check in CHECKS.items() if check.extension or check.since
)


def graded_as_advertised(judgements: list[Judgement], advertised: Advertised) -> list[Judgement]:
    """Grade each feature only where the server claims it: a check for a feature newer than the
    advertised spec version (or of an extension not advertised) is `unimplemented`; where it is
    advertised, the check's own verdict is the server held to its claim (counted once: the
    retired asgi.implements-advertised-version re-counted it)."""
    graded: list[Judgement] = []
    for judgement in judgements:
        if judgement.check_id not in _FEATURE_CHECKS:
            graded.append(judgement)
            continue
        check = CHECKS[judgement.check_id]
        unclaimed = None
        if check.extension and check.extension not in advertised.extensions:
            unclaimed = f"the server does not advertise {check.extension}"
        elif check.since and not advertised.at_least(check.since):
            unclaimed = (
                f"the server advertises ASGI spec {advertised.spec_version}, the feature needs "
                f"{check.since}"
            )
        if unclaimed:
            graded.append(Judgement(judgement.check_id, None, f"{unclaimed}: {judgement.detail}"))
            continue
        graded.append(judgement)
    return graded
