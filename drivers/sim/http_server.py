"""The HTTP plumbing both router simulators share: a threaded server in a daemon thread, port 0 for a
free port, optional TLS, a clean stop, and use as a context manager."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SimHttpServer:
    """Subclasses call :meth:`_serve` from their ``start()`` and :meth:`_shutdown` from ``stop()``."""

    host: str
    _requested_port: int

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler], name: str,
               ssl_context: ssl.SSLContext | None = None) -> None:
        server = ThreadingHTTPServer((self.host, self._requested_port), handler)
        server.daemon_threads = True
        server.block_on_close = False
        if ssl_context is not None:
            server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=name, daemon=True)
        self._thread.start()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return int(self._server.server_address[1])
