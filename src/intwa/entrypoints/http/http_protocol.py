"""The HTTP/1.1 protocol `intwa serve` runs: uvicorn's httptools protocol, for requests of any method.

httptools (llhttp) knows a fixed list of methods and answers any other with a bare 400 before the app
sees the request, though HTTP allows any token as a method (RFC 9110 §9.1) and SPEC §3.1 wants the
envelope for it (405 with `Allow`, or 404 on an unknown path). So a connection whose next request has a
method llhttp does not know is handed, with that request's bytes, to uvicorn's h11 protocol, which reads
any method, for the rest of its life: as uvicorn itself hands a connection over to its WebSocket
protocol on an upgrade. Requests with known methods, the hot path, never leave httptools, and the
check costs them three attribute reads per chunk of bytes received.

What it assumes of uvicorn's protocols (not public API; `tests/e2e/test_hostile_requests.py` breaks when
it changes): `HttpToolsProtocol.data_received` feeds `self.parser` and handles its errors as below; the
request being served is `self.cycle`, whose `more_body` turns false when its whole body is parsed and
`response_complete` true when its answer is sent; `self.scope` is a new dict when a request begins (the
parser's `on_message_begin`); both protocols take the same constructor arguments.
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class AnyMethodHttpProtocol(HttpToolsProtocol):
    """httptools for the methods it knows; a request of another method moves its connection to h11."""

    def data_received(self, data: bytes) -> None:
        """Feed the parser as uvicorn does; a method it does not know moves the connection to h11."""
        self._unset_keepalive_if_required()
        served, scope = self.cycle, self.scope
        body_pending = served is not None and served.more_body
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserInvalidMethodError:
            # Only when these bytes start the request (it began in them, and no other request's head or
            # body did) and no answer is on its way; pipelined or byte-by-byte requests keep the bare 400.
            starts_here = self.scope is not scope and self.cycle is served and not body_pending
            if starts_here and (served is None or served.response_complete):
                self._continue_with_h11(data)
            else:
                self._refuse_unreadable()
        except httptools.HttpParserError:
            self._refuse_unreadable()
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _refuse_unreadable(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    def _continue_with_h11(self, data: bytes) -> None:
        self.connections.discard(self)
        protocol = H11Protocol(
            config=self.config, server_state=self.server_state, app_state=self.app_state, _loop=self.loop
        )
        protocol.connection_made(self.transport)
        self.transport.set_protocol(protocol)
        protocol.data_received(data)
