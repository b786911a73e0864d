"""`emoscope export` through the console script and in process, on real analyze output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from emoscope.cli import main
from emoscope.export.emotionml import check_emotionml
from emoscope.schema import read_document, write_document
from emoscope.testing.documents import sample_document

EXE = shutil.which("emoscope", path=str(Path(sys.executable).parent)) or "emoscope"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def demo_doc(tmp_path_factory: pytest.TempPathFactory, demo_sample: Path) -> Path:
    """The real `emoscope analyze samples/demo.flac` output."""
    out = tmp_path_factory.mktemp("demo")
    result = run("analyze", str(demo_sample), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out / "demo.json"


def test_export_demo_to_emotionml_via_console_script(demo_doc: Path) -> None:
    doc = read_document(demo_doc)
    result = run("export", str(demo_doc), "--to", "emotionml", "--media", "demo.flac")
    assert result.returncode == 0, result.stderr
    target = demo_doc.with_name("demo.emotionml.xml")
    xml = target.read_bytes()
    assert check_emotionml(xml) == []
    root = etree.fromstring(xml)
    emotions = root.findall("{http://www.w3.org/2009/10/emotionml}emotion")
    assert len(emotions) >= sum(1 for s in doc.segments if s.emotion)


@pytest.mark.parametrize("fmt", ["fhir", "csv", "html", "json"])
def test_export_demo_every_format(demo_doc: Path, tmp_path: Path, fmt: str) -> None:
    assert main(["export", str(demo_doc), "--to", fmt, "-o", str(tmp_path)]) == 0
    [written] = list(tmp_path.iterdir())
    assert written.stat().st_size > 200
    if fmt == "fhir":
        from fhirclient.models.bundle import Bundle

        Bundle(json.loads(written.read_text()), strict=True)


def test_redact_and_no_transcript_flags(tmp_path: Path) -> None:
    src = write_document(sample_document(), tmp_path / "s.json")
    out = tmp_path / "s.csv"
    assert main(["export", str(src), "--to", "csv", "-o", str(out), "--redact"]) == 0
    text = out.read_text()
    assert "Sarah" not in text and "[NAME]" in text
    assert main(["export", str(src), "--to", "csv", "-o", str(out), "--no-transcript"]) == 0
    assert "thank you" not in out.read_text()


def test_unknown_format_is_one_line_and_exit_1(tmp_path: Path) -> None:
    src = write_document(sample_document(), tmp_path / "s.json")
    result = run("export", str(src), "--to", "docx")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Known formats" in lines[0] and "emotionml" in lines[0]


def test_bad_document_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["export", str(bad), "--to", "csv"]) == 1
    assert "bad.json" in capsys.readouterr().err
