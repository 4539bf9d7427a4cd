"""What the seed documents claim about behaviour, each as a check with a verdict per transport:
`pass` where the claim holds, `informational` where it does not.

The statements are paraphrased; each claim is run as a fixed step list on the puppet (the
same engine as the directed scenarios) and decided from what the client saw and what each app
step returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wsconform.conformance.checks import Check, Grade, Layer
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    Action,
    ClientClose,
    ClientEvent,
    ClientListen,
    ClientSendText,
    Close,
    Closed,
    Connect,
    Message,
    RaiseWebSocketException,
    ReceiveText,
    Return,
    SendText,
    StepOutcome,
)

if TYPE_CHECKING:  # the engine imports the model, which imports the catalogue, which lists claims
    from wsconform.conformance.engine.sessions import TranscriptLine

Transcript = Sequence["TranscriptLine"]


@dataclass(frozen=True)
class Claim:
    id: str
    seeds: str  # which seed documents make it
    statement: str
    actions: tuple[Action, ...]
    holds: Callable[[Transcript], bool]
    # Claims about ordering errors are decided inside Starlette, the rest by the server.
    layer: Layer = Layer.SERVER

    def check(self) -> Check:
        return Check(
            self.id,
            Grade.CLAIM,
            self.statement,
            f"A seed document states it: {self.statement}.",
            f"seed document(s) {self.seeds}",
            self.layer,
        )


def events(transcript: Transcript) -> list[ClientEvent]:
    return [line.event for line in transcript if line.event is not None]


def outcome(transcript: Transcript, step_type: type) -> StepOutcome | None:
    """The outcome of the last app step of this type (a pending receive resolved by a later
    client action is reported on that action's line)."""
    for line in reversed(transcript):
        if isinstance(line.action, step_type) and line.outcome is not None:
            return line.outcome
        if line.actor == "client" and line.outcome is not None and step_type is ReceiveText:
            return line.outcome
    return None


def raised(transcript: Transcript, step_type: type, name: str) -> bool:
    result = outcome(transcript, step_type)
    return result is not None and result.raised_any(name)


def saw_close(transcript: Transcript, code: int, reason: str | None = None) -> bool:
    return any(
        isinstance(event, Closed)
        and event.code == code
        and (reason is None or event.reason == reason)
        for event in events(transcript)
    )


def never_accepted_nor_sent(transcript: Transcript) -> bool:
    return not any(isinstance(event, Accepted | Message) for event in events(transcript))


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "claim.lifecycle.send-then-close",
        "000, 004",
        "a message sent right before close() reaches the client, then a normal close",
        (Connect(), Accept(), SendText("Connected"), Close()),
        lambda t: events(t)[1:] == [Message("Connected"), Closed(1000, "", True)],
    ),
    Claim(
        "claim.close-before-accept.client-gets-the-code",
        "000, 002, 004",
        "closing before accept hands the client a WebSocket close with the app's code (1008)",
        (Connect(), Close(1008)),
        lambda t: saw_close(t, 1008),
    ),
    Claim(
        "claim.close-before-accept.no-data",
        "000, 002, 004",
        "closing before accept refuses the client without any message",
        (Connect(), Close(1008), ClientListen()),
        never_accepted_nor_sent,
    ),
    Claim(
        "claim.order.send-before-accept-raises-runtimeerror",
        "000, 002",
        "sending before accept() raises RuntimeError in the app",
        (Connect(), SendText("Welcome!")),
        lambda t: raised(t, SendText, "RuntimeError"),
        layer=Layer.FRAMEWORK,
    ),
    Claim(
        "claim.order.receive-before-accept-raises-runtimeerror",
        "000, 002",
        "receiving before accept() raises RuntimeError in the app",
        (Connect(), ReceiveText()),
        lambda t: raised(t, ReceiveText, "RuntimeError"),
        layer=Layer.FRAMEWORK,
    ),
    Claim(
        "claim.order.receive-after-close-raises-runtimeerror",
        "001, 004",
        "receive_text() after the app closed raises RuntimeError",
        (Connect(), Accept(), Close(), ReceiveText()),
        lambda t: raised(t, ReceiveText, "RuntimeError"),
        layer=Layer.FRAMEWORK,
    ),
    Claim(
        "claim.close.default-code-1000",
        "003, 004",
        "close() without arguments closes with 1000 (normal closure)",
        (Connect(), Accept(), Close()),
        lambda t: saw_close(t, 1000, ""),
    ),
    Claim(
        "claim.close.custom-code-and-reason",
        "003",
        "close(code, reason) after accept delivers that code and reason to the client",
        (Connect(), Accept(), Close(4001, "custom reason")),
        lambda t: saw_close(t, 4001, "custom reason"),
    ),
    Claim(
        "claim.close.http-status-as-close-code",
        "004",
        "an app may close with an HTTP status such as 401 and the client receives it",
        (Connect(), Accept(), Close(401)),
        lambda t: saw_close(t, 401),
    ),
    Claim(
        "claim.websocket-exception.closes-with-its-code",
        "004",
        'raising WebSocketException(1008, "bad message") after accept closes with 1008',
        (Connect(), Accept(), RaiseWebSocketException(1008, "bad message")),
        lambda t: saw_close(t, 1008, "bad message"),
    ),
    Claim(
        "claim.client-disconnect.raises-websocketdisconnect",
        "001, 002, 004",
        "when the client disconnects, the app's receive raises WebSocketDisconnect with its code",
        (Connect(), Accept(), ReceiveText(), ClientClose(1000)),
        lambda t: _disconnect_code(t) == 1000,
    ),
    Claim(
        "claim.data.messages-arrive-in-order",
        "001, 003",
        "texts the client sends are received by the app in order",
        (
            Connect(),
            Accept(),
            ClientSendText("one"),
            ClientSendText("two"),
            ReceiveText(),
            ReceiveText(),
        ),
        lambda t: (
            [
                line.outcome.value
                for line in t
                if isinstance(line.action, ReceiveText) and line.outcome
            ]
            == ["one", "two"]
        ),
    ),
    Claim(
        "claim.app-return.ends-the-connection",
        "004",
        "when the endpoint function returns, the connection is closed",
        (Connect(), Accept(), Return()),
        lambda t: isinstance(events(t)[-1], Closed),
    ),
)


def _disconnect_code(transcript: Transcript) -> object:
    result = outcome(transcript, ReceiveText)
    if (
        result is None
        or not result.raised_any("WebSocketDisconnect")
        or not isinstance(result.value, dict)
    ):
        return None
    return result.value.get("code")
