"""Data-parallel fine-tuning through accelerate's launcher: 2 CPU processes (torch DDP, gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from emoscope.cli import main
from emoscope.data.manifest import Manifest

LABELS = "sad,happy"


def _args(manifest: Path, model: Path, out: Path, batch_size: int) -> list[str]:
    return [
        "finetune", str(manifest), "--model", str(model), "-o", str(out),
        "--folds", "none", "--labels", LABELS, "--max-steps", "6",
        "--batch-size", str(batch_size), "--rank", "4", "--lr", "5e-3", "--dropout", "0",
        "--balance", "none", "--eval-every", "3", "--patience", "0", "--val-fraction", "0.2",
        "--target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
        "--no-gradient-checkpointing",
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_launch_equals_one_process_with_the_global_batch(
    tiny_model: Path, pitch_task: Path, tmp_path: Path
) -> None:
    from emoscope.models.base import load_model

    out = tmp_path / "ddp"
    # accelerate's --multi_gpu launcher is torchrun; without CUDA each process joins a gloo
    # CPU group (accelerate launch --cpu would start a single process)
    launch = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
        "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "emoscope.cli",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*launch, *_args(pitch_task, tiny_model, out, batch_size=3)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("report:") == 1  # only the main process reports

    # one run's files, written once
    assert sorted(p.parent.name for p in out.rglob("adapter_config.json")) == ["adapter"]
    assert (out / "report.json").is_file() and (out / "report.md").is_file()
    result = json.loads((out / "all" / "result.json").read_text())
    assert result["processes"] == 2 and result["steps"] == 6
    log = [json.loads(x) for x in (out / "all" / "train_log.jsonl").open()]
    assert [e["step"] for e in log] == [1, 2, 3, 4, 5, 6]  # one line per step, not per process
    assert log[-1]["loss"] < 0.2 * log[0]["loss"]

    # 2 processes x 3 clips are one step over the 6 clips one process takes with --batch-size 6:
    # the same losses and adapter (each process took its own half, gradients were averaged)
    single = tmp_path / "single"
    assert main(_args(pitch_task, tiny_model, single, batch_size=6)) == 0
    log1 = [json.loads(x) for x in (single / "all" / "train_log.jsonl").open()]
    assert json.loads((single / "all" / "result.json").read_text())["processes"] == 1
    np.testing.assert_allclose([e["loss"] for e in log], [e["loss"] for e in log1], rtol=1e-3)
    a = load_file(str(out / "all" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(single / "all" / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name].numpy(), b[name].numpy(), atol=1e-4, err_msg=name)

    # the adapter reloads as a model and predicts as the single-process one
    valid = Manifest.load(pitch_task).filter(lambda u: u.speaker in result["valid_speakers"])
    proba = load_model(str(out / "all" / "adapter")).predict_proba(list(valid))
    proba1 = load_model(str(single / "all" / "adapter")).predict_proba(list(valid))
    np.testing.assert_allclose(proba, proba1, atol=1e-3)
    predicted = [("sad", "happy")[i] for i in proba.argmax(1)]
    accuracy = np.mean([p == u.canonical for p, u in zip(predicted, valid, strict=True)])
    assert result["best_val_ua"] >= 0.9 and accuracy >= 0.9  # it learnt the pitch in 6 steps
