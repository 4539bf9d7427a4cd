"""The browser family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import (
    DISCONNECT_RECEIVE,
    WHATWG,
    Check,
    Fact,
    Grade,
    Layer,
)

# --- what a page sees (conformance/families/browser/probes.py; --client browser)
# --------------------------------


def _browser_check(check_id: str, title: str, requirement: str, source: str) -> Check:
    grade = Grade.CLAIM if ".claim." in check_id else Grade.INFO
    return Check(check_id, grade, title, requirement, source, Layer.SERVER)


BROWSER_CHECKS: tuple[Check, ...] = (
    _browser_check(
        "browser.open-with-subprotocol",
        "the page's socket opens with the subprotocol the app chose",
        "After accept with a subprotocol the client offered, `open` fires and `ws.protocol` is "
        "that subprotocol.",
        f"{WHATWG}, the protocol attribute: the subprotocol selected by the server (a "
        "definition for the browser)",
    ),
    _browser_check(
        "browser.app-close-code-reaches-page",
        "the page gets the app's close code and reason after accept",
        "An app that accepted and closes with 4001 'bye' gives the page a close event with that "
        "code and reason (the reason only where the server advertises ASGI 2.3, which "
        "introduced it).",
        f"{WHATWG}, 'the WebSocket connection is closed': the close event carries the close "
        "frame's code and reason",
    ),
    _browser_check(
        "browser.error-after-accept-is-1011",
        "an app exception after accept reaches the page as close 1011",
        "The page's close event carries 1011 (internal error), not 1006.",
        "RFC 6455 7.4.1: 1011 means an unexpected condition (a definition); "
        f"{WHATWG}: the close event carries the close frame's code",
    ),
    _browser_check(
        "browser.long-reason-close-reaches-page",
        "a close with a reason over 123 bytes still reaches the page with its code",
        "The page's close event carries the app's 4001, not the 1006 of a connection the "
        "browser failed.",
        "RFC 6455 5.5: control frames have at most 125 bytes, so the browser fails a "
        "connection whose close frame is longer",
    ),
    _browser_check(
        "browser.invalid-close-code-reaches-page",
        "a close with a code not allowed on the wire still reaches the page as a close",
        "The page's close event carries a code the server sent, not the 1006 of a connection "
        "the browser failed (a receiver may fail one whose close frame has an invalid code).",
        "RFC 6455 7.4.1 and 7.4.2: codes that may not be sent; a receiver fails the "
        "connection on one",
    ),
    _browser_check(
        "browser.page-close-reaches-app",
        "the page's close(4000, reason) reaches the app with that code and reason",
        "The app's receive gets websocket.disconnect with 4000 and 'done' (the reason only "
        "where the server advertises ASGI 2.5, which introduced it).",
        f"{DISCONNECT_RECEIVE}: code and reason of the client's close (definitions)",
    ),
    _browser_check(
        "browser.navigation-reaches-app",
        "a page navigating away reaches the app as websocket.disconnect",
        "The app waiting in receive gets websocket.disconnect when the user leaves the page.",
        f"{DISCONNECT_RECEIVE}: sent when the connection to the client is lost",
    ),
)

# --- what a page can never see (the same probes, shown in the frontend table, never judged) --
# A refused handshake is, to page script, a failed connection: `error`, then `close` 1006 with
# no reason, and nothing of the status or body (WHATWG: the user agent fails the connection and
# exposes no more, so script cannot tell a refusal from a network failure). A check that a page
# sees more could never pass on any server: these were such checks (RETIRED), now facts.
_REFUSAL_HIDDEN = (
    f"{WHATWG}, 'the WebSocket connection is closed' and the establish steps: a handshake "
    "answered with anything but 101 fails the connection, reported as close 1006 with no reason "
    "and no status"
)


def _refusal_fact(fact_id: str, title: str, what: str, judged_by: tuple[str, ...]) -> Fact:
    statement = (
        f"{what}: the page sees `error` then `close` 1006 with an empty reason, whatever status, "
        "body or close code the app chose; the raw client shows what the server sent."
    )
    return Fact(fact_id, title, statement, _REFUSAL_HIDDEN, judged_by)


BROWSER_FACTS: tuple[Fact, ...] = (
    _refusal_fact(
        "browser.fact.close-before-accept-hidden",
        "a close before accept reaches the page as a network failure",
        "The app closes with a code (4401) before accepting (the seeds teach it so the client "
        "learns why; claim.close-before-accept.client-gets-the-code judges that claim)",
        ("handshake.close-before-accept-403",),
    ),
    _refusal_fact(
        "browser.fact.denial-hidden",
        "a denial response reaches the page as a network failure",
        "The app denies the handshake with 403 and a body",
        ("handshake.denial-response",),
    ),
    _refusal_fact(
        "browser.fact.error-before-accept-hidden",
        "an exception before accept reaches the page as a network failure",
        "The app raises before accepting",
        (
            "app-error.exception-before-accept-no-upgrade",
            "app-error.exception-before-accept-http-error",
        ),
    ),
)

# What the registry collects from this family.
CHECKS = BROWSER_CHECKS
FACTS = BROWSER_FACTS
