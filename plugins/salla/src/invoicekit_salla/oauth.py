"""Salla OAuth 2.0: access tokens that expire, refresh tokens that work once.

Salla's access tokens expire (the token answer's `expires` is an absolute Unix time),
and a refresh token is **single-use**: using one a second time revokes the merchant's
whole token chain. So the refresh happens at most once per expiry, under the gateway's
lock (shared by threads and async tasks: the core's HTTP layer calls `refresh()` only
when `auth_generation` has not moved since it decided a refresh was needed), and the
new pair is handed to the application at once through `on_token_refresh` to be stored.

```python
def save(tokens: SallaTokens) -> None:
    db.store(merchant, tokens.access_token.get(), tokens.refresh_token.get(), tokens.expires)

gw = invoicekit.connect(
    "salla", token=access, refresh_token=refresh, expires=expires_at,
    client_id=CLIENT_ID, client_secret=CLIENT_SECRET, on_token_refresh=save,
)
```

The gateway refreshes shortly before `expires` (`refresh_margin`, 60 s by default) and
once on a 401. An `invalid_grant` answer means the refresh token is spent or revoked:
`AuthenticationError` says the merchant must authorise the app again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from invoicekit import Operation, Request, Secret, errors
from invoicekit.convert import parse_datetime
from invoicekit.provider import register_secret

__all__ = ["TOKEN_URL", "OAuthSession", "SallaTokens", "TokenCallback"]

TOKEN_URL = "https://accounts.salla.sa/oauth2/token"  # noqa: S105 - a URL, not a secret
"""Salla's token endpoint; the `token_url` setting overrides it (for the sandbox)."""

_log = logging.getLogger("invoicekit.salla")


