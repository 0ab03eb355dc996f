"""Run the API/UI with a real threaded WSGI server (werkzeug), optionally over TLS.

``notaus serve`` calls :func:`serve`; tests and the benchmark use :func:`start_server` to get a
server on a free port in a background thread.
"""

from __future__ import annotations

import re
import ssl
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from notaus.api.app import create_app

if TYPE_CHECKING:
    from flask import Flask

    from notaus.controller.engine import Engine
    from notaus.controller.scheduler import Scheduler

#: query parameters whose value is a secret (the kiosk link's one-time code) - never in the access log
_SECRET_PARAM = re.compile(r"([?&](?:token|code)=)[^&\s\"]*")


def redact(text: str) -> str:
    """``GET /kiosk/enroll?token=abc`` -> ``GET /kiosk/enroll?token=<redacted>``."""
    return _SECRET_PARAM.sub(r"\1<redacted>", text)


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, with one-time codes cut out of every access-log line."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().log(type, message, *(redact(a) if isinstance(a, str) else a for a in args))


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"``, ``"[::1]:8443"``, ``":8080"`` -> (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address {listen!r} must look like 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def ssl_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def start_server(engine: Engine, listen: str = "127.0.0.1:0", *, cert: str | Path | None = None,
                 key: str | Path | None = None, config: dict[str, Any] | None = None,
                 app: Any = None) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start a threaded server in a daemon thread; ``server.server_port`` is the bound port."""
    host, port = parse_listen(listen)
    application = app if app is not None else create_app(engine, config=config)
    ctx = ssl_context(cert, key) if cert and key else None
    server = make_server(host, port, application, threaded=True, ssl_context=ctx,
                         request_handler=RedactingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="notaus-http", daemon=True)
    thread.start()
    return server, thread


def serve(engine: Engine, listen: str, cert: str | Path | None = None, key: str | Path | None = None,
          config: dict[str, Any] | None = None, scheduler: Scheduler | None = None, app: Flask | None = None) -> None:
    """Serve until interrupted (blocking). TLS when both ``cert`` and ``key`` are given."""
    if bool(cert) != bool(key):
        raise ValueError("give both --cert and --key (or neither)")
    host, port = parse_listen(listen)
    app = app if app is not None else create_app(engine, config=config, scheduler=scheduler)
    ctx = ssl_context(cert, key) if cert and key else None
    server = make_server(host, port, app, threaded=True, ssl_context=ctx,
                         request_handler=RedactingRequestHandler)
    scheme = "https" if ctx else "http"
    print(f"notaus: listening on {scheme}://{host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["notaus"].close()
