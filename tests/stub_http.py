"""A threading HTTP server for the tests' stand-ins (api.github.com, evidence URLs, proxies).

A client that hangs up on purpose (a stalled answer it timed out on, a body it read no
further than its limit) leaves the handler thread writing to a closed socket, and
socketserver prints that traceback to sys.stderr, perhaps after the test has ended,
where it lands in another test's captured output. A client hanging up is what these
tests provoke, so it is not printed; any other handler error still is.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any


class StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipe, ConnectionReset: the client left
            return
        super().handle_error(request, client_address)
