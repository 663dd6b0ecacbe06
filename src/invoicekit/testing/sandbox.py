"""A base for provider sandboxes: real HTTP servers on loopback that emulate an API.

Each provider plugin subclasses `SandboxServer` with its routes, state and error shapes;
this module owns everything else once: the threaded server, keep-alive, request parsing
(JSON, query, multipart), UTF-8 JSON responses, a request log, fault injection and a rate
limiter that sends `X-RateLimit-*` and `Retry-After` headers.

```python
with MySandbox() as sandbox:              # starts on a free port of 127.0.0.1
    gw = invoicekit.connect("x", base_url=sandbox.url, token=...)
    sandbox.faults.push(Fault.status(503))  # the next request gets a 503
    sandbox.count("POST")                   # requests received, faulted ones included
```

Only loopback addresses are served; this is a test and demo tool, not a production server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.parser
import email.policy
import http.server
import json
import math
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from .._model import InvoiceDraft
from ..errors import UnsupportedFeature

__all__ = [
    "ConnectionLost",
    "Fault",
    "FaultQueue",
    "LoggedRequest",
    "RateLimit",
    "Route",
    "SandboxError",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
    "UploadedFile",
    "json_response",
]


@attrs.frozen(slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


@attrs.frozen(slots=True)
class SandboxRequest:
    """A parsed request as a route handler sees it. Header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter *name*."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body as JSON; `SandboxError(400)` when it is not (an empty body is `None`)."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SandboxError(400, {"error": "body is not valid JSON"}) from None

    def form(self) -> tuple[dict[str, str], dict[str, UploadedFile]]:
        """Fields and files of a `multipart/form-data` or urlencoded body."""
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            pairs = urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"))
            return dict(pairs), {}
        if not ctype.startswith("multipart/form-data"):
            return {}, {}
        raw = b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        fields: dict[str, str] = {}
        files: dict[str, UploadedFile] = {}
        if not message.is_multipart():
            return fields, files
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = UploadedFile(filename, part.get_content_type(), data)
            else:
                fields[name] = data.decode("utf-8", "replace")
        return fields, files

    @property
    def bearer_token(self) -> str | None:
        """The token of an `Authorization: Bearer ...` header."""
        auth = self.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return None


@attrs.frozen(slots=True)
class SandboxResponse:
    """What a handler returns."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None
                  ) -> SandboxResponse:
    """A UTF-8 JSON response (Arabic is sent as UTF-8, not `\\u` escapes)."""
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return SandboxResponse(status, body, merged)


class SandboxError(Exception):
    """Raise from a handler to answer with *status* and a JSON *body*."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class ConnectionLost(Exception):
    """Raised by `SandboxServer.respond` where a socket server would drop the connection
    (a `reset`, `truncate` or `lost_answer` fault): the in-process transport turns it into
    the transport error a real client would see."""

    def __init__(self, kind: str, *, carried_out: bool) -> None:
        super().__init__(f"connection dropped by a {kind!r} fault"
                         + (" after the request was carried out" if carried_out else ""))
        self.kind = kind
        self.carried_out = carried_out


Handler = Callable[..., SandboxResponse]


@attrs.frozen(slots=True)
class Route:
    """`method` + a path regex (full match, named groups become keyword arguments)."""

    method: str
    pattern: str
    handler: Handler
    _compiled: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def serves(self, path: str) -> bool:
        """Whether this route's path pattern matches *path* (whatever the method)."""
        return self._compiled.fullmatch(path) is not None

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path's named groups if this route serves *method* *path*."""
        if method != self.method:
            return None
        m = self._compiled.fullmatch(path)
        return m.groupdict() if m else None


