"""The running service: its data folder (locked to one process), job store and worker pool."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from emoscope.errors import EmoscopeError
from emoscope.server.jobs import JobStore
from emoscope.server.settings import ServerSettings, TokenInfo, resolve_token
from emoscope.server.worker import WorkerPool

log = logging.getLogger(__name__)

LOCK_FILE = "server.lock"
RETENTION_CHECK_S = 3600.0


class DataDirBusyError(EmoscopeError):
    """Another running service already uses the data folder."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Take the data folder's lock (one service per folder) and return the open lock file.

    Raises:
        DataDirBusyError: If another process holds it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fh = open(data_dir / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held while running
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise DataDirBusyError(
            f"{data_dir}: another `emoscope serve` is using this data folder. Stop it, or give "
            "this one its own --data-dir."
        ) from None
    fh.truncate(0)
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def check_data_dir_free(data_dir: Path) -> None:
    """Raise :class:`DataDirBusyError` now if another service holds ``data_dir``."""
    lock_data_dir(data_dir).close()


class Service:
    """Everything the routes use: settings, token, store, pool.

    Args:
        settings: How the service runs.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)  # recordings and results: for this user only
        self.token: TokenInfo = resolve_token(settings.data_dir, given=settings.token)
        self.store = JobStore(settings.data_dir / "jobs")
        self.pool = WorkerPool(
            self.store, workers=settings.workers, job_timeout_s=settings.job_timeout_s
        )
        self._lock: IO[str] | None = None
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None

    def start(self) -> None:
        """Lock the data folder, clean leftovers, re-queue interrupted jobs, start workers."""
        self._lock = lock_data_dir(self.settings.data_dir)
        self.store.clean_incoming()
        requeued, failed = self.pool.recover(max_attempts=self.settings.max_attempts)
        if requeued or failed:
            log.warning("restart: %d interrupted job(s) queued again, %d failed", requeued, failed)
        self.pool.start()
        if self.settings.retention_days > 0:
            self.expire()
            self._janitor = threading.Thread(target=self._expire_loop, daemon=True)
            self._janitor.start()

    def expire(self) -> int:
        """Delete finished jobs older than the retention period; return how many."""
        limit = datetime.now(timezone.utc) - timedelta(days=self.settings.retention_days)
        n = 0
        for job in self.store:
            if job.state in ("done", "failed") and job.finished:
                finished = datetime.fromisoformat(job.finished.replace("Z", "+00:00"))
                if finished < limit and self.store.delete(job.id):
                    n += 1
        if n:
            log.warning(
                "retention: deleted %d job(s) older than %g days", n, self.settings.retention_days
            )
        return n

    def _expire_loop(self) -> None:
        while not self._stop.wait(RETENTION_CHECK_S):
            try:
                self.expire()
            except Exception:  # keep the service up; try again next time
                log.exception("retention check failed")

    def stop(self) -> None:
        """Stop the workers (running jobs are queued again at the next start), unlock."""
        self._stop.set()
        self.pool.stop()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
