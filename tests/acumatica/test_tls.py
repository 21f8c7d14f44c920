"""TLS: verification is on, failures are classified, a CA bundle makes a private CA work.

A stdlib HTTPS server on loopback serves ``GET /entity`` with a certificate generated here
with ``cryptography`` (self-signed, for 127.0.0.1 or for another name).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support.site import Leaks, make_client

from acumatica_datasource.acumatica import TLSFailure

DISCOVERY = {
    "version": {"acumaticaBuildVersion": "24.210.0013", "databaseVersion": "24.210.0013"},
    "endpoints": [{"name": "Default", "version": "24.200.001", "href": "/entity/Default/"}],
}


def self_signed(directory: Path, *, ip: str | None, dns: str | None) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns or ip or "test")])
    alternative: list[x509.GeneralName] = []
    if ip:
        alternative.append(x509.IPAddress(ipaddress.ip_address(ip)))
    if dns:
        alternative.append(x509.DNSName(dns))
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(DISCOVERY).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def https_site(cert: Path, key: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def loopback_cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path, ip="127.0.0.1", dns=None)


def test_an_untrusted_certificate_is_a_tls_failure(
    loopback_cert: tuple[Path, Path], leaks: Leaks
) -> None:
    with https_site(*loopback_cert) as url:
        with make_client(url, timeout=3) as client, leaks.raises(TLSFailure) as info:
            client.discover()
    message = str(info.value)
    assert url in message and "system's trusted CAs" in message and "CA bundle" in message
    assert "self-signed" in message or "self signed" in message


def test_a_ca_bundle_makes_the_certificate_trusted(loopback_cert: tuple[Path, Path]) -> None:
    with https_site(*loopback_cert) as url, make_client(url, ca_bundle=str(loopback_cert[0])) as c:
        assert c.discover().versions() == ("24.200.001",)


def test_a_certificate_for_another_name_is_a_tls_failure(tmp_path: Path, leaks: Leaks) -> None:
    cert, key = self_signed(tmp_path, ip=None, dns="acme.example.com")
    with https_site(cert, key) as url:
        with make_client(url, ca_bundle=str(cert)) as client, leaks.raises(TLSFailure) as info:
            client.discover()
    assert str(cert) in str(info.value)
    assert "mismatch" in str(info.value).lower() or "match" in str(info.value).lower()


def test_plain_http_is_refused_beyond_loopback(leaks: Leaks) -> None:
    from acumatica_datasource.acumatica import ProtocolError

    with make_client("http://acme.example.com") as client, leaks.raises(ProtocolError) as info:
        client.discover()
    assert "https" in str(info.value)


def test_an_unreadable_ca_bundle_is_a_tls_failure(tmp_path: Path, leaks: Leaks) -> None:
    with leaks.raises(TLSFailure) as info:
        make_client("https://acme.example.com", ca_bundle=str(tmp_path / "missing.pem"))
    assert "missing.pem" in str(info.value) and "CA bundle" in str(info.value)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with leaks.raises(TLSFailure):
        make_client("https://acme.example.com", ca_bundle=str(garbage))
