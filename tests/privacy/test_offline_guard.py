"""The offline guard blocks real connection attempts and leaves loopback working."""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request

import pytest

from emoscope.errors import OfflineError
from emoscope.privacy import install_offline_guard, is_local_host, offline_guard


def test_blocks_a_private_address_immediately() -> None:
    t0 = time.perf_counter()
    with offline_guard(), pytest.raises(OfflineError) as info:
        socket.create_connection(("10.255.255.1", 80), timeout=5)
    assert time.perf_counter() - t0 < 1.0  # refused before any packet, not a timeout
    message = str(info.value)
    assert "10.255.255.1:80" in message and "--allow-download" in message


def test_blocks_raw_connect_and_connect_ex() -> None:
    with offline_guard():
        for call in ("connect", "connect_ex"):
            with (
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s,
                pytest.raises(OfflineError),
            ):
                getattr(s, call)(("192.0.2.1", 443))


def test_blocks_name_lookup_of_a_remote_host() -> None:
    with offline_guard(), pytest.raises(OfflineError, match="huggingface.co"):
        socket.getaddrinfo("huggingface.co", 443)


def test_blocks_urllib_to_a_hub() -> None:
    with offline_guard(), pytest.raises(OfflineError):
        urllib.request.urlopen("https://huggingface.co/api/models", timeout=5)


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(64).upper())

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_loopback_still_works() -> None:
    server, port = _echo_server()
    with server, offline_guard():
        for host in ("127.0.0.1", "localhost"):
            if host == "localhost":
                server2, port = _echo_server()
            with socket.create_connection((host, port), timeout=5) as c:
                c.sendall(b"ping")
                assert c.recv(64) == b"PING"
            if host == "localhost":
                server2.close()


def test_sets_and_restores_offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    original = socket.socket.connect
    with offline_guard():
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
        assert socket.socket.connect is not original
    assert "HF_HUB_OFFLINE" not in os.environ
    assert os.environ["TRANSFORMERS_OFFLINE"] == "0"
    assert socket.socket.connect is original


def test_hub_library_constant_is_switched_off_while_guarded() -> None:
    constants = pytest.importorskip("huggingface_hub.constants")
    before = constants.HF_HUB_OFFLINE
    with offline_guard():
        assert constants.HF_HUB_OFFLINE is True
    assert constants.HF_HUB_OFFLINE == before


def test_allow_download_installs_nothing() -> None:
    original = socket.getaddrinfo
    uninstall = install_offline_guard(allow_download=True)
    assert socket.getaddrinfo is original
    uninstall()


def test_install_and_uninstall() -> None:
    uninstall = install_offline_guard()
    try:
        with pytest.raises(OfflineError):
            socket.create_connection(("203.0.113.9", 80), timeout=5)
    finally:
        uninstall()


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("8.8.8.8", False),
        ("fe80::1", False),
        ("example.org", False),
    ],
)
def test_is_local_host(host: str, local: bool) -> None:
    assert is_local_host(host) is local


def test_allowed_addresses_pass_and_others_stay_blocked() -> None:
    # UDP connect() only sets the default destination: no packet is sent either way
    with offline_guard(allow_hosts=frozenset({"203.0.113.7"})):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("203.0.113.7", 9))  # allowed: no error
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
            pytest.raises(OfflineError, match="EMOSCOPE_ALLOW_HOSTS=198.51.100.2"),
        ):
            s.connect(("198.51.100.2", 9))


def _hosts_file_alias() -> str | None:
    """A name that /etc/hosts maps to loopback (resolved without DNS), other than localhost."""
    try:
        lines = open("/etc/hosts", encoding="utf-8").read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0].startswith("127."):
            for name in fields[1:]:
                if not is_local_host(name):
                    return name
    return None


def test_allowed_names_resolve_through_the_env_list(monkeypatch: pytest.MonkeyPatch) -> None:
    name = _hosts_file_alias()
    if name is None:
        pytest.skip("needs a non-localhost loopback name in /etc/hosts (no DNS is used)")
    server, port = _echo_server()
    with server:
        with offline_guard(), pytest.raises(OfflineError):
            socket.getaddrinfo(name, port)
        monkeypatch.setenv("EMOSCOPE_ALLOW_HOSTS", f"{name}:{port}")
        with offline_guard(), socket.create_connection((name, port), timeout=5) as c:
            c.sendall(b"ok")
            assert c.recv(8) == b"OK"