def _epoch(value: object, setting: str) -> float | None:
    """Seconds since the epoch from a `datetime`, an ISO string or a number of seconds."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return stamp.timestamp()
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            return parse_datetime(text).timestamp()
        except ValueError:
            pass
    raise errors.ConfigurationError(
        f"{setting} must be a datetime or a Unix time in seconds", setting=setting,
        provider="salla")


@attrs.frozen(slots=True)
class SallaTokens:
    """A fresh token pair from Salla's token endpoint, for the application to store.

    The tokens are `Secret`s (call `.get()`), so logging this object leaks nothing.
    """

    access_token: Secret
    refresh_token: Secret
    expires: dt.datetime
    scope: str | None = None


TokenCallback = Callable[[SallaTokens], object]
"""`on_token_refresh(tokens)`: store both tokens; the old refresh token is now spent."""


class OAuthSession:
    """The credentials of one Salla merchant and how to renew them.

    Holds the access token, and, when refreshing is configured, the client id and secret
    and the current refresh token. `SallaProvider` delegates the core's refresh hooks to it.
    """

    def __init__(
        self,
        *,
        token: str | Secret | None,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        refresh_token: str | Secret | None = None,
        expires: object = None,
        on_token_refresh: TokenCallback | None = None,
        token_url: str = TOKEN_URL,
        refresh_margin: float = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = Secret(token) if token is not None else None
        self.client_id = client_id
        self._client_secret = Secret(client_secret) if client_secret is not None else None
        self._refresh_token = Secret(refresh_token) if refresh_token is not None else None
        self._expires = _epoch(expires, "expires")
        self.on_token_refresh = on_token_refresh
        self.token_url = token_url
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._generation = 0
        partial = [name for name, value in (("client_id", client_id),
                                            ("client_secret", client_secret),
                                            ("refresh_token", refresh_token)) if value]
        if partial and len(partial) < 3:
            missing = sorted({"client_id", "client_secret", "refresh_token"} - set(partial))
            raise errors.ConfigurationError(
                f"refreshing Salla tokens needs client_id, client_secret and refresh_token; "
                f"missing {', '.join(missing)}", setting=missing[0], provider="salla")
        if self._token is None and not self.can_refresh():
            raise errors.ConfigurationError(
                "Salla needs a token (or client_id, client_secret and refresh_token)",
                setting="token", provider="salla")

    # ---- what the provider exposes ---------------------------------------------------
    @property
    def token(self) -> Secret | None:
        """The current access token (`None` until the first refresh when none was given)."""
        return self._token

    @property
    def expires(self) -> dt.datetime | None:
        """When the access token expires, if known."""
        if self._expires is None:
            return None
        return dt.datetime.fromtimestamp(self._expires, dt.UTC)

    @property
    def generation(self) -> int:
        """Increments on every successful refresh."""
        return self._generation

    def secrets(self) -> list[str]:
        """Every secret value held, for log redaction."""
        held = (self._token, self._client_secret, self._refresh_token)
        return [s.get() for s in held if s is not None]

    def can_refresh(self) -> bool:
        """Whether client credentials and a refresh token are configured."""
        return bool(self.client_id and self._client_secret and self._refresh_token)

    def needs_refresh(self) -> bool:
        """No access token yet, or it expires within `refresh_margin` seconds."""
        if not self.can_refresh():
            return False
        if self._token is None:
            return True
        return self._expires is not None and self._clock() >= self._expires - self.refresh_margin

    # ---- the refresh itself ------------------------------------------------------------
    def refresh(self) -> Operation[None]:
        """`POST token_url` with `grant_type=refresh_token`; adopt and publish the new pair."""
        if not self.can_refresh():
            raise errors.AuthenticationError(
                "the Salla access token was refused and no refresh token is configured",
                provider="salla")
        assert self._client_secret is not None
        assert self._refresh_token is not None
        assert self.client_id is not None
        request = Request(
            "POST", "/oauth2/token", absolute_url=self.token_url, authenticated=False,
            # Kept as `Secret`s: the HTTP layer unwraps them only as it encodes the body,
            # so no frame's locals (as error trackers render them) show their values.
            data={
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
            operation="oauth_refresh",
        )
        try:
            response = yield request
        except errors.ProviderError as exc:
            if exc.code == "invalid_grant":
                raise errors.AuthenticationError(
                    "Salla refused the refresh token (invalid_grant): it was already used or "
                    "revoked; the merchant must authorise the app again",
                    provider="salla", status=exc.status, code=exc.code, raw=exc.raw,
                    request_id=exc.request_id) from exc
            raise
        body = response.json_object()
        tokens = self._parse(body, response)
        self._adopt(tokens)
        return None

    def _parse(self, body: dict[str, Any], response: Any) -> SallaTokens:
        # Salla wraps some answers in {"data": {...}}; the token endpoint answers bare.
        nested = body.get("data")
        data: dict[str, Any] = nested if isinstance(nested, dict) else body
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str):
            raise response.malformed("the token answer has no access_token/refresh_token")
        expires_at: float | None
        try:
            expires_at = _epoch(data.get("expires"), "expires")
        except errors.ConfigurationError:
            expires_at = None
        if expires_at is None and isinstance(data.get("expires_in"), int):
            expires_at = self._clock() + data["expires_in"]
        if expires_at is None:
            raise response.malformed("the token answer has no usable expires")
        scope = data.get("scope") if isinstance(data.get("scope"), str) else None
        return SallaTokens(Secret(access), Secret(refresh),
                           dt.datetime.fromtimestamp(expires_at, dt.UTC), scope)

    def _adopt(self, tokens: SallaTokens) -> None:
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        self._token = tokens.access_token
        self._refresh_token = tokens.refresh_token
        self._expires = tokens.expires.timestamp()
        self._generation += 1
        if self.on_token_refresh is not None:
            try:
                self.on_token_refresh(tokens)
            except Exception:
                # The new tokens are live in this process either way; failing the caller's
                # request would not bring the spent refresh token back.
                _log.exception("on_token_refresh failed; the new Salla tokens were not stored")

    def __repr__(self) -> str:
        # Safe on a half-built session (its constructor raised): error trackers call it.
        refreshable = bool(getattr(self, "client_id", None) and getattr(
            self, "_client_secret", None) and getattr(self, "_refresh_token", None))
        return (f"<OAuthSession client_id={getattr(self, 'client_id', None)!r} "
                f"refreshable={refreshable}>")
