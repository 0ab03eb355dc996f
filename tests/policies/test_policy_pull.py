"""Pull over real HTTPS (self-signed certificate on 127.0.0.1, trusted explicitly), ETag aware."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notaus.policies.pull import pull_once
from notaus.policies.signing import sign_policy

from .policy_helpers import Box, policy_text


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "server.crt", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class BundleServer:
    """Serves one bundle with a strong ETag and answers 304 to a matching If-None-Match."""

    def __init__(self, tmp: Path) -> None:
        self.body = b""
        self.requests: list[tuple[str | None, int]] = []
        self.cert, key = self_signed(tmp)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                etag = '"' + hashlib.sha256(outer.body).hexdigest()[:16] + '"'
                inm = self.headers.get("If-None-Match")
                status = 304 if inm == etag else 200
                outer.requests.append((inm, status))
                self.send_response(status)
                self.send_header("ETag", etag)
                if status == 200:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                if status == 200:
                    self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/praxis.bundle.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BundleServer]:
    srv = BundleServer(tmp_path)
    yield srv
    srv.stop()


def pull(box: Box, server: BundleServer, **kw: object):  # noqa: ANN201
    return pull_once(server.url, store=box.store, keys=box.keys, journal=box.journal, baseline=box.baseline,
                     verify=str(server.cert), **kw)  # type: ignore[arg-type]


def test_pull_applies_then_304_changes_nothing(box: Box, server: BundleServer) -> None:
    server.body = sign_policy(policy_text(2, isolate_score=0.8), 2, box.private)
    first = pull(box, server)
    assert first.status == "applied", first.message
    assert box.store.current().version == 2  # type: ignore[union-attr]
    assert server.requests[-1] == (None, 200)

    before, journal_before = box.snapshot(), box.journal.count()
    second = pull(box, server)
    assert second.status == "not_modified" and second.http_status == 304
    assert server.requests[-1][1] == 304 and server.requests[-1][0] == first.etag
    assert box.journal.count() == journal_before
    after = box.snapshot()
    after.pop("pull.json"), before.pop("pull.json")      # only the "last checked" time moves
    assert after == before

    server.body = sign_policy(policy_text(3, isolate_score=0.75), 3, box.private)
    third = pull(box, server)
    assert third.status == "applied" and box.store.current().version == 3  # type: ignore[union-attr]
    assert server.requests[-1] == (first.etag, 200)


def test_pulled_tampered_bundle_is_rejected_and_not_refetched(box: Box, server: BundleServer) -> None:
    server.body = sign_policy(policy_text(2), 2, box.private).replace(b"0.9", b"0.1")
    res = pull(box, server)
    assert res.status == "rejected" and res.apply is not None and res.apply.code == "bad_signature"
    assert box.store.current() is None
    assert pull(box, server).status == "not_modified"
    assert len(box.journal.entries(kind="policy.rejected")) == 1


def test_untrusted_certificate_is_an_error_not_an_apply(box: Box, server: BundleServer) -> None:
    server.body = sign_policy(policy_text(2), 2, box.private)
    res = pull_once(server.url, store=box.store, keys=box.keys, journal=box.journal, baseline=box.baseline)
    assert res.status == "error" and "TLS" in res.message
    assert box.store.current() is None


def test_plain_http_url_is_refused(box: Box) -> None:
    res = pull_once("http://127.0.0.1:1/x", store=box.store, keys=box.keys, journal=box.journal)
    assert res.status == "error" and "https://" in res.message
