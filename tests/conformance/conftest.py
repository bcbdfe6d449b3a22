"""A ``kgw sim`` subprocess for third-party clients: plain HTTP/WS on one port and, for
python-kraken-sdk's WebSocket client (which hard-codes ``wss://``), a TLS listener with a
throw-away self-signed certificate that the test process trusts via ``SSL_CERT_FILE``."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.sim.harness import SimHandle, run_sim
from tests.support.processes import free_port


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost valid for one day; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "sim-cert.pem", directory / "sim-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsSim:
    def __init__(self, handle: SimHandle, tls_port: int, cert: Path) -> None:
        self.handle = handle
        self.tls_port = tls_port
        self.cert = cert


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsSim]:
    tmp = tmp_path_factory.mktemp("conformance")
    cert, key = self_signed(tmp)
    tls_port = free_port()
    extra = (f'tls_port = {tls_port}\ntls_cert_file = "{cert}"\ntls_key_file = "{key}"\n'
             "ticker_interval = 0.5\n")
    with run_sim(tmp, extra, book_rate=50.0, trade_rate=2.0) as handle:
        yield TlsSim(handle, tls_port, cert)