@attrs.frozen(slots=True)
class Fault:
    """One misbehaviour, applied to the next request matching `method`/`path` (a regex).

    kinds: `status` (answer `status` with `body`/`headers`/`content_type`), `stall` (wait
    `delay` seconds, then answer normally), `reset` (close the connection with a TCP RST
    before answering), `truncate` (announce the full length, send part of a JSON body, close),
    `empty` (status with no body), `after` (run the real handler, then answer with the
    fault's status: the provider did the work but the answer is lost).
    """

    kind: str
    status: int = 500
    body: bytes | str | Any = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    content_type: str | None = None
    delay: float = 0.0
    method: str | None = None
    path: str | None = None
    times: int = 1

    @classmethod
    def status_code(cls, status: int, body: Any = b"", *, content_type: str | None = None,
                    headers: Mapping[str, str] | None = None, **match: Any) -> Fault:
        """Answer *status* with *body* (bytes, str, or JSON-able)."""
        return cls("status", status=status, body=body, content_type=content_type,
                   headers=dict(headers or {}), **match)

    @classmethod
    def stall(cls, delay: float, **match: Any) -> Fault:
        """Wait *delay* seconds before answering (past a client's read timeout)."""
        return cls("stall", delay=delay, **match)

    @classmethod
    def reset(cls, **match: Any) -> Fault:
        """Drop the connection abruptly (TCP RST) without answering."""
        return cls("reset", **match)

    @classmethod
    def truncate(cls, status: int = 200, **match: Any) -> Fault:
        """Send a JSON body cut in the middle, with a Content-Length promising more."""
        return cls("truncate", status=status, **match)

    @classmethod
    def empty(cls, status: int = 200, **match: Any) -> Fault:
        """Answer *status* with an empty body."""
        return cls("empty", status=status, **match)

    @classmethod
    def lost_answer(cls, **match: Any) -> Fault:
        """Carry the request out, then drop the connection: the client cannot know."""
        return cls("after", **match)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to *method* *path*."""
        if self.method is not None and self.method != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


class FaultQueue:
    """Faults waiting for their request; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = []  # [fault, remaining times]

    def push(self, fault: Fault) -> None:
        """Apply *fault* to the next `fault.times` matching requests (`times=-1`: always)."""
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> int:
        """How many faults are still waiting."""
        with self._lock:
            return len(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, consuming one use of it."""
        with self._lock:
            for entry in self._faults:
                fault, left = entry
                if fault.matches(method, path):
                    if left > 0:
                        entry[1] -= 1
                        if entry[1] == 0:
                            self._faults.remove(entry)
                    return fault  # type: ignore[no-any-return]
        return None


class RateLimit:
    """A per-key rate limit: `limit` requests per `window` seconds.

    `model="window"`: fixed windows aligned to the clock (every `window` seconds since the
    epoch); `Reset` is the window's end. `model="leaky"`: a bucket
    of `limit` that drains `limit / window` requests per second; `Reset` is when it will be
    empty (Salla's model). Both send `X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch
    seconds) on every response and `Retry-After` on a 429.
    """

    def __init__(self, limit: int, window: float = 60.0, *, model: str = "leaky",
                 clock: Callable[[], float] = time.time) -> None:
        if model not in ("window", "leaky"):
            raise ValueError("model must be 'window' or 'leaky'")
        if limit < 1 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self.model = model
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, list[float]] = {}  # key -> [level or count, stamp]
        self.refused = 0
        self.allowed = 0

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request for *key*: whether it is allowed, and the headers to send."""
        with self._lock:
            now = self._clock()
            state = self._state.setdefault(key, [0.0, now])
            if self.model == "leaky":
                rate = self.limit / self.window
                state[0] = max(0.0, state[0] - (now - state[1]) * rate)
                state[1] = now
                allowed = state[0] + 1 <= self.limit + 1e-9
                if allowed:
                    state[0] += 1
                remaining = max(0, math.floor(self.limit - state[0]))
                reset = now + state[0] / rate
                retry_after = (state[0] + 1 - self.limit) / rate
            else:
                # Fixed windows aligned to the clock (window N covers [N*W, (N+1)*W)), as
                # counter-per-time-bucket limiters do: `Reset` is then the exact window end.
                start = math.floor(now / self.window) * self.window
                if state[1] != start:
                    state[0], state[1] = 0.0, start
                allowed = state[0] < self.limit
                if allowed:
                    state[0] += 1
                remaining = max(0, self.limit - int(state[0]))
                reset = state[1] + self.window
                retry_after = reset - now
            headers = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(math.ceil(reset)),
            }
            if allowed:
                self.allowed += 1
            else:
                self.refused += 1
                headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
            return allowed, headers


