"""The app under test, as every transport serves it: loaded by import string, its lifespan run,
rebuilt fresh on request, and every exception that escapes it noted with its real cause.

Servers call the witness, never the app directly. The witness
- notes each exception escaping the app (what a server logs as "Exception in ASGI
  application"), unwrapped to its leaf exceptions and the frame of the app's own code that
  raised each, then re-raises it so the server behaves as it would;
- counts the websockets still in the app, so a test can wait until the app has finished with
  the connections it opened before asking what they caused;
- runs the app's lifespan itself when asked to prepare the app (startup before the first
  connection, `state` copied into every scope, shutdown when the app is rebuilt or stopped)
  on the loop that serves it, so every server runs it the same way, including those without
  lifespan support;
- answers its control routes on the served app's own port (`/_wsconform/...`), so a server in
  another process is asked exactly like one in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import logging
import os
import re
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from wsconform.conformance.engine.checks import DENIAL_EXTENSION
from wsconform.conformance.engine.rfc6455 import MAX_CLOSE_REASON_BYTES, is_valid_wire_close_code
from wsconform.targets.servers.handed import Handed, without_mark

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup

# A server in another process serves `wsconform.targets.witness_app:app`, which builds its
# witness from the import string in this variable.
WITNESSED_APP_ENV = "WSCONFORM_WITNESSED_APP"
# Set to "off": the witness does not run the app's lifespan (`--no-lifespan`).
LIFESPAN_ENV = "WSCONFORM_LIFESPAN"
CONTROL_PREFIX = "/_wsconform/"
APP_ERRORS_PATH = CONTROL_PREFIX + "app-errors"  # GET: the errors since the last ask
APP_IDLE_PATH = CONTROL_PREFIX + "app-idle"  # GET ?within=S: is no websocket left in the app
HANDED_PATH = CONTROL_PREFIX + "handed"  # GET: what the followed websockets were handed
# POST [?fresh=1]: the app built and started; POST ?stop=1: its lifespan shut down.
APP_PREPARE_PATH = CONTROL_PREFIX + "app"
# GET: the token the process was started with, which tells the test process that what answers
# on a port is the server it started there (a free port can be taken before the server binds).
WHOAMI_PATH = CONTROL_PREFIX + "whoami"
SERVER_TOKEN_ENV = "WSCONFORM_SERVER_TOKEN"

# The folder holding wsconform's packages (the repository, or site-packages/wsconform).
WSCONFORM_DIR = Path(__file__).resolve().parents[2]
# Files of the interpreter and of installed packages: not the app's own code.
_LIBRARY_PREFIXES = tuple(
    {str(Path(path).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (path := sysconfig.get_paths().get(key))}
)  # fmt: skip
_WSCONFORM_PARTS = ("conformance", "targets", "strategies", "reports", "wsconform")


class LifespanFailed(Exception):
    """The app's lifespan startup failed; the message is what the app reported."""


class AppImportFailed(Exception):
    """Importing the app's module (or calling its factory) raised: the message is one line
    naming the leaf exception and the app's frame, then the traceback from the app's first
    frame on (none of wsconform's, importlib's or pytest's frames above it)."""


def load_app(import_string: str, *, fresh: bool = False) -> Any:
    """`module:attribute` -> the object, as servers load apps by import string;
    `module:function()` -> what the factory returns. `fresh`: first forget the app's own
    modules, so their module-level state starts new.

    The module is imported, and the factory called, inside a running event loop, as uvicorn
    does (it loads the app in its loop): an app may create a task or get the running loop at
    import. Called where no loop runs, a loop is borrowed for the import alone; the app then
    served is imported again on the loop that serves it (`AppWitness.prepare`)."""
    module_name, _, attribute = import_string.partition(":")
    is_factory = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if not module_name or not attribute:
        raise ValueError(
            f"app import string must look like 'module:attribute', got {import_string!r}"
        )
    reimport = fresh and module_name in sys.modules
    if fresh:
        forget_app_modules(module_name)
    if loop_running():
        return _import_app(module_name, attribute, is_factory=is_factory, reimport=reimport)

    async def import_in_a_loop() -> Any:
        return _import_app(module_name, attribute, is_factory=is_factory, reimport=reimport)

    return _in_a_borrowed_loop(import_in_a_loop())


