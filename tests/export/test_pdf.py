"""PDF export of the recording report (skips when WeasyPrint is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from emoscope.export import write_export
from emoscope.privacy import offline_guard
from emoscope.testing.documents import sample_document


def test_pdf_report(tmp_path: Path) -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: Pango missing
        pytest.skip(f"PDF export needs `pip install 'emoscope[pdf]'` and Pango ({exc})")
    with offline_guard():
        out = write_export(sample_document(), "pdf", tmp_path / "r.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 5_000
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "not a diagnosis" in text and "Hello Sarah" in text
