"""A bounded pool of analysis worker processes fed from one first-in, first-out queue.

Each of the ``workers`` slots is a thread that owns one child process (started on first use and
kept, so models load once). The thread hands the child one job at a time and waits for its
answer, watching for a deleted job (the child is stopped), a time-out and a crashed child (the
job fails with a clear message and a fresh child takes the next job). Analyses are CPU-heavy,
so separate processes are used rather than threads: they run in parallel, and a crash in native
code cannot take the service down.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from emoscope.server.jobs import Job, JobError, JobStore, utc_now

log = logging.getLogger(__name__)

_POLL_S = 0.2


_PROGRESS_EVERY_S = 0.5


def _child_main(conn: Connection) -> None:
    """Loop of a worker process: receive a task, send progress now and then, then the result."""
    from emoscope.server.analysis import offline_guard_in_worker, run_analysis

    offline_guard_in_worker()
    last = [0.0]

    def progress(stage: str, done_s: float, total_s: float) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_EVERY_S:
            last[0] = now
            conn.send({"progress": {"stage": stage, "done_s": done_s, "total_s": total_s}})

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        last[0] = 0.0
        conn.send(run_analysis(task["upload"], task["options"], progress=progress))


class _Child:
    """One worker process and the pipe to it."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(
            target=_child_main, args=(child_conn,), name="emoscope-worker", daemon=True
        )
        self.process.start()
        child_conn.close()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
        self.conn.close()


