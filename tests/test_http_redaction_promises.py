"""Redaction's promises, one by one: what is tracked, in which order, and where it is scrubbed.

Written against the mutants `python3 dev.py mutate redaction` found alive
(docs/reliability.md, "Mutation testing"). Each secret below is registered for the rest of
the test session, so each is a string no other test prints.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import uuid

import pytest

from invoicekit import Secret
from invoicekit import _secrets as secrets
from invoicekit.provider import redact, register_secret


def fresh(length: int = 12) -> str:
    """A value never registered before in this process (a forked process included)."""
    return uuid.uuid4().hex[:length]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_six_character_secret_is_tracked_and_a_five_character_one_is_not() -> None:
    six, five = fresh(6), fresh(5)  # six characters: the shortest value that is tracked
    register_secret(six)
    register_secret(five)
    assert redact(f"token={six};") == "token=***;"
    assert redact(f"token={five};") == f"token={five};"


def test_values_that_are_not_strings_are_ignored_quietly() -> None:
    register_secret(None)
    register_secret(12345678)  # type: ignore[arg-type]
    assert redact("12345678") == "12345678"


def test_a_secret_that_contains_another_is_redacted_whole() -> None:
    # Longest first: were the inner one replaced first, the outer one's tail would leak.
    # Sorted by text (descending) or by length (ascending), the inner one would come first.
    inner = f"kq-inner-{fresh()}"
    outer = f"Zq-outer-{inner}-tail"
    register_secret(inner)
    register_secret(outer)
    assert redact(f"a {outer} b {inner} c") == "a *** b *** c"


def test_a_secret_from_a_secret_keeps_its_value() -> None:
    first = Secret("sk-copy-origin-55")
    assert Secret(first).get() == "sk-copy-origin-55"
    assert Secret(first) == first


def test_a_secret_must_be_a_string() -> None:
    with pytest.raises(TypeError) as info:
        Secret(1234567)  # type: ignore[arg-type]
    assert str(info.value) == "a secret must be a string"


def test_a_secret_shows_as_stars_whatever_the_format_spec() -> None:
    secret = Secret("sk-format-0193")
    assert f"{secret}" == "Secret('***')"
    assert f"{secret:>30}" == "Secret('***')"
    assert str(secret) == "Secret('***')"


def test_a_secret_is_truthy_when_it_has_a_value() -> None:
    assert not Secret("")
    assert Secret("sk-truthy-0001")


def test_equal_secrets_hash_alike() -> None:
    assert len({Secret("sk-hash-0042"), Secret("sk-hash-0042"), Secret("sk-hash-0043")}) == 2


def test_different_secrets_hash_apart() -> None:
    # A hash shared by every secret keeps sets and dicts of secrets correct but makes each
    # lookup a scan. Two 64-bit string hashes collide once in about 10**19 runs.
    assert hash(Secret("sk-hash-0042")) != hash(Secret("sk-hash-0043"))


def test_a_secret_refuses_to_be_pickled() -> None:
    with pytest.raises(TypeError) as info:
        pickle.dumps(Secret("sk-pickle-0777"))
    assert str(info.value) == "secrets are not picklable"


def test_an_exception_without_a_secret_keeps_its_args() -> None:
    exc = ValueError("nothing to hide", 2)
    assert secrets.scrub_exception(exc) is exc
    assert exc.args == ("nothing to hide", 2)


def test_each_argument_is_redacted_in_place() -> None:
    register_secret("sk-args-31337")
    exc = ValueError("token sk-args-31337 refused", 401)
    secrets.scrub_exception(exc)
    assert exc.args == ("token *** refused", 401)


def test_a_secret_only_in_the_text_of_an_exception_is_redacted_there() -> None:
    # The argument is a dict, not a string: only `str(exc)` shows the secret.
    register_secret("sk-only-in-str-99")
    exc = ValueError({"authorization": "Bearer sk-only-in-str-99"})
    secrets.scrub_exception(exc)
    assert str(exc) == "{'authorization': 'Bearer ***'}"


def test_a_secret_in_the_args_of_an_exception_that_hides_them_is_redacted() -> None:
    class Quiet(Exception):
        def __str__(self) -> str:
            return "quiet"

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    register_secret("sk-hidden-args-12")
    quiet, broken = Quiet("sk-hidden-args-12"), Broken("sk-hidden-args-12")
    secrets.scrub_exception(quiet)
    secrets.scrub_exception(broken)
    assert quiet.args == ("***",)
    assert broken.args == ("***",)


def test_an_exception_whose_args_cannot_be_set_does_not_stop_the_chain() -> None:
    class Frozen(Exception):
        @property
        def args(self) -> tuple[object, ...]:  # type: ignore[override]
            return ("sk-frozen-chain-8",)

    register_secret("sk-frozen-chain-8")
    top = Frozen()
    top.__cause__ = ValueError("sk-frozen-chain-8 below")
    secrets.scrub_exception(top)
    assert top.__cause__.args == ("*** below",)


def test_every_exception_of_a_diamond_chain_is_scrubbed() -> None:
    # top -> (cause: first, context: middle); middle -> shared twice. Visiting `shared`
    # a second time must skip it, not end the walk before `first`.
    register_secret("sk-diamond-4242")
    first, shared = ValueError("sk-diamond-4242 first"), ValueError("sk-diamond-4242 shared")
    middle = ValueError("middle")
    middle.__cause__ = middle.__context__ = shared
    top = ValueError("top")
    top.__cause__, top.__context__ = first, middle
    secrets.scrub_exception(top)
    assert first.args == ("*** first",)
    assert shared.args == ("*** shared",)


def test_a_cyclic_chain_is_walked_once() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    walked = list(itertools.islice(secrets._chain(a), 10))
    assert walked == [a, b]


def test_the_filter_passes_every_record_when_nothing_is_registered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_ordered", ())
    record = logging.LogRecord("invoicekit", logging.INFO, __file__, 1, "plain", None, None)
    assert secrets._FILTER.filter(record) is True


def test_the_filter_passes_a_malformed_record() -> None:
    record = logging.LogRecord("invoicekit", logging.INFO, __file__, 1, "%d", ("x",), None)
    assert secrets._FILTER.filter(record) is True


def test_the_filter_redacts_the_stack_info() -> None:
    register_secret("sk-stack-info-66")
    record = logging.LogRecord("invoicekit", logging.INFO, __file__, 1, "plain", None, None,
                               sinfo="Stack (most recent call last):\n  token sk-stack-info-66")
    assert secrets._FILTER.filter(record) is True
    assert record.stack_info == "Stack (most recent call last):\n  token ***"


def test_the_traceback_of_an_exception_never_raised_is_redacted() -> None:
    # Such an exception has no traceback object; its text is formatted all the same.
    register_secret("sk-never-raised-5")
    exc = ValueError("sk-never-raised-5 refused")
    record = logging.LogRecord("invoicekit", logging.ERROR, __file__, 1, "failed", None,
                               (ValueError, exc, None))
    assert secrets._FILTER.filter(record) is True
    assert exc.args == ("*** refused",)
    assert logging.Formatter().format(record) == "failed\nValueError: *** refused"


def test_a_plugin_logger_named_at_install_is_redacted() -> None:
    name = f"tests.redaction.plugin{fresh()}"
    secrets.install_log_redaction(name)
    secrets.install_log_redaction(name)  # idempotent
    logger = logging.getLogger(name)
    capture = _Capture()
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    secret = f"sk-{fresh()}"
    register_secret(secret)
    try:
        logger.info("sent %s", secret)
    finally:
        logger.removeHandler(capture)
    assert capture.lines == ["sent ***"]
    assert logger.filters.count(secrets._FILTER) == 1
    assert secrets._FILTER not in logging.getLogger().filters


def test_installing_again_touches_no_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every HTTP engine installs the redaction when it is built: once a logger has the
    # filter, a later call must not look it up or lock again.
    name = f"tests.redaction.again{fresh()}"
    secrets.install_log_redaction(name)
    added: list[tuple[str, logging.Filter]] = []

    def spy(logger: logging.Logger, item: logging.Filter) -> None:
        added.append((logger.name, item))

    monkeypatch.setattr(logging.Logger, "addFilter", spy)
    secrets.install_log_redaction(name)
    assert added == []
    other = f"tests.redaction.other{fresh()}"
    secrets.install_log_redaction(other)  # a new name still gets the filter
    assert added == [(other, secrets._FILTER)]


def test_the_library_loggers_are_redacted() -> None:
    secrets.install_log_redaction()
    for name in ("invoicekit", "httpx", "httpcore.http11"):
        assert secrets._FILTER in logging.getLogger(name).filters, name


# ---- values: what a log record's extras and an error's fields hold --------------------------
DEEP = "sk-deep-value-4040"


def _nest(levels: int, leaf: object) -> object:
    """*leaf* inside *levels* lists: `_nest(2, x) == [[x]]`."""
    for _ in range(levels):
        leaf = [leaf]
    return leaf


def _nest_dict(levels: int, leaf: object) -> object:
    for _ in range(levels):
        leaf = {"k": leaf}
    return leaf


def test_a_structure_200_levels_deep_is_walked() -> None:
    # The innermost list is at depth 199, the last one walked: the structure is kept.
    register_secret(DEEP)
    assert secrets.redact_value(_nest(200, DEEP)) == _nest(200, "***")
    assert secrets.redact_value(_nest_dict(200, DEEP)) == _nest_dict(200, "***")


def test_a_structure_deeper_than_200_levels_is_redacted_as_text() -> None:
    # The innermost list is at depth 200: it is rendered as text, then redacted.
    register_secret(DEEP)
    assert secrets.redact_value(_nest(201, DEEP)) == _nest(200, "['***']")
    assert secrets.redact_value(_nest_dict(201, DEEP)) == _nest_dict(200, "{'k': '***'}")


def test_a_clean_deep_structure_is_returned_as_it_is() -> None:
    register_secret(DEEP)
    clean = _nest(205, "nothing here")
    assert secrets.redact_value(clean) is clean


def test_a_tuple_key_is_walked_or_rendered_by_its_own_depth() -> None:
    register_secret(DEEP)
    # A dict at depth 198: its key is at 199 and walked; at depth 199, the key is at 200.
    walked = secrets.redact_value(_nest(198, {(DEEP,): 1}))
    rendered = secrets.redact_value(_nest(199, {(DEEP,): 1}))
    assert walked == _nest(198, {("***",): 1})
    assert rendered == _nest(199, {"('***',)": 1})


def test_clean_values_are_returned_as_they_are() -> None:
    register_secret(DEEP)
    for value in ({"a": "b", "c": ["d"]}, ["x", ("y",)], bytearray(b"clean"), b"clean"):
        assert secrets.redact_value(value) is value


def test_bytes_are_redacted_even_when_not_utf8() -> None:
    register_secret("sk-bytes-7373")
    assert secrets.redact_value(b"\xff sk-bytes-7373") == b"\xef\xbf\xbd ***"
    assert secrets.redact_value(bytearray(b"t sk-bytes-7373")) == b"t ***"


def test_containers_keep_their_type_when_redacted() -> None:
    import collections

    class Pairs(tuple):  # type: ignore[type-arg]
        pass

    class Picky(dict):  # type: ignore[type-arg]
        def __init__(self, a: object, b: object) -> None:
            super().__init__({"a": a, "b": b})

    Point = collections.namedtuple("Point", "x y")
    register_secret("sk-container-2121")
    ordered = secrets.redact_value(collections.OrderedDict(t="sk-container-2121"))
    assert type(ordered) is collections.OrderedDict
    assert ordered == {"t": "***"}
    pairs = secrets.redact_value(Pairs(("sk-container-2121", 1)))
    assert type(pairs) is Pairs
    assert pairs == ("***", 1)
    # These cannot be rebuilt from their items: a plain dict or tuple comes back.
    picky = secrets.redact_value(Picky("sk-container-2121", 2))
    assert type(picky) is dict
    assert picky == {"a": "***", "b": 2}
    point = secrets.redact_value(Point("sk-container-2121", 3))
    assert type(point) is tuple
    assert point == ("***", 3)


def test_every_attribute_of_an_error_that_quotes_the_provider_is_redacted() -> None:
    from invoicekit import errors

    # The errors exist before their secret is registered (an error built from an answer
    # that echoed a token the gateway learns only later): scrubbing must reach each one.
    secret = f"sk-{fresh()}"
    echoed = errors.ProviderError(f"refused {secret}", provider="things",
                                  raw={"echo": secret}, fields={"token": [f"{secret} is wrong"]})
    # No `raw` here: an attribute left empty must not end the scrubbing of those after it.
    coded = errors.ProviderError("refused", provider="things", code=secret,
                                 request_id=f"req-{secret}")
    register_secret(secret)
    secrets.scrub_exception(echoed)
    secrets.scrub_exception(coded)
    assert echoed.message == "refused ***"
    assert echoed.raw == {"echo": "***"}
    assert dict(echoed.fields) == {"token": ["*** is wrong"]}
    assert (coded.code, coded.request_id) == ("***", "req-***")


def test_an_attribute_is_redacted_when_neither_the_text_nor_the_args_show_the_secret() -> None:
    from invoicekit import errors

    secret = f"sk-{fresh()}"
    quiet = errors.ProviderError("refused", provider="things", raw={"echo": secret})
    register_secret(secret)
    secrets.scrub_exception(quiet)
    assert quiet.raw == {"echo": "***"}
    assert quiet.message == "refused"


def test_the_extras_and_the_exception_text_of_a_record_are_redacted() -> None:
    register_secret("sk-record-extra-8")
    record = logging.LogRecord("invoicekit", logging.INFO, __file__, 1, "plain", None, None)
    record.http_request_id = "id sk-record-extra-8"
    record.exc_text = "Traceback: sk-record-extra-8"
    assert secrets._FILTER.filter(record) is True
    assert record.http_request_id == "id ***"
    assert record.exc_text == "Traceback: ***"


def test_a_formatted_traceback_already_on_the_record_is_redacted() -> None:
    register_secret("sk-exc-text-1919")
    try:
        raise ValueError("plain")
    except ValueError as exc:
        info = (ValueError, exc, exc.__traceback__)
    record = logging.LogRecord("invoicekit", logging.ERROR, __file__, 1, "failed", None, info)
    record.exc_text = "Traceback (most recent call last):\nValueError: sk-exc-text-1919"
    assert secrets._FILTER.filter(record) is True
    assert record.exc_text == "Traceback (most recent call last):\nValueError: ***"
