"""`cbt-server serve` as a process: it raises its open-file limit at start and reports it
in /healthz (issue 18: 1,001 idle sockets used up a soft limit of 1024), and it speaks
TLS itself with `--tls-cert/--tls-key`, so that its cookies' Secure flag is real."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port
from tests.waiting import wait_until_sync


@contextmanager
def serving(
    tmp_path: Path, *args: str, soft_files: int | None = None, scheme: str = "http"
) -> Iterator[str]:
    """`python -m cbt_server serve` on a free port (SQLite in `tmp_path`): its base URL."""
    port = free_port()
    env = {**os.environ, "CBT_DATA_DIR": str(tmp_path / "data"), "CBT_DATABASE_URL": ""}

    def lower_limit() -> None:
        import resource  # POSIX only, as preexec_fn is

        assert soft_files is not None
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft_files, hard))

    log = tmp_path / f"serve-{port}.log"  # a file, not a pipe nobody reads while it runs
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "cbt_server", "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=None if soft_files is None else lower_limit,
        )
    base = f"{scheme}://127.0.0.1:{port}"
    RUNNING[base] = process
    try:
        yield base
    finally:
        del RUNNING[base]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.returncode == 0, log.read_text(errors="replace")


RUNNING: dict[str, subprocess.Popen[bytes]] = {}
"""The server process behind each base URL `serving` yields."""


def healthz(base: str, **urlopen: Any) -> dict[str, Any] | None:
    process = RUNNING.get(base)
    assert process is None or process.poll() is None, "cbt-server serve exited early"
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2, **urlopen) as response:
            return dict(json.load(response))
    except OSError:
        return None


def test_serve_raises_its_open_file_limit(tmp_path: Path) -> None:
    resource = pytest.importorskip("resource", reason="no open-file limits on Windows")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with serving(tmp_path, soft_files=256) as base:
        health = wait_until_sync(lambda: healthz(base), "the server to answer", within=90)
    assert health is not None
    expected = None if hard == resource.RLIM_INFINITY else hard
    assert hard == 256 or health["open_files_limit"] == expected != 256
    assert isinstance(health["open_files"], int) and 0 < health["open_files"] < 256
    assert health["websockets"] == 0 and health["websockets_not_logged_in"] == 0


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cbt test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_serve_speaks_tls_itself_and_its_cookies_are_secure(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    with serving(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), scheme="https") as base:
        health = wait_until_sync(
            lambda: healthz(base, context=trust), "the server to answer over TLS", within=90
        )
        assert health is not None and health["status"] == "ok"
        with urllib.request.urlopen(f"{base}/staff/login", timeout=10, context=trust) as page:
            cookies = page.headers.get_all("Set-Cookie")
        assert cookies and all("Secure" in cookie for cookie in cookies), cookies
        # Plain HTTP on the TLS port gets nowhere.
        plain = base.replace("https://", "http://")
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{plain}/healthz", timeout=5)


def test_serve_refuses_unusable_tls_files_with_a_clean_message(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key", encoding="utf-8")
    env = {**os.environ, "CBT_DATA_DIR": str(tmp_path / "data")}
    for args, message in [
        (["--tls-cert", str(cert)], "tls_cert and tls_key go together"),
        (["--tls-cert", str(cert), "--tls-key", str(junk)], "cannot use TLS certificate"),
        (["--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(key)], "not found"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "cbt_server", "serve", "--port", "1", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
