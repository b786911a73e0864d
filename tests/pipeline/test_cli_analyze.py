from __future__ import annotations

import json

import pytest

from emoscope.cli import main
from emoscope.schema import validate_document


def test_cli_analyze_demo_writes_valid_document_and_exports(demo_sample, tmp_path, capsys, truth):
    out = tmp_path / "out"
    transcript = demo_sample.with_name("demo.txt")
    code = main(
        [
            "analyze",
            str(demo_sample),
            "-o",
            str(out),
            "--model",
            "chance",
            "--transcript",
            str(transcript),
            "--export",
            "csv",
            "--export",
            "json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    doc = validate_document(json.loads((out / "demo.json").read_text()), source="demo.json")
    assert [s.transcript for s in doc.segments] == [t["text"] for t in truth]
    assert doc.model.name == "chance"
    assert doc.provenance.config["transcript"] == "demo.txt"  # the name, not the full path
    rows = (out / "demo.csv").read_text().splitlines()
    assert len(rows) == 1 + len(truth)
    assert "1 of 1 recording(s) written" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no-such-model"], "no-such-model"),
        (["--export", "docx"], "Known formats"),
        (["--speakers", "lots"], "--speakers"),
        (["--min-segment", "5", "--max-segment", "2"], "--min-segment"),
        (["--transcript", "x.txt", "second.wav"], "one recording"),
        (["--transcript", "notes.docx"], "unknown kind"),
    ],
)
def test_cli_usage_errors_exit_2_before_any_output(demo_sample, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code = main(["analyze", str(demo_sample), "-o", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert not (out / "demo.json").exists()


def test_cli_no_speaker_adapt_reaches_the_document(demo_sample, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["analyze", str(demo_sample), "-o", str(out), "--no-speaker-adapt"])
    assert code == 0, capsys.readouterr().err
    doc = validate_document(json.loads((out / "demo.json").read_text()), source="demo.json")
    assert doc.provenance.config["speaker_adapt"] is False
    assert not any("adaptation" in n for n in doc.summary.notes)
