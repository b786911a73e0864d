"""Throughput of ``emoscope evaluate`` on RAVDESS and the overhead of its run store.

Runs the evaluation of a model on RAVDESS actors (default: the registered ``default`` model, or
the ``egemaps-logreg`` baseline fitted on the other actors when ``default`` is not registered)
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
    parser.add_argument("--batch-size", type=int, default=16)
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
        train = full.filter(lambda u: u.speaker not in actors)
        spec = str(load_model(name).fit(train).save(work / "egemaps-logreg"))
        print(
            f"fitted egemaps-logreg on {len(train)} utterances in {time.perf_counter() - t0:.1f} s"
        )

    durations = [float(u.extra.get("duration") or 0) for u in test]
    audio_s = sum(durations)

    # 1. bare prediction loop
    model = load_model(spec)
    model.predict_proba(list(test)[:2])  # warm-up (lazy model loading)
    model = load_model(spec)
    t0 = time.perf_counter()
    utts = list(test)
    for i in range(0, len(utts), args.batch_size):
        model.predict_proba(utts[i : i + args.batch_size])
    bare_s = time.perf_counter() - t0

    # 2. evaluate into a fresh run folder
    config = EvaluateConfig(manifest=test_path, model=spec, batch_size=args.batch_size)
    t0 = time.perf_counter()
    result = evaluate(config, run_dir=work / "run", warn=lambda m: None)
    eval_s = time.perf_counter() - t0
    timing = result.metrics["timing_last_session"]

    # 3. resume a finished run (no predictions left)
    t0 = time.perf_counter()
    evaluate(config, run_dir=work / "run", warn=lambda m: None)
    resume_s = time.perf_counter() - t0

    n = len(utts)
    table = Table(
        title=f"evaluate on RAVDESS actors {args.actors} ({n} utterances, {audio_s:.0f} s of "
        f"audio), model {name}, batch {args.batch_size}; {platform.machine()}, "
        f"{os.cpu_count()} CPU cores"
    )
    for col in ("what", "seconds", "utterances/s", "share"):
        table.add_column(col, justify="left" if col == "what" else "right")
    table.add_row("bare predict_proba loop", f"{bare_s:.2f}", f"{n / bare_s:.1f}", "")
    table.add_row("evaluate (fresh run)", f"{eval_s:.2f}", f"{n / eval_s:.1f}", "100%")
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
    print(f"run folder: {work / 'run'}; manifest rows {len(Manifest.from_jsonl(test_path))}")


if __name__ == "__main__":
    main()
