"""Whom a request came from when a reverse proxy may stand in front: one rule for the web chat's limits
and the console's login throttling and Secure cookies.

`X-Forwarded-For` / `X-Forwarded-Proto` are believed only when the peer is one of `web.trusted_proxies`;
the client is then the last address in `X-Forwarded-For` that a trusted proxy did not add (the entries
before it came from the client and prove nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ADDRESS = 64  # characters kept of an address (it is a key of the rate limiter)


def networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """`web.trusted_proxies` as networks (a bare address is a /32 or /128); raises ValueError."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((value or "").strip().strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> TrustedProxies:
        return cls(networks(values))

    def trusted(self, address: str | None) -> bool:
        addr = ip(address)
        return addr is not None and any(addr in net for net in self.networks)

    def client_address(self, remote: str | None, headers: Mapping[str, str]) -> str:
        """The peer's address, or behind trusted proxies the last forwarded address they did not add."""
        address = remote or "?"
        if not self.trusted(address):
            return address[:MAX_ADDRESS]
        hops = [h.strip() for h in headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if ip(hop) is None:
                break
            address = hop
            if not self.trusted(hop):
                break
        return address[:MAX_ADDRESS]

    def is_https(self, secure: bool, remote: str | None, headers: Mapping[str, str]) -> bool:
        forwarded = headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return secure or (forwarded == "https" and self.trusted(remote))
