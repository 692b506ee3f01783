"""The connector registry on real entry points: the example plugin, installed beside openslots
(tests/plugins/install.py), is found by name with no change to openslots; unknown names, objects
that are not connectors and broken plugins each give one clear error, and only when used."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from openslots.errors import InvalidConnector, UnknownProvider, ValidationError
from openslots.sync.contract import Connector, SyncRequest, SyncResult
from openslots.sync.registry import ENTRY_POINT_GROUP, ConnectorRegistry
from tests.plugins.install import install_example, on_sys_path, write_distribution


@pytest.fixture
def example_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The example plugin installed for one test (other tests see it absent)."""
    target = tmp_path_factory.mktemp("site")
    install_example(target)
    with on_sys_path(target, "openslots_example"):
        yield


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path for synthetic plugin distributions of one test."""
    with on_sys_path(tmp_path, "bad_plugins"):
        yield tmp_path


def _plugin(target: Path, name: str, value: str, source: str) -> None:
    module = value.partition(":")[0]
    write_distribution(
        target, f"plugin-{name}", {ENTRY_POINT_GROUP: {name: value}}, {module: source}
    )


class _Stub(Connector):
    provider = "stub"

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        if "url" not in settings:
            raise ValidationError("settings.url", "is required")

    async def sync(self, request: SyncRequest) -> SyncResult:
        return SyncResult(())


@pytest.mark.usefixtures("example_installed")
def test_the_example_plugin_is_found_through_its_entry_point() -> None:
    registry = ConnectorRegistry()
    assert "example" in registry
    assert "example" in registry.names()
    connector = registry.get("example")
    assert isinstance(connector, Connector)
    assert type(connector).__module__ == "openslots_example"
    assert connector.provider == "example"
    # Loaded once: the same instance serves every connection of the provider.
    assert registry.get("example") is connector


def test_without_the_plugin_installed_the_name_is_unknown() -> None:
    with pytest.raises(UnknownProvider) as caught:
        ConnectorRegistry().get("example")
    assert "example" in str(caught.value)


def test_unknown_provider_lists_the_known_ones() -> None:
    registry = ConnectorRegistry(discover=False)
    registry.register(_Stub)
    with pytest.raises(LookupError) as caught:
        registry.get("gogle")
    error = caught.value
    assert isinstance(error, UnknownProvider)
    assert str(error) == "provider: no connector for provider 'gogle' (installed: 'stub')"
    assert error.known == ["stub"]
    assert error.to_dict()["error"]["field"] == "provider"


def test_registering_in_process_needs_no_entry_point_and_wins_over_one(
    plugins: Path,
) -> None:
    _plugin(plugins, "stub", "bad_plugins_stub:Thing", "Thing = object()\n")
    registry = ConnectorRegistry()
    stub = _Stub()
    registry.register(stub)
    assert registry.get("stub") is stub
    assert ConnectorRegistry(discover=False).names() == []


def test_an_object_that_is_not_a_connector_is_refused(plugins: Path) -> None:
    _plugin(plugins, "notone", "bad_plugins_a:make", "def make():\n    return 1\n")
    registry = ConnectorRegistry()
    with pytest.raises(InvalidConnector) as caught:
        registry.get("notone")
    message = str(caught.value)
    assert "'notone'" in message
    assert "bad_plugins_a:make" in message
    assert "not a subclass or instance of openslots.sync.contract.Connector" in message


def test_an_abstract_connector_is_refused_naming_what_is_missing(plugins: Path) -> None:
    source = (
        "from openslots.sync.contract import Connector\n"
        "class Half(Connector):\n"
        "    provider = 'half'\n"
        "    async def sync(self, request):\n"
        "        raise NotImplementedError\n"
    )
    _plugin(plugins, "half", "bad_plugins_b:Half", source)
    with pytest.raises(InvalidConnector, match="does not implement validate_settings"):
        ConnectorRegistry().get("half")


def test_a_connector_registered_under_another_name_is_refused(plugins: Path) -> None:
    source = "from tests.sync.test_registry import _Stub as Stub\n"
    _plugin(plugins, "other", "bad_plugins_c:Stub", source)
    with pytest.raises(InvalidConnector, match="provider 'stub', not 'other'"):
        ConnectorRegistry().get("other")


@pytest.mark.usefixtures("example_installed")
def test_a_broken_plugin_breaks_nothing_until_it_is_used(plugins: Path) -> None:
    source = "raise RuntimeError('plugin exploded on import')\n"
    _plugin(plugins, "broken", "bad_plugins_d:Connector", source)
    registry = ConnectorRegistry()
    # Listing names imports nothing; other providers load fine.
    assert {"broken", "example"} <= set(registry.names())
    assert registry.get("example").provider == "example"
    with pytest.raises(InvalidConnector, match=r"'broken'.*could not be loaded") as caught:
        registry.get("broken")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_name_provided_twice_is_refused(plugins: Path) -> None:
    write_distribution(
        plugins,
        "plugin-one",
        {ENTRY_POINT_GROUP: {"twice": "bad_plugins_e:A"}},
        {"bad_plugins_e": "A = 1\n"},
    )
    write_distribution(
        plugins,
        "plugin-two",
        {ENTRY_POINT_GROUP: {"twice": "bad_plugins_f:B"}},
        {"bad_plugins_f": "B = 1\n"},
    )
    with pytest.raises(InvalidConnector, match="more than one entry point"):
        ConnectorRegistry().get("twice")


def test_registering_a_non_connector_is_refused() -> None:
    registry = ConnectorRegistry(discover=False)
    with pytest.raises(InvalidConnector, match="not a subclass or instance"):
        registry.register(object())  # type: ignore[arg-type]