@attrs.frozen(slots=True)
class LoggedRequest:
    """A request the sandbox received (faulted and refused ones included)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    at: float


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The standard library listens with a backlog of 5: under a few dozen concurrent
    # clients the kernel resets connections before any handler runs. Serve like a server.
    request_queue_size = 1024
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, resets) are normal here: stay quiet about them."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (~40 ms per keep-alive request on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _serve(self) -> None:
        self.server.sandbox._sandbox_handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
    do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _serve


class SandboxServer:
    """Base of provider sandboxes. Subclasses define `routes()` and their state.

    State changes in handlers should hold `self.lock` (handlers run on several threads).
    """

    name: ClassVar[str] = "sandbox"
    base_path: ClassVar[str] = ""
    """Prefix every route lives under (`/admin/v2` for Salla)."""
    default_port: ClassVar[int] = 8080
    """The port `invoicekit sandbox NAME` serves on unless `--port` says otherwise."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 rate_limit: RateLimit | None = None) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("sandboxes serve loopback addresses only")
        self.host = host
        self.port = port
        self.rate_limit = rate_limit
        self.faults = FaultQueue()
        self.lock = threading.RLock()
        self.requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._routes = list(self.routes())
        self.today: dt.date | None = None
        """Set to issue new invoices on a fixed date (deterministic tests)."""

    # ---- to override -----------------------------------------------------------------
    def routes(self) -> Iterable[Route]:
        """The API's routes (paths relative to `base_path`)."""
        return ()

    def rate_limit_key(self, request: SandboxRequest) -> str:
        """Who a request counts against (default: its bearer token)."""
        return request.bearer_token or "anonymous"

    def rate_limited(self, request: SandboxRequest, headers: Mapping[str, str]
                     ) -> SandboxResponse:
        """The provider's 429 answer."""
        return json_response(429, {"error": "Too Many Requests"}, headers)

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """The provider's answer for an unknown path."""
        return json_response(404, {"error": "Not Found"})

    def error_body(self, status: int, body: Any) -> SandboxResponse:
        """Turn a `SandboxError` into a response."""
        return json_response(status, body)

    def internal_error(self, exc: Exception) -> SandboxResponse:
        """Answer for a bug in a handler: a 500 the client will see as a provider failure."""
        return json_response(500, {"error": f"sandbox handler failed: {type(exc).__name__}"})

    def settings(self) -> dict[str, Any]:
        """Keyword arguments for `invoicekit.connect(name, **sandbox.settings())`: the base
        URL, plus the test credentials a subclass adds."""
        return {"base_url": self.url}

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft on this platform, different for each *n*; it creates in
        the sandbox's state whatever the draft needs (an order, a customer). The fake's
        platform profile (`connect("fake", profile=NAME)`) and the contract suite use it.
        """
        raise UnsupportedFeature(f"the {self.name} sandbox offers no sample draft",
                                 feature="sample_draft", provider=self.name)

    def seed(self, count: int) -> list[str]:
        """Create *count* invoices from `sample_draft(1..count)` through the platform's own
        provider (`invoicekit.connect(self.name, **self.settings())`, so they are what the
        API itself would hold); returns their ids. `invoicekit sandbox NAME --seed N` calls
        it once the sandbox listens, so a first `invoicekit list` shows something."""
        from .._registry import connect

        drafts = [self.sample_draft(n) for n in range(1, count + 1)]
        with connect(self.name, **self.settings()) as gw:
            return [gw.create_invoice(draft).id for draft in drafts]

    # ---- running from the command line --------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add this sandbox's own command-line options (a plan, a response style...)."""

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, *, host: str, port: int
                       ) -> SandboxServer:
        """Build the sandbox from parsed options (those of `add_arguments` included)."""
        return cls(host=host, port=port)

    def describe(self) -> str:
        """Connection details a person needs (URL, test credentials), printed on start."""
        return f"{self.name} sandbox at {self.url}"

    @classmethod
    def run_from_command_line(cls, argv: Sequence[str] | None = None, *,
                              prog: str | None = None) -> int:
        """Parse `--host`, `--port` and `add_arguments`' options, serve until Ctrl-C.

        This is what `invoicekit sandbox NAME ...` runs (and `python -m <plugin>.sandbox`,
        through that command). A sandbox that cannot start raises `ConfigurationError`.
        """
        parser = argparse.ArgumentParser(
            prog=prog or f"invoicekit sandbox {cls.name}",
            description=f"Run a {cls.name} sandbox (an emulator of its API) on loopback.")
        parser.add_argument("--host", default="127.0.0.1",
                            help="loopback address to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=cls.default_port,
                            help=f"port (default {cls.default_port}; 0: any free port)")
        cls.add_arguments(parser)
        args = parser.parse_args(argv)
        if not 0 <= args.port <= 65535:
            parser.error(f"{args.port} is not a TCP port")
        try:
            server = cls.from_arguments(args, host=args.host, port=args.port)
            server.start()
        except (ValueError, OSError) as exc:
            from ..errors import ConfigurationError

            raise ConfigurationError(
                f"cannot start the {cls.name} sandbox on {args.host}:{args.port}: {exc}",
                setting="sandbox") from exc
        sys.stdout.write(server.describe() + "\n(Ctrl-C to stop)\n")
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.stop()
            sys.stderr.write(f"{cls.name} sandbox stopped\n")
        return 0

    # ---- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL clients use: `http://127.0.0.1:PORT` + `base_path` while serving on
        a socket, else `in_process_url` (the address the in-process transport answers)."""
        if self._server is None:
            return self.in_process_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.base_path}"

    @property
    def in_process_url(self) -> str:
        """`https://<name>.sandbox.invalid` + `base_path`: the base URL of this sandbox when
        it answers in process (a fake profile), under a reserved name no network resolves."""
        return f"https://{self.name}.sandbox.invalid{self.base_path}"

    def start(self) -> SandboxServer:
        """Bind and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("_BoundServer", (_Server,), {"address_family": family})
        server = server_class((self.host, self.port), _Handler)
        server.sandbox = self
        self._server = server
        self.port = server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"{self.name}-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's `invoicekit sandbox`)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- observation -------------------------------------------------------------------
    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests arrived, optionally only *method* and paths matching *path*."""
        with self._log_lock:
            return sum(
                1 for r in self.requests
                if (method is None or r.method == method)
                and (path is None or re.search(path, r.path) is not None)
            )

    def clear_log(self) -> None:
        """Forget the logged requests."""
        with self._log_lock:
            self.requests.clear()

    # ---- to override (continued) -----------------------------------------------------
    def method_not_allowed(self, request: SandboxRequest, allowed: Sequence[str]
                           ) -> SandboxResponse:
        """The answer for a known path asked with a method it does not serve: a JSON 405
        in the provider's error shape (through `error_body`), with an `Allow` header."""
        response = self.error_body(405, {"error": "Method Not Allowed"})
        return attrs.evolve(response, headers={**response.headers, "Allow": ", ".join(allowed)})

    # ---- request handling ----------------------------------------------------------------
    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes
                ) -> SandboxResponse:
        """Answer one request in process, exactly as the socket server would: logged, faults
        applied, rate-limited, routed.

        *target* is the request target (`/admin/v2/orders/invoices?page=2`); header names
        may have any case. A `stall` fault sleeps here; `reset`, `truncate` and
        `lost_answer` raise `ConnectionLost` (a `lost_answer` after carrying the request
        out), where a socket server would drop the connection. This is what the fake's
        platform profiles run on (`invoicekit.connect("fake", profile="salla")`).
        """
        request, fault = self._receive(method, target, headers, body)
        if fault is not None and fault.kind in ("reset", "truncate"):
            raise ConnectionLost(fault.kind, carried_out=False)
        if fault is not None and fault.kind in ("status", "empty"):
            return self._fault_response(fault)
        response = self._sandbox_dispatch(request)
        if fault is not None and fault.kind == "after":
            raise ConnectionLost(fault.kind, carried_out=True)
        return response

    def _receive(self, method: str, target: str, headers: Mapping[str, str], body: bytes
                 ) -> tuple[SandboxRequest, Fault | None]:
        """Parse and log a request, take the fault that applies (a stall waits here)."""
        split = urllib.parse.urlsplit(target)
        path = split.path
        lowered = {k.lower(): v for k, v in headers.items()}
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        with self._log_lock:
            self.requests.append(LoggedRequest(method, path, query, lowered, body, time.time()))
        fault = self.faults.take(method, path)
        if fault is not None and fault.kind == "stall":
            self._stopping.wait(fault.delay)
        return SandboxRequest(method, path, query, lowered, body), fault

    def _sandbox_handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        request, fault = self._receive(h.command, h.path, dict(h.headers.items()), body)
        if fault is not None and fault.kind == "reset":
            self._sandbox_reset(h)
            return
        if fault is not None and fault.kind in ("status", "empty", "truncate"):
            self._sandbox_send_fault(h, fault)
            return
        response = self._sandbox_dispatch(request)
        if fault is not None and fault.kind == "after":
            self._sandbox_reset(h)
            return
        self._sandbox_send(h, response)

    def _sandbox_dispatch(self, request: SandboxRequest) -> SandboxResponse:
        rl_headers: dict[str, str] = {}
        if self.rate_limit is not None:
            allowed, rl_headers = self.rate_limit.hit(self.rate_limit_key(request))
            if not allowed:
                return self.rate_limited(request, rl_headers)
        path = request.path
        if self.base_path and not path.startswith(self.base_path):
            return self.not_found(request)
        relative = path[len(self.base_path):] or "/"
        try:
            for route in self._routes:
                params = route.match(request.method, relative)
                if params is not None:
                    response = route.handler(request, **params)
                    break
            else:
                methods = sorted({r.method for r in self._routes if r.serves(relative)})
                response = (self.method_not_allowed(request, methods) if methods
                            else self.not_found(request))
        except SandboxError as err:
            response = self.error_body(err.status, err.body)
            if err.headers:
                response = attrs.evolve(response, headers={**response.headers, **err.headers})
        except Exception as exc:
            response = self.internal_error(exc)
        if rl_headers:
            response = attrs.evolve(response, headers={**rl_headers, **response.headers})
        return response

    @staticmethod
    def _fault_body(fault: Fault) -> tuple[bytes, str]:
        body = fault.body
        if isinstance(body, str):
            return body.encode("utf-8"), "text/html; charset=utf-8"
        if isinstance(body, bytes):
            return body, "application/json"
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), \
            "application/json; charset=utf-8"

    def _fault_response(self, fault: Fault) -> SandboxResponse:
        data, default_type = self._fault_body(fault)
        return SandboxResponse(fault.status, b"" if fault.kind == "empty" else data,
                               {"Content-Type": fault.content_type or default_type,
                                **fault.headers})

    @staticmethod
    def _sandbox_send(h: _Handler, response: SandboxResponse) -> None:
        h.send_response(response.status)
        for name, value in response.headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(response.body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(response.body)

    def _sandbox_send_fault(self, h: _Handler, fault: Fault) -> None:
        data, default_type = self._fault_body(fault)
        if fault.kind == "empty":
            data = b""
        h.send_response(fault.status)
        h.send_header("Content-Type", fault.content_type or default_type)
        for name, value in fault.headers.items():
            h.send_header(name, value)
        if fault.kind == "truncate":
            full = data or b'{"status": 200, "success": true, "data": {"id": 1, "items": []}}'
            h.send_header("Content-Length", str(len(full)))
            h.end_headers()
            h.wfile.write(full[: max(1, len(full) // 2)])
            h.wfile.flush()
            h.close_connection = True
            self._sandbox_reset(h)
            return
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _sandbox_reset(h: _Handler) -> None:
        h.close_connection = True
        try:
            h.wfile.flush()
        except OSError:
            pass
        sock = h.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass
