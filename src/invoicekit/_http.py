"""The one module that imports `httpx`: execution, retries, throttling, logging, redaction.

Providers describe requests (`Request`) and parse responses (`Response`); this module
runs them. The retry and error policy is written once, as a generator of actions
(`_Send`, `_Sleep`, `_Refresh`) in `HttpEngine.attempts`; `SyncRunner` performs those
actions with `httpx.Client` and `time.sleep`, `AsyncRunner` with `httpx.AsyncClient`
and `asyncio.sleep`. So sync and async behave identically by construction.

Policy (see docs/reliability.md):

* Reads (GET) retry on connection errors, timeouts, 429 and 502/503/504, with capped
  exponential backoff and full jitter, honouring `Retry-After` up to a cap.
* Writes retry only when nothing can have reached the provider: the connection never
  opened, or the provider answered 429. Any other failure after sending (timeout, reset,
  5xx, an unreadable success body) is `OutcomeUnknown`, never repeated.
* A 401 on a provider that can refresh its credentials refreshes once, under a lock,
  and repeats the request once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Generator
from typing import Any, TypeVar

import attrs
import httpx

from . import __about__, errors
from ._options import DEFAULT, Default, HttpHooks, RequestInfo, ResponseInfo, RetryPolicy, Timeout
from ._provider import Operation, Provider, Request, Response
from ._secrets import install_log_redaction, redact, register_secret
from ._throttle import Throttle

__all__ = ["AsyncRunner", "HttpEngine", "SyncRunner", "testing_instant_waits"]

T = TypeVar("T")
log = logging.getLogger("invoicekit.http")

_instant_waits = False


def testing_instant_waits(enabled: bool) -> None:
    """Make retry backoff and throttle waits take no time (for test suites)."""
    global _instant_waits
    _instant_waits = enabled


# Failures where the request cannot have reached the provider: safe to retry any request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_REQUEST_IDS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray", "x-correlation-id")


@attrs.frozen(slots=True)
class _Send:
    request: httpx.Request
    timeout: httpx.Timeout


@attrs.frozen(slots=True)
class _Sleep:
    seconds: float


@attrs.frozen(slots=True)
class _Refresh:
    seen_generation: int


_Action = _Send | _Sleep | _Refresh


def _httpx_timeout(t: Timeout) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


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
        install_log_redaction()
        for secret in provider.secrets():
            register_secret(secret)

    # -- building ------------------------------------------------------------------
    def build(self, req: Request, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The `httpx.Request` for *req*: path checked, headers merged, body encoded."""
        url = req.absolute_url or (self.base_url + req.render_path())
        headers: dict[str, str] = {"User-Agent": self.user_agent, "Accept": "application/json"}
        headers.update(self.provider.default_headers())
        if req.authenticated:
            headers.update(self.provider.auth_headers())
        headers.update(req.headers)
        params = {k: str(v) for k, v in (req.params or {}).items()}
        if req.files is not None:
            return client.build_request(
                req.method, url, headers=headers, params=params, data=dict(req.data or {}),
                files=dict(req.files),
            )
        if req.data is not None:
            return client.build_request(
                req.method, url, headers=headers, params=params, data=dict(req.data)
            )
        return client.build_request(
            req.method, url, headers=headers, params=params,
            json=req.json if req.json is not None else None,
        )

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
        name = provider.name
        attempt = 0
        refreshed = False
        method = req.method.upper()
        operation = req.operation or method.lower()
        httpx_timeout = _httpx_timeout(timeout)
        while True:
            if req.authenticated and provider.needs_refresh():
                yield _Refresh(provider.auth_generation)
            wait = self.throttle.reserve() if req.authenticated else 0.0
            if wait > 0:
                log.debug("%s %s waits %.3fs for the rate limit", method, req.path, wait)
                yield _Sleep(wait)
            hreq = self.build(req, client)
            self._hook_request(RequestInfo(name, operation, method, req.path,
                                           redact(str(hreq.url)), attempt))
            started = time.monotonic()
            outcome = yield _Send(hreq, httpx_timeout)
            elapsed = time.monotonic() - started

            if isinstance(outcome, BaseException):
                if req.authenticated:
                    self.throttle.release()
                exc = outcome
                if not isinstance(exc, httpx.HTTPError | OSError):
                    raise exc
                reached = not isinstance(exc, _NOT_SENT)
                self._log(method, req.path, None, elapsed, attempt, None, type(exc).__name__)
                self._hook_response(ResponseInfo(name, operation, method, req.path, None,
                                                 elapsed, attempt, None, type(exc).__name__))
                if req.is_write and reached:
                    raise self._transport_error(errors.OutcomeUnknown, req, exc, write=True)
                if attempt < max_retries:
                    yield _Sleep(self._backoff(attempt, None))
                    attempt += 1
                    continue
                raise self._transport_error(errors.ProviderUnavailable, req, exc, write=False)

            assert isinstance(outcome, httpx.Response)
            headers = {k.lower(): v for k, v in outcome.headers.items()}
            request_id = next((headers[h] for h in _REQUEST_IDS if h in headers), None)
            response = Response(
                status=outcome.status_code, headers=headers, content=outcome.content,
                request=req, provider=name, elapsed=elapsed, request_id=request_id,
            )
            retry_after = (
                self.throttle.observe(response.status, headers) if req.authenticated else None
            )
            self._log(method, req.path, response.status, elapsed, attempt, request_id, None)
            self._hook_response(ResponseInfo(name, operation, method, req.path, response.status,
                                             elapsed, attempt, request_id))
            status = response.status
            if status < 400:
                return response
            if status == 401 and not refreshed and req.authenticated and provider.can_refresh():
                refreshed = True
                yield _Refresh(provider.auth_generation)
                continue
            error = self._error(response)
            if status == 429:
                error.retry_after = retry_after
                if retry_after is not None and retry_after > self.retry.retry_after_cap:
                    raise error
                if attempt < max_retries:
                    yield _Sleep(self._backoff(attempt, retry_after))
                    attempt += 1
                    continue
                raise error
            if status >= 500 and req.is_write:
                raise self._as_outcome_unknown(error)
            if status in self.retry.retry_statuses and attempt < max_retries:
                yield _Sleep(self._backoff(attempt, retry_after))
                attempt += 1
                continue
            raise error

    def _error(self, response: Response) -> errors.ProviderError:
        try:
            error = self.provider.error_from_response(response)
        except Exception as exc:  # the provider's parser must never leak its own failure
            error = Provider.error_from_response(self.provider, response)
            error.__cause__ = exc
        if error.request_id is None:
            error.request_id = response.request_id
        if error.status is None:
            error.status = response.status
        return error

    @staticmethod
    def _as_outcome_unknown(error: errors.ProviderError) -> errors.OutcomeUnknown:
        unknown = errors.OutcomeUnknown(
            f"{error.message}; the write may or may not have happened",
            provider=error.provider, status=error.status, code=error.code, fields=error.fields,
            raw=error.raw, request_id=error.request_id,
        )
        unknown.__cause__ = error
        return unknown

    def _transport_error(
        self, cls: type[errors.ProviderUnavailable], req: Request, exc: BaseException, *,
        write: bool,
    ) -> errors.ProviderUnavailable:
        kind = type(exc).__name__
        what = f"{req.method.upper()} {req.path}"
        if write:
            message = (f"{what} failed after it may have reached {self.provider.name} ({kind}); "
                       "the write may or may not have happened and was not repeated")
        else:
            message = f"{what} failed: {kind}: {redact(str(exc)) or 'no details'}"
        err = cls(message, provider=self.provider.name)
        err.__cause__ = exc
        return err

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry.retry_after_cap)
        ceiling = min(self.retry.backoff_max, self.retry.backoff_initial * (2 ** attempt))
        return random.uniform(0, ceiling) if self.retry.jitter else ceiling  # noqa: S311

    def _log(self, method: str, path: str, status: int | None, elapsed: float, attempt: int,
             request_id: str | None, failure: str | None) -> None:
        level = logging.INFO if status is None or status >= 400 else logging.DEBUG
        if log.isEnabledFor(level):
            log.log(level, "%s %s %s -> %s in %.1fms (retry %d, request id %s)",
                    self.provider.name, method, path, status if status is not None else failure,
                    elapsed * 1000, attempt, request_id or "-")

    def _hook_request(self, info: RequestInfo) -> None:
        for hook in self.hooks.on_request:
            try:
                hook(info)
            except Exception:
                log.exception("invoicekit on_request hook %r failed", hook)

    def _hook_response(self, info: ResponseInfo) -> None:
        for hook in self.hooks.on_response:
            try:
                hook(info)
            except Exception:
                log.exception("invoicekit on_response hook %r failed", hook)

    # -- running an operation ---------------------------------------------------------
    def step(self, op: Operation[T], value: Response | BaseException | None, *,
             responded: list[bool]) -> tuple[Request | None, T | None]:
        """Advance *op* with *value*; return its next request, or `(None, result)` when done.

        Anything but an `InvoiceKitError` raised by the provider's parsing after a response
        arrived becomes `ProviderUnavailable` (`OutcomeUnknown` if a write was answered).
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
        except errors.InvoiceKitError:
            raise
        except Exception as exc:
            if not responded[0]:
                raise
            cls = errors.OutcomeUnknown if responded[1] else errors.ProviderUnavailable
            err = cls(
                f"unexpected response from {self.provider.name}: {type(exc).__name__}: "
                f"{redact(str(exc))[:300]}",
                provider=self.provider.name,
            )
            raise err from exc
        if not isinstance(nxt, Request):
            raise TypeError(f"a provider operation must yield Request objects, got {nxt!r}")
        return nxt, None


def _resolve(value: Any, default: Any) -> Any:
    return default if isinstance(value, Default) else value


class SyncRunner:
    """Runs operations with `httpx.Client` (the caller's, if given)."""

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
        """Drive *op* to completion."""
        t: Timeout = _resolve(timeout, self.engine.timeout)
        retries: int = _resolve(max_retries, self.engine.retry.max_retries)
        responded = [False, False]
        value: Response | BaseException | None = None
        while True:
            req, result = self.engine.step(op, value, responded=responded)
            if req is None:
                return result  # type: ignore[return-value]
            try:
                value = self._perform(self.engine.attempts(req, self.client, timeout=t,
                                                           max_retries=retries))
                responded[0] = True
                responded[1] = responded[1] or req.is_write
            except errors.InvoiceKitError as exc:
                value = exc

    def _perform(self, gen: Generator[_Action, Any, Response]) -> Response:
        value: Any = None
        while True:
            try:
                action = gen.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(action, _Send):
                try:
                    value = self.client.send(action.request)
                except Exception as exc:
                    value = exc
            elif isinstance(action, _Sleep):
                if not _instant_waits and action.seconds > 0:
                    time.sleep(action.seconds)
                value = None
            else:
                with self._refresh_lock:
                    if self.engine.provider.auth_generation == action.seen_generation:
                        self.run(self.engine.provider.refresh())
                value = None

    def close(self) -> None:
        """Close the client if this runner created it."""
        if self._owns_client:
            self.client.close()


class AsyncRunner:
    """Runs operations with `httpx.AsyncClient` (the caller's, if given)."""

    def __init__(self, engine: HttpEngine, client: httpx.AsyncClient | None) -> None:
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise errors.ConfigurationError(
                "http_client must be an httpx.AsyncClient for an async gateway",
                setting="http_client")
        self.engine = engine
        self._owns_client = client is None
        self.client = client if client is not None else httpx.AsyncClient(
            timeout=_httpx_timeout(engine.timeout), follow_redirects=False
        )
        self._refresh_lock: asyncio.Lock | None = None

    async def run(self, op: Operation[T], *, timeout: Timeout | Default = DEFAULT,
                  max_retries: int | Default = DEFAULT) -> T:
        """Drive *op* to completion."""
        t: Timeout = _resolve(timeout, self.engine.timeout)
        retries: int = _resolve(max_retries, self.engine.retry.max_retries)
        responded = [False, False]
        value: Response | BaseException | None = None
        while True:
            req, result = self.engine.step(op, value, responded=responded)
            if req is None:
                return result  # type: ignore[return-value]
            try:
                value = await self._perform(self.engine.attempts(req, self.client, timeout=t,
                                                                 max_retries=retries))
                responded[0] = True
                responded[1] = responded[1] or req.is_write
            except errors.InvoiceKitError as exc:
                value = exc

    async def _perform(self, gen: Generator[_Action, Any, Response]) -> Response:
        value: Any = None
        while True:
            try:
                action = gen.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(action, _Send):
                try:
                    value = await self.client.send(action.request)
                except Exception as exc:
                    value = exc
            elif isinstance(action, _Sleep):
                if not _instant_waits and action.seconds > 0:
                    await asyncio.sleep(action.seconds)
                value = None
            else:
                if self._refresh_lock is None:
                    self._refresh_lock = asyncio.Lock()
                async with self._refresh_lock:
                    if self.engine.provider.auth_generation == action.seen_generation:
                        await self.run(self.engine.provider.refresh())
                value = None

    async def aclose(self) -> None:
        """Close the client if this runner created it."""
        if self._owns_client:
            await self.client.aclose()


def user_agent(provider: Provider) -> str:
    """`invoicekit/<version> (<distribution>/<version>) httpx/<version>`."""
    dist = provider.distribution
    return (f"invoicekit/{__about__.__version__} ({dist}/{__about__.distribution_version(dist)}; "
            f"provider {provider.name}) httpx/{httpx.__version__}")


__all__ += ["user_agent"]
