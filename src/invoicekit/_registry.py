"""Finding providers: entry points (through stevedore), in-process registrations, config.

Providers are found in the entry-point group `invoicekit.providers` (name -> `Provider`
subclass). `connect()` loads exactly one through stevedore's `DriverManager`, so an
import error in that plugin surfaces with its cause instead of the provider being
silently missing.
"""

from __future__ import annotations

import inspect
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import attrs

from . import errors
from ._gateway import AsyncGateway, Gateway
from ._model import Capability
from ._provider import Provider

if TYPE_CHECKING:
    from .testing._fake import AsyncFakeGateway, FakeGateway

__all__ = [
    "ENTRY_POINT_GROUP",
    "FAKE",
    "ProviderInfo",
    "available_providers",
    "connect",
    "connect_async",
    "entry_points_of",
    "from_config",
    "from_config_async",
    "load_provider",
    "register",
]

ENTRY_POINT_GROUP = "invoicekit.providers"
FAKE = "fake"
"""The core's own provider, resolved without an entry-point scan."""
_CORE_SETTINGS = frozenset(
    {"base_url", "http_client", "timeout", "max_retries", "retry", "throttle", "hooks",
     "ignore_unsupported"}
)
_G = TypeVar("_G", Gateway, AsyncGateway)
_lock = threading.Lock()
_registered: dict[str, type[Provider]] = {}


@attrs.frozen(slots=True)
class ProviderInfo:
    """An installed provider: its name, capabilities and where it comes from.

    `error` is set (and `capabilities` empty) when the plugin is installed but fails to load.
    """

    name: str
    capabilities: frozenset[Capability]
    distribution: str
    version: str
    error: str | None = None


def register(name: str, provider_class: type[Provider]) -> None:
    """Make *provider_class* available to `connect(name)` in this process (no packaging)."""
    if not isinstance(provider_class, type) or not issubclass(provider_class, Provider):
        raise TypeError("provider_class must be a subclass of invoicekit.Provider")
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise errors.ConfigurationError(f"invalid provider name {name!r}", setting="provider")
    with _lock:
        _registered[name] = provider_class


def entry_points_of(group: str) -> dict[str, Any]:
    """The entry points of *group* by name (the first of a name wins), read fresh."""
    from importlib.metadata import entry_points

    found: dict[str, Any] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    return found


def _entry_points() -> dict[str, Any]:
    return entry_points_of(ENTRY_POINT_GROUP)


def _installed_names() -> list[str]:
    return sorted(set(_entry_points()) | set(_registered))


def load_provider(name: str) -> type[Provider]:
    """The provider class registered as *name*, or `ProviderNotFound` / `ConfigurationError`."""
    if not isinstance(name, str) or not name:
        raise errors.ConfigurationError("provider must be a non-empty name", setting="provider")
    with _lock:
        if name in _registered:
            return _registered[name]
    if name == FAKE:
        from .testing._fake import FakeProvider

        return FakeProvider
    eps = _entry_points()
    if name not in eps:
        raise errors.ProviderNotFound(name, _installed_names())
    from stevedore import driver, extension

    # stevedore keeps each namespace's entry points for the life of the process (and on
    # disk, keyed on file times): a plugin installed after the first connect() would look
    # "missing". Hand it the list importlib.metadata has just read instead.
    extension.ExtensionManager.ENTRY_POINT_CACHE[ENTRY_POINT_GROUP] = list(eps.values())

    failure: list[BaseException] = []

    def on_failure(_manager: Any, entrypoint: Any, exc: BaseException) -> None:
        failure.append(exc)

    try:
        manager = driver.DriverManager(
            ENTRY_POINT_GROUP, name, invoke_on_load=False,
            on_load_failure_callback=on_failure, on_missing_entrypoints_callback=None,
        )
        cls = manager.driver
    except Exception as exc:
        cause = failure[0] if failure else exc
        raise errors.ConfigurationError(
            f"provider {name!r} is installed but failed to load: "
            f"{type(cause).__name__}: {cause}", setting="provider",
        ) from cause
    if not isinstance(cls, type) or not issubclass(cls, Provider):
        raise errors.ConfigurationError(
            f"entry point {name!r} in {ENTRY_POINT_GROUP} is not an invoicekit.Provider subclass",
            setting="provider")
    return cls


def available_providers(*, include_failed: bool = False) -> list[ProviderInfo]:
    """Every installed provider, sorted by name; with *include_failed*, broken ones too."""
    from .__about__ import distribution_version

    infos = []
    eps = _entry_points()
    for name in _installed_names():
        ep = eps.get(name)
        dist = ep.dist.name if ep is not None and ep.dist is not None else "(in process)"
        version = distribution_version(dist) if ep is not None else "-"
        try:
            cls = load_provider(name)
        except errors.ConfigurationError as exc:
            if include_failed:
                infos.append(ProviderInfo(name, frozenset(), dist, version, error=str(exc)))
            continue
        infos.append(ProviderInfo(name, cls.class_capabilities(), dist, version))
    return infos


