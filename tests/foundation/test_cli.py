"""The CLI skeleton through the installed console script (a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from emoscope import __version__
from emoscope.schema import validate_document
from emoscope.testing import tone, write_audio

EXE = shutil.which("emoscope", path=str(Path(sys.executable).parent)) or "emoscope"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def test_version_and_help() -> None:
    out = run("--version")
    assert out.returncode == 0 and __version__ in out.stdout
    out = run("--help")
    assert out.returncode == 0
    for command in ("analyze", "schema"):
        assert command in out.stdout


def test_schema_command_prints_the_shipped_schema() -> None:
    out = run("schema")
    assert out.returncode == 0
    assert json.loads(out.stdout)["title"] == "emoscope.prediction/1"


def test_usage_errors_exit_2_without_traceback() -> None:
    for args in (("analyze",), ("no-such-command",), ("analyze", "--no-such-flag", "x.wav")):
        out = run(*args)
        assert out.returncode == 2, args
        assert "Traceback" not in out.stderr


def test_analyze_bad_inputs_one_line_each_and_others_written(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.wav", tone(1.0))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.flac"
    text.write_text("not audio at all\n" * 10)
    zero = write_audio(tmp_path / "zero.wav", np.zeros(0, np.float32))
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(write_audio(tmp_path / "full.wav", tone(2.0)).read_bytes()[:20000])
    missing = tmp_path / "missing.wav"
    out_dir = tmp_path / "out"
    bad = [empty, text, zero, truncated, missing]
    out = run("analyze", str(good), *map(str, bad), "-o", str(out_dir))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    error_lines = [line for line in out.stderr.splitlines() if line.startswith("emoscope: error:")]
    assert len(error_lines) == len(bad)
    for path, line in zip(bad, error_lines, strict=True):
        assert str(path) in line
    doc = validate_document(json.loads((out_dir / "good.json").read_text()))
    assert doc.recording.duration_s == 1.0
    recorded = [json.loads(x) for x in (out_dir / "errors.jsonl").read_text().splitlines()]
    assert [r["input"] for r in recorded] == [str(p) for p in bad]


def test_analyze_resumes_and_skips_done_inputs(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.wav", tone(1.0))
    out_dir = tmp_path / "out"
    assert run("analyze", str(a), "-o", str(out_dir)).returncode == 0
    first = (out_dir / "a.json").stat().st_mtime_ns
    assert run("analyze", str(a), "-o", str(out_dir)).returncode == 0
    assert (out_dir / "a.json").stat().st_mtime_ns == first
    assert run("analyze", str(a), "-o", str(out_dir), "--overwrite").returncode == 0
    assert (out_dir / "a.json").stat().st_mtime_ns != first


def test_debug_shows_traceback(tmp_path: Path) -> None:
    out = run("--debug", "analyze", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o"))
    assert out.returncode == 1
    assert "no such file" in out.stderr


def test_models_lists_every_registered_backend() -> None:
    from emoscope.models.base import available_models

    out = run("models")
    assert out.returncode == 0
    for name in available_models():
        assert name in out.stdout


def test_python_dash_m_runs_the_same_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "emoscope.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and __version__ in out.stdout
