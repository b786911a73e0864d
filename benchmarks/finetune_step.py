"""LoRA fine-tuning cost: trainable-parameter fraction, optimizer-step time and peak memory.

Usage::

    python benchmarks/finetune_step.py                       # tiny random Qwen2-Audio, CPU
    python benchmarks/finetune_step.py --model /ckpt/Qwen2-Audio-7B-Instruct --mixed-precision bf16
    python benchmarks/finetune_step.py --configs "lora-lm,lora-lm bf16,qlora-lm 4-bit"

Each configuration runs in its own process (so the peak memory is its own): one warm-up step,
then ``--steps`` timed optimizer steps on synthetic 3-second clips. Peak memory is the process's
peak resident set (CPU) or ``torch.cuda.max_memory_allocated`` (CUDA); "loaded" is the same
measure once the model and adapter are loaded, before the first step. "weights" is the bytes
of the model's parameters and buffers (the 4-bit rows: packed NF4 weights plus their scales).
bf16 rows run under ``torch.autocast`` (CPU or CUDA); 4-bit rows need bitsandbytes >= 0.50.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIGS = {
    "lora-lm": {},
    "lora-lm+gc": {"gradient_checkpointing": True},
    "lora-lm+audio": {"audio_encoder_lora": True},
    "classifier-head": {"head": "classifier"},
    "lora-lm bf16": {"mixed_precision": "bf16"},
    "qlora-lm 4-bit": {"load_in_4bit": True},
    "qlora-lm 4-bit bf16": {"load_in_4bit": True, "mixed_precision": "bf16"},
}
"""Each row's options; rows without ``mixed_precision`` take ``--mixed-precision``."""


def _weight_bytes(model: Any) -> int:
    """Bytes of ``model``'s parameters and buffers, plus the scales of 4-bit weights."""

    def size(t: Any) -> int:
        return t.numel() * t.element_size()

    total = sum(size(t) for t in [*model.parameters(), *model.buffers()])
    for module in model.modules():
        state = getattr(getattr(module, "weight", None), "quant_state", None)
        if state is not None:  # bitsandbytes: block scales (themselves quantised if nested)
            total += size(state.absmax) + size(state.code)
            if state.nested:
                total += size(state.state2.absmax) + size(state.state2.code)
    return total


def _run(model: str, name: str, args: argparse.Namespace, queue: mp.Queue) -> None:
    import numpy as np
    import torch

    from emoscope.models.finetune.config import FinetuneConfig
    from emoscope.models.finetune.trainer import _optimizer, make_accelerator, open_session
    from emoscope.testing import tone
    from emoscope.types import Utterance

    torch.set_num_threads(args.threads)
    options = {
        "gradient_checkpointing": False,
        "mixed_precision": args.mixed_precision,
        **CONFIGS[name],
    }
    config = FinetuneConfig(model=model, rank=args.rank, batch_size=args.batch_size, **options)
    acc = make_accelerator(config)
    session = open_session(config, acc)
    optimizer = _optimizer(session.module, config)
    session.module, optimizer = acc.prepare(session.module, optimizer)
    batch = [
        Utterance(id=f"u{i}", waveform=tone(args.seconds, freq=120.0 + 40 * i, seed=i))
        for i in range(args.batch_size)
    ]
    targets = [i % len(config.labels) for i in range(args.batch_size)]
    weights = np.ones(args.batch_size)
    cuda = torch.cuda.is_available()
    weight_bytes = _weight_bytes(session.unwrapped.lalm)
    loaded = (
        torch.cuda.memory_allocated() / 2**20
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    times = []
    for i in range(args.steps + 1):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        session.module.train()
        loss = session.loss(batch, targets, weights)
        acc.backward(loss)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if i:  # the first step warms up
            times.append(time.perf_counter() - t0)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    queue.put(
        {
            "config": name,
            **session.trainable,
            "step_ms": 1000 * statistics.median(times),
            "peak_mib": peak,
            "loaded_mib": loaded,
            "device": str(acc.device),
            "weights_kib": weight_bytes / 1024,
            "precision": config.mixed_precision,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Checkpoint folder (default: a tiny random Qwen2-Audio)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: best for the tiny model)"
    )
    parser.add_argument("--mixed-precision", default="no")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    model = args.model
    if model is None:
        from emoscope.testing.tiny_lalm import build_tiny_lalm

        model = str(build_tiny_lalm(Path(tempfile.mkdtemp()) / "tiny-qwen2-audio"))
    ctx = mp.get_context("spawn")
    rows = []
    for name in args.configs.split(","):
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(model, name, args, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    print(
        f"model {model}; batch {args.batch_size} x {args.seconds:g} s clips; LoRA r={args.rank}; "
        f"median of {args.steps} steps; {rows[0]['device']}"
    )
    print(
        f"{'config':<21}{'trainable':>10}{'total':>12}{'fraction':>10}{'weights KiB':>13}"
        f"{'step ms':>9}{'loaded MiB':>12}{'peak MiB':>10}"
    )
    for r in rows:
        print(
            f"{r['config']:<21}{r['trainable']:>10,}{r['total']:>12,}{100 * r['fraction']:>9.3f}%"
            f"{r['weights_kib']:>13,.0f}{r['step_ms']:>9.0f}{r['loaded_mib']:>12.0f}"
            f"{r['peak_mib']:>10.0f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
