"""The one module that imports `httpx`: execution, retries, throttling, logging, redaction.

Providers describe requests (`Request`) and parse responses (`Response`); this module
runs them. The provider's operation and the retry and error policy are composed into **one**
generator of actions (`_Send`, `_Sleep`, `_Refresh`), `HttpEngine.operation`; `SyncRunner`
performs those actions with `httpx.Client` and `time.sleep`, `AsyncRunner` with
`httpx.AsyncClient` and `asyncio.sleep`, and neither holds any policy. So sync and async
behave identically by construction, and any provider built on `Provider` gets an async
gateway with no second copy of its code.

Policy (see docs/reliability.md):

* Reads (GET) retry on connection errors, timeouts, 429 and 502/503/504, with capped
  exponential backoff and full jitter, honouring `Retry-After` up to a cap (past it the
  call fails at once, with `.retry_after` set).
* Writes retry only when nothing can have reached the provider: the connection never
  opened, or the provider answered 429. Any other failure after sending (timeout, reset,
  5xx, a redirect, an unreadable success body) is `OutcomeUnknown`, never repeated.
* A 401 on a provider that can refresh its credentials refreshes once, under a lock,
  and repeats the request once.
* Every error leaving this module is an `InvoiceKitError` with the original chained, and
  is scrubbed of registered secrets (message, `repr`, chained causes).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Generator, Iterator, Mapping
from typing import Any, Protocol, TypeVar

import attrs
import httpcore
import httpx
from httpcore._utils import is_socket_readable

from . import __about__, errors
from ._json import json_body
from ._options import (
    DEFAULT,
    Default,
    HttpHooks,
    RequestInfo,
    ResponseInfo,
    RetryPolicy,
    Timeout,
    check_base_url,
)
from ._provider import Operation, Provider, Request, Response
from ._secrets import (
    Secret,
    install_log_redaction,
    redact,
    register_secret,
    scrub_exception,
)
from ._throttle import Throttle, parse_retry_after

__all__ = [
    "AsyncRunner", "HttpEngine", "InProcessTransport", "SyncRunner", "in_process_client",
    "testing_instant_waits", "user_agent",
]

T = TypeVar("T")
log = logging.getLogger("invoicekit.http")

_instant_waits = False


def testing_instant_waits(enabled: bool) -> bool:
    """Make retry backoff and throttle waits take no time (for test suites).

    Returns the previous setting, so a fixture can restore it. Everything else (the
    number of retries, which requests are retried, the throttle's statistics) is unchanged.
    """
    global _instant_waits
    previous = _instant_waits
    _instant_waits = bool(enabled)
    return previous


# Failures where the request cannot have reached the provider: safe to retry any request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Failures of the exchange itself (as opposed to a bug in a caller's custom transport).
_TRANSPORT = (httpx.TransportError, OSError)
_REQUEST_IDS = ("x-request-id", "request-id", "x-amzn-requestid", "x-correlation-id", "cf-ray")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CACHE_SIZE = 64  # header sets and timeouts kept per engine (a gateway uses a handful)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # httpx sends these with a Content-Length
_EMPTY = httpx.ByteStream(b"")  # an empty body (requests, and responses once read)


class _ResponseHeaders(dict[str, str]):
    """Response headers (lower-case names) whose repr shows names only: a provider may
    echo a credential in one, and this dict sits in a traceback's locals."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<headers {sorted(self)}>"


class _Form(Mapping[str, str]):
    """A form body whose `Secret` values are unwrapped only as httpx encodes them, and
    whose repr shows no value (it may sit in a traceback's locals)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, str | Secret]) -> None:
        self._fields = dict(fields)

    def __getitem__(self, key: str) -> str:
        value = self._fields[key]
        return value.get() if isinstance(value, Secret) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"<form fields {sorted(self._fields)}>"


@attrs.frozen(slots=True)
class _Send:
    request: httpx.Request


@attrs.frozen(slots=True)
class _Sleep:
    seconds: float


@attrs.frozen(slots=True)
class _Refresh:
    seen_generation: int


_Action = _Send | _Sleep | _Refresh


def _httpx_timeout(t: Timeout) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


class _HeaderKey(tuple[Any, ...]):
    """The header values a merged set was made from (a cache key); its repr shows none."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<header values>"


class _OpState:
    """What a runner knows about one operation: the last response, and whether a write
    was answered (a later parsing failure then means the write's outcome is unknown)."""

    __slots__ = ("last", "write_answered")

    def __init__(self) -> None:
        self.last: Response | None = None
        self.write_answered = False

    def answered(self, response: Response) -> None:
        self.last = response
        self.write_answered = self.write_answered or response.request.is_write


class HttpEngine:
    """Everything about sending a provider's requests except the act of waiting for I/O."""

    def __init__(
        self,
        provider: Provider,
        *,
        base_url: str,
        timeout: Timeout,
        retry: RetryPolicy,
        throttle: Throttle,
        hooks: HttpHooks,
        user_agent: str,
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self.timeout = timeout
        self.retry = retry
        self.throttle = throttle
        self.hooks = hooks
        self.user_agent = user_agent
        self._header_cache: dict[_HeaderKey, httpx.Headers] = {}
        self._timeouts: dict[Timeout, httpx.Timeout] = {}
        install_log_redaction(f"invoicekit.{provider.name}",
                              type(provider).__module__.split(".")[0])
        self.register_secrets()

    def register_secrets(self) -> None:
        """Register the provider's current secrets for redaction (again after a refresh)."""
        for secret in self.provider.secrets():
            register_secret(secret)

    # -- building ------------------------------------------------------------------
    def url_for(self, req: Request) -> str:
        """The absolute URL of *req*: its checked path under `base_url`, or its own
        `absolute_url` (which must be https, or loopback, like any base URL)."""
        if req.absolute_url is not None:
            check_base_url(req.absolute_url, setting="absolute_url")
            return req.absolute_url
        return self.base_url + req.render_path()

    def build(self, req: Request, client: httpx.Client | httpx.AsyncClient,
              timeout: httpx.Timeout) -> httpx.Request:
        """The `httpx.Request` for *req*: path checked, headers merged and checked, body
        encoded. Anything unsendable is `InvalidRequest`, raised before any I/O.

        The merged and checked headers are kept per distinct set of header values (a
        gateway sends a handful), and a request without a form or files, from a client
        without cookies or default query parameters, is made directly as
        `client.build_request` would make it, without merging the client's settings again
        on every call (about a third of the time httpx spends building a request). One
        without any body (a read) is made complete: its `Host` header kept with the
        merged headers, its empty body given as the stream, so httpx does not encode an
        empty body and rebuild the headers again (what `Request` does when it is given a
        body to encode, half the cost of making one). One with a JSON body (a write) is
        made complete the same way: its `Content-Type` kept with the merged headers, the
        body encoded here and its `Content-Length` the one header added per request.
        """
        url = self.url_for(req)
        if req.params:
            # Encoded here rather than passed as `params=`: httpx would parse and merge the
            # URL twice, which is most of its request-building cost (same encoding).
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in req.params.items()})
        method = req.method.upper()
        try:
            if req.files is None and req.data is None:
                plain = not client.params and not client.cookies
                # A JSON body is encoded here, not by httpx's `json=`: it cannot write a
                # Decimal as an exact JSON number. Its Content-Type is merged and cached
                # with the other headers.
                typed = req.json is not None
                if plain:
                    parsed = httpx.URL(url)
                    if not typed and method not in _BODY_METHODS:
                        request = httpx.Request(
                            method, parsed, headers=self._headers(req, client, parsed.netloc),
                            stream=_EMPTY, extensions={"timeout": timeout.as_dict()})
                        request.read()  # `request.content` readable, as httpx leaves it
                        return request
                    headers = self._headers(req, client, parsed.netloc, typed=typed)
                    if "content-length" not in headers and "transfer-encoding" not in headers:
                        # The body encoded here; its length is the one header of its own.
                        body = json_body(req.json) if typed else b""
                        headers = httpx.Headers(headers)
                        headers["Content-Length"] = str(len(body))
                        request = httpx.Request(method, parsed, headers=headers,
                                                stream=httpx.ByteStream(body),
                                                extensions={"timeout": timeout.as_dict()})
                        request.read()
                        return request
                headers = self._headers(req, client, typed=typed)
                content = json_body(req.json) if typed else None
                if plain:
                    return httpx.Request(method, url, headers=headers, content=content,
                                         extensions={"timeout": timeout.as_dict()})
                return client.build_request(method, url, headers=headers, content=content,
                                            timeout=timeout)
            kwargs: dict[str, Any] = {"headers": self._headers(req, client),
                                      "timeout": timeout, "data": _Form(req.data or {})}
            if req.files is not None:
                kwargs["files"] = dict(req.files)
            return client.build_request(method, url, **kwargs)
        except (httpx.InvalidURL, TypeError, ValueError, RecursionError) as exc:
            raise errors.InvalidRequest(
                f"cannot build {method} {req.path}: {type(exc).__name__}: "
                f"{redact(str(exc))[:200]}", provider=self.provider.name) from exc

    def _headers(self, req: Request, client: httpx.Client | httpx.AsyncClient,
                 host: bytes | None = None, *, typed: bool = False) -> httpx.Headers:
        """The client's headers, ours, the provider's and the request's, merged and checked;
        kept for the next request with the same values (`InvalidRequest` if one is unsendable).
        Given the *host* (`URL.netloc`), a `Host` header comes first unless one is set, as
        httpx puts it on a request it prepares.

        No plain local holds a header value (the key's repr shows none): a traceback
        rendered with its locals (an error tracker) does not show the credentials.
        """
        key = _HeaderKey((host, typed, *self._header_values(req, client)))
        try:
            cached = self._header_cache.get(key)
        except TypeError:  # an unhashable header value: refused by _merge_headers
            return self._merge_headers(req, client, host, typed=typed)
        if cached is None:
            cached = self._merge_headers(req, client, host, typed=typed)
            if len(self._header_cache) >= _CACHE_SIZE:
                self._header_cache.clear()  # credentials rotated many times: start again
            self._header_cache[key] = cached
        return cached

    def _header_values(self, req: Request, client: httpx.Client | httpx.AsyncClient
                       ) -> tuple[Any, ...]:
        provider = self.provider
        return (tuple(client.headers.raw), tuple(provider.default_headers().items()),
                tuple(provider.auth_headers().items()) if req.authenticated else None,
                tuple(req.headers.items()))

    def _merge_headers(self, req: Request, client: httpx.Client | httpx.AsyncClient,
                       host: bytes | None = None, *, typed: bool = False) -> httpx.Headers:
        headers = httpx.Headers(client.headers)
        self._add_headers(headers, {"User-Agent": self.user_agent, "Accept": "application/json"})
        self._add_headers(headers, self.provider.default_headers())
        if req.authenticated:
            self._add_headers(headers, self.provider.auth_headers())
        self._add_headers(headers, req.headers)
        if typed and "content-type" not in headers:
            headers["Content-Type"] = "application/json"
        if host and "host" not in headers:
            headers = httpx.Headers([(b"Host", host), *headers.raw])
        return headers

    def _add_headers(self, headers: httpx.Headers, layer: Mapping[str, str]) -> None:
        for name, value in layer.items():
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name) or not isinstance(
                    value, str) or _HEADER_VALUE_FORBIDDEN.search(value):
                del layer, value  # may be a credential: not even in a traceback's locals
                raise errors.InvalidRequest(
                    f"refusing to send header {str(name)[:40]!r}: a header name must be a "
                    "token and its value must not contain CR, LF or other control characters",
                    provider=self.provider.name)
            headers[name] = value

    # -- the policy ------------------------------------------------------------------
    def attempts(
        self,
        req: Request,
        client: httpx.Client | httpx.AsyncClient,
        *,
        timeout: Timeout,
        max_retries: int,
    ) -> Generator[_Action, Any, Response]:
        """Yield the actions one request needs; return its `Response` or raise the typed error.

        The value sent back for a `_Send` is an `httpx.Response` or the exception raised.
        """
        provider = self.provider
        method = req.method.upper()
        httpx_timeout = self._timeouts.get(timeout)
        if httpx_timeout is None:
            if len(self._timeouts) >= _CACHE_SIZE:
                self._timeouts.clear()
            httpx_timeout = self._timeouts[timeout] = _httpx_timeout(timeout)
        cap = self.retry.retry_after_cap
        attempt = 0
        refreshed = False
        while True:
            if req.authenticated and provider.needs_refresh():
                yield _Refresh(provider.auth_generation)
            # Built before reserving a slot: a refused id or header costs nothing.
            hreq = self.build(req, client, httpx_timeout)
            throttled = req.authenticated
            if throttled:
                yield from self._await_turn(req, cap)
            if self.hooks.on_request:
                self._hook(self.hooks.on_request, RequestInfo(
                    provider.name, req.operation or method.lower(), method, req.path,
                    redact(str(hreq.url)), attempt))
            started = time.monotonic()
            try:
                outcome = yield _Send(hreq)
            except GeneratorExit:  # cancelled while waiting for the answer
                if throttled:
                    self.throttle.release()
                raise
            elapsed = time.monotonic() - started

            if isinstance(outcome, BaseException):
                if throttled:
                    self.throttle.release()
                self._record(req, None, elapsed, attempt, None, type(outcome).__name__)
                may_have_arrived = not isinstance(outcome, _NOT_SENT)
                if req.is_write and may_have_arrived:
                    raise self._transport_error(errors.OutcomeUnknown, req, outcome)
                if isinstance(outcome, _TRANSPORT) and attempt < max_retries:
                    yield self._retry_sleep(req, attempt, max_retries, None,
                                            type(outcome).__name__)
                    attempt += 1
                    continue
                raise self._transport_error(errors.ProviderUnavailable, req, outcome)

            assert isinstance(outcome, httpx.Response)
            headers = _ResponseHeaders({k.lower(): v for k, v in outcome.headers.items()})
            request_id = next((redact(headers[h]) for h in _REQUEST_IDS if h in headers), None)
            response = Response(
                status=outcome.status_code, headers=headers, content=outcome.content,
                request=req, provider=provider.name, elapsed=elapsed, request_id=request_id,
            )
            status = response.status
            if throttled:
                retry_after = self.throttle.observe(status, headers, elapsed=elapsed)
            else:
                retry_after = parse_retry_after(headers.get("retry-after"))
            self._record(req, status, elapsed, attempt, request_id, None)
            if 200 <= status < 300:
                return response
            if status < 400:
                location = redact(headers.get("location", ""))[:200]
                raise response.malformed(
                    f"unexpected HTTP {status}" + (f" redirect to {location!r}" if location else "")
                    + "; redirects are not followed, check base_url")
            error = self._error(response)
            if (status == 401 and not refreshed and req.authenticated and provider.can_refresh()
                    and not isinstance(error, errors.PermissionDenied)):
                # Expired or revoked credentials: refresh once and repeat. A token that lacks
                # a scope (which a provider maps to PermissionDenied) is not cured by renewal.
                refreshed = True
                yield _Refresh(provider.auth_generation)
                continue
            if retry_after is not None:
                error.retry_after = retry_after
            if status == 429:
                # Refused, so not carried out: safe to repeat, writes included.
                if attempt < max_retries and (retry_after is None or retry_after <= cap):
                    yield self._retry_sleep(req, attempt, max_retries, retry_after, "HTTP 429")
                    attempt += 1
                    continue
                raise error
            if status >= 500 and req.is_write:
                raise self._as_outcome_unknown(error, req)
            if (status in self.retry.retry_statuses and attempt < max_retries
                    and (retry_after is None or retry_after <= cap)):
                yield self._retry_sleep(req, attempt, max_retries, retry_after, f"HTTP {status}")
                attempt += 1
                continue
            raise error

    def _await_turn(self, req: Request, cap: float) -> Generator[_Action, Any, None]:
        """Wait for the throttle to admit *req*; a wait past *cap* is `RateLimited`."""
        ticket = self.throttle.enqueue()
        try:
            while (wait := self.throttle.wait_for(ticket, cap=cap)) > 0:
                if ticket.imposed > cap:
                    raise self._blocked(req, ticket.imposed)
                log.debug("%s %s %s waits %.3fs for the rate limit",
                          self.provider.name, req.method.upper(), req.path, wait)
                yield _Sleep(wait)
                if _instant_waits:
                    self.throttle.admit(ticket)
        finally:
            self.throttle.cancel(ticket)  # a no-op once admitted

    def _retry_sleep(self, req: Request, attempt: int, max_retries: int,
                     retry_after: float | None, why: str) -> _Sleep:
        delay = self._backoff(attempt, retry_after)
        log.info("%s %s %s: %s, retrying in %.2fs (retry %d of %d)", self.provider.name,
                 req.method.upper(), req.path, why, delay, attempt + 1, max_retries,
                 extra={"http_provider": self.provider.name, "http_method": req.method.upper(),
                        "http_path": req.path, "http_retry": attempt + 1,
                        "http_retry_delay": delay, "http_retry_reason": why})
        return _Sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry.retry_after_cap)
        ceiling = min(self.retry.backoff_max, self.retry.backoff_initial * (2 ** attempt))
        return random.uniform(0, ceiling) if self.retry.jitter else ceiling  # noqa: S311

    # -- errors ----------------------------------------------------------------------
    def _error(self, response: Response) -> errors.ProviderError:
        try:
            error = self.provider.error_from_response(response)
            if not isinstance(error, errors.ProviderError):
                raise TypeError(f"error_from_response returned {type(error).__name__}")
        except Exception as exc:  # the provider's parser must never leak its own failure
            error = Provider.error_from_response(self.provider, response)
            error.__cause__ = exc
        if error.provider is None:
            error.provider = self.provider.name
        if error.request_id is None:
            error.request_id = response.request_id
        if error.status is None:
            error.status = response.status
        error.method, error.path = response.request.method.upper(), response.request.path
        return error

    def _as_outcome_unknown(self, error: errors.ProviderError,
                            req: Request) -> errors.OutcomeUnknown:
        unknown = errors.OutcomeUnknown(
            f"{req.method.upper()} {req.path} got HTTP {error.status}: {error.message}; "
            "the write may or may not have happened and was not repeated",
            provider=error.provider, status=error.status, code=error.code, fields=error.fields,
            raw=error.raw, request_id=error.request_id, retry_after=error.retry_after,
        )
        unknown.__cause__ = error
        return unknown

    def _transport_error(
        self, cls: type[errors.ProviderUnavailable], req: Request, exc: BaseException,
    ) -> errors.ProviderUnavailable:
        kind = type(exc).__name__
        detail = redact(str(exc))[:200] or "no details"
        what = f"{req.method.upper()} {req.path}"
        if cls is errors.OutcomeUnknown:
            message = (f"{what} failed after it may have reached {self.provider.name} "
                       f"({kind}: {detail}); the write may or may not have happened and was "
                       "not repeated")
        else:
            message = f"{what} failed: {kind}: {detail}"
        err = cls(message, provider=self.provider.name)
        err.method, err.path, err.__cause__ = req.method.upper(), req.path, exc
        return err

    def _blocked(self, req: Request, blocked: float) -> errors.RateLimited:
        return errors.RateLimited(
            f"{req.method.upper()} {req.path} was not sent: {self.provider.name}'s rate "
            f"limit means waiting {blocked:.0f}s, longer than retry_after_cap "
            f"({self.retry.retry_after_cap:g}s)",
            provider=self.provider.name, retry_after=blocked)

    def _unexpected(self, state: _OpState, exc: Exception) -> errors.ProviderUnavailable:
        last = state.last
        assert last is not None
        cls = errors.OutcomeUnknown if state.write_answered else errors.ProviderUnavailable
        message = (f"unexpected response to {last.request.method.upper()} {last.request.path} "
                   f"(HTTP {last.status}): {type(exc).__name__}: {redact(str(exc))[:200]}; "
                   f"body: {last.excerpt(200) or '<empty>'}")
        if state.write_answered:
            message += "; the write may or may not have happened"
        return cls(message, provider=self.provider.name, status=last.status,
                   raw=last.excerpt(), request_id=last.request_id)

    # -- observability ----------------------------------------------------------------
    def _record(self, req: Request, status: int | None, elapsed: float, attempt: int,
                request_id: str | None, failure: str | None) -> None:
        method = req.method.upper()
        level = logging.DEBUG if status is not None and status < 400 else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "%s %s %s -> %s in %.1f ms (retry %d, request id %s)",
                    self.provider.name, method, req.path,
                    status if status is not None else failure, elapsed * 1000, attempt,
                    request_id or "-",
                    extra={"http_provider": self.provider.name, "http_method": method,
                           "http_path": req.path, "http_status": status,
                           "http_duration_ms": round(elapsed * 1000, 3), "http_retry": attempt,
                           "http_request_id": request_id, "http_failure": failure})
        if self.hooks.on_response:
            self._hook(self.hooks.on_response, ResponseInfo(
                self.provider.name, req.operation or method.lower(), method, req.path, status,
                elapsed, attempt, request_id, failure))

    @staticmethod
    def _hook(hooks: tuple[Any, ...], info: RequestInfo | ResponseInfo) -> None:
        for hook in hooks:
            try:
                result = hook(info)
                if inspect.iscoroutine(result):
                    result.close()
                    raise TypeError("hooks must be plain functions; an async hook was given")
            except Exception:
                log.exception("invoicekit %s hook %r failed; the call goes on",
                              "request" if isinstance(info, RequestInfo) else "response", hook)

    # -- running an operation ---------------------------------------------------------
    def step(self, op: Operation[T], value: Response | BaseException | None,
             state: _OpState) -> tuple[Request | None, T | None]:
        """Advance *op* with *value*; return its next request, or `(None, result)` when done.

        Anything but an `InvoiceKitError` raised by the provider's parsing after a response
        arrived becomes `ProviderUnavailable` (`OutcomeUnknown` if a write was answered),
        with the status and a safe excerpt of the last body. A failure before any response
        is a bug in the provider's own code and is left to surface as it is.
        """
        try:
            if isinstance(value, BaseException):
                nxt = op.throw(value)
            elif value is None:
                nxt = next(op)
            else:
                nxt = op.send(value)
        except StopIteration as stop:
            return None, stop.value
        except errors.InvoiceKitError as exc:
            scrub_exception(exc)
            raise
        except Exception as exc:
            if state.last is None:
                raise
            err = self._unexpected(state, exc)
            err.__cause__ = exc  # attached before scrubbing, so the cause is scrubbed too
            raise scrub_exception(err) from exc
        if not isinstance(nxt, Request):
            raise TypeError(f"a provider operation must yield Request objects, got {nxt!r}")
        return nxt, None

    def operation(self, op: Operation[T], client: httpx.Client | httpx.AsyncClient, *,
                  timeout: Timeout, max_retries: int) -> Generator[_Action, Any, T]:
        """The one generator a runner drives: the provider's operation and the HTTP policy
        (refresh, throttle, retry, `OutcomeUnknown` for writes) composed, yielding only
        actions (`_Send`, `_Sleep`, `_Refresh`) and returning the operation's result.

        Each `Request` the operation yields is carried out by `attempts`; its `Response`
        (or the typed error) goes back into the operation. Closing this generator (a
        cancelled task) closes the operation and releases any throttle slot it held.
        """
        state = _OpState()
        value: Response | BaseException | None = None
        try:
            while True:
                req, result = self.step(op, value, state)
                if req is None:
                    return result  # type: ignore[return-value]
                try:
                    response = yield from self.attempts(req, client, timeout=timeout,
                                                        max_retries=max_retries)
                except errors.InvoiceKitError as exc:
                    value = scrub_exception(exc)
                else:
                    state.answered(response)
                    value = response
        finally:
            op.close()


