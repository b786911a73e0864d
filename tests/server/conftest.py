"""A real emoscope service on loopback: `emoscope serve` in a subprocess, a temp data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from emoscope.testing import tone, write_audio

TOKEN = "test-token-0123456789abcdef"
START_TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 240.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """One `emoscope serve` process; `start()` again after `stop()` restarts on the same dir."""

    def __init__(
        self, data_dir: Path, *, token: str | None = TOKEN, args: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self.token = token
        self.args = args
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("EMOSCOPE_TOKEN", None)
        if self.token is not None:
            env["EMOSCOPE_TOKEN"] = self.token
        cmd = [
            sys.executable,
            "-c",
            "import sys; from emoscope.cli import main; sys.exit(main())",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            *self.args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.output = self.proc.stdout.read() if self.proc.stdout else ""
                raise RuntimeError(f"server exited early ({self.proc.returncode}):\n{self.output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start within {START_TIMEOUT_S} s")

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop the service; SIGKILL kills it with its workers at once, like a power cut."""
        if self.proc is None:
            return self.output
        if self.proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.output = self.proc.stdout.read() if self.proc.stdout else ""
        self.proc = None
        return self.output

    def client(self, token: str | None = "default", **kwargs: object) -> httpx.Client:
        token = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)


def wait_done(client: httpx.Client, job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict:
    """Poll an analysis until it is done or failed; return its last status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/analyses/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"analysis {job_id} not finished after {timeout} s: {job}")


def tone_file(folder: Path, name: str, *, seconds: float = 1.5, freq: float = 220.0) -> Path:
    """A short synthetic clip; distinct freq/seconds give distinct bytes (and sha256)."""
    wav = tone(seconds, freq=freq, seed=int(freq))
    return write_audio(folder / name, np.asarray(wav, dtype=np.float32))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A service with 2 workers and a 1 MiB upload limit, shared by a test module."""
    live = LiveServer(
        tmp_path_factory.mktemp("server-data"), args=("--workers", "2", "--max-upload-mb", "1")
    ).start()
    yield live
    live.stop()


@pytest.fixture()
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
