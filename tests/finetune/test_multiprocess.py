"""Data-parallel fine-tuning through accelerate's launcher: 2 CPU processes (torch DDP, gloo).

The run is killed mid-way (SIGKILL to the launcher and every worker, while it checkpoints every
step) and launched again, as a user would after a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
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


def _kill_tree(pid: int) -> None:
    """SIGKILL process ``pid`` and all its descendants (a crash of the whole job)."""
    import psutil

    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = [parent, *parent.children(recursive=True)]
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=30)


@pytest.mark.slow
def test_two_process_launch_killed_and_resumed_equals_one_process_with_the_global_batch(
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
    args = [*launch, *_args(pitch_task, tiny_model, out, batch_size=3), "--checkpoint-every", "1"]

    # first launch: killed (every process, SIGKILL) once a checkpoint of step 2 or later exists
    stderr = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    state = out / "all" / "checkpoint" / "state.json"
    deadline = time.monotonic() + 300
    step = 0
    try:
        while time.monotonic() < deadline and first.poll() is None:
            try:
                step = json.loads(state.read_text())["step"]
            except (OSError, ValueError):  # not there yet, or being swapped in
                step = 0
            if step >= 2:
                break
            time.sleep(0.02)
    finally:
        _kill_tree(first.pid)  # torchrun starts each worker in a session of its own
        first.wait()
        stderr.close()
    err = (tmp_path / "first.log").read_text()[-2000:]
    assert 2 <= step < 6, f"the run was not caught mid-way (step {step}): {err}"
    assert not (out / "report.json").exists()

    # second launch: resumes from the checkpoint
    port = args.index("--main_process_port") + 1
    args[port] = str(_free_port())  # the killed run's port may still be held
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("report:") == 1  # only the main process reports

    # one run's files, written once
    assert sorted(p.parent.name for p in out.rglob("adapter_config.json")) == ["adapter"]
    assert (out / "report.json").is_file() and (out / "report.md").is_file()
    result = json.loads((out / "all" / "result.json").read_text())
    assert result["processes"] == 2 and result["steps"] == 6
    log = [json.loads(x) for x in (out / "all" / "train_log.jsonl").open()]
    # one line per step, not per process (a step logged but killed before its checkpoint was
    # written is done again on resuming: the later line counts)
    log = list({e["step"]: e for e in log}.values())
    assert [e["step"] for e in log] == [1, 2, 3, 4, 5, 6]
    assert log[-1]["loss"] < 0.2 * log[0]["loss"]

    # 2 processes x 3 clips are one step over the 6 clips one process takes with --batch-size 6:
    # the same losses and adapter (each process took its own half, gradients were averaged,
    # and the interrupted run resumed exactly)
    single = tmp_path / "single"
    assert (
        main([*_args(pitch_task, tiny_model, single, batch_size=6), "--checkpoint-every", "1"]) == 0
    )
    log1 = [json.loads(x) for x in (single / "all" / "train_log.jsonl").open()]
    assert json.loads((single / "all" / "result.json").read_text())["processes"] == 1
    np.testing.assert_allclose([e["loss"] for e in log], [e["loss"] for e in log1], rtol=1e-3)
    a = load_file(str(out / "all" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(single / "all" / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name].numpy(), b[name].numpy(), atol=1e-4, err_msg=name)

    # the adapter reloads as a model that tells the validation speakers' pitch apart
    valid = Manifest.load(pitch_task).filter(lambda u: u.speaker in result["valid_speakers"])
    proba = load_model(str(out / "all" / "adapter")).predict_proba(list(valid))
    predicted = [("sad", "happy")[i] for i in proba.argmax(1)]
    accuracy = np.mean([p == u.canonical for p, u in zip(predicted, valid, strict=True)])
    assert result["best_val_ua"] >= 0.9 and accuracy >= 0.9  # it learnt the pitch in 6 steps


def test_checkpoint_restores_each_process_its_own_random_state(tmp_path: Path) -> None:
    """Processes draw different random numbers (their micro-batches differ in shape)."""
    import torch

    from emoscope.models.finetune.checkpoint import (
        load_checkpoint_into,
        rng_state,
        save_checkpoint,
    )

    module = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(module.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    states, draws = [], []
    for seed in (1, 2):  # what two processes' generators would be at the checkpoint
        torch.manual_seed(seed)
        states.append(rng_state())
        draws.append(torch.rand(4))
    parts = {"module": module, "optimizer": optimizer, "scheduler": scheduler}
    path = save_checkpoint(tmp_path, **parts, state={"step": 3}, rng=states)
    for index in (1, 0, 5):  # 5: more processes than saved ones take the first one's
        assert load_checkpoint_into(path, **parts, process_index=index) == {"step": 3}
        assert torch.equal(torch.rand(4), draws[index if index < 2 else 0])
