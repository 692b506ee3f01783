"""Which network addresses and host names a user-supplied URL may make openslots connect to.

This is the policy half of the SSRF guard (RELIABILITY-NOTES §1); ``openslots.sync.fetch``
applies it where the socket is opened, to every address a name resolves to. A check on the URL
string alone is never enough: resolvers accept spellings (``2130706433``, ``0x7f000001``,
``0177.0.0.1``, ``127.1``) that no URL parser treats as addresses, so what counts is the
*resolved* address.

Refused always: unspecified, link-local, multicast, broadcast, reserved, documentation and
benchmarking ranges, IPv6 site-local, transition tunnels (6to4 ``2002::/16``, Teredo and the rest
of ``2001::/23``, local-use NAT64 ``64:ff9b:1::/48``, IPv4-compatible ``::a.b.c.d``) and cloud
metadata endpoints. IPv6 forms that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d`` and
NAT64 ``64:ff9b::a.b.c.d``) are judged by the embedded address.

Refused unless ``allow_private_networks``: loopback, private (RFC 1918, ``fc00::/7``) and shared
(``100.64.0.0/10``) addresses, and names that only mean something on a local network
(``localhost``, single-label names, ``.local``, ``.internal``, ``.lan``, ``.home.arpa``, ...).
The switch is meant for intranet servers and local tests; metadata endpoints stay refused.

Python's ``ipaddress.is_global`` is only the last line here: on 3.11 it calls NAT64 and 6to4
forms of 127.0.0.1, ``::127.0.0.1``, ``fec0::1`` and ``224.0.0.1`` global (CPython #113171).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

from openslots.errors import UnsafeUrl

__all__ = ["LOCAL_CATEGORIES", "AddressPolicy", "IPAddress", "category_of", "host_category"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Categories that ``allow_private_networks`` lets through; every other one is always refused.
LOCAL_CATEGORIES: Final = frozenset({"loopback", "private", "shared"})

# Cloud instance-metadata endpoints hand out credentials: refused even on private networks.
# AWS (v4, ECS task and v6 IMDS), GCP/Azure/OCI/DigitalOcean (169.254.169.254), Alibaba, and
# Azure's WireServer (a public-range address that only exists inside Azure).
_METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.123",
        "100.100.100.200",
        "168.63.129.16",
        "fd00:ec2::254",
    )
)
_METADATA_NAMES: Final = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"}
)
# Names that only resolve on a local network (RFC 6761/6762/8375 and common intranet suffixes).
_LOCAL_SUFFIXES: Final = (
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".home.arpa",
    ".corp",
    ".private",
)


def _networks(*texts: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(text) for text in texts)


# Checked in order; the first match names the category.
_V4_RANGES: Final = (
    ("unspecified", _networks("0.0.0.0/8")),
    ("loopback", _networks("127.0.0.0/8")),
    ("private", _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("shared", _networks("100.64.0.0/10")),
    ("link_local", _networks("169.254.0.0/16")),
    ("multicast", _networks("224.0.0.0/4")),
    ("documentation", _networks("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),
    ("benchmarking", _networks("198.18.0.0/15")),
    # IETF protocol assignments, the deprecated 6to4 relay anycast, class E and broadcast.
    ("reserved", _networks("192.0.0.0/24", "192.88.99.0/24", "240.0.0.0/4")),
)
_V6_RANGES: Final = (
    ("unspecified", _networks("::/128")),
    ("loopback", _networks("::1/128")),
    ("private", _networks("fc00::/7")),
    ("link_local", _networks("fe80::/10")),
    ("multicast", _networks("ff00::/8")),
    ("documentation", _networks("2001:db8::/32", "3fff::/20")),
    # Tunnels carry traffic to addresses we cannot see: 6to4, Teredo with the rest of the IETF
    # block (benchmarking 2001:2::/48 included), local-use NAT64 and IPv4-compatible addresses.
    ("tunnel", _networks("2002::/16", "2001::/23", "64:ff9b:1::/48", "::/96")),
    ("reserved", _networks("fec0::/10", "100::/64")),
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST_V6: Final = ipaddress.ip_network("2000::/3")


def category_of(address: IPAddress) -> str:
    """The category of ``address``: ``"public"``, ``"metadata"``, or the kind of special range
    it falls in (``loopback``, ``private``, ``shared``, ``link_local``, ``multicast``,
    ``unspecified``, ``documentation``, ``benchmarking``, ``tunnel``, ``reserved``).

    IPv4-mapped and NAT64 IPv6 addresses get the category of the IPv4 address they embed.
    """
    if address in _METADATA_ADDRESSES:
        return "metadata"
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(address.compressed.partition("%")[0])
        if address.ipv4_mapped is not None:
            return category_of(address.ipv4_mapped)
        if address in _NAT64:
            # A NAT64 gateway would translate to the embedded address; local ones are no use
            # through a gateway and are refused whatever the switch says.
            embedded = category_of(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            return "public" if embedded == "public" else "tunnel"
        for category, networks in _V6_RANGES:
            if any(address in network for network in networks):
                return category
        if address not in _GLOBAL_UNICAST_V6 or not address.is_global:
            return "reserved"
        return "public"
    for category, networks in _V4_RANGES:
        if any(address in network for network in networks):
            return category
    return "public" if address.is_global else "reserved"


def host_category(host: str) -> str | None:
    """The category a host *name* implies before any lookup (``loopback`` for ``localhost``,
    ``private`` for local-only names, ``metadata`` for metadata service names), or None for an
    ordinary name whose addresses decide. ``host`` is a name, not an address literal."""
    name = host.lower().rstrip(".")
    if name in _METADATA_NAMES:
        return "metadata"
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    if "." not in name or name.endswith(_LOCAL_SUFFIXES):
        return "private"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The SSRF policy: which hosts and resolved addresses may be connected to."""

    allow_private_networks: bool = False

    def permits(self, category: str) -> bool:
        return category == "public" or (
            self.allow_private_networks and category in LOCAL_CATEGORIES
        )

    def check_host(self, host: str) -> IPAddress | None:
        """Refuse a host by its name or literal before it is looked up.

        Returns the address when ``host`` is an address literal (already checked), else None.
        Raises UnsafeUrl when the name or the literal is refused.
        """
        literal = _literal(host)
        if literal is not None:
            self.check_address(literal, host)
            return literal
        category = host_category(host)
        if category is not None and not self.permits(category):
            raise UnsafeUrl(f"refused host {host!r}: a {category.replace('_', '-')} name")
        return None

    def check_address(self, address: IPAddress, host: str) -> None:
        """Raise UnsafeUrl unless ``address`` (one that ``host`` resolved to) may be used."""
        category = category_of(address)
        if not self.permits(category):
            raise UnsafeUrl(
                f"refused host {host!r}: {address} is a {category.replace('_', '-')} address"
            )
