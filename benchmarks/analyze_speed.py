"""Speed and memory of `emoscope analyze` on long synthetic conversations (espeak-ng speech).

For each length (default 1, 10 and 60 minutes of speech: sentences with 1 s gaps, two voices)
a fresh Python process loads the models (timed apart), analyses the file once, and reports the
real-time factor (analysis wall seconds / audio seconds), the CPU seconds it used per audio
second (less sensitive to other processes on a shared machine), and its peak resident memory.

    nice .venv/bin/python benchmarks/analyze_speed.py --minutes 1 10 60 [--model default]
    nice .venv/bin/python benchmarks/analyze_speed.py --minutes 1 10 --adapt both

``--adapt on|off|both`` measures analyze with speaker adaptation (the default: with no
``--speakers`` the whole recording is adapted as one voice), without it, or both, one after the
other for each length (the fairest comparison on a shared machine).

Needs espeak-ng. Files are generated in a temporary folder (or --workdir) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from emoscope.pipeline import AnalyzeConfig, analyze, prepare
config = AnalyzeConfig(**json.loads(sys.argv[2]))
prepare(config)
load_s = time.perf_counter() - t0
from emoscope.testing import peak_rss_mb
rss_loaded = peak_rss_mb()
t1 = time.perf_counter()
u0 = resource.getrusage(resource.RUSAGE_SELF)
doc = analyze(sys.argv[1], config)
run_s = time.perf_counter() - t1
u1 = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime
print(json.dumps({
    "load_s": load_s, "run_s": run_s, "cpu_s": cpu_s, "duration_s": doc.recording.duration_s,
    "segments": len(doc.segments), "rss_loaded_mb": rss_loaded,
    "peak_rss_mb": peak_rss_mb(),
}))
"""


def measure(path: Path, config: dict) -> dict:
    """Analyse ``path`` in a fresh process; return its timings and peak memory."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(config)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    parser.add_argument("--model", default="default", help="emotion model ('none' for none)")
    parser.add_argument("--speakers", default=None, help="--speakers value (default: off)")
    parser.add_argument(
        "--adapt", choices=("on", "off", "both"), default="on", help="speaker adaptation"
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    from emoscope.testing.recordings import write_long_conversation

    workdir = args.workdir or Path(tempfile.gettempdir()) / "emoscope-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    config = {"model": None if args.model == "none" else args.model, "speakers": args.speakers}
    adapts = {"on": [True], "off": [False], "both": [True, False]}[args.adapt]
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPU(s), Python "
        f"{platform.python_version()}, load average {load:.1f}; "
        f"model={args.model} speakers={args.speakers}"
    )
    header = (
        f"{'audio':>8} {'adapt':>5} {'segments':>8} {'load s':>7} {'analyse s':>9} {'RTF':>6} "
        f"{'CPU/s':>6} "
        f"{'RSS loaded MB':>13} {'peak RSS MB':>11}"
    )
    print(header)
    print("-" * len(header))
    for minutes in args.minutes:
        path = workdir / f"conversation-{minutes:g}min.flac"
        if not path.exists():
            write_long_conversation(path, minutes=minutes)
        for adapt in adapts:
            r = measure(path, {**config, "speaker_adapt": adapt})
            print(
                f"{r['duration_s'] / 60:>6.1f} m {'on' if adapt else 'off':>5} "
                f"{r['segments']:>8} {r['load_s']:>7.1f} "
                f"{r['run_s']:>9.1f} {r['run_s'] / r['duration_s']:>6.3f} "
                f"{r['cpu_s'] / r['duration_s']:>6.3f} "
                f"{r['rss_loaded_mb']:>13.0f} {r['peak_rss_mb']:>11.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
