"""What both entrypoints need to use the container; light enough for the CLI's start-up."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


async def resolve(provider: Callable[[], T]) -> T:
    """Call a container provider; providers that depend on async resources answer with an awaitable."""
    value: Any = provider()
    if inspect.isawaitable(value):
        value = await value
    return cast(T, value)
