"""Host names to addresses, for the callback client: the system's resolver, or a test's stand-in."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol


class HostResolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to for a TCP connection, in the resolver's order.

        Raises `OSError` (`socket.gaierror`) when it does not resolve.
        """
        ...


class SystemResolver:
    """`getaddrinfo`, as every connection of the process would resolve the host (in the loop's threads)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # One address per entry, each once: getaddrinfo repeats them per protocol and socket type.
        return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
