"""Address semantics: what a listener accepts and whether a policy's sets cover it."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.domain import netaddr


def allowed(address: str, v6only: bool | None, *entries: str) -> bool:
    return netaddr.is_allowed(address, v6only, netaddr.address_set(entries))


# ------------------------------------------------------------------ named sets and literals

def test_named_sets_expand_to_their_networks():
    assert [str(n) for n in netaddr.address_set(["loopback"]).networks] == ["127.0.0.0/8", "::1/128"]
    assert [str(n) for n in netaddr.address_set(["any"]).networks] == ["0.0.0.0/0", "::/0"]
    assert [str(n) for n in netaddr.address_set(["private"]).networks] == [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
    ]
    assert [str(n) for n in netaddr.address_set(["link-local"]).networks] == ["169.254.0.0/16", "fe80::/10"]


def test_literal_address_is_a_single_host_network():
    assert netaddr.parse_entry("192.0.2.7") == (ipaddress.ip_network("192.0.2.7/32"),)
    assert netaddr.parse_entry("2001:db8::1") == (ipaddress.ip_network("2001:db8::1/128"),)


def test_ipv4_mapped_entry_is_read_as_ipv4():
    assert netaddr.parse_entry("::ffff:10.0.0.0/104") == (ipaddress.ip_network("10.0.0.0/8"),)
    assert netaddr.parse_entry("::ffff:127.0.0.1") == (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("10.0.0.1/8", "host bits set; did you mean 10.0.0.0/8"),
        ("10.0.0.0/33", "neither a named set"),
        ("300.1.1.1", "neither a named set"),
        ("localhost", "neither a named set (loopback, any, private, link-local)"),
        ("Loopback", "neither a named set"),
        ("", "is not an address set"),
        ("fe80::1%eth0", "zone index"),
    ],
)
def test_bad_entries_are_value_errors_naming_the_entry(entry: str, words: str):
    with pytest.raises(ValueError) as info:
        netaddr.address_set(["loopback", entry])
    assert words in str(info.value)
    if entry:
        assert repr(entry) in str(info.value)


def test_union_of_sets_covers_a_block_no_single_entry_covers():
    # 0.0.0.0/1 + 128.0.0.0/1 together are every IPv4 address: the IPv4 wildcard is covered.
    assert allowed("0.0.0.0", None, "0.0.0.0/1", "128.0.0.0/1")
    assert not allowed("0.0.0.0", None, "0.0.0.0/1")


# ------------------------------------------------------------------ what a listener accepts

def test_ipv4_wildcard_accepts_all_ipv4():
    assert netaddr.accepted_networks("0.0.0.0", None) == (netaddr.ALL_IPV4,)
    assert netaddr.is_wildcard("0.0.0.0")
    assert netaddr.describe_accepts("0.0.0.0", None) == "all IPv4 addresses (IPv4 wildcard 0.0.0.0)"


def test_dual_stack_wildcard_accepts_ipv4_and_ipv6():
    assert netaddr.accepted_networks("::", False) == (netaddr.ALL_IPV4, netaddr.ALL_IPV6)
    assert netaddr.describe_accepts("::", False) == "all IPv4 and IPv6 addresses (dual-stack ::, v6only=0)"


def test_unknown_v6only_is_judged_dual_stack():
    assert netaddr.accepted_networks("::", None) == (netaddr.ALL_IPV4, netaddr.ALL_IPV6)
    assert "assumed dual-stack" in netaddr.describe_accepts("::", None)


def test_v6only_wildcard_accepts_only_ipv6():
    assert netaddr.accepted_networks("::", True) == (netaddr.ALL_IPV6,)
    assert netaddr.describe_accepts("::", True).startswith("all IPv6 addresses")
    assert netaddr.is_wildcard("::")


def test_mapped_wildcard_is_the_ipv4_wildcard():
    assert netaddr.is_wildcard("::ffff:0.0.0.0")
    assert netaddr.accepted_networks("::ffff:0.0.0.0", False) == (netaddr.ALL_IPV4,)
    assert "IPv4-mapped wildcard" in netaddr.describe_accepts("::ffff:0.0.0.0", None)


def test_mapped_address_is_judged_as_ipv4():
    assert netaddr.accepted_networks("::ffff:127.0.0.1", False) == (ipaddress.ip_network("127.0.0.1/32"),)
    assert not netaddr.is_wildcard("::ffff:127.0.0.1")
    assert netaddr.describe_accepts("::ffff:127.0.0.1", None) == "127.0.0.1 only (IPv4-mapped ::ffff:127.0.0.1)"


def test_specific_addresses_are_not_wildcards():
    for address in ("127.0.0.1", "::1", "10.1.2.3", "fe80::1%eth0"):
        assert not netaddr.is_wildcard(address)
    assert netaddr.describe_accepts("::1", None) == "::1 only"
    assert netaddr.accepted_networks("fe80::1%eth0", None) == (ipaddress.ip_network("fe80::1/128"),)


def test_bad_listener_address_is_a_value_error():
    with pytest.raises(ValueError, match="'not-an-ip' is not an IPv4 or IPv6 address"):
        netaddr.accepted_networks("not-an-ip", None)


# ------------------------------------------------------------------ allowed or not

@pytest.mark.parametrize(
    ("address", "v6only", "entries", "expected"),
    [
        ("127.0.0.1", None, ["loopback"], True),
        ("127.0.0.53", None, ["loopback"], True),
        ("::1", None, ["loopback"], True),
        ("::ffff:127.0.0.1", False, ["loopback"], True),  # mapped loopback is IPv4 loopback
        ("0.0.0.0", None, ["loopback"], False),
        ("0.0.0.0", None, ["private"], False),
        ("0.0.0.0", None, ["::/0"], False),  # all IPv6 does not include IPv4
        ("0.0.0.0", None, ["any"], True),
        ("0.0.0.0", None, ["0.0.0.0/0"], True),
        ("::ffff:0.0.0.0", None, ["0.0.0.0/0"], True),
        ("::ffff:0.0.0.0", None, ["loopback"], False),
        ("::", False, ["::/0"], False),  # dual-stack also accepts IPv4
        ("::", None, ["::/0"], False),  # unknown v6only: fail closed
        ("::", True, ["::/0"], True),
        ("::", False, ["::/0", "0.0.0.0/0"], True),
        ("::", True, ["loopback"], False),
        ("10.20.30.40", None, ["private"], True),
        ("fd00::5", None, ["private"], True),
        ("fe80::1", None, ["link-local"], True),
        ("192.0.2.10", None, ["192.0.2.0/24"], True),
        ("192.0.2.10", None, ["192.0.2.11"], False),
        ("127.0.0.1", None, [], False),  # nothing allowed
    ],
)
def test_is_allowed(address: str, v6only: bool | None, entries: list[str], expected: bool):
    assert allowed(address, v6only, *entries) is expected


def test_describe_the_allowed_set():
    assert netaddr.address_set(["loopback"]).describe() == "loopback (127.0.0.0/8, ::1/128)"
    assert netaddr.address_set(["10.0.0.0/8"]).describe() == "10.0.0.0/8"
    assert netaddr.address_set([]).describe().startswith("nothing")
