"""apply_privacy on whole documents and keyed pseudonyms."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from emoscope.export import available_formats, export_bytes
from emoscope.privacy import apply_privacy, key_path, load_key, pseudonymous_id
from emoscope.schema import validate_document
from emoscope.testing.documents import sample_document

SECRETS = ("Sarah", "555-123", "123-4567", "ann@example.org", "March", "Tom")
EXPLANATION = {
    "label": "x",
    "words": [{"index": 0, "word": "Sarah", "importance": 0.5}],
}


def _all_exports(doc) -> dict[str, str]:
    """Every text format; the PDF is the HTML report laid out, so its HTML is what is checked."""
    return {
        fmt: export_bytes(doc, fmt).decode("utf-8") for fmt in available_formats() if fmt != "pdf"
    }


def test_sample_has_the_secrets_before() -> None:
    text = _all_exports(sample_document())["json"]
    assert all(s in text for s in SECRETS)


def test_redact_reaches_every_output() -> None:
    doc = apply_privacy(sample_document(), redact=True)
    validate_document(doc.to_json_dict())
    for fmt, text in _all_exports(doc).items():
        for secret in SECRETS:
            assert secret not in text, (fmt, secret)
    seg = doc.segments[2]
    assert seg.transcript == "Call me on [PHONE] or mail [EMAIL]."
    words = [w.word.strip() for w in seg.words]
    assert words == ["Call", "me", "on", "[PHONE]", "or", "mail", "[EMAIL]."]
    phone = seg.words[3]
    original = sample_document().segments[2].words
    assert (phone.start, phone.end) == (original[3].start, original[3].end)
    assert doc.provenance.config["privacy"] == {"redact": True, "no_transcript": False}


def test_redact_covers_explanations() -> None:
    doc = apply_privacy(sample_document(explanation=EXPLANATION), redact=True)
    assert doc.segments[0].explanation["words"][0]["word"] == "[NAME]"


def test_no_transcript_keeps_words_out_of_every_output() -> None:
    doc = apply_privacy(sample_document(explanation=EXPLANATION), no_transcript=True)
    for seg in doc.segments:
        assert seg.transcript is None and seg.words == []
        assert "no_transcript" in seg.flags
        assert "words" not in seg.explanation
    for fmt, text in _all_exports(doc).items():
        for word in ("thank you", "wonderful", "alone", "lying"):
            assert word not in text, (fmt, word)
    assert "transcript removed" in _all_exports(doc)["html"]


def test_nothing_asked_nothing_changed() -> None:
    doc = sample_document()
    assert apply_privacy(doc) is doc


def test_original_document_untouched() -> None:
    doc = sample_document()
    before = json.dumps(doc.to_json_dict())
    apply_privacy(doc, redact=True)
    assert json.dumps(doc.to_json_dict()) == before


def test_key_file_created_once_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMOSCOPE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert not key_path().exists()
    first = pseudonymous_id("interview-07.wav", prefix="rec")
    assert key_path() == tmp_path / "emoscope" / "key"
    assert stat.S_IMODE(key_path().stat().st_mode) == 0o600
    assert pseudonymous_id("interview-07.wav", prefix="rec") == first
    assert first.startswith("rec-") and len(first) == 16
    assert "interview" not in first


def test_env_key_wins_and_changes_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("EMOSCOPE_KEY", "alpha")
    assert load_key() == b"alpha"
    a = pseudonymous_id("speaker 1")
    monkeypatch.setenv("EMOSCOPE_KEY", "beta")
    assert pseudonymous_id("speaker 1") != a
    assert not key_path().exists()  # the env key needs no file


def test_redact_renames_speakers_that_look_like_names() -> None:
    doc = sample_document()
    renamed = {"spk-a": "Dr Miller", "spk-b": "Jane"}
    segs = [s.model_copy(update={"speaker": renamed[s.speaker]}) for s in doc.segments]
    changes = [c.model_copy(update={"speaker": "Jane"}) for c in doc.summary.changes]
    doc = doc.model_copy(
        update={"segments": segs, "summary": doc.summary.model_copy(update={"changes": changes})}
    )
    out = apply_privacy(doc, redact=True)
    assert [s.speaker for s in out.segments] == [
        "spk-r1",
        "spk-r2",
        "spk-r1",
        "spk-r2",
        "spk-r2",
        "spk-r2",
    ]
    assert {c.speaker for c in out.summary.changes} == {"spk-r2"}
    text = _all_exports(out)
    assert all("Miller" not in t and "Jane" not in t for t in text.values())
    kept = apply_privacy(sample_document(), redact=True)
    assert [s.speaker for s in kept.segments][:2] == ["spk-a", "spk-b"]
