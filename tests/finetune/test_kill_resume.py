"""A fine-tuning process killed with SIGKILL resumes, from its checkpoint, to the same adapter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from emoscope.cli import main

RUN = "import sys; from emoscope.cli import main; sys.exit(main(sys.argv[1:]))"


def _args(manifest: Path, model: Path, out: Path) -> list[str]:
    return [
        "finetune", str(manifest), "--model", str(model), "-o", str(out),
        "--folds", "none", "--labels", "sad,happy", "--max-steps", "6", "--batch-size", "3",
        "--rank", "4", "--lr", "2e-3", "--dropout", "0.1", "--eval-every", "3",
        "--checkpoint-every", "1", "--patience", "0", "--val-fraction", "0.2",
    ]  # fmt: skip


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_same_adapter(
    tiny_model: Path, pitch_task: Path, tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, *_args(pitch_task, tiny_model, killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # as the in-process runs (conftest)
    )
    state = killed / "all" / "checkpoint" / "state.json"
    deadline = time.monotonic() + 240
    step = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state.is_file():
                try:
                    step = json.loads(state.read_text())["step"]
                except (OSError, ValueError):  # being swapped in
                    step = 0
                if step >= 2:
                    break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 2 <= step < 6, f"the run was not caught mid-way (step {step})"
    assert not (killed / "report.json").exists()

    assert main(_args(pitch_task, tiny_model, killed)) == 0  # resumes
    whole = tmp_path / "whole"
    assert main(_args(pitch_task, tiny_model, whole)) == 0  # never interrupted

    for rel in ("all/checkpoint/trainable.safetensors", "all/adapter/adapter_model.safetensors"):
        a, b = load_file(str(whole / rel)), load_file(str(killed / rel))
        assert a.keys() == b.keys()
        for name in a:
            assert (a[name] == b[name]).all(), (rel, name)
    log = [json.loads(x)["step"] for x in (killed / "all" / "train_log.jsonl").open()]
    assert log[-1] == 6 and len(set(log)) == 6  # no step lost
    report_a = json.loads((whole / "report.json").read_text())["folds_detail"][0]
    report_b = json.loads((killed / "report.json").read_text())["folds_detail"][0]
    assert report_a["best_val_ua"] == report_b["best_val_ua"]
    assert report_a["last_loss"] == report_b["last_loss"]
