"""Throughput of ``emoscope evaluate`` on RAVDESS and the overhead of its run store.

Runs the evaluation of a model on RAVDESS actors (default: the registered ``default`` model, or
the ``egemaps-logreg`` baseline fitted on actors 1-8 when ``default`` is not registered)
three ways and prints a table:

1. the bare prediction loop (``predict_proba`` over the same batches, nothing stored);
2. ``evaluate`` into a fresh run folder (store writes, metrics, bootstrap, files);
3. ``evaluate`` again on the finished folder (resume with nothing to do: reading the store and
   computing the metrics).

The run-store overhead is the time spent writing batches to SQLite over the whole run time.

Usage::

    nice .venv/bin/python benchmarks/evaluate_throughput.py [--model NAME] [--actors 1,2]
        [--batch-size 16] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import soundfile as sf
from rich.console import Console
from rich.table import Table

from emoscope.data.manifest import Manifest
from emoscope.data.recipes import prepare
from emoscope.evaluation.runner import EvaluateConfig, evaluate
from emoscope.models.base import available_models, load_model

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default=None, help="default, or egemaps-logreg when absent")
    parser.add_argument("--actors", default="19,20", help="test actors (RAVDESS numbers)")
    parser.add_argument("--train-actors", default="1-8", help="egemaps-logreg training actors")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="best of N timings")
    args = parser.parse_args()

    full = prepare("ravdess", args.data / "ravdess")
    actors = {f"ravdess/{int(a):02d}" for a in args.actors.split(",")}
    test = full.filter(lambda u: u.speaker in actors)
    work = Path(tempfile.mkdtemp(prefix="emoscope-bench-"))
    test_path = test.to_jsonl(work / "test.jsonl")
    name = args.model or ("default" if "default" in available_models() else "egemaps-logreg")
    spec = name
    if name == "egemaps-logreg":
        t0 = time.perf_counter()
        lo, hi = (int(x) for x in args.train_actors.split("-"))
        train_actors = {f"ravdess/{a:02d}" for a in range(lo, hi + 1)} - actors
        train = full.filter(lambda u: u.speaker in train_actors)
        spec = str(load_model(name).fit(train).save(work / "egemaps-logreg"))
        print(
            f"fitted egemaps-logreg on {len(train)} utterances in {time.perf_counter() - t0:.1f} s"
        )

    audio_s = sum(sf.info(u.audio).duration for u in test)
    utts = list(test)
    load_model(spec).predict_proba(utts[:2])  # warm-up (lazy libraries, model files)
    config = EvaluateConfig(manifest=test_path, model=spec, batch_size=args.batch_size)
    bare_s = eval_s = float("inf")
    for k in range(args.repeats):
        # 1. the bare prediction loop (a fresh model: no feature memo)
        model = load_model(spec)
        t0 = time.perf_counter()
        for i in range(0, len(utts), args.batch_size):
            model.predict_proba(utts[i : i + args.batch_size])
        bare_s = min(bare_s, time.perf_counter() - t0)
        # 2. evaluate into a fresh run folder
        t0 = time.perf_counter()
        run_result = evaluate(config, run_dir=work / f"run-{k}", warn=lambda m: None)
        if k == 0:
            for message in run_result.warnings:  # e.g. test actors in the training data
                print(f"warning: {message[:300]}")
        took = time.perf_counter() - t0
        if took < eval_s:
            eval_s, result = took, run_result
    timing = result.metrics["timing_last_session"]

    # 3. resume a finished run (no predictions left)
    t0 = time.perf_counter()
    evaluate(config, run_dir=result.run_dir, warn=lambda m: None)
    resume_s = time.perf_counter() - t0

    n = len(utts)
    table = Table(
        title=f"evaluate on RAVDESS actors {args.actors} ({n} utterances, {audio_s:.0f} s of "
        f"audio), model {name}, batch {args.batch_size}; {platform.machine()}, "
        f"{os.cpu_count()} CPU cores"
    )
    for col in ("what", "seconds", "utterances/s", "share"):
        table.add_column(col, justify="left" if col == "what" else "right")
    table.add_row(
        "bare predict_proba loop (best of runs)", f"{bare_s:.2f}", f"{n / bare_s:.1f}", ""
    )
    table.add_row(
        "evaluate, fresh run (best of runs)", f"{eval_s:.2f}", f"{n / eval_s:.1f}", "100%"
    )
    table.add_row(
        "  of which predicting",
        f"{timing['predict_s']:.2f}",
        "",
        f"{timing['predict_s'] / eval_s:.1%}",
    )
    table.add_row(
        "  of which run-store writes",
        f"{timing['store_s']:.3f}",
        "",
        f"{timing['store_s'] / eval_s:.2%}",
    )
    rest = eval_s - timing["wall_s"]
    table.add_row("  metrics, bootstrap, files", f"{rest:.2f}", "", f"{rest / eval_s:.1%}")
    table.add_row("evaluate (resume, nothing left)", f"{resume_s:.2f}", "", "")
    Console(width=140).print(table)
    print(
        f"UA {result.metrics['ua']:.3f}  WA {result.metrics['wa']:.3f}  "
        f"macro-F1 {result.metrics['macro_f1']:.3f}  (n = {result.metrics['n']})"
    )
    print(f"run folder: {result.run_dir}; manifest rows {len(Manifest.from_jsonl(test_path))}")
    store_only(work / "store-only.sqlite", batch_size=args.batch_size)


def store_only(path: Path, *, batch_size: int, n: int = 10000) -> None:
    """Print the cost of the run store alone: n rows of 7 probabilities in batches."""
    import numpy as np

    from emoscope.evaluation.store import Row, RunStore

    labels = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    proba = np.random.default_rng(0).dirichlet(np.ones(7), size=n)
    with RunStore(path) as store:
        t0 = time.perf_counter()
        for i in range(0, n, batch_size):
            store.add_batch(
                [Row(f"u{j}", labels, tuple(proba[j])) for j in range(i, min(n, i + batch_size))]
            )
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = list(store.rows())
        read_s = time.perf_counter() - t0
    print(
        f"run store alone: {n} rows in batches of {batch_size}: write {write_s:.2f} s "
        f"({1000 * write_s / n:.3f} ms/row, {1000 * write_s * batch_size / n:.2f} ms/transaction), "
        f"read back {read_s:.2f} s ({len(rows)} rows)"
    )


if __name__ == "__main__":
    main()
