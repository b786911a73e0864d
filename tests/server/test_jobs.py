"""Jobs under load and across restarts: nothing lost, nothing mixed up, nothing left behind."""

from __future__ import annotations

import hashlib
import json
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from .conftest import LiveServer, tone_file, wait_done


def post(server: LiveServer, path: Path) -> dict:
    with server.client() as c, open(path, "rb") as fh:
        r = c.post("/v1/analyses", files={"file": (path.name, fh)})
        assert r.status_code == 202, r.text
        return r.json()


def test_twenty_concurrent_uploads_all_complete(tmp_path: Path) -> None:
    clips = [
        tone_file(tmp_path, f"clip-{i:02d}.wav", seconds=1.0 + (i % 3) * 0.5, freq=150.0 + 37 * i)
        for i in range(20)
    ]
    digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in clips}
    assert len(digests) == 20
    server = LiveServer(tmp_path / "data", args=("--workers", "2")).start()
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            jobs = list(pool.map(lambda p: post(server, p), clips))
        ids = [j["id"] for j in jobs]
        assert len(set(ids)) == 20
        assert {j["filename"] for j in jobs} == {p.name for p in clips}
        with server.client() as c:
            health = c.get("/v1/health").json()
            assert health["running"] <= 2  # the pool is bounded
            finished = [wait_done(c, i) for i in ids]
            assert c.get("/v1/health").json()["completed"] == 20
        assert [j["state"] for j in finished] == ["done"] * 20
        for job in finished:  # each result belongs to its own upload
            assert digests[job["document"]["recording"]["sha256"]] == job["filename"]
        leftovers = [p for p in (server.data_dir / "jobs").rglob("upload")]
        assert leftovers == []
    finally:
        server.stop()


def test_results_and_interrupted_jobs_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = LiveServer(data, args=("--workers", "1")).start()
    try:
        first = post(server, tone_file(tmp_path, "first.wav", freq=300.0))
        with server.client() as c:
            done = wait_done(c, first["id"])
        assert done["state"] == "done"
        # freeze the worker process, so that one job stays running and the others queued
        assert server.proc is not None
        children = psutil.Process(server.proc.pid).children()
        (worker,) = [p for p in children if "resource_tracker" not in " ".join(p.cmdline())]
        worker.suspend()
        pending = [post(server, tone_file(tmp_path, f"p{i}.wav", freq=600.0 + i)) for i in range(3)]
        with server.client() as c:
            deadline = time.monotonic() + 30
            while c.get(f"/v1/analyses/{pending[0]['id']}").json()["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            waiting = [c.get(f"/v1/analyses/{j['id']}").json() for j in pending[1:]]
        assert [(j["state"], j["queue_position"]) for j in waiting] == [
            ("queued", 1),
            ("queued", 2),
        ]
    finally:
        server.stop(signal.SIGTERM)
    states = [
        json.loads((data / "jobs" / j["id"] / "job.json").read_text())["state"] for j in pending
    ]
    assert states == ["running", "queued", "queued"]
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    server.start()
    try:
        with server.client() as c:
            again = c.get(f"/v1/analyses/{first['id']}").json()
            assert again["state"] == "done" and again["document"] == done["document"]
            results = [wait_done(c, job["id"]) for job in pending]
        assert [r["state"] for r in results] == ["done"] * 3
        assert [r["attempts"] for r in results] == [2, 1, 1]
    finally:
        server.stop()


def test_a_job_interrupted_too_often_fails_instead_of_looping(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = LiveServer(data).start()
    try:
        job = post(server, tone_file(tmp_path, "x.wav", freq=700.0))
        with server.client() as c:
            wait_done(c, job["id"])
    finally:
        server.stop()
    record = data / "jobs" / job["id"] / "job.json"
    stuck = json.loads(record.read_text()) | {"state": "running", "attempts": 2, "error": None}
    record.write_text(json.dumps(stuck))
    server.start()
    try:
        with server.client() as c:
            result = c.get(f"/v1/analyses/{job['id']}").json()
        assert result["state"] == "failed" and result["error"]["code"] == "interrupted"
        # one service per data folder: a second one refuses to start, with a clear message
        second = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from emoscope.cli import main; sys.exit(main())",
                "serve",
                "--data-dir",
                str(data),
                "--port",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "another `emoscope serve` is using this data folder" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        server.stop()


def test_token_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = LiveServer(data, token=None).start()
    output = server.stop()
    token_file = data / "token"
    token = token_file.read_text().strip()
    assert len(token) >= 32 and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert f"/#token={token}" in output and "printed only this once" in output
    server.start()  # again without EMOSCOPE_TOKEN: the saved token is used
    try:
        with server.client(token=token) as c:
            assert c.get("/v1/health").status_code == 200
        with server.client(token="x" * 32) as c:
            assert c.get("/v1/health").status_code == 401
    finally:
        output = server.stop()
    assert token not in output and str(token_file) in output
