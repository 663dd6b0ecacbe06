"""A faster `__init__` for the domain model's frozen attrs classes: same result, same refusals.

A reader builds thousands of `Money`s and `LineItem`s from values it has already read
into their final types (an exact, finite `Decimal`; an ISO code; a `Money`). attrs'
generated `__init__` still calls every field's converter, one Python call per field,
which is most of the cost of building the model (docs/performance.md).

`install(cls, checks)` puts in front of attrs' own `__init__` one with the same
signature that tests, inline and in one expression, whether every argument already is
what its converter would return (`checks`: a condition per converted field). If so, it
sets the fields directly, as attrs' `__init__` does; otherwise it calls attrs' `__init__`,
which converts, validates and refuses exactly as before. So no argument is trusted: a
float, an unknown currency or a NaN still reaches the converter that refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["install"]


def install(cls: type, checks: Mapping[str, str | None], names: Mapping[str, Any]) -> None:
    """Give *cls* the fast `__init__`.

    *checks* maps each field that has a converter or a validator to the condition (a
    Python expression in `{v}`, the argument) under which the converter would return
    the argument unchanged and the validator would pass; `None` runs the converter on
    every call (for a converter that always copies, such as a read-only view). *names*
    are the globals the conditions use.
    """
    if "__attrs_pre_init__" in dir(cls) or "__attrs_post_init__" in dir(cls):
        raise TypeError(f"{cls.__name__} has a pre- or post-init hook: not supported")
    attrs_init: Callable[..., None] = cls.__init__  # type: ignore[misc]
    namespace: dict[str, Any] = {**names, "_attrs_init": attrs_init, "_NOTHING": attrs.NOTHING}
    params: list[str] = []
    prelude: list[str] = []
    conditions: list[str] = []
    sets: list[str] = []
    for i, field in enumerate(attrs.fields(cls)):
        name = field.name
        if not field.init or field.kw_only or field.alias != name:
            raise TypeError(f"{cls.__name__}.{name}: only plain positional fields are supported")
        default = field.default
        if default is attrs.NOTHING:
            params.append(name)
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                raise TypeError(f"{cls.__name__}.{name}: a factory taking self is not supported")
            namespace[f"_factory{i}"] = default.factory
            params.append(f"{name}=_NOTHING")
            prelude.append(f"    if {name} is _NOTHING:\n        {name} = _factory{i}()")
        else:
            namespace[f"_default{i}"] = default
            params.append(f"{name}=_default{i}")
        value = name
        if field.converter is not None or field.validator is not None:
            if name not in checks:
                raise TypeError(f"{cls.__name__}.{name} converts or validates: give its check")
            check = checks[name]
            if check is None:
                if field.validator is not None:
                    raise TypeError(f"{cls.__name__}.{name}: a validated field needs a check")
                namespace[f"_convert{i}"] = field.converter
                value = f"_convert{i}({name})"
            else:
                conditions.append(check.format(v=name))
        namespace[f"_set{i}"] = cls.__dict__[name].__set__  # the slot itself
        sets.append(f"        _set{i}(self, {value})")
    arguments = ", ".join(field.name for field in attrs.fields(cls))
    source = "\n".join([
        f"def __init__(self, {', '.join(params)}):",
        *prelude,
        f"    if {' and '.join(conditions) or 'True'}:",
        *sets,
        "    else:",
        f"        _attrs_init(self, {arguments})",
    ])
    exec(compile(source, f"<invoicekit fast __init__ of {cls.__name__}>", "exec"),  # noqa: S102
         namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(attrs_init.__annotations__)
    init.__doc__ = attrs_init.__doc__
    init.__wrapped__ = attrs_init  # what the tests compare it with
    type.__setattr__(cls, "__init__", init)
