"""Finding connectors by provider name: entry points of the group ``openslots.connectors``.

Entry points are listed on first need and each one is imported only when its name is first
asked for, so a broken or slow plugin costs nothing, and breaks nothing, until a connection
uses it. What an entry point loads must be a :class:`~openslots.sync.contract.Connector`
subclass (instantiated here with no arguments) or instance whose ``provider`` is the
entry-point name; anything else is refused with :class:`~openslots.errors.InvalidConnector`.
An unknown name raises :class:`~openslots.errors.UnknownProvider`, a ``LookupError`` listing
the installed names.

Connectors registered in process (:meth:`ConnectorRegistry.register`) take precedence over
entry points of the same name; tests pass a registry built that way instead of patching.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from openslots.errors import InvalidConnector, UnknownProvider
from openslots.sync.contract import Connector

__all__ = ["ENTRY_POINT_GROUP", "ConnectorRegistry"]

ENTRY_POINT_GROUP = "openslots.connectors"


class ConnectorRegistry:
    """Connectors by provider name.

    ``discover`` false ignores installed entry points (only :meth:`register` counts);
    ``group`` is the entry-point group read.
    """

    def __init__(self, *, discover: bool = True, group: str = ENTRY_POINT_GROUP) -> None:
        self._discover = discover
        self._group = group
        self._entry_points: dict[str, list[EntryPoint]] | None = None
        self._loaded: dict[str, Connector] = {}
        self._registered: dict[str, Connector] = {}

    def register(self, connector: Connector | type[Connector]) -> None:
        """Make ``connector`` (an instance, or a class to instantiate) available under its
        ``provider`` name, ahead of any entry point of that name."""
        instance = _as_connector(connector, origin=repr(connector))
        self._registered[instance.provider] = instance

    def names(self) -> list[str]:
        """Every provider name known, sorted, without importing any plugin."""
        return sorted(set(self._registered) | set(self._discovered()))

    def __contains__(self, provider: object) -> bool:
        return provider in self._registered or provider in self._discovered()

    def get(self, provider: str) -> Connector:
        """The connector for ``provider``, importing its plugin on first use.

        Raises :class:`UnknownProvider` for a name nobody provides and
        :class:`InvalidConnector` when the plugin fails to import, is provided twice, or is not
        a connector for that name.
        """
        if provider in self._registered:
            return self._registered[provider]
        if provider in self._loaded:
            return self._loaded[provider]
        found = self._discovered().get(provider)
        if not found:
            raise UnknownProvider(provider, self.names())
        if len(found) > 1:
            # Which one wins would depend on sys.path order: a plugin could shadow another.
            values = ", ".join(sorted(ep.value for ep in found))
            raise InvalidConnector(
                f"connector {provider!r} is provided by more than one entry point in group "
                f"{self._group!r}: {values}"
            )
        entry_point = found[0]
        origin = f"entry point {provider!r} ({entry_point.value}) in group {self._group!r}"
        try:
            loaded = entry_point.load()
        except Exception as exc:
            raise InvalidConnector(f"{origin} could not be loaded: {exc!r}") from exc
        connector = _as_connector(loaded, origin=origin)
        if connector.provider != provider:
            raise InvalidConnector(
                f"{origin} loads a connector for provider {connector.provider!r}, not {provider!r}"
            )
        self._loaded[provider] = connector
        return connector

    def _discovered(self) -> dict[str, list[EntryPoint]]:
        if self._entry_points is None:
            self._entry_points = _by_name(entry_points(group=self._group) if self._discover else ())
        return self._entry_points


def _by_name(found: Iterable[EntryPoint]) -> dict[str, list[EntryPoint]]:
    by_name: dict[str, list[EntryPoint]] = {}
    for entry_point in found:
        # The same distribution seen twice on sys.path is one provider, not a conflict.
        if entry_point.value not in {ep.value for ep in by_name.get(entry_point.name, [])}:
            by_name.setdefault(entry_point.name, []).append(entry_point)
    return by_name


def _as_connector(loaded: object, *, origin: str) -> Connector:
    """``loaded`` as a connector instance, or :class:`InvalidConnector` saying what it is."""
    if isinstance(loaded, type) and issubclass(loaded, Connector):
        if getattr(loaded, "__abstractmethods__", None):
            missing = ", ".join(sorted(loaded.__abstractmethods__))
            raise InvalidConnector(f"{origin} is a Connector that does not implement {missing}")
        try:
            loaded = loaded()
        except Exception as exc:
            raise InvalidConnector(f"{origin} could not be instantiated: {exc!r}") from exc
    if not isinstance(loaded, Connector):
        raise InvalidConnector(
            f"{origin} is {type(loaded).__name__} {loaded!r}, not a subclass or instance of "
            "openslots.sync.contract.Connector"
        )
    provider = getattr(loaded, "provider", None)
    if not isinstance(provider, str) or not provider:
        raise InvalidConnector(f"{origin} has no provider name (set the class attribute)")
    return loaded