def _in_a_borrowed_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run `coroutine` in a loop of its own, then cancel what it left (a task the app created
    at import) and close the loop. Not `asyncio.run`: that also unsets the thread's current
    loop, which code later on this thread may still ask for."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left))
        loop.close()


def loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _import_app(module_name: str, attribute: str, *, is_factory: bool, reimport: bool) -> Any:
    try:
        with logging_handlers_kept() if reimport else contextlib.nullcontext():
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise  # the import string names no module: a typo, not the app's failure
        raise AppImportFailed(_describe_app_failure(exc)) from exc
    except Exception as exc:
        raise AppImportFailed(_describe_app_failure(exc)) from exc
    try:
        found = getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name!r} has no attribute {attribute!r}") from None
    if not is_factory:
        return found
    try:
        return found()
    except Exception as exc:
        raise AppImportFailed(_describe_app_failure(exc)) from exc


@contextlib.contextmanager
def logging_handlers_kept() -> Iterator[None]:
    """Around a re-import of the app's modules (a fresh app per example): the handlers their
    module-level code adds to a logger that still has the ones it had are taken off again and
    closed, so the process does not gain a handler (and an open file, a duplicate of every
    line) per example. The loggers are process-wide, outside the modules being renewed; what
    the first import configured stays. A logger whose handlers the app replaced (dictConfig)
    keeps the new ones: it did not grow. Threads or files an app opens at import cannot be
    taken back from outside it; logging handlers are what module-level code commonly adds."""
    before = {logger: list(logger.handlers) for logger in _all_loggers()}
    try:
        yield
    finally:
        for logger in _all_loggers():
            had = before.get(logger, [])
            added = [handler for handler in logger.handlers if handler not in had]
            if had and added and all(handler in logger.handlers for handler in had):
                for handler in added:
                    logger.removeHandler(handler)
                    handler.close()


def _all_loggers() -> list[logging.Logger]:
    known = logging.Logger.manager.loggerDict.values()
    return [logging.getLogger(), *(item for item in known if isinstance(item, logging.Logger))]


