"""How long each way of reading a label off an audio-language model takes, per utterance.

Compares, on the same model and the same utterances:

- ``score``: label log-likelihoods, shared prompt KV cache (one prompt pass + one pass over all
  label continuations) — the default;
- ``choice``: the same with letters;
- ``generate``: greedy generation of up to 8 tokens, then parsing;
- ``naive``: one full forward pass per (utterance, answer form) pair (what ``score`` replaces;
  14 forms: 7 labels, as written and Capitalised).

By default it builds a tiny random Qwen2-Audio (hidden 64, 2 layers; real processor) in a
temporary folder, so the figures are *ratios* of the code paths' costs, not a real model's speed.
``--full-size`` builds the real Qwen2-Audio-7B architecture with random weights in bfloat16 and
needs a CUDA GPU (it adds utterances per second and peak GPU memory).

Usage: python benchmarks/lalm_scoring.py [--utterances 8] [--repeats 3] [--full-size]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _utterances(n: int) -> list[Any]:
    from emoscope.testing import tone
    from emoscope.types import Utterance

    return [
        Utterance(
            id=f"u{i}",
            waveform=tone(1.0 + 0.5 * (i % 3), freq=140.0 + 20.0 * i, seed=i),
            transcript="I told you already, I am not going.",
        )
        for i in range(n)
    ]


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Return the best wall-clock and the best CPU seconds of ``repeats`` calls.

    Best-of, and CPU time beside wall time, because other jobs may share the machine: CPU time
    of a single-threaded run is what the code path itself costs.
    """
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def _full_size_dir(tmp: Path) -> Path:
    import torch
    from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration

    from emoscope.testing.tiny_lalm import build_tiny_lalm

    if not torch.cuda.is_available():
        sys.exit("--full-size needs a CUDA GPU; this machine has none.")
    tiny = build_tiny_lalm(tmp / "processor")  # tokenizer + processor; 30 s windows below
    from transformers import AutoProcessor, WhisperFeatureExtractor

    processor = AutoProcessor.from_pretrained(tiny)
    processor.feature_extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000)
    config = Qwen2AudioConfig(audio_token_index=processor.tokenizer.audio_token_id)
    config.text_config.vocab_size = max(config.text_config.vocab_size, len(processor.tokenizer))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # build in bfloat16 directly: 17 GB, not 34
    try:
        with torch.device("cuda"):
            model = Qwen2AudioForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    out = tmp / "full"
    model.save_pretrained(out)
    processor.save_pretrained(out)
    del model
    torch.cuda.empty_cache()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--full-size", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    logging.getLogger("emoscope").setLevel(logging.ERROR)  # random models answer gibberish

    import torch

    torch.set_num_threads(args.threads)
    from emoscope.models.base import load_model
    from emoscope.models.lalm.prompting import build_inputs
    from emoscope.models.lalm.scoring import combine_forms, score_labels_naive
    from emoscope.testing.tiny_lalm import build_tiny_lalm

    utts = _utterances(args.utterances)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = _full_size_dir(Path(tmp)) if args.full_size else build_tiny_lalm(Path(tmp) / "t")
        common = {"batch_size": args.batch_size, "condition": "both"}
        models = {
            mode: load_model(str(ckpt), mode=mode, max_new_tokens=8, **common).load()
            for mode in ("score", "choice", "generate")
        }
        score = models["score"]

        def naive() -> None:
            single = [
                build_inputs(
                    score.processor,
                    [u],
                    score.prompt,
                    condition="both",
                    mode="score",
                    labels=score.labels,
                    family=score.family,
                ).to(score.model.device, dtype=score.model.dtype)
                for u in utts
            ]
            score_labels_naive(score.model, single, [ids for _, ids in score.answer_forms()])

        rows: list[tuple[str, tuple[float, float]]] = []
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        for mode, model in models.items():
            rows.append((mode, _time(lambda m=model: m.predict_proba(utts), args.repeats)))
        rows.append(("naive", _time(naive, args.repeats)))
        peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None

        fast = score.log_likelihoods(utts[:2])
        single = [
            build_inputs(
                score.processor,
                [u],
                score.prompt,
                condition="both",
                mode="score",
                labels=score.labels,
                family=score.family,
            ).to(score.model.device, dtype=score.model.dtype)
            for u in utts[:2]
        ]
        forms = score.answer_forms()
        per_form = score_labels_naive(score.model, single, [ids for _, ids in forms]).numpy()
        ref = combine_forms(per_form, [k for k, _ in forms], len(score.labels))
        gap = float(np.abs(fast - ref).max())

    n = len(utts)
    base_wall, base_cpu = rows[0][1]
    kind = "Qwen2-Audio-7B architecture (random)" if args.full_size else "tiny Qwen2-Audio"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(
        f"{kind} on {device} ({args.threads} torch thread(s)); {n} utterances, "
        f"batch {args.batch_size}, 7 labels, audio+text; best of {args.repeats}"
    )
    print(
        f"{'mode':<10}{'wall ms/utt':>13}{'utt/s':>8}{'x score':>9}{'CPU ms/utt':>12}{'x score':>9}"
    )
    for mode, (wall, cpu) in rows:
        print(
            f"{mode:<10}{wall / n * 1000:>13.1f}{n / wall:>8.1f}{wall / base_wall:>9.2f}"
            f"{cpu / n * 1000:>12.1f}{cpu / base_cpu:>9.2f}"
        )
    print(f"max |score - naive| log-likelihood: {gap:.2e}")
    if peak is not None:
        print(f"peak GPU memory: {peak:.1f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
