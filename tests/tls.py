"""A throwaway certificate authority for tests of TLS: a CA and a server certificate for
``localhost`` and ``127.0.0.1``, made with the ``openssl`` command (Debian's, always there).

The server certificate comes as PEM (for nginx and Python) and as a PKCS12 keystore (for the
Kafka broker). Nothing is cached: every test session signs its own.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

_SERVER_EXTENSIONS = """basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
"""


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate (PEM): what a client trusts
    cert: Path  # the server certificate (PEM), for localhost and 127.0.0.1
    key: Path  # its private key (PEM, unencrypted)
    keystore: Path  # PKCS12: key, certificate and CA chain
    password: str  # of the keystore and the key inside it


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make test certificates: apt-get install -y openssl")
    result = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"openssl {args[0]} failed: {result.stderr[-2000:]}", pytrace=False)


def make_pki(folder: Path, *, name: str = "wirehose test") -> Pki:
    """A CA named ``name`` and a server certificate it signed, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(8)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", f"/CN={name} CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost",
        cwd=folder,
    )  # fmt: skip
    (folder / "server.ext").write_text(_SERVER_EXTENSIONS)
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key", "-certfile", "ca.pem",
        "-name", "server", "-out", "server.p12", "-passout", f"pass:{password}",
        cwd=folder,
    )  # fmt: skip
    return Pki(
        ca=folder / "ca.pem",
        cert=folder / "server.pem",
        key=folder / "server.key",
        keystore=folder / "server.p12",
        password=password,
    )
