"""Connections that go only where the callback URL rules allow (SPEC §3.10, §7).

httpcore's connection pool asks its network backend for a TCP connection to a URL's host; this backend
resolves the host itself, checks every address it resolved to, and connects to one of those checked
addresses. The name is never looked up again between the check and the connection, so a DNS answer that
changes in between (rebinding) cannot steer it elsewhere. httpcore then starts TLS on that connection with
the URL's host name, so the certificate is verified for the host name and SNI names it, as without pinning;
the `Host` header is the request's own.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore

from intwa.adapters.callbacks.resolver import HostResolver
from intwa.domain.callbacks.targets import CallbackUrlRules, IPAddress


class HostNotResolved(Exception):
    """The callback URL's host does not resolve (now): nothing was sent."""

    def __init__(self, host: str) -> None:
        super().__init__(f"cannot resolve host {host}")
        self.host = host


async def allowed_addresses(rules: CallbackUrlRules, resolver: HostResolver, host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to now, every one allowed by the rules.

    `HostNotResolved` when it does not resolve, `CallbackUrlNotAllowed` when one of them is not allowed.
    """
    try:
        resolved = await resolver.resolve(host, port)
    except OSError as error:
        raise HostNotResolved(host) from error
    return rules.check_addresses(host, resolved)


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend for callbacks: TCP connections to checked addresses of the host, nothing else.

    The addresses are tried in the resolver's order until one accepts; `CallbackUrlNotAllowed` and
    `HostNotResolved` leave through the pool to the caller, so nothing is sent.
    """

    def __init__(
        self, rules: CallbackUrlRules, resolver: HostResolver, backend: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._rules = rules
        self._resolver = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await allowed_addresses(self._rules, self._resolver, host, port)
        refused: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as error:  # refused or unreachable: the next address may answer
                refused = error
        assert refused is not None  # `allowed_addresses` gives at least one address
        raise refused

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("callbacks go to URLs, never to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
