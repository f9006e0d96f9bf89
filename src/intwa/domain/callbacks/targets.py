"""Which URLs a callback may go to (SPEC §3.10, §7): the rule is checked when a URL is set and at every delivery.

A URL is `https://` (plain `http://` only with `events.allow_http`), names a host and carries no user name or
password. Its host must resolve to public internet addresses only — none loopback, private, link-local,
multicast, shared (carrier-grade NAT), reserved or documentation — unless `events.allow_private_targets`:
the delivery client resolves it again at each delivery and connects only to an address checked here, so
DNS rebinding does not help. An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by it.

Refusals never say which address a host resolved to: a caller could learn the platform's internal names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from intwa.domain.errors import CallbackUrlNotAllowed, InvalidField

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

_EXCLUDED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_EXCLUDED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), kind)
    for network, kind in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),  # local-use NAT64
        # After the addresses that carry an IPv4 one (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96), judged by it.
        ("::/8", "reserved"),
        ("100::/64", "reserved"),
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "reserved"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),
        ("ff00::/8", "multicast"),
    )
)


def excluded_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private", …); None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address in _NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            return excluded_kind(carried)
        excluded_v6 = next((kind for network, kind in _EXCLUDED_V6 if address in network), None)
        if excluded_v6 is not None:
            return excluded_v6
    else:
        excluded_v4 = next((kind for network, kind in _EXCLUDED_V4 if address in network), None)
        if excluded_v4 is not None:
            return excluded_v4
    # What the lists above do not name but the address registries do not call global either.
    return None if address.is_global else "reserved"


class CallbackUrl(NamedTuple):
    """A URL that passed the rules' syntax: where a delivery goes."""

    url: str
    scheme: str
    host: str
    """Lower-case, without the brackets of an IPv6 literal."""
    port: int


@dataclass(frozen=True)
class CallbackUrlRules:
    """The URL rules of SPEC §3.10, opened by `events.allow_http` and `events.allow_private_targets`."""

    allow_http: bool = False
    allow_private_targets: bool = False

    def check_url(self, url: str) -> CallbackUrl:
        """The URL's parts; `InvalidField` for an empty or overlong one, `CallbackUrlNotAllowed` for one to refuse.

        A host written as an IP address is checked here too; a name is checked by `check_addresses` once resolved.
        """
        if not url:
            raise InvalidField("url", "must not be empty")
        if len(url) > MAX_URL_LENGTH:
            raise InvalidField("url", f"must be at most {MAX_URL_LENGTH} characters")
        schemes = ("http", "https") if self.allow_http else ("https",)
        shape = "an http:// or https:// URL" if self.allow_http else "an https:// URL"
        if any(character.isspace() or not character.isprintable() for character in url):
            raise _refused(f"it must be {shape} without spaces or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
            host = parts.hostname
        except ValueError:  # a port that is not a number, or brackets that enclose no IPv6 address
            raise _refused(f"it must be {shape} with a valid host and port") from None
        if parts.scheme.lower() not in schemes:
            raise _refused(f"it must be {shape}")
        if not host or port == 0:
            raise _refused(f"it must be {shape} with a host")
        if parts.username is not None or parts.password is not None:
            raise _refused("it must not carry a user name or password")
        if parts.fragment or url.endswith("#"):
            raise _refused("it must not have a fragment (`#…`), which is never sent")
        scheme = parts.scheme.lower()
        target = CallbackUrl(url, scheme, host, port or (443 if scheme == "https" else 80))
        literal = _ip_address(host)
        if literal is not None:
            kind = None if self.allow_private_targets else excluded_kind(literal)
            if kind is not None:
                raise _refused(f"{host} is a {kind} address")
        return target

    def check_addresses(self, host: str, addresses: Iterable[str]) -> list[IPAddress]:
        """The addresses the host resolved to, each of them allowed; `CallbackUrlNotAllowed` otherwise.

        One excluded address refuses them all: a host that resolves to a public and a private address is not
        a public host. No address at all is refused the same way, without saying which it was (see above).
        """
        parsed = [_ip_address(address) for address in addresses]
        if not parsed or any(address is None for address in parsed):
            raise not_public(host)
        allowed = [address for address in parsed if address is not None]
        if not self.allow_private_targets and any(excluded_kind(address) is not None for address in allowed):
            raise not_public(host)
        return allowed


def not_public(host: str) -> CallbackUrlNotAllowed:
    """The refusal of a host that resolves to an excluded address, or to none: the two are not told apart."""
    return _refused(f"its host {host} must resolve to public internet addresses only")


def _refused(reason: str) -> CallbackUrlNotAllowed:
    return CallbackUrlNotAllowed(f"`url` is not allowed: {reason}")


def _ip_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