class WorkerPool:
    """Run queued jobs of a :class:`JobStore`, at most ``workers`` at once.

    Args:
        store: Where jobs and results are kept.
        workers: How many analyses run at once.
        job_timeout_s: Longest time one analysis may take.
    """

    def __init__(
        self,
        store: JobStore,
        *,
        workers: int = 1,
        job_timeout_s: float = 4 * 3600.0,
    ) -> None:
        self.store = store
        self.workers = workers
        self.job_timeout_s = job_timeout_s
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._cancelled: set[str] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._children: dict[int, _Child] = {}
        self._progress: dict[str, dict[str, Any]] = {}
        self.completed = 0

    # -- queue -------------------------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        """Put a job at the end of the queue."""
        with self._cond:
            self._queue.append(job_id)
            self._cond.notify()

    def position(self, job_id: str) -> int | None:
        """Return the job's 1-based place in the queue, or ``None`` when it is not waiting."""
        with self._cond:
            try:
                return self._queue.index(job_id) + 1
            except ValueError:
                return None

    @property
    def queued(self) -> int:
        """Jobs waiting."""
        with self._cond:
            return len(self._queue)

    @property
    def running(self) -> int:
        """Jobs being analysed now."""
        with self._cond:
            return len(self._running)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """Return the last progress a running job reported (stage, seconds done and in all)."""
        with self._cond:
            return self._progress.get(job_id)

    def cancel(self, job_id: str) -> None:
        """Forget a queued job, or stop the analysis of a running one (its job was deleted)."""
        with self._cond:
            if job_id in self._queue:
                self._queue.remove(job_id)
            if job_id in self._running:
                self._cancelled.add(job_id)

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker threads (the processes start with their first job)."""
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._loop, args=(slot,), name=f"emoscope-slot-{slot}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop at once.

        Running analyses are killed and stay ``running`` on disk, so the next start of the
        service queues them again.
        """
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(10)
        for child in self._children.values():
            child.stop()
        self._children.clear()

    def _next(self) -> str | None:
        with self._cond:
            while not self._queue and not self._stop.is_set():
                self._cond.wait(_POLL_S * 5)
            if self._stop.is_set():
                return None
            job_id = self._queue.popleft()
            self._running.add(job_id)
            return job_id

    def _loop(self, slot: int) -> None:
        while not self._stop.is_set():
            job_id = self._next()
            if job_id is None:
                return
            try:
                self._process(slot, job_id)
            except Exception:  # keep the slot alive whatever happens to one job
                log.exception("job %s: unexpected error in the worker slot", job_id)
            finally:
                with self._cond:
                    self._running.discard(job_id)
                    self._cancelled.discard(job_id)
                    self._progress.pop(job_id, None)

    def _process(self, slot: int, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or job.state != "queued":
            return
        job.state, job.started, job.attempts = "running", utc_now(), job.attempts + 1
        self.store.save(job)
        task = {"upload": str(self.store.upload_path(job_id)), "options": job.options.model_dump()}
        reply = self._run(slot, job_id, task)
        if reply is None:  # stopped (service shutting down) or cancelled (job deleted)
            return
        self._finish(job, reply)

    def _run(self, slot: int, job_id: str, task: dict[str, Any]) -> dict[str, Any] | None:
        child = self._children.get(slot)
        if child is None or not child.process.is_alive():
            child = self._children[slot] = _Child()
        child.conn.send(task)
        deadline = time.monotonic() + self.job_timeout_s
        while True:
            if child.conn.poll(_POLL_S):
                try:
                    message = child.conn.recv()
                except (EOFError, OSError):
                    message = None  # the child died while answering: handled as a crash below
                if message is not None and "progress" in message:
                    with self._cond:
                        self._progress[job_id] = message["progress"]
                    continue
                if message is not None:
                    return message
            with self._cond:
                cancelled = job_id in self._cancelled
            if self._stop.is_set() or cancelled:
                child.stop()
                self._children.pop(slot, None)
                return None
            if not child.process.is_alive() or child.conn.closed:
                code = child.process.exitcode
                child.stop()
                self._children.pop(slot, None)
                return {
                    "error": {
                        "code": "worker_crashed",
                        "message": f"The analysis process ended unexpectedly (exit code {code}); "
                        "it may have run out of memory. Try a shorter recording or fewer workers.",
                    }
                }
            if time.monotonic() > deadline:
                child.stop()
                self._children.pop(slot, None)
                return {
                    "error": {
                        "code": "timeout",
                        "message": f"The analysis took longer than {self.job_timeout_s:.0f} s "
                        "and was stopped. Start the service with a larger --job-timeout.",
                    }
                }

    def _finish(self, job: Job, reply: dict[str, Any]) -> None:
        with self.store.lock:
            if self.store.get(job.id) is None:
                return  # deleted meanwhile
            job.finished = utc_now()
            if "document" in reply:
                try:
                    self.store.write_result(job.id, reply["document"])
                    job.state = "done"
                except OSError as exc:  # disk full, permissions: fail this job, keep serving
                    reply = {
                        "error": {
                            "code": "storage_error",
                            "message": f"The result could not be stored ({exc.strerror or exc}). "
                            "Free some space in the data folder and upload again.",
                        }
                    }
            if job.state != "done":
                job.state = "failed"
                error = reply.get("error") or {"code": "internal_error", "message": "No result."}
                job.error = JobError(**error)
            if not job.options.keep_upload:
                self.store.drop_upload(job.id)
                job.upload_kept = False
            self.store.save(job)
        self.completed += 1
        log.info("job %s %s", job.id, job.state)

    def recover(self, *, max_attempts: int) -> tuple[int, int]:
        """Queue again the jobs a previous run left queued or running; return (queued, failed).

        A job that was already started ``max_attempts`` times is marked failed instead (so a
        recording that crashes the service cannot crash it at every start).
        """
        requeued = failed = 0
        for job in self.store:
            if job.state not in ("queued", "running"):
                continue
            if job.state == "running" and job.attempts >= max_attempts:
                job.state, job.finished = "failed", utc_now()
                job.error = JobError(
                    code="interrupted",
                    message=f"The analysis was interrupted {job.attempts} times by a stop of "
                    "the service and was not tried again. Upload the recording again to retry.",
                )
                if not job.options.keep_upload:
                    self.store.drop_upload(job.id)
                    job.upload_kept = False
                self.store.save(job)
                failed += 1
                continue
            if not self.store.upload_path(job.id).is_file():
                job.state, job.finished = "failed", utc_now()
                job.error = JobError(code="upload_missing", message="The upload is gone.")
                self.store.save(job)
                failed += 1
                continue
            job.state = "queued"
            self.store.save(job)
            self.submit(job.id)
            requeued += 1
        return requeued, failed
