"""The HTTP protocol's seams in uvicorn: a start-up check instead of limits that silently stop applying."""

from __future__ import annotations

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from intwa.entrypoints.http.server_protocol import UvicornChanged, uvicorn_options
from intwa.settings import ServerSettings


def test_the_server_options_carry_the_limits_of_the_settings() -> None:
    options = uvicorn_options(ServerSettings(max_header_bytes=2048, keep_alive_seconds=3))

    assert options["http"].keywords["limits"].max_header_bytes == 2048
    assert options["timeout_keep_alive"] == 3


def test_the_server_refuses_to_start_when_uvicorns_protocol_lost_a_method_the_limits_build_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(HttpToolsProtocol, "on_message_complete")

    with pytest.raises(UvicornChanged, match="on_message_complete"):
        uvicorn_options(ServerSettings())
