"""Registry and configuration: connect, from_config (mapping, TOML, environment), plugins."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.plugin_support import write_dist

import invoicekit
from invoicekit import Capability, Gateway, Provider, _registry, errors
from invoicekit.testing import AsyncFakeGateway, FakeGateway, FakeProvider


class NeedsToken(Provider):
    """An in-process provider with one required secret setting."""

    name = "needs-token"

    def __init__(self, token: str, region: str = "sa") -> None:
        self.token = token
        self.region = region


@pytest.fixture(autouse=True)
def _isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_registered", {})
    for key in list(__import__("os").environ):
        if key.startswith("INVOICEKIT_"):
            monkeypatch.delenv(key)


# ---- connect ---------------------------------------------------------------------------
def test_connect_fake_returns_the_fake_gateway() -> None:
    gw = invoicekit.connect("fake")
    assert isinstance(gw, FakeGateway)
    assert isinstance(gw, invoicekit.InvoiceGateway)
    assert gw.provider == "fake"
    assert gw.capabilities == frozenset(Capability)


def test_connect_async_fake_returns_the_async_fake() -> None:
    agw = invoicekit.connect_async("fake", profile="dayzero")
    assert isinstance(agw, AsyncFakeGateway)
    assert isinstance(agw, invoicekit.AsyncInvoiceGateway)
    assert agw.profile == "dayzero"


def test_unknown_provider_names_the_installed_ones() -> None:
    with pytest.raises(errors.ProviderNotFound) as info:
        invoicekit.connect("stripe")
    err = info.value
    assert isinstance(err, errors.ConfigurationError)
    assert "fake" in err.installed
    assert "'stripe'" in str(err)
    assert "fake" in str(err)
    # Never a package to install: one named after a typo is what a typosquatter publishes.
    assert "pip install" not in str(err)
    assert err.suggestion is None


def test_empty_provider_name_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="provider"):
        invoicekit.connect("")


def test_missing_setting_is_named() -> None:
    invoicekit.register("needs-token", NeedsToken)
    with pytest.raises(errors.ConfigurationError, match="token") as info:
        invoicekit.connect("needs-token")
    assert info.value.setting == "token"


def test_unknown_setting_is_named_and_the_secret_never_echoed() -> None:
    invoicekit.register("needs-token", NeedsToken)
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.connect("needs-token", token="canary-s3cr3t", colour="blue")
    assert "colour" in str(info.value)
    assert "region" in str(info.value)  # it lists what is accepted
    assert "canary-s3cr3t" not in str(info.value)
    assert info.value.setting == "colour"


def test_register_refuses_bad_names_and_classes() -> None:
    with pytest.raises(errors.ConfigurationError, match=r"^invalid provider name 'Bad Name'$"):
        invoicekit.register("Bad Name", NeedsToken)
    with pytest.raises(TypeError,
                       match=r"^provider_class must be a subclass of invoicekit\.Provider$"):
        invoicekit.register("ok", dict)  # type: ignore[arg-type]


def test_a_registered_provider_gets_a_plain_gateway() -> None:
    class Custom(FakeProvider):
        pass

    invoicekit.register("custom", Custom)
    gw = invoicekit.connect("custom", today="2025-01-01")
    assert type(gw) is Gateway
    assert gw.provider == "fake"
    assert Capability.VOID_INVOICE in gw.capabilities


def test_the_fake_is_resolved_without_an_entry_point_scan() -> None:
    import subprocess
    import sys

    code = ("import sys, invoicekit; gw = invoicekit.connect('fake');"
            "print('stevedore' in sys.modules, 'importlib.metadata' in sys.modules,"
            " type(gw).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "FakeGateway"]


def test_fake_refuses_http_settings_and_unknown_profiles() -> None:
    with pytest.raises(errors.ConfigurationError, match="base_url"):
        invoicekit.connect("fake", base_url="http://127.0.0.1:9")
    with pytest.raises(errors.ConfigurationError, match="default, dayzero, salla"):
        invoicekit.connect("fake", profile="stripe")
    with pytest.raises(errors.ConfigurationError, match="today"):
        invoicekit.connect("fake", today="yesterday")


def test_available_providers_lists_the_fake_with_capabilities() -> None:
    infos = {info.name: info for info in invoicekit.available_providers()}
    assert infos["fake"].distribution == "invoicekit"
    assert infos["fake"].capabilities == frozenset(Capability)
    assert infos["fake"].error is None


def test_plugin_that_fails_to_import_is_reported(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(write_dist(tmp_path, "ik_broken_plugin", """
        [invoicekit.providers]
        broken = ik_no_such_module_anywhere:Provider
    """)))
    names = [info.name for info in invoicekit.available_providers()]
    assert "broken" not in names  # not offered as usable
    failed = {i.name: i for i in invoicekit.available_providers(include_failed=True)}
    assert failed["broken"].error is not None
    assert "ik_no_such_module_anywhere" in failed["broken"].error
    with pytest.raises(errors.ConfigurationError, match="failed to load") as info:
        invoicekit.connect("broken")
    assert "ik_no_such_module_anywhere" in str(info.value)
    assert not isinstance(info.value, errors.ProviderNotFound)


# ---- from_config -----------------------------------------------------------------------
def test_from_config_mapping_and_invoicekit_table() -> None:
    assert invoicekit.from_config({"provider": "fake", "profile": "salla"}).profile == "salla"
    nested = invoicekit.from_config({"invoicekit": {"provider": "fake", "profile": "dayzero"}})
    assert isinstance(nested, FakeGateway)
    assert nested.profile == "dayzero"


def test_from_config_mapping_without_provider() -> None:
    with pytest.raises(errors.ConfigurationError, match="'provider' is missing"):
        invoicekit.from_config({"profile": "salla"})


def test_from_config_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "invoicekit.toml"
    path.write_text('[invoicekit]\nprovider = "fake"\nprofile = "salla"\n', encoding="utf-8")
    gw = invoicekit.from_config(path)
    assert isinstance(gw, FakeGateway)
    assert gw.profile == "salla"
    assert invoicekit.from_config(str(path)).profile == "salla"


def test_malformed_toml_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[invoicekit\nprovider = "fake"\n', encoding="utf-8")
    with pytest.raises(errors.ConfigurationError, match="not valid TOML") as info:
        invoicekit.from_config(path)
    assert "bad.toml" in str(info.value)


def test_toml_without_table_missing_file_and_non_utf8(tmp_path: Path) -> None:
    no_table = tmp_path / "no_table.toml"
    no_table.write_text('provider = "fake"\n', encoding="utf-8")
    with pytest.raises(errors.ConfigurationError, match=r"\[invoicekit\]"):
        invoicekit.from_config(no_table)
    with pytest.raises(errors.ConfigurationError, match="cannot read"):
        invoicekit.from_config(tmp_path / "absent.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[invoicekit]\nprovider = "fak\xe9"\n'.encode("latin-1"))
    with pytest.raises(errors.ConfigurationError, match="UTF-8"):
        invoicekit.from_config(latin)


def test_env_references_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IK_TEST_PROFILE", "dayzero")
    path = tmp_path / "env.toml"
    path.write_text('[invoicekit]\nprovider = "fake"\nprofile = "${IK_TEST_PROFILE}"\n')
    assert invoicekit.from_config(path).profile == "dayzero"


def test_missing_env_reference_names_setting_and_variable(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IK_TEST_UNSET_TOKEN", raising=False)
    invoicekit.register("needs-token", NeedsToken)
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.from_config({"provider": "needs-token", "token": "${IK_TEST_UNSET_TOKEN}"})
    assert info.value.setting == "token"
    assert "IK_TEST_UNSET_TOKEN" in str(info.value)


def test_secret_from_env_reference_is_never_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IK_TEST_TOKEN", "canary-from-env")
    invoicekit.register("needs-token", NeedsToken)
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.from_config({"provider": "needs-token", "token": "${IK_TEST_TOKEN}",
                                "max_retries": "lots"})
    assert "max_retries" in str(info.value)
    assert "canary-from-env" not in str(info.value)


def test_environment_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEKIT_PROVIDER", "fake")
    monkeypatch.setenv("INVOICEKIT_PROFILE", "salla")
    monkeypatch.setenv("INVOICEKIT_IGNORE_UNSUPPORTED", "yes")
    gw = invoicekit.from_config()
    assert isinstance(gw, FakeGateway)
    assert gw.profile == "salla"
    invoice = gw.create_invoice(gw.sample_draft(1))
    # ignore_unsupported came from the environment: the cc is dropped, not refused
    assert gw.send_invoice(invoice, invoicekit.SendOptions(cc_sender=True)).cc is None


def test_environment_without_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEKIT_PROFILE", "salla")
    with pytest.raises(errors.ConfigurationError, match="INVOICEKIT_PROVIDER"):
        invoicekit.from_config(None)


def test_environment_bad_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEKIT_PROVIDER", "fake")
    monkeypatch.setenv("INVOICEKIT_IGNORE_UNSUPPORTED", "maybe")
    with pytest.raises(errors.ConfigurationError, match="true or false"):
        invoicekit.from_config()


def test_from_config_refuses_other_sources() -> None:
    with pytest.raises(errors.ConfigurationError, match="mapping"):
        invoicekit.from_config(42)  # type: ignore[arg-type]


def test_from_config_async() -> None:
    agw = invoicekit.from_config_async({"provider": "fake"})
    assert isinstance(agw, AsyncFakeGateway)
