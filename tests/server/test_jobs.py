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


def test_interrupted_jobs_are_queued_again_and_results_survive(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = LiveServer(data, args=("--workers", "1")).start()
    # three uploads while the worker process is still starting, then a hard crash (SIGKILL)
    jobs = [post(server, tone_file(tmp_path, f"p{i}.wav", freq=600.0 + i)) for i in range(3)]
    server.stop(signal.SIGKILL)
    states = [json.loads((data / "jobs" / j["id"] / "job.json").read_text()) for j in jobs]
    assert [s["state"] for s in states] == ["running", "queued", "queued"]
    server.start()
    try:
        with server.client() as c:
            results = [wait_done(c, job["id"]) for job in jobs]
        assert [r["state"] for r in results] == ["done"] * 3
        assert [r["attempts"] for r in results] == [2, 1, 1]
        assert not any((data / "jobs" / j["id"] / "upload").exists() for j in jobs)
    finally:
        server.stop(signal.SIGTERM)
    server.start()  # a plain restart: every result is still there, unchanged
    try:
        with server.client() as c:
            again = [c.get(f"/v1/analyses/{j['id']}").json() for j in jobs]
            assert c.get("/v1/health").json()["completed"] == 0  # nothing ran again
    finally:
        server.stop()
    assert [a["document"] for a in again] == [r["document"] for r in results]


def test_a_job_interrupted_too_often_fails_instead_of_looping(tmp_path: Path) -> None:
    # the state a service leaves when a recording crashed it twice
    job_id = "5b8f3a52-2a8e-4d0e-9d55-0e8f1f6b2c41"
    folder = tmp_path / "data" / "jobs" / job_id
    folder.mkdir(parents=True)
    tone_file(folder, "upload.wav").rename(folder / "upload")
    record = {
        "id": job_id,
        "state": "running",
        "created": "2026-01-01T00:00:00.000Z",
        "started": "2026-01-01T00:00:01.000Z",
        "filename": "crashy.wav",
        "format": "wav",
        "size_bytes": (folder / "upload").stat().st_size,
        "attempts": 2,
    }
    (folder / "job.json").write_text(json.dumps(record))
    server = LiveServer(tmp_path / "data").start()
    try:
        with server.client() as c:
            result = c.get(f"/v1/analyses/{job_id}").json()
        assert result["state"] == "failed" and result["error"]["code"] == "interrupted"
        assert not (folder / "upload").exists()
        # one service per data folder: a second one refuses to start, with a clear message
        second = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from emoscope.cli import main; sys.exit(main())",
                "serve",
                "--data-dir",
                str(server.data_dir),
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
    server.args = ("--show-token",)
    output = server.start().stop()
    assert f"/#token={token}" in output and "printed only this once" not in output


def worker_process(server: LiveServer, timeout: float = 30) -> psutil.Process:
    """The service's one analysis process (waiting until it has been started)."""
    assert server.proc is not None
    deadline = time.monotonic() + timeout
    while True:
        children = psutil.Process(server.proc.pid).children()
        workers = [p for p in children if "resource_tracker" not in " ".join(p.cmdline())]
        if len(workers) == 1:
            return workers[0]
        assert time.monotonic() < deadline, workers
        time.sleep(0.05)


def wait_state(server: LiveServer, job_id: str, state: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    with server.client() as c:
        while True:
            job = c.get(f"/v1/analyses/{job_id}").json()
            if job["state"] == state:
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.05)


def test_crashed_worker_and_deleted_running_job(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data").start()
    try:
        # a worker process that dies mid-job: the job fails clearly, the next one runs
        doomed = post(server, tone_file(tmp_path, "doomed.wav", freq=220.0))
        wait_state(server, doomed["id"], "running")
        worker_process(server).kill()
        failed = wait_state(server, doomed["id"], "failed")
        assert failed["error"]["code"] == "worker_crashed"
        assert "ended unexpectedly" in failed["error"]["message"]
        assert not (server.data_dir / "jobs" / doomed["id"] / "upload").exists()
        # deleting a running job stops its analysis and leaves nothing behind
        running = post(server, tone_file(tmp_path, "running.wav", freq=240.0))
        wait_state(server, running["id"], "running")
        worker = worker_process(server)
        worker.suspend()
        with server.client() as c:
            assert c.delete(f"/v1/analyses/{running['id']}").status_code == 204
            assert c.get(f"/v1/analyses/{running['id']}").status_code == 404
        worker.wait(30)  # the pool stopped it
        assert not (server.data_dir / "jobs" / running["id"]).exists()
        last = post(server, tone_file(tmp_path, "last.wav", freq=250.0))
        with server.client() as c:
            assert wait_done(c, last["id"])["state"] == "done"
            assert c.get(f"/v1/analyses/{running['id']}").status_code == 404
    finally:
        server.stop()


def _finished_job(jobs: Path, job_id: str, finished: str) -> Path:
    folder = jobs / job_id
    folder.mkdir(parents=True)
    record = {
        "id": job_id,
        "state": "done",
        "created": finished,
        "started": finished,
        "finished": finished,
        "filename": "old.wav",
        "format": "wav",
        "size_bytes": 10,
        "attempts": 1,
        "upload_kept": False,
    }
    (folder / "job.json").write_text(json.dumps(record))
    (folder / "result.json").write_text("{}")
    return folder


def test_retention_deletes_old_finished_jobs(tmp_path: Path) -> None:
    jobs = tmp_path / "data" / "jobs"
    old = _finished_job(jobs, "7d1f4a3e-9c1b-4b6e-8f0a-2b3c4d5e6f70", "2020-01-01T00:00:00.000Z")
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    recent = _finished_job(jobs, "8e2a5b4f-0d2c-4c7f-9a1b-3c4d5e6f7081", now)
    server = LiveServer(tmp_path / "data", args=("--retention-days", "30")).start()
    try:
        with server.client() as c:
            listed = [j["id"] for j in c.get("/v1/analyses").json()["analyses"]]
    finally:
        server.stop()
    assert not old.exists() and recent.exists()
    assert listed == [recent.name]
