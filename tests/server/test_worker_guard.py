"""Worker processes run offline like the CLI: the guard is installed in each of them."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import socket
from emoscope.server.analysis import offline_guard_in_worker
assert offline_guard_in_worker()
try:
    socket.create_connection(("192.0.2.1", 80), timeout=2)  # TEST-NET-1: never routed
except Exception as exc:
    print(type(exc).__name__)
"""


def test_worker_processes_are_offline() -> None:
    pytest.importorskip("emoscope.privacy", reason="needs emoscope.privacy's offline guard")
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, env={}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OfflineError"
