"""What the network of the machine running the tests allows."""

from __future__ import annotations

import socket


def ipv6_loopback_available() -> bool:
    """True when a socket can bind ::1 (IPv6 may be compiled in yet disabled or absent from lo)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False