def _split(provider_class: type[Provider], name: str,
           settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    core = {k: v for k, v in settings.items() if k in _CORE_SETTINGS}
    own = {k: v for k, v in settings.items() if k not in _CORE_SETTINGS}
    params = inspect.signature(provider_class.__init__).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if not accepts_any:
        allowed = {k for k, p in params.items() if k != "self" and p.kind is not p.VAR_POSITIONAL}
        unknown = sorted(set(own) - allowed)
        if unknown:
            raise errors.ConfigurationError(
                f"unknown setting{'s' if len(unknown) > 1 else ''} for provider {name!r}: "
                f"{', '.join(unknown)}; it accepts: "
                f"{', '.join(sorted(allowed | _CORE_SETTINGS))}",
                setting=unknown[0], provider=name)
        missing = [
            k for k, p in params.items()
            if k != "self" and p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and k not in own
        ]
        if missing:
            raise errors.ConfigurationError(
                f"provider {name!r} needs the setting{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}", setting=missing[0], provider=name)
    return core, own


def _build(name: str, settings: Mapping[str, Any], base: type[_G]) -> _G:
    if name == FAKE:
        # The core's own fake: no entry-point scan, no stevedore (a unit test's start-up).
        from .testing._fake import connect_fake

        return connect_fake(settings, asynchronous=base is AsyncGateway)  # type: ignore[return-value]
    cls = load_provider(name)
    core, own = _split(cls, name, settings)
    return base(cls(**own), **core)


@overload
def connect(name: Literal["fake"], **settings: Any) -> FakeGateway: ...
@overload
def connect(name: str, **settings: Any) -> Gateway: ...
def connect(name: str, **settings: Any) -> Gateway:
    """A sync gateway to provider *name*, e.g. `connect("salla", token=...)`.

    Every HTTP provider also accepts `base_url`, `http_client` (an `httpx.Client`),
    `timeout`, `max_retries`, `retry`, `throttle`, `hooks` and `ignore_unsupported`.
    `connect("fake", profile=...)` returns a `FakeGateway` (typed as such): the neutral
    in-memory fake, or a platform's provider running on its sandbox in process.
    """
    return _build(name, settings, Gateway)


@overload
def connect_async(name: Literal["fake"], **settings: Any) -> AsyncFakeGateway: ...
@overload
def connect_async(name: str, **settings: Any) -> AsyncGateway: ...
def connect_async(name: str, **settings: Any) -> AsyncGateway:
    """An async gateway to provider *name*: the same methods as `connect`'s, awaited.

    `connect_async("fake", ...)` returns an `AsyncFakeGateway`.
    """
    return _build(name, settings, AsyncGateway)


# ---- configuration --------------------------------------------------------------------
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INT_SETTINGS = frozenset({"max_retries"})
_FLOAT_SETTINGS = frozenset({"timeout"})
_BOOL_SETTINGS = frozenset({"throttle", "ignore_unsupported"})


def _expand(value: Any, key: str, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in env:
                raise errors.ConfigurationError(
                    f"setting {key!r} refers to ${{{var}}}, which is not set in the environment",
                    setting=key)
            return env[var]
        return _ENV_REF.sub(sub, value)
    if isinstance(value, Mapping):
        return {k: _expand(v, f"{key}.{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, key, env) for v in value]
    return value


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if key in _INT_SETTINGS:
            return int(value)
        if key in _FLOAT_SETTINGS:
            return float(value)
    except ValueError:
        raise errors.ConfigurationError(
            f"setting {key!r} must be a number", setting=key) from None
    if key in _BOOL_SETTINGS:
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise errors.ConfigurationError(f"setting {key!r} must be true or false", setting=key)
    return value


def load_settings(source: Mapping[str, Any] | str | os.PathLike[str] | None,
                  *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings *source* describes, `provider` included, with `${VAR}`s expanded."""
    environ = os.environ if env is None else env
    if source is None:
        prefix = "INVOICEKIT_"
        settings: dict[str, Any] = {
            k[len(prefix):].lower(): v for k, v in environ.items()
            if k.startswith(prefix) and len(k) > len(prefix)
        }
        if "provider" not in settings:
            raise errors.ConfigurationError(
                "no configuration given and INVOICEKIT_PROVIDER is not set", setting="provider")
    elif isinstance(source, str | os.PathLike):
        settings = _read_toml(Path(source))
    elif isinstance(source, Mapping):
        settings = dict(source)
        if "invoicekit" in settings and isinstance(settings["invoicekit"], Mapping):
            settings = dict(settings["invoicekit"])
    else:
        raise errors.ConfigurationError(
            f"config must be a mapping, a TOML file path or None, got {type(source).__name__}")
    settings = {str(k): _coerce(str(k), _expand(v, str(k), environ)) for k, v in settings.items()}
    provider = settings.get("provider")
    if provider is None or provider == "":
        raise errors.ConfigurationError("the setting 'provider' is missing", setting="provider")
    if not isinstance(provider, str):
        raise errors.ConfigurationError(
            f"the setting 'provider' must be a provider name (a string such as \"salla\"), "
            f"got {type(provider).__name__}", setting="provider")
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        text = path.read_bytes()
    except OSError as exc:
        raise errors.ConfigurationError(
            f"cannot read config file {str(path)!r}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise errors.ConfigurationError(f"config file {str(path)!r} is not UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise errors.ConfigurationError(
            f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    table = data.get("invoicekit")
    if not isinstance(table, dict):
        raise errors.ConfigurationError(
            f"config file {str(path)!r} has no [invoicekit] table", setting="invoicekit")
    return dict(table)


def from_config(source: Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Gateway:
    """A sync gateway from a mapping, a TOML file (`[invoicekit]` table) or the environment.

    `{"provider": "salla", "token": "${SALLA_TOKEN}"}`: `${VAR}` references are read from
    the environment so secrets stay out of files. `None` reads `INVOICEKIT_PROVIDER` and
    `INVOICEKIT_<SETTING>` variables.
    """
    settings = load_settings(source)
    name: str = settings.pop("provider")
    return connect(name, **settings)


def from_config_async(source: Mapping[str, Any] | str | os.PathLike[str] | None = None
                      ) -> AsyncGateway:
    """Like `from_config`, returning an async gateway."""
    settings = load_settings(source)
    name: str = settings.pop("provider")
    return connect_async(name, **settings)


__all__ += ["load_settings"]
