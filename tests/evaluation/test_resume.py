"""Kill ``emoscope evaluate`` with SIGKILL mid-run, start it again, and check the run store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emoscope.data.manifest import Manifest

CLI = [sys.executable, "-c", "import sys; from emoscope.cli import main; sys.exit(main())"]

# fields that legitimately differ between two runs of the same evaluation
VOLATILE = {"timing_last_session", "created"}


def stored(db: Path) -> list[tuple[str, float]]:
    if not db.exists():
        return []
    con = sqlite3.connect(str(db), timeout=30)
    try:
        return con.execute("SELECT id, created FROM predictions ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:  # table not created yet
        return []
    finally:
        con.close()


def test_sigkill_then_resume_gives_the_uninterrupted_result(corpus_factory, fitted_model, tmp_path):
    manifest = corpus_factory("many", speakers=4, per_label=8, seconds=0.4)
    n = len(Manifest.from_jsonl(manifest))
    assert n == 128
    args = ["evaluate", str(manifest), "--model", str(fitted_model), "--batch-size", "4"]
    run = tmp_path / "killed"
    env = {**os.environ, "COLUMNS": "100"}

    proc = subprocess.Popen(
        [*CLI, *args, "-o", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 120
    while len(stored(run / "run.sqlite")) < 12:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no predictions stored within 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = stored(run / "run.sqlite")
    assert 12 <= len(before) < n, "the kill must land mid-run"
    assert len(before) % 4 == 0, "only whole batches (one transaction each) are kept"
    assert not (run / "metrics.json").exists()

    restarted_at = time.time()
    done = subprocess.run([*CLI, *args, "-o", str(run)], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    after = stored(run / "run.sqlite")
    ids = [i for i, _ in after]
    assert len(ids) == n and len(set(ids)) == n
    assert set(ids) == set(Manifest.from_jsonl(manifest).ids())
    # nothing done before the kill was recomputed: those rows are untouched
    assert after[: len(before)] == before
    assert all(created < restarted_at for _, created in before)
    assert all(created >= restarted_at for _, created in after[len(before) :])

    clean = tmp_path / "clean"
    done = subprocess.run(
        [*CLI, *args, "-o", str(clean)], capture_output=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    assert (run / "predictions.jsonl").read_text() == (clean / "predictions.jsonl").read_text()
    killed_metrics = json.loads((run / "metrics.json").read_text())
    clean_metrics = json.loads((clean / "metrics.json").read_text())
    for key in VOLATILE:
        killed_metrics.pop(key), clean_metrics.pop(key)
    assert killed_metrics == clean_metrics
    assert killed_metrics["n"] == n


@pytest.mark.parametrize("signal_name", ["SIGTERM"])
def test_a_stopped_run_with_other_arguments_is_refused(
    corpus_factory, fitted_model, tmp_path, signal_name
):
    manifest = corpus_factory("many", speakers=4, per_label=8, seconds=0.4)
    run = tmp_path / "run"
    base = ["evaluate", str(manifest), "--model", str(fitted_model), "-o", str(run)]
    proc = subprocess.Popen([*CLI, *base], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not stored(run / "run.sqlite"):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signal_name))
    proc.wait(timeout=30)
    other = subprocess.run([*CLI, *base, "--folds", "1,2"], capture_output=True, timeout=120)
    assert other.returncode == 2
    assert b"differs in: folds" in other.stderr