def _resolve(value: Any, default: Any) -> Any:
    return default if isinstance(value, Default) else value


# Set while this thread or task refreshes credentials: a refresh that itself asked for a
# refresh would wait forever on the (non-reentrant) refresh lock.
_refreshing: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "invoicekit_refreshing", default=False)


def _enter_refresh(provider: Provider) -> contextvars.Token[bool]:
    if _refreshing.get():
        raise errors.ConfigurationError(
            f"{provider.name}: refresh() sent a request that needs fresh credentials; the "
            "requests of a refresh must use Request(..., authenticated=False)",
            provider=provider.name)
    return _refreshing.set(True)


def _client_closed(name: str) -> errors.ConfigurationError:
    return errors.ConfigurationError(
        "the http_client given to this gateway has been closed; keep it open for as long as "
        "the gateway is used", setting="http_client", provider=name)


_httpx_log = logging.getLogger("httpx")


def _direct(client: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> Any:
    """The transport `client.send` would hand *request* to, when handing it over directly
    does all that `client.send` would do; `None` when only `client.send` will do.

    `client.send` runs the client's `auth` (or the URL's credentials) and its event hooks,
    picks the transport (mounts and proxies included), and keeps the cookies a response
    sets. With no auth, no credentials in the URL and no hooks, what is left is the
    transport, the cookie jar (`_sent` fills it when a response sets a cookie) and httpx's
    log line; what is skipped is mostly the cookie jar's parsing of every response's
    headers (about 20 µs), and the auth and hook machinery (another 25 µs). Any client
    whose httpx lacks the transport lookup (a later httpx) goes through `client.send`.
    """
    if client.auth is not None or request.url.userinfo:
        return None
    hooks = client.event_hooks
    if hooks.get("request") or hooks.get("response"):
        return None
    pick = getattr(client, "_transport_for_url", None)
    return pick(request.url) if pick is not None else None


def _sent(client: httpx.Client | httpx.AsyncClient, request: httpx.Request,
          response: httpx.Response) -> httpx.Response:
    """What `client.send` does with a response besides reading it: the request attached,
    cookies kept, httpx's own log line."""
    response.request = request
    headers = response.headers
    if "set-cookie" in headers or "set-cookie2" in headers:
        client.cookies.extract_cookies(response)
    if _httpx_log.isEnabledFor(logging.INFO):
        _httpx_log.info('HTTP Request: %s %s "%s %d %s"', request.method, request.url,
                        response.http_version, response.status_code, response.reason_phrase)
    return response


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """`client.send(request, follow_redirects=False)`, the body read (see `_direct`)."""
    transport = _direct(client, request)
    if transport is None:
        return client.send(request, follow_redirects=False)
    try:
        response: httpx.Response = transport.handle_request(request)
    except httpx.RequestError as exc:
        exc.request = request  # as httpx's client attaches it
        raise
    try:
        _sent(client, request, response).read()
    except BaseException:
        response.close()
        raise
    return response


async def _asend(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """`_send` for an async client."""
    transport = _direct(client, request)
    if transport is None:
        return await client.send(request, follow_redirects=False)
    try:
        response: httpx.Response = await transport.handle_async_request(request)
    except httpx.RequestError as exc:
        exc.request = request
        raise
    try:
        await _sent(client, request, response).aread()
    except BaseException:
        await response.aclose()
        raise
    return response


def _unbound(response: httpx.Response) -> httpx.Response:
    """*response* (already read and closed) without the stream httpx binds to it.

    httpx's client wraps each response's stream in one that refers back to the response:
    a reference cycle, so the response and its body outlive their last use until the
    cyclic garbage collector runs, by which time they sit in its oldest generation. A
    listing then holds several pages' bodies at once (a peak 1.2x higher over 100 pages
    of 1,000 invoices than over one). Replaced by an empty stream, the body is freed as
    soon as the page is done with it.
    """
    response.stream = _EMPTY
    return response


class SyncRunner:
    """Runs operations with `httpx.Client`: the caller's, if given (never closed by us)."""

    def __init__(self, engine: HttpEngine, client: httpx.Client | None) -> None:
        if client is not None and not isinstance(client, httpx.Client):
            raise errors.ConfigurationError(
                "http_client must be an httpx.Client for a sync gateway "
                "(use connect_async for an httpx.AsyncClient)", setting="http_client")
        self.engine = engine
        self._owns_client = client is None
        self.client = client if client is not None else httpx.Client(
            timeout=_httpx_timeout(engine.timeout), follow_redirects=False
        )
        self._refresh_lock = threading.Lock()

    def run(self, op: Operation[T], *, timeout: Timeout | Default = DEFAULT,
            max_retries: int | Default = DEFAULT) -> T:
        """Drive *op* to completion; per-call settings override the gateway's."""
        gen = self.engine.operation(
            op, self.client, timeout=_resolve(timeout, self.engine.timeout),
            max_retries=_resolve(max_retries, self.engine.retry.max_retries))
        value: Any = None
        try:
            while True:
                try:
                    action = gen.send(value)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                value = self._perform(action)
        finally:
            gen.close()

    def _perform(self, action: _Action) -> Any:
        """Do what *action* says; return what goes back into the generator."""
        if isinstance(action, _Send):
            if self.client.is_closed:
                raise _client_closed(self.engine.provider.name)
            try:
                return _unbound(_send(self.client, action.request))
            except Exception as exc:
                return exc
        if isinstance(action, _Sleep):
            if not _instant_waits and action.seconds > 0:
                time.sleep(action.seconds)
            return None
        marker = _enter_refresh(self.engine.provider)
        try:
            with self._refresh_lock:
                provider = self.engine.provider
                if provider.auth_generation == action.seen_generation:
                    self.run(provider.refresh())
                    self.engine.register_secrets()
        finally:
            _refreshing.reset(marker)
        return None

    def close(self) -> None:
        """Close the client if this runner created it (a caller's client stays open)."""
        if self._owns_client:
            self.client.close()


_UNSET: Any = object()


class _KnownSocketStream(httpcore.AsyncNetworkStream):
    """A connection's stream that looks up its socket once, for the pool's checks.

    Before httpcore hands out an idle keep-alive connection it asks whether the socket is
    readable (a server that closed the connection has sent its end-of-file). Through
    anyio, each asking rebuilds the stream's attribute table, `getpeername()` system call
    included: about 14 times per request with 8 connections (the pool checks every idle
    one each time it assigns a request), a tenth of a concurrent migration's client time.
    The socket never changes for the life of a stream, so it is looked up once here and
    checked with httpcore's own test; everything else goes to the stream unchanged.
    """

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: Any = _UNSET

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _KnownSocketStream(
            await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            sock = self._socket
            if sock is _UNSET:
                sock = self._socket = self._stream.get_extra_info("socket")
            if sock is not None:
                return is_socket_readable(sock)
        return self._stream.get_extra_info(info)


class _KnownSocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, its streams wrapped in `_KnownSocketStream`."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return _KnownSocketStream(await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return _KnownSocketStream(await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def _own_async_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    """The `httpx.AsyncClient` a gateway makes for itself: httpx's defaults (environment
    proxies included), its connection pools' streams wrapped in `_KnownSocketStream`.

    The pools are reached through httpx's and httpcore's private attributes; where a
    version has other ones, the client is left as httpx made it (the wrapping only saves
    time; a test notices it missing).
    """
    client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.AsyncNetworkBackend):
            pool._network_backend = _KnownSocketBackend(backend)  # type: ignore[union-attr]
    return client


class AsyncRunner:
    """Runs operations with `httpx.AsyncClient`: the caller's, if given (never closed by us)."""

    def __init__(self, engine: HttpEngine, client: httpx.AsyncClient | None) -> None:
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise errors.ConfigurationError(
                "http_client must be an httpx.AsyncClient for an async gateway",
                setting="http_client")
        self.engine = engine
        self._owns_client = client is None
        self.client = client if client is not None else _own_async_client(
            _httpx_timeout(engine.timeout))
        self._refresh_lock: asyncio.Lock | None = None

    async def run(self, op: Operation[T], *, timeout: Timeout | Default = DEFAULT,
                  max_retries: int | Default = DEFAULT) -> T:
        """Drive *op* to completion; per-call settings override the gateway's."""
        gen = self.engine.operation(
            op, self.client, timeout=_resolve(timeout, self.engine.timeout),
            max_retries=_resolve(max_retries, self.engine.retry.max_retries))
        value: Any = None
        try:
            while True:
                try:
                    action = gen.send(value)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                value = await self._perform(action)
        finally:
            gen.close()

    async def _perform(self, action: _Action) -> Any:
        """Do what *action* says; return what goes back into the generator."""
        if isinstance(action, _Send):
            if self.client.is_closed:
                raise _client_closed(self.engine.provider.name)
            try:
                return _unbound(await _asend(self.client, action.request))
            except Exception as exc:
                return exc
        if isinstance(action, _Sleep):
            if not _instant_waits and action.seconds > 0:
                await asyncio.sleep(action.seconds)
            return None
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        marker = _enter_refresh(self.engine.provider)
        try:
            async with self._refresh_lock:
                provider = self.engine.provider
                if provider.auth_generation == action.seen_generation:
                    await self.run(provider.refresh())
                    self.engine.register_secrets()
        finally:
            _refreshing.reset(marker)
        return None

    async def aclose(self) -> None:
        """Close the client if this runner created it (a caller's client stays open)."""
        if self._owns_client:
            await self.client.aclose()


def user_agent(provider: Provider) -> str:
    """`invoicekit/<version> (<distribution>/<version>; provider <name>) httpx/<version>`:
    names the library and the plugin, so a provider's support can tell who is calling."""
    dist = provider.distribution
    return (f"invoicekit/{__about__.__version__} ({dist}/{__about__.distribution_version(dist)}; "
            f"provider {provider.name}) httpx/{httpx.__version__}")


class _Responder(Protocol):
    """What the in-process transport needs of a sandbox (`SandboxServer.respond`)."""

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes
                ) -> Any: ...


class InProcessTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport that answers from a sandbox in the same process, no socket.

    The fake's platform profiles run the plugin's real provider through it against the
    plugin's own sandbox, so a test against `connect("fake", profile=...)` meets exactly
    the rules the sandbox (the emulator of the platform) enforces. `sandbox` may be
    replaced (the fake's `reset()` swaps in a fresh one).
    """

    def __init__(self, sandbox: _Responder) -> None:
        self.sandbox = sandbox

    def _answer(self, request: httpx.Request) -> httpx.Response:
        from .testing.sandbox import ConnectionLost

        target = request.url.raw_path.decode("ascii")
        try:
            answer = self.sandbox.respond(request.method, target, request.headers,
                                          request.content)
        except ConnectionLost as exc:
            raise httpx.ReadError(str(exc), request=request) from exc
        return httpx.Response(answer.status, headers=dict(answer.headers),
                              content=answer.body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* from the sandbox (sync clients)."""
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* from the sandbox (async clients). The sandbox answers in
        microseconds, so it runs inline; a `stall` fault therefore blocks the loop (use
        the socket server for timeout tests)."""
        await request.aread()
        return self._answer(request)


def in_process_client(sandbox: _Responder, *, asynchronous: bool
                      ) -> httpx.Client | httpx.AsyncClient:
    """A client whose every request is answered by *sandbox* in process."""
    transport = InProcessTransport(sandbox)
    if asynchronous:
        return httpx.AsyncClient(transport=transport, follow_redirects=False)
    return httpx.Client(transport=transport, follow_redirects=False)
