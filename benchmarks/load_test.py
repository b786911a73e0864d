"""Load test of `emoscope serve` on loopback: requests per minute and memory held.

Starts the service in a subprocess (temporary data folder, 127.0.0.1 only, a random token), then
runs two bounded phases and stops everything by itself:

1. API: ``--clients`` threads call ``GET /v1/health`` and ``GET /v1/analyses/{id}`` for
   ``--api-seconds``: requests per minute and latency of the API itself.
2. Analyses: ``--clients`` threads each upload a clip, poll until it is done, and repeat, for
   ``--seconds`` (at most ``--max-jobs`` uploads): analyses per minute, end-to-end latency,
   and the resident memory of the service (server process + worker processes), sampled every
   second, at the start, at the peak and after the last job (what the service keeps holding).

Usage::

    python benchmarks/load_test.py --seconds 120 --clients 4 --workers 1
    python benchmarks/load_test.py --clip samples/demo.flac --seconds 180
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

from emoscope import __version__
from emoscope.testing import tone, write_audio

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def service_rss_mb(pid: int) -> float:
    """Resident memory of the server and all its children, in MiB."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1024 / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


class Sampler(threading.Thread):
    """Samples the service's memory every second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        t0 = time.monotonic()
        while not self.stop_event.is_set():
            self.samples.append((time.monotonic() - t0, service_rss_mb(self.pid)))
            self.stop_event.wait(1.0)


def start_service(data: Path, token: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, EMOSCOPE_TOKEN=token)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from emoscope.cli import main; sys.exit(main())",
        "serve",
        "--data-dir",
        str(data),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--max-queued",
        "1000",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the service did not start") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not start within 60 s")


def api_phase(url: str, token: str, job_id: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            i = 0
            while time.monotonic() < end:
                path = "/v1/health" if i % 2 else f"/v1/analyses/{job_id}"
                t = time.perf_counter()
                r = c.get(path)
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    errors += r.status_code != 200
                i += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {
        "n": len(latencies),
        "per_min": len(latencies) / elapsed * 60,
        "errors": errors,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def job_phase(
    url: str, token: str, clip: Path, clients: int, seconds: float, max_jobs: int
) -> dict:
    results: list[tuple[str, float, float]] = []  # state, upload latency, end-to-end
    lock = threading.Lock()
    budget = [max_jobs]
    end = time.monotonic() + seconds
    data = clip.read_bytes()

    def client() -> None:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as c:
            while time.monotonic() < end:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                t = time.perf_counter()
                r = c.post("/v1/analyses", files={"file": (clip.name, data)})
                up = time.perf_counter() - t
                if r.status_code != 202:
                    with lock:
                        results.append((f"http {r.status_code}", up, up))
                    continue
                job_id = r.json()["id"]
                while True:
                    state = c.get(f"/v1/analyses/{job_id}").json()["state"]
                    if state in ("done", "failed"):
                        break
                    time.sleep(0.25)
                total = time.perf_counter() - t
                c.delete(f"/v1/analyses/{job_id}")
                with lock:
                    results.append((state, up, total))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    done = [r for r in results if r[0] == "done"]
    return {
        "n": len(results),
        "done": len(done),
        "failed": len(results) - len(done),
        "elapsed": elapsed,
        "per_min": len(done) / elapsed * 60,
        "upload_p50_ms": percentile([r[1] for r in done], 50) * 1000,
        "e2e_p50_s": percentile([r[2] for r in done], 50),
        "e2e_p95_s": percentile([r[2] for r in done], 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="analysis phase length")
    parser.add_argument("--api-seconds", type=float, default=20.0, help="API phase length")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="the service's --workers")
    parser.add_argument("--max-jobs", type=int, default=300, help="most uploads in all")
    parser.add_argument(
        "--clip", type=Path, default=None, help="audio to upload (default: 2 s tone)"
    )
    args = parser.parse_args()
    if not 1 <= args.clients <= 32 or args.seconds > 900 or args.max_jobs > 2000:
        raise SystemExit("keep it bounded: 1-32 clients, at most 900 s and 2000 jobs")

    tmp = Path(tempfile.mkdtemp(prefix="emoscope-load-"))
    clip = args.clip or write_audio(tmp / "tone.wav", tone(2.0, freq=180.0))
    token = secrets.token_urlsafe(24)
    port = free_port()
    url = f"http://{HOST}:{port}"
    proc = start_service(tmp / "data", token, port, args.workers)
    sampler = Sampler(proc.pid)
    sampler.start()
    try:
        idle_mb = service_rss_mb(proc.pid)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            first = c.post("/v1/analyses", files={"file": (clip.name, clip.read_bytes())}).json()
            t = time.perf_counter()
            while c.get(f"/v1/analyses/{first['id']}").json()["state"] not in ("done", "failed"):
                time.sleep(0.2)
            warm_s = time.perf_counter() - t
        warm_mb = service_rss_mb(proc.pid)
        api = api_phase(url, token, first["id"], args.clients, args.api_seconds)
        jobs = job_phase(url, token, clip, args.clients, args.seconds, args.max_jobs)
        time.sleep(2)
        after_mb = service_rss_mb(proc.pid)
    finally:
        sampler.stop_event.set()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    peak_mb = max((m for _, m in sampler.samples), default=float("nan"))

    cpu = f"{os.cpu_count()} CPU cores"
    print(
        f"emoscope {__version__} load test on loopback ({cpu}); clip {clip.name}, "
        f"{args.clients} clients, service --workers {args.workers}"
    )
    rows = [
        ("first analysis (worker start + model load)", f"{warm_s:.1f} s"),
        ("API requests per minute (health + status)", f"{api['per_min']:.0f}"),
        ("API latency p50 / p95", f"{api['p50_ms']:.1f} / {api['p95_ms']:.1f} ms"),
        ("API errors", f"{api['errors']} of {api['n']}"),
        ("analyses per minute", f"{jobs['per_min']:.1f}"),
        ("analyses done / failed", f"{jobs['done']} / {jobs['failed']} in {jobs['elapsed']:.0f} s"),
        ("upload latency p50", f"{jobs['upload_p50_ms']:.0f} ms"),
        ("upload to result p50 / p95", f"{jobs['e2e_p50_s']:.2f} / {jobs['e2e_p95_s']:.2f} s"),
        ("memory: idle (server only)", f"{idle_mb:.0f} MiB"),
        ("memory: after first analysis", f"{warm_mb:.0f} MiB"),
        ("memory: peak during load", f"{peak_mb:.0f} MiB"),
        ("memory: held after the load", f"{after_mb:.0f} MiB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")


if __name__ == "__main__":
    main()
