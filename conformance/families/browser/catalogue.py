"""The browser family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import DISCONNECT_RECEIVE, WHATWG, Check, Grade, Layer

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
        "browser.claim.close-before-accept-code-reaches-page",
        "seed claim, from a page: a close before accept gives the client the app's code",
        "The seeds teach closing before accept with a code (4401) so the client learns why; "
        "a page can only see it if the handshake completed.",
        "the seed documents' claim (claim.close-before-accept.client-gets-the-code), re-judged "
        f"in a browser; {WHATWG}: a failed handshake is reported as close code 1006",
    ),
    _browser_check(
        "browser.denial-reaches-page",
        "a denial response is something the page can tell from a network failure",
        "Whatever status and body the app's denial carries, the page sees more than error and "
        "close 1006.",
        f"{WHATWG}: a failed WebSocket connection exposes no status or body to script (so "
        "this is informational wherever it holds)",
    ),
    _browser_check(
        "browser.error-before-accept-reaches-page",
        "an app exception before accept is something the page can tell from a network failure",
        "The page sees more than error and close 1006.",
        f"{WHATWG}: a failed WebSocket connection exposes no status to script",
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

# What the registry collects from this family.
CHECKS = BROWSER_CHECKS
