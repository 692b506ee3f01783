"""The SSRF address policy on its own: categories of addresses and names, and what
``allow_private_networks`` changes (RELIABILITY-NOTES §1). The connect-time tests are in
``test_fetch.py``."""

from __future__ import annotations

import ipaddress

import pytest

from openslots.errors import UnsafeUrl
from openslots.sync.addresses import AddressPolicy, category_of, host_category

STRICT = AddressPolicy()
LOCAL = AddressPolicy(allow_private_networks=True)


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("8.8.8.8", "public"),
        ("93.184.215.14", "public"),
        ("2001:4860:4860::8888", "public"),
        ("::ffff:8.8.8.8", "public"),
        ("64:ff9b::808:808", "public"),  # NAT64 of a public address is how IPv6-only hosts go out
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("169.254.0.1", "link_local"),
        ("fe80::1", "link_local"),
        ("fe80::1%eth0", "link_local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("2001:db8::1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        ("192.0.0.170", "reserved"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("fec0::1", "reserved"),
        ("100::1", "reserved"),
        ("2002:7f00:1::1", "tunnel"),  # 6to4 of 127.0.0.1
        ("2002:808:808::1", "tunnel"),  # 6to4, even of a public address
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "tunnel"),  # Teredo
        ("2001:2::1", "tunnel"),  # benchmarking, inside the IETF block
        ("64:ff9b::7f00:1", "tunnel"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", "tunnel"),  # NAT64 of 10.0.0.1
        ("64:ff9b:1::1", "tunnel"),  # local-use NAT64
        ("::127.0.0.1", "tunnel"),  # IPv4-compatible
        ("::8.8.8.8", "tunnel"),
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("100.100.100.200", "metadata"),
        ("168.63.129.16", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "tunnel"),  # NAT64 of metadata
    ],
)
def test_category_of(address: str, category: str) -> None:
    assert category_of(ipaddress.ip_address(address)) == category


@pytest.mark.parametrize(
    "address",
    # Python's own is_global calls these global (CPython #113171); the policy must not.
    ["64:ff9b::7f00:1", "2002:7f00:1::", "::127.0.0.1", "fec0::1", "224.0.0.1"],
)
def test_is_global_blind_spots_are_refused(address: str) -> None:
    with pytest.raises(UnsafeUrl):
        STRICT.check_address(ipaddress.ip_address(address), address)


@pytest.mark.parametrize(
    ("host", "category"),
    [
        ("example.com", None),
        ("calendar.google.com", None),
        ("public.test", None),
        ("localhost", "loopback"),
        ("LOCALHOST.", "loopback"),
        ("api.localhost", "loopback"),
        ("intranet", "private"),
        ("printer.local", "private"),
        ("db.internal", "private"),
        ("nas.home.arpa", "private"),
        ("box.lan", "private"),
        ("metadata.google.internal", "metadata"),
        ("METADATA.GOOGLE.INTERNAL.", "metadata"),
        ("instance-data", "metadata"),
    ],
)
def test_host_category(host: str, category: str | None) -> None:
    assert host_category(host) == category


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "fd00::5", "100.64.1.1"]
)
def test_private_networks_switch_permits_local_addresses(address: str) -> None:
    with pytest.raises(UnsafeUrl):
        STRICT.check_address(ipaddress.ip_address(address), "h")
    LOCAL.check_address(ipaddress.ip_address(address), "h")


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "::ffff:169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "255.255.255.255",
        "2002:7f00:1::1",
        "64:ff9b::7f00:1",
        "198.18.0.1",
    ],
)
def test_private_networks_switch_keeps_the_rest_refused(address: str) -> None:
    with pytest.raises(UnsafeUrl):
        LOCAL.check_address(ipaddress.ip_address(address), "h")


def test_check_host_names_and_literals() -> None:
    assert STRICT.check_host("example.com") is None
    assert STRICT.check_host("[2001:4860:4860::8888]") == ipaddress.ip_address(
        "2001:4860:4860::8888"
    )
    for host in ("localhost", "intranet", "x.internal", "127.0.0.1", "[::1]"):
        with pytest.raises(UnsafeUrl):
            STRICT.check_host(host)
    assert LOCAL.check_host("localhost") is None
    assert LOCAL.check_host("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    with pytest.raises(UnsafeUrl, match="metadata"):
        LOCAL.check_host("metadata.google.internal")


def test_refusal_names_the_host_and_the_category() -> None:
    with pytest.raises(UnsafeUrl) as caught:
        STRICT.check_address(ipaddress.ip_address("10.0.0.5"), "mixed.test")
    assert "mixed.test" in caught.value.message
    assert "private" in caught.value.message
    assert caught.value.to_dict()["error"]["code"] == "unsafe_url"
