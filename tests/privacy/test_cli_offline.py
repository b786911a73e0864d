"""Every CLI command runs under the offline guard unless --allow-download is given."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import os, socket, sys
    from emoscope.cli import main
    from emoscope.cli.app import app
    from emoscope.privacy import downloads_allowed

    original = socket.socket.connect

    @app.command("netprobe")
    def netprobe() -> None:
        guarded = socket.socket.connect is not original
        hf = os.environ.get("HF_HUB_OFFLINE")
        print(f"guarded={guarded} allowed={downloads_allowed()} hf={hf}")
        if guarded:
            socket.create_connection(("10.255.255.1", 80), timeout=5)

    code = main(sys.argv[1:])
    print(f"restored={socket.socket.connect is original}")
    sys.exit(code)
    """
)


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )


def test_commands_are_offline_by_default() -> None:
    out = probe("netprobe")
    assert out.returncode == 1
    assert "guarded=True allowed=False hf=1" in out.stdout
    assert "restored=True" in out.stdout
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("emoscope: error: emoscope runs offline")
    assert "10.255.255.1:80" in line and "--allow-download" in line


def test_allow_download_lifts_the_guard() -> None:
    out = probe("netprobe", "--allow-download")
    assert out.returncode == 0, out.stderr
    assert "guarded=False allowed=True" in out.stdout
