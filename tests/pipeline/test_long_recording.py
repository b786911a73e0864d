"""A 30-minute recording is analysed in bounded memory (the slow test of the analyze issue)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from emoscope.testing.recordings import SENTENCES, write_long_conversation

CHILD = r"""
import json, sys
from emoscope.pipeline import AnalyzeConfig, analyze
from emoscope.testing import peak_rss_mb
doc = analyze(sys.argv[1], AnalyzeConfig(model="chance"))
print(json.dumps({
    "duration_s": doc.recording.duration_s,
    "segments": len(doc.segments),
    "last_end": doc.segments[-1].end,
    "words": sum(len(s.words) for s in doc.segments),
    "peak_rss_mb": peak_rss_mb(),
}))
"""


def _analyse(path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_thirty_minutes_in_bounded_memory(tmp_path, espeak):
    # sparse conversation (a round of 8 sentences, then a minute of silence) keeps the ASR work
    # and so the test time down; the whole 30 minutes are still decoded, detected and segmented
    short = _analyse(write_long_conversation(tmp_path / "2min.flac", minutes=2, pause_s=60))
    long = _analyse(write_long_conversation(tmp_path / "30min.flac", minutes=30, pause_s=60))
    assert long["duration_s"] == pytest.approx(1800, abs=0.5)
    assert long["last_end"] > 1800 - 100  # speech was found to the end
    rounds = 1800 / (len(SENTENCES) * (1.0 + 3.3) + 60)  # 8 sentences of ~3.3 s, gaps, pause
    assert 0.9 * rounds * len(SENTENCES) <= long["segments"] <= 1.1 * rounds * len(SENTENCES)
    assert long["words"] >= 0.9 * rounds * len(" ".join(SENTENCES).split())
    # the decoded 30 minutes alone would take 110 MB as float32: memory must not grow like that
    assert long["peak_rss_mb"] - short["peak_rss_mb"] < 60, (short, long)
    assert long["peak_rss_mb"] < 1500
