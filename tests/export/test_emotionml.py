"""EmotionML 1.0 export checked against the specification's rules, with lxml."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from emoscope.export import export_bytes
from emoscope.export.emotionml import BIG6, BIG6_URI, EMOTIONML_NS, check_emotionml
from emoscope.labels import CANONICAL_LABELS
from emoscope.testing.documents import sample_document
from emoscope.types import EmotionScores, ModelInfo

NS = {"e": EMOTIONML_NS}


@pytest.fixture(scope="module")
def xml() -> bytes:
    return export_bytes(sample_document(), "emotionml", media_uri="session-12.flac")


def test_root_namespace_version_and_category_set(xml: bytes) -> None:
    root = etree.fromstring(xml)
    assert root.tag == f"{{{EMOTIONML_NS}}}emotionml"
    assert root.get("version") == "1.0"
    assert root.get("category-set") == BIG6_URI
    assert check_emotionml(xml) == []


def test_every_category_is_in_its_declared_vocabulary(xml: bytes) -> None:
    root = etree.fromstring(xml)
    inline = {
        f"#{v.get('id')}": {i.get("name") for i in v.findall("e:item", NS)}
        for v in root.findall("e:vocabulary", NS)
    }
    assert "neutral" in inline["#emoscope-other"]
    emotions = root.findall("e:emotion", NS)
    assert emotions
    for emotion in emotions:
        cset = emotion.get("category-set") or root.get("category-set")
        allowed = set(BIG6) if cset == BIG6_URI else inline[cset]
        names = [c.get("name") for c in emotion.findall("e:category", NS)]
        assert names and set(names) <= allowed
        assert len(names) == len(set(names))


def test_confidences_sum_per_segment_and_lie_in_unit_interval(xml: bytes) -> None:
    root = etree.fromstring(xml)
    totals: dict[str, float] = {}
    for emotion in root.findall("e:emotion", NS):
        seg = emotion.get("id").rsplit("-", 1)[0]
        for c in emotion.findall("e:category", NS):
            value = float(c.get("confidence"))
            assert 0.0 <= value <= 1.0
            totals[seg] = totals.get(seg, 0.0) + value
    # big6 + other together carry the whole distribution of each segment
    assert len(totals) == 6
    assert all(abs(t - 1.0) < 1e-3 for t in totals.values())


def test_timing_is_a_media_fragment_per_segment(xml: bytes) -> None:
    root = etree.fromstring(xml)
    doc = sample_document()
    refs = {}
    for emotion in root.findall("e:emotion", NS):
        ref = emotion.find("e:reference", NS)
        refs[emotion.get("id").rsplit("-", 1)[0]] = ref.get("uri")
        assert emotion.get("duration").isdigit()
    for seg in doc.segments:
        m = re.fullmatch(r"session-12\.flac#t=([\d.]+),([\d.]+)", refs[seg.id])
        assert m, refs[seg.id]
        assert float(m.group(1)) == pytest.approx(seg.start, abs=1e-3)
        assert float(m.group(2)) == pytest.approx(seg.end, abs=1e-3)


def test_neutral_goes_to_the_shipped_vocabulary_and_anger_to_big6(xml: bytes) -> None:
    root = etree.fromstring(xml)
    big6 = root.find("e:emotion[@id='seg-0005-big6']", NS)
    other = root.find("e:emotion[@id='seg-0005-other']", NS)
    anger = big6.find("e:category[@name='anger']", NS)
    assert float(anger.get("confidence")) == pytest.approx(0.7, abs=1e-4)
    assert other.get("category-set") == "#emoscope-other"
    assert [c.get("name") for c in other.findall("e:category", NS)] == ["neutral"]


def test_labels_outside_the_canonical_set_are_added_to_the_inline_vocabulary() -> None:
    doc = sample_document()
    labels = ["angry", "boredom", "zest"]
    probs = {"angry": 0.2, "boredom": 0.5, "zest": 0.3}
    model = ModelInfo(name="m", version="1", backend="b", labels=labels, modalities=["audio"])
    seg = doc.segments[0].model_copy(
        update={"emotion": EmotionScores.from_probabilities(probs), "modalities": {}}
    )
    doc = doc.model_copy(update={"model": model, "segments": [seg]})
    xml = export_bytes(doc, "emotionml")
    assert check_emotionml(xml) == []
    root = etree.fromstring(xml)
    items = {i.get("name") for i in root.findall("e:vocabulary/e:item", NS)}
    assert {"boredom", "zest"} <= items
    assert root.find("e:emotion", NS).get("expressed-through") == "voice"


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda x: x.replace(b'version="1.0"', b'version="2.0"'), "version"),
        (lambda x: x.replace(b'name="anger"', b'name="rage"'), "not in"),
        (lambda x: x.replace(b'confidence="0.7000"', b'confidence="1.7"', 1), "confidence"),
        (lambda x: re.sub(rb"#t=0\.5,4\.18", b"#t=5,4", x), "media fragment"),
        (lambda x: x.replace(b"emotionml xmlns", b"emotionml xmlns:x", 1), "root"),
        (lambda x: x[:-30], "well-formed"),
    ],
)
def test_checker_catches_broken_documents(xml: bytes, mutate, problem: str) -> None:
    broken = mutate(xml)
    assert broken != xml
    problems = check_emotionml(broken)
    assert any(problem in p for p in problems), problems


def test_document_without_model_exports_no_emotions() -> None:
    doc = sample_document(with_words=False)
    segs = [s.model_copy(update={"emotion": None, "modalities": {}}) for s in doc.segments]
    doc = doc.model_copy(update={"model": None, "segments": segs})
    xml = export_bytes(doc, "emotionml")
    root = etree.fromstring(xml)
    assert root.findall("e:emotion", NS) == []
    assert set(CANONICAL_LABELS) & {i.get("name") for i in root.iter(f"{{{EMOTIONML_NS}}}item")}


def test_dimensions_go_to_pad_rescaled() -> None:
    from emoscope.types import Dimensions

    doc = sample_document()
    seg = doc.segments[0].model_copy(
        update={"dimensions": Dimensions(valence=-0.5, arousal=0.2, dominance=None)}
    )
    xml = export_bytes(doc.model_copy(update={"segments": [seg, *doc.segments[1:]]}), "emotionml")
    assert check_emotionml(xml) == []
    pad = etree.fromstring(xml).find("e:emotion[@id='seg-0001-pad']", NS)
    assert pad.get("dimension-set") == "http://www.w3.org/TR/emotion-voc/xml#pad-dimensions"
    values = {d.get("name"): float(d.get("value")) for d in pad.findall("e:dimension", NS)}
    assert values == {"pleasure": 0.25, "arousal": 0.6}
    broken = xml.replace(b'name="pleasure"', b'name="valence"')
    assert any("not in" in p for p in check_emotionml(broken))
    broken = xml.replace(b'value="0.6000"', b'value="1.6"')
    assert any("dimension value" in p for p in check_emotionml(broken))