def _describe_app_failure(exc: BaseException) -> str:
    """`describe_exception`, its traceback starting at the first frame of the app's code."""
    tb = exc.__traceback__
    while tb is not None and _is_machinery(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    shown = exc.with_traceback(tb or exc.__traceback__)
    summary = "; ".join(_describe_leaf(leaf, None) for leaf in leaf_exceptions(shown))
    details = "".join(traceback.format_exception(type(shown), shown, shown.__traceback__))
    return f"{summary}\n{details.rstrip()}"


def _is_machinery(filename: str) -> bool:
    # importlib's frozen frames, and the library and wsconform frames that led to the import.
    return filename.startswith("<frozen ") or _code_file(filename)[1]


def app_folder(module_name: str) -> Path | None:
    """The folder of the app's own code: its top-level package's folder (installed or not),
    or, for a plain module, the folder beside it unless that is a library location."""
    top = sys.modules.get(module_name.partition(".")[0])
    file = getattr(top, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    if path.name == "__init__.py":
        return path.parent
    return None if is_library_file(path) else path.parent


def forget_app_modules(module_name: str) -> None:
    """Drop from sys.modules the modules of the app's own code (`app_folder`), so the next
    import runs them again; test modules and wsconform's own stay."""
    folder = app_folder(module_name)
    if folder is None or _is_wsconform(folder):
        return
    folder_text = str(folder)
    # Asked for every generated example: the modules found to be someone else's are not
    # looked at again (a module's name keeps its file), only those loaded since.
    kept = _KEPT_MODULES.setdefault(folder_text, set())
    for name in sys.modules.keys() - kept:
        loaded_file = getattr(sys.modules[name], "__file__", None)
        if (
            loaded_file
            and _is_app_code(loaded_file, folder_text)
            and not name.rpartition(".")[2].startswith(("test_", "conftest"))
        ):
            del sys.modules[name]
        else:
            kept.add(name)


# Per app folder, the loaded modules `forget_app_modules` found not to be the app's code.
_KEPT_MODULES: dict[str, set[str]] = {}


# Folders that hold installed libraries wherever they are found, also inside the app's folder.
_INSTALL_FOLDERS = frozenset({"site-packages", "dist-packages"})


@functools.cache
def _is_app_code(file: str, folder: str) -> bool:
    # Cached: a fresh app per generated example asks this of every loaded module each time.
    path = Path(file).resolve()
    if not path.is_relative_to(folder) or _is_wsconform(path):
        return False
    # A project keeps its virtualenv beside its code (`.venv`): the libraries there (pytest,
    # Starlette, the servers) are loaded once and shared; forgetting them would re-import
    # pytest's own modules in the middle of its run.
    return _INSTALL_FOLDERS.isdisjoint(path.relative_to(folder).parts[:-1])


def _is_wsconform(path: Path) -> bool:
    return any(path.is_relative_to(WSCONFORM_DIR / part) for part in _WSCONFORM_PARTS)


def is_library_file(file: Path) -> bool:
    """The interpreter's, an installed package's, or wsconform's own: not the app's code."""
    text = str(file)
    return any(text.startswith(prefix) for prefix in _LIBRARY_PREFIXES) or _is_wsconform(file)


def describe_exception(exc: BaseException, app_code: Path | None = None) -> str:
    """One line naming each leaf exception (exception groups unwrapped) with the innermost
    frame of the app's own code it passed through (`app_code`: its folder, where that is an
    installed package); then the whole traceback, once."""
    leaves = leaf_exceptions(exc)
    summary = "; ".join(_describe_leaf(leaf, app_code) for leaf in leaves)
    if isinstance(exc, BaseExceptionGroup):
        summary += f" (unwrapped from an {type(exc).__name__})"
    details = "".join(traceback.format_exception(exc)).rstrip()
    return f"{summary}\n{details}"


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_exceptions(inner)]
    return [exc]


def _describe_leaf(leaf: BaseException, app_code: Path | None) -> str:
    # Where no frame is the app's (a library or the framework raised it from its own
    # callbacks), the deepest frame still says where: the leaf is never shown without a place.
    frame = app_frame(leaf.__traceback__, app_code) or raising_frame(leaf.__traceback__)
    where = f" at {frame}" if frame else ""
    return f"{type(leaf).__name__}{where}: {leaf}"


def raising_frame(tb: TracebackType | None) -> str | None:
    """`file:line in function` of the deepest frame, the one that raised, whoever's it is; a
    library's file named from its package (`starlette/websockets.py`)."""
    frames = list(traceback.walk_tb(tb))
    if not frames:
        return None
    frame, line = frames[-1]
    return f"{_library_path(frame.f_code.co_filename)}:{line} in {frame.f_code.co_name}"


def _library_path(filename: str) -> str:
    file = _code_file(filename)[0]
    roots = [Path(prefix) for prefix in _LIBRARY_PREFIXES] + [WSCONFORM_DIR]
    for root in sorted(roots, key=lambda root: len(root.parts), reverse=True):
        if file.is_relative_to(root):
            return str(file.relative_to(root))
    return _shown_path(file)


# A leaf in an error's first line: its type, and where the app raised it (see _describe_leaf).
_LEAF = re.compile(r"(?:^|; )([A-Za-z_][\w.]*)( at [^:;]+:\d+ in [\w<>.]+)?: ")


def _leaves(error: str) -> list[tuple[str, str]]:
    """The leaves of a witness report's first line: (type, " at file:line in function" or "")."""
    summary = error.partition("\n")[0].partition(": ")[2]  # after "websocket /path: "
    return _LEAF.findall(summary)


def error_signature(error: str) -> str:
    """What makes two app errors the same bug: the leaf exception types and where the app
    raised them, not the values in their messages."""
    return " + ".join(sorted({kind + (where or "") for kind, where in _leaves(error)}))


def refusal_signature(error: str) -> str:
    """What makes two of the server's refused sends (`is_server_send_failure`) one cause: the
    exception types the server's send raised, whichever of the app's frames they escaped from."""
    kinds = " + ".join(sorted({kind for kind, _ in _leaves(error)}))
    return f"{kinds} {SERVER_SEND_FAILED}"


def app_frame(tb: TracebackType | None, app_code: Path | None = None) -> str | None:
    """`file:line in function` of the innermost frame in `app_code`, or outside installed
    packages, the standard library and wsconform: where the app's own code raised or called
    what raised."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        file, is_library = _code_file(frame.f_code.co_filename)
        if (app_code is not None and file.is_relative_to(app_code)) or not is_library:
            found = f"{_shown_path(file)}:{line} in {frame.f_code.co_name}"
    return found


@functools.lru_cache(maxsize=4096)
def _code_file(filename: str) -> tuple[Path, bool]:
    """A code object's file, resolved, and whether it is a library's (`is_library_file`).
    Cached: every app error of every generated example walks its traceback, and resolving a
    path is a system call per folder."""
    file = Path(filename).resolve()
    return file, is_library_file(file)


def _shown_path(file: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def lifespan_enabled() -> bool:
    return os.environ.get(LIFESPAN_ENV, "on") != "off"


class Lifespan:
    """One app's lifespan (ASGI lifespan 2.0), driven on the loop that serves the app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # ASGI: an app that raises on the lifespan scope does not support it, and the server
        # goes on without lifespan events.
        self.supported = True

    async def startup(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._task = asyncio.ensure_future(self._run(scope))
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._answers.get()
        if answer["type"] == "lifespan.startup.failed":
            raise LifespanFailed(answer.get("message") or "lifespan startup failed")

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self._to_app.get, self._answers.put)
        except Exception as exc:
            # Starlette answers startup.failed before it raises; an app that raises without
            # answering anything does not do lifespan at all.
            if self._answers.empty() and self.supported:
                self.supported = False
                await self._answers.put({"type": "lifespan.unsupported", "message": str(exc)})

    async def shutdown(self) -> None:
        if self._task is None or self._task.done() or not self.supported:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._answers.get()
        await self._task


# What the witness reports, among the app's errors, for a websocket the app returned from after
# accepting it, without closing it and without having heard the client leave. Not an exception:
# it has a check of its own (generic.app-closes-before-returning), never counted as a crash.
RETURNED_OPEN = "returned after accepting the websocket, without closing it"


def is_returned_open(error: str) -> bool:
    """Is this app error the witness's report of a websocket left open at return?"""
    return _first_line_ends_with(error, RETURNED_OPEN)


def _first_line_ends_with(error: str, mark: str) -> bool:
    """Does the summary line of a witness's report end with `mark`?"""
    return error.partition("\n")[0].endswith(mark)


# What the witness appends to an error's first line when the exception that escaped the app is
# the one the server's own `send` raised for a message it had to take (data, or a close with a
# valid code, on a websocket the app had accepted and not closed; a denial response where the
# server offers that extension: `WebSocketEnds._takes`), and it is not the OSError
# subclass ASGI 2.4 asks for on a connection the client has left (Starlette turns that one into
# WebSocketDisconnect; nothing else can be caught by type). The app used the connection
# correctly: the crash is the server's to answer for (disconnect.send-after-client-gone judges a
# send, close.code-delivered a refused close code, contract.surface.denial-response a refused
# denial), not a crash of the app's.
SERVER_SEND_FAILED = "(raised by the server's send for a message it had to take, not an OSError)"


def is_server_send_failure(error: str) -> bool:
    """Is this app error an exception the server's send raised for a message it had to take
    (see SERVER_SEND_FAILED)?"""
    return _first_line_ends_with(error, SERVER_SEND_FAILED)


def the_apps_doing(errors: Iterable[str]) -> list[str]:
    """The witness's reports without the server's failed sends (the server's doing)."""
    return [error for error in errors if not is_server_send_failure(error)]


def app_exceptions(errors: Iterable[str]) -> list[str]:
    """The app's own exceptions among the witness's reports: not a websocket left open at
    return (a check of its own), not the server's failed send (the server's)."""
    return [error for error in the_apps_doing(errors) if not is_returned_open(error)]


class WebSocketEnds:
    """What the app did with one websocket: accepted it, ended it (a close or a denial sent, a
    disconnect received, a send refused because the client left). `offers_denial`: the server
    offers the websocket.http.response extension in the scope."""

    __slots__ = ("accepted", "app_closed", "denying", "ended", "offers_denial", "on_refused")

    def __init__(self, offers_denial: bool = False) -> None:
        self.accepted = False
        self.app_closed = False
        self.denying = False  # a denial response started, its body not finished
        self.ended = False
        self.offers_denial = offers_denial
        # Told of every message the server had to take and refused (a followed websocket's
        # Handed record keeps them).
        self.on_refused: Callable[[Any, BaseException], None] | None = None

    def watch(self, receive: Any, send: Any) -> tuple[Any, Any]:
        async def watched_receive() -> Any:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.ended = True
            return message

        async def watched_send(message: Any) -> None:
            kind = message["type"]
            # What the server then raises for this message is its own doing (see
            # SERVER_SEND_FAILED): a message the connection's state lets the app send.
            in_use = self._takes(message)
            if kind == "websocket.accept":
                self.accepted = True
            elif kind in ("websocket.close", "websocket.http.response.start"):
                self.ended = True
                self.app_closed = True
                self.denying = kind == "websocket.http.response.start"
            elif kind == "websocket.http.response.body" and not message.get("more_body"):
                self.denying = False
            try:
                await send(message)
            except BaseException as exc:
                self.ended = True  # the server refused: the app has been told it is over
                if in_use and self.on_refused is not None:
                    self.on_refused(message, exc)
                if in_use and isinstance(exc, Exception) and not isinstance(exc, OSError):
                    _mark_as_the_servers(exc)
                raise

        return watched_receive, watched_send

    def _takes(self, message: Any) -> bool:
        """Must the server take `message` now? Data (text or bytes, one of them) or a sendable
        close on a websocket the app accepted and has not closed; a denial response before
        accept, or its body's next part, where the server offers the extension for it (ASGI www
        2.4)."""
        kind = message.get("type")
        if kind == "websocket.send":
            data_once = (message.get("text") is None) != (message.get("bytes") is None)
            return self.accepted and not self.app_closed and data_once
        if kind == "websocket.close":
            return self.accepted and not self.app_closed and _sendable_close(message)
        if kind == "websocket.http.response.start":
            return (
                self.offers_denial
                and not self.accepted
                and not self.app_closed
                and isinstance(message.get("status"), int)
            )
        if kind == "websocket.http.response.body":
            body = message.get("body", b"")
            return self.offers_denial and self.denying and isinstance(body, bytes)
        return False

    @property
    def left_open(self) -> bool:
        return self.accepted and not self.ended


def _sendable_close(message: Any) -> bool:
    """A close with a code that may go on the wire and a reason that fits a close frame (RFC
    6455 7.4, 5.5); anything else the server may refuse however it likes: the app's mistake."""
    code, reason = message.get("code", 1000), message.get("reason") or ""
    return (
        isinstance(code, int)
        and is_valid_wire_close_code(code)
        and isinstance(reason, str)
        and len(reason.encode()) <= MAX_CLOSE_REASON_BYTES
    )


# The attribute that marks an exception raised by the server's send (see SERVER_SEND_FAILED).
# On the exception itself, not on one websocket's record: a room's broadcast meets it on
# another member's websocket and it escapes from the sender's handler.
_RAISED_BY_SERVER_SEND = "_wsconform_raised_by_server_send"


def _mark_as_the_servers(exc: Exception) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # an exception type without a __dict__
        setattr(exc, _RAISED_BY_SERVER_SEND, True)


def _all_the_servers(exc: BaseException) -> bool:
    """Is every leaf of what escaped the app an exception the server's send raised?"""
    return all(getattr(leaf, _RAISED_BY_SERVER_SEND, False) for leaf in leaf_exceptions(exc))


class AppWitness:
    """The served app, wrapped; see the module's docstring."""

    def __init__(self, source: str | Any, report: Callable[[str], None] | None = None) -> None:
        # An import string can be built again, fresh; an app object (the self-tests' broken
        # apps) is served as given.
        self.source = source
        self.app: Any = load_app(source, fresh=True) if isinstance(source, str) else source
        # Loaded where no loop runs (a transport built on the test's thread): the app is
        # imported again on the loop that serves it, at the first `prepare`, so that a task
        # it creates at import runs where its connections do.
        self._imported_off_the_serving_loop = isinstance(source, str) and not loop_running()
        self.app_code = app_folder(source.partition(":")[0]) if isinstance(source, str) else None
        self.errors: list[str] = []
        self.report = report or self.errors.append
        # Starlette's TestClient and httpx look for these on the app object.
        self.state = getattr(self.app, "state", None)
        # Set while no websocket is in the app. A threading.Event: servers run the app on
        # their own thread or loop, and the test waits from another.
        self.idle = threading.Event()
        self.idle.set()
        self._open_websockets = 0
        self._count_lock = threading.Lock()
        self._lifespan: Lifespan | None = None
        # The followed websockets (see targets/servers/handed.py), by their mark.
        self.handed: dict[str, Handed] = {}

    @property
    def open_websockets(self) -> int:
        return self._open_websockets

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # The server's own lifespan: the witness runs the app's on its own schedule.
            await answer_lifespan_without_app(receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX):
            await self._control(scope, send)
            return
        if self._lifespan is not None and self._lifespan.supported:
            # ASGI lifespan: every scope gets a shallow copy of the state startup filled.
            scope = {**scope, "state": dict(self._lifespan.state)}
        counted = scope["type"] == "websocket"
        ends: WebSocketEnds | None = None
        if counted:
            self._count(+1)
            ends = WebSocketEnds(DENIAL_EXTENSION in scope.get("extensions", {}))
            receive, send = ends.watch(receive, send)
            scope, mark = without_mark(scope)
            if mark is not None:
                handed = self.handed[mark] = Handed(scope)
                ends.on_refused = handed.refused
                receive, send = handed.watch(receive, send)
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            where = f"{scope.get('type')} {scope.get('path')}"
            summary, _, details = describe_exception(exc, self.app_code).partition("\n")
            if _all_the_servers(exc):
                summary += f" {SERVER_SEND_FAILED}"
            self.report(f"{where}: {summary}\n{details}")
            raise
        else:
            if ends is not None and ends.left_open:
                self.report(f"websocket {scope.get('path')}: {RETURNED_OPEN}")
        finally:
            # After the report: once idle, every error of the finished calls is on record.
            if counted:
                self._count(-1)

    def _count(self, change: int) -> None:
        with self._count_lock:
            self._open_websockets += change
            if self._open_websockets:
                self.idle.clear()
            else:
                self.idle.set()

    async def prepare(self, *, fresh: bool) -> None:
        """The app built (again, from scratch, if `fresh`) and its lifespan started; raises
        LifespanFailed when its startup fails. Whoever serves the app asks for it before the
        first connection (APP_PREPARE_PATH) and stops it at the end; an app served without
        being prepared (the self-tests' drivers) runs without its lifespan."""
        if (fresh or self._imported_off_the_serving_loop) and isinstance(self.source, str):
            self._imported_off_the_serving_loop = False
            await self.shutdown()
            self.app = load_app(self.source, fresh=True)
            self.state = getattr(self.app, "state", None)
        if self._lifespan is None and lifespan_enabled():
            lifespan = Lifespan(self.app)
            self._lifespan = lifespan
            try:
                await lifespan.startup()
            except LifespanFailed:
                self._lifespan = None
                raise

    async def shutdown(self) -> None:
        lifespan, self._lifespan = self._lifespan, None
        if lifespan is not None:
            await lifespan.shutdown()

    def take_handed(self) -> dict[str, Any]:
        """What each followed websocket was handed since the last take, by its mark."""
        taken, self.handed = self.handed, {}
        return {mark: handed.to_json() for mark, handed in taken.items()}

    async def _control(self, scope: Any, send: Any) -> None:
        query = parse_qs(scope.get("query_string", b"").decode())
        path = scope["path"]
        if path == APP_ERRORS_PATH:
            errors = self.errors.copy()
            self.errors.clear()
            await _answer_json(send, errors)
        elif path == HANDED_PATH:
            await _answer_json(send, self.take_handed())
        elif path == WHOAMI_PATH:
            await _answer_json(send, {"token": os.environ.get(SERVER_TOKEN_ENV)})
        elif path == APP_IDLE_PATH:
            bound = float(query.get("within", ["0"])[0])
            # In a thread: this loop must keep running the very connections being waited on.
            await _answer_json(send, {"idle": await asyncio.to_thread(self.idle.wait, bound)})
        elif path == APP_PREPARE_PATH and query.get("stop") == ["1"]:
            await self.shutdown()
            await _answer_json(send, {"stopped": True})
        elif path == APP_PREPARE_PATH:
            try:
                await self.prepare(fresh=query.get("fresh") == ["1"])
            except Exception as exc:
                await _answer_json(send, {"error": describe_exception(exc)}, status=500)
            else:
                await _answer_json(send, {"ready": True})
        else:
            await _answer_json(send, {"error": f"no control route {path}"}, status=404)


async def answer_lifespan_without_app(receive: Any, send: Any) -> None:
    """Complete every lifespan step a server asks for, with nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer_json(send: Any, value: Any, status: int = 200) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(value).encode()})
