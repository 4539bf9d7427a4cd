"""A real browser as a websocket client: the system's Chromium driven through Playwright.

Each connection is a page running `new WebSocket(url, protocols)`; every event the page gets
(`open`, `message`, `error`, `close` with its code, reason and wasClean) is kept in order in the
page and read back with Playwright's bounded `wait_for_function`, never by polling on a timer.
What a page may do is what a frontend may do: send text or binary, `close(code, reason)` (the
browser itself refuses codes other than 1000 and 3000-4999, which is reported as `raised`), or
navigate away. Never a downloaded browser: Debian's `chromium` (or Ubuntu's, or Chrome) from PATH.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from typing import Any

# Debian's package, Ubuntu's, and the Chrome that GitHub's runners ship.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def browser_unavailable() -> str | None:
    """Why the browser client cannot run here, or None."""
    if find_chromium() is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (the dev extra brings it)"
    return None


# The page's side: one socket, every event recorded as plain data.
_OPEN = """([url, protocols]) => {
  window.wsEvents = [];
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  window.ws = ws;
  ws.onopen = () => window.wsEvents.push({type: "open", protocol: ws.protocol});
  ws.onmessage = (e) => window.wsEvents.push(typeof e.data === "string"
    ? {type: "message", text: e.data}
    : {type: "message", bytes: btoa(String.fromCharCode(...new Uint8Array(e.data)))});
  ws.onerror = () => window.wsEvents.push({type: "error"});
  ws.onclose = (e) => window.wsEvents.push(
    {type: "close", code: e.code, reason: e.reason, wasClean: e.wasClean});
}"""
_CLOSE = """([code, reason]) => {
  try { window.ws.close(code, reason); }
  catch (e) { window.wsEvents.push({type: "raised", name: e.name, message: e.message}); }
}"""
_SEND_TEXT = "(text) => window.ws.send(text)"
_SEND_BYTES = "(b64) => window.ws.send(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))"


@dataclass(frozen=True)
class PageEvent:
    """What the page saw: `type` is open, message, error, close or raised."""

    type: str
    protocol: str = ""
    text: str | None = None
    data: bytes | None = None
    code: int | None = None
    reason: str = ""
    was_clean: bool | None = None

    @classmethod
    def from_page(cls, raw: dict[str, Any]) -> PageEvent:
        data = base64.b64decode(raw["bytes"]) if "bytes" in raw else None
        return cls(
            type=raw["type"],
            protocol=raw.get("protocol", ""),
            text=raw.get("text") if raw["type"] == "message" else raw.get("message"),
            data=data,
            code=raw.get("code"),
            reason=raw.get("reason", "") or raw.get("name", ""),
            was_clean=raw.get("wasClean"),
        )

    def __str__(self) -> str:
        if self.type == "close":
            return f"close(code={self.code}, reason={self.reason!r}, wasClean={self.was_clean})"
        if self.type == "open":
            return f"open(protocol={self.protocol!r})"
        if self.type == "message":
            return f"message({self.text!r})" if self.data is None else f"message({self.data!r})"
        if self.type == "raised":
            return f"raised({self.reason}: {self.text})"
        return self.type


NO_EVENT = PageEvent("none")


class Browser:
    """One Chromium for a test, on the test's event loop."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    async def start(self) -> None:
        from playwright.async_api import async_playwright

        executable = find_chromium()
        if executable is None:
            raise RuntimeError(browser_unavailable() or "no Chromium")
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )

    async def open(self, page_url: str, url: str, protocols: list[str]) -> PageSocket:
        """A page loaded from `page_url` (an HTTP page of the server under test: Chromium does
        not let an about:blank page reach a loopback socket) opening a websocket to `url`.
        An https page (a `+tls` transport) ignores certificate errors: Chromium trusts only its
        system's store, where the run's own CA is not; the other clients verify against it."""
        page = await self._browser.new_page(ignore_https_errors=page_url.startswith("https:"))
        await page.goto(page_url)
        await page.evaluate(_OPEN, [url, protocols])
        return PageSocket(page)

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()


class PageSocket:
    """The page's websocket: what the page does, and what it saw, in order."""

    def __init__(self, page: Any) -> None:
        self._page = page
        self._read = 0
        self.seen: list[PageEvent] = []

    async def next_event(self, bound: float) -> PageEvent:
        """The page's next event, or NO_EVENT if none came within `bound` seconds."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            await self._page.wait_for_function(
                f"window.wsEvents.length > {self._read}", timeout=bound * 1000
            )
        except PlaywrightTimeout:
            self.seen.append(NO_EVENT)  # an observation too: nothing came within the bound
            return NO_EVENT
        event = PageEvent.from_page(await self._page.evaluate(f"window.wsEvents[{self._read}]"))
        self._read += 1
        self.seen.append(event)
        return event

    async def until(self, kind: str, bound: float) -> PageEvent:
        """Read events until one of type `kind` (close, say); NO_EVENT if the bound ran out."""
        while True:
            event = await self.next_event(bound)
            if event.type in ("none", kind):
                return event

    async def send_text(self, text: str) -> None:
        await self._page.evaluate(_SEND_TEXT, text)

    async def send_bytes(self, data: bytes) -> None:
        await self._page.evaluate(_SEND_BYTES, base64.b64encode(data).decode("ascii"))

    async def close(self, code: int, reason: str = "") -> None:
        await self._page.evaluate(_CLOSE, [code, reason])

    async def navigate_away(self) -> None:
        """What a user leaving the page does to its socket."""
        await self._page.goto("about:blank")

    async def release(self) -> None:
        await self._page.close()
