"""The export registry, CSV and JSON formats, atomic writing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from emoscope.errors import UnknownNameError
from emoscope.export import available_formats, export_bytes, register_exporter, write_export
from emoscope.schema import read_document
from emoscope.testing.documents import sample_document


def test_formats_listed() -> None:
    assert {"json", "emotionml", "fhir", "csv", "html"} <= set(available_formats())


def test_unknown_format_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError) as info:
        write_export(sample_document(), "docx", tmp_path / "x.docx")
    message = str(info.value)
    assert "'docx'" in message and "emotionml" in message and "fhir" in message
    assert not (tmp_path / "x.docx").exists()


def test_duplicate_registration_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_exporter("csv", lambda doc: b"", suffix=".csv", media_type="text/csv")


def test_folder_target_gets_recording_name(tmp_path: Path) -> None:
    out = write_export(sample_document(), "fhir", tmp_path)
    assert out == tmp_path / "rec-0123456789ab.fhir.json"
    assert json.loads(out.read_text())["resourceType"] == "Bundle"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_json_round_trip(tmp_path: Path) -> None:
    doc = sample_document()
    out = write_export(doc, "json", tmp_path / "d.json")
    assert read_document(out) == doc


def test_csv_rows(tmp_path: Path) -> None:
    doc = sample_document()
    rows = list(csv.DictReader(io.StringIO(export_bytes(doc, "csv").decode())))
    assert [r["segment_id"] for r in rows] == [s.id for s in doc.segments]
    sad = rows[3]
    assert sad["label"] == "sad" and sad["flags"] == "low_confidence"
    assert float(sad["p_sad"]) == pytest.approx(0.42, abs=1e-4)
    total = sum(float(v) for k, v in sad.items() if k.startswith("p_"))
    assert total == pytest.approx(1.0, abs=1e-3)
    assert rows[2]["transcript"].startswith("Call me on")
