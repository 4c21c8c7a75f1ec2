"""Client IP resolution behind a known number of trusted reverse proxies."""

from __future__ import annotations

import ipaddress


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The address of the client as seen by the first proxy we trust.

    With ``trusted_proxies == 0`` the socket peer is the client and ``X-Forwarded-For``
    is ignored entirely (anyone can send it). With N trusted proxies, the Nth entry
    from the right of ``X-Forwarded-For`` was appended by our outermost proxy, so it is
    the only entry we can believe; entries left of it are client-controlled.
    """
    peer = _valid(remote_addr) or "0.0.0.0"  # noqa: S104 - a placeholder, never bound
    if trusted_proxies <= 0 or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    if len(hops) < trusted_proxies:
        return peer
    return _valid(hops[-trusted_proxies]) or peer


def _valid(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def networks_parse(values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or CIDR networks; ValueError names the first that is neither."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(networks)


def peer_trusted(
    remote_addr: str | None, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    """Is the socket peer one of our proxies (so its forwarded headers may be read)?"""
    peer = _valid(remote_addr)
    return peer is not None and any(ipaddress.ip_address(peer) in net for net in networks)


def relay_parse(value: str) -> tuple[str, int] | None:
    """``host:port`` (an IPv6 address in brackets) into its parts; empty is None.

    ValueError says what is wrong without echoing the value.
    """
    if not value.strip():
        return None
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, for example relay.example.org:587")
    return host, int(port)
