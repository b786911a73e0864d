"""W3C EmotionML 1.0 export (https://www.w3.org/TR/emotionml/).

Each segment becomes up to two ``<emotion>`` elements sharing one media reference with a time
fragment (``<reference uri="REC#t=1.2,3.4" role="expressedBy"/>``, Media Fragments 1.0):

- one over the W3C **big6** category set (``http://www.w3.org/TR/emotion-voc/xml#big6``) with a
  ``<category name=... confidence=...>`` per label that maps to it (angry -> anger, happy ->
  happiness, sad -> sadness, fearful -> fear, disgust -> disgust, surprised -> surprise);
- one over emoscope's own vocabulary ``#emoscope-other`` for the remaining labels (neutral,
  corpus-native labels). The vocabulary ships in ``emoscope/vocabularies/emotion-voc.xml`` and a
  copy, extended with any other labels of the model, is written inline into every export, so a
  reader can resolve every category name without fetching anything.

Dimensions (valence, arousal, dominance in [-1, 1]) become a third ``<emotion>`` over the W3C
PAD dimension set (pleasure, arousal, dominance), rescaled to [0, 1].
``duration`` (milliseconds) is set on each emotion; ``expressed-through`` lists the modalities the
model used. Segment id, speaker, flags and (unless removed) the transcript go in ``<info>`` in the
``emoscope`` namespace, which EmotionML allows there. :func:`check_emotionml` checks a document
against the specification's rules and is what the tests run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from importlib.resources import files
from typing import Any

from emoscope.export.registry import register_exporter
from emoscope.types import PredictionDocument

EMOTIONML_NS = "http://www.w3.org/2009/10/emotionml"
EMOSCOPE_NS = "https://emoscope.dev/ns/emotionml-info/1"
BIG6_URI = "http://www.w3.org/TR/emotion-voc/xml#big6"
BIG6 = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
PAD_URI = "http://www.w3.org/TR/emotion-voc/xml#pad-dimensions"
PAD = ("pleasure", "arousal", "dominance")
TO_PAD = {"valence": "pleasure", "arousal": "arousal", "dominance": "dominance"}
"""Document dimension (in [-1, 1]) -> PAD dimension (in [0, 1], value = (x + 1) / 2)."""
OTHER_VOCABULARY_ID = "emoscope-other"

TO_BIG6 = {
    "angry": "anger",
    "anger": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fearful": "fear",
    "fear": "fear",
    "happy": "happiness",
    "happiness": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "sadness": "sadness",
    "surprised": "surprise",
    "surprise": "surprise",
}
"""Label -> big6 category name, for the canonical labels and common corpus spellings."""

_E = f"{{{EMOTIONML_NS}}}"
_S = f"{{{EMOSCOPE_NS}}}"


@cache
def shipped_vocabulary() -> tuple[tuple[str, str], ...]:
    """Return the ``(name, description)`` items of the shipped ``emoscope-other`` vocabulary.

    Examples:
        >>> shipped_vocabulary()[0][0]
        'neutral'
    """
    text = files("emoscope").joinpath("vocabularies", "emotion-voc.xml").read_bytes()
    root = ET.fromstring(text)
    vocab = root.find(f"{_E}vocabulary[@id='{OTHER_VOCABULARY_ID}']")
    assert vocab is not None, "shipped vocabulary file lacks emoscope-other"
    return tuple(
        (item.get("name", ""), (item.findtext(f"{_E}info") or "").strip())
        for item in vocab.findall(f"{_E}item")
    )


def _fmt_time(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") or "0"


def media_fragment(uri: str, start: float, end: float) -> str:
    """Return ``uri`` with a Media Fragments temporal fragment ``#t=start,end`` (seconds).

    Examples:
        >>> media_fragment("talk.flac", 1.2, 3.45)
        'talk.flac#t=1.2,3.45'
    """
    return f"{uri.split('#', 1)[0]}#t={_fmt_time(start)},{_fmt_time(end)}"


def render_emotionml(doc: PredictionDocument, *, media_uri: str | None = None, **_: Any) -> bytes:
    """Return the document as an EmotionML 1.0 XML document (UTF-8).

    Args:
        doc: The prediction document.
        media_uri: The URI of the recording the times refer to; default: the recording's
            (pseudonymous) id as a relative reference.

    Examples:
        >>> from emoscope.testing.documents import sample_document
        >>> xml = render_emotionml(sample_document())
        >>> check_emotionml(xml)
        []
    """
    ET.register_namespace("", EMOTIONML_NS)
    ET.register_namespace("emoscope", EMOSCOPE_NS)
    labels = list(doc.model.labels) if doc.model else []
    other = [lab for lab in labels if lab not in TO_BIG6]
    root = ET.Element(f"{_E}emotionml", {"version": "1.0", "category-set": BIG6_URI})
    info = ET.SubElement(root, f"{_E}info")
    ET.SubElement(info, f"{_S}recording", {"id": doc.recording.id})
    if doc.model is not None:
        ET.SubElement(
            info,
            f"{_S}model",
            {"name": doc.model.name, "version": doc.model.version, "backend": doc.model.backend},
        )
    ET.SubElement(info, f"{_S}created").text = doc.provenance.created
    ET.SubElement(
        info, f"{_S}notice"
    ).text = "Automatic estimate of expressed emotion; not a diagnosis."
    vocab = ET.SubElement(root, f"{_E}vocabulary", {"type": "category", "id": OTHER_VOCABULARY_ID})
    known = dict(shipped_vocabulary())
    for name in [*known, *(lab for lab in other if lab not in known)]:
        item = ET.SubElement(vocab, f"{_E}item", {"name": name})
        if known.get(name):
            ET.SubElement(item, f"{_E}info").text = known[name]
    uri = media_uri or doc.recording.id
    expressed = " ".join(
        {"audio": "voice", "text": "text"}.get(m, m)
        for m in (doc.model.modalities if doc.model else [])
    )
    for seg in doc.segments:
        probs = seg.emotion.probabilities if seg.emotion else {}
        dims = seg.dimensions.model_dump() if seg.dimensions is not None else {}
        groups = (
            ("category", None, "big6", [(TO_BIG6[k], probs[k]) for k in labels if k in TO_BIG6]),
            ("category", f"#{OTHER_VOCABULARY_ID}", "other", [(k, probs[k]) for k in other]),
            (
                "dimension",
                PAD_URI,
                "pad",
                [(TO_PAD[k], v) for k, v in dims.items() if v is not None],
            ),
        )
        for kind, vocabulary, part, items in groups:
            if not items or (kind == "category" and seg.emotion is None):
                continue
            attrs = {"id": f"{seg.id}-{part}", "duration": str(round(seg.duration * 1000))}
            if vocabulary:
                attrs[f"{kind}-set"] = vocabulary
            if expressed:
                attrs["expressed-through"] = expressed
            emotion = ET.SubElement(root, f"{_E}emotion", attrs)
            for name, p in items:
                if kind == "category":
                    confidence = f"{min(1.0, max(0.0, p)):.4f}"
                    ET.SubElement(
                        emotion, f"{_E}category", {"name": name, "confidence": confidence}
                    )
                else:
                    value = f"{min(1.0, max(0.0, (p + 1) / 2)):.4f}"
                    ET.SubElement(emotion, f"{_E}dimension", {"name": name, "value": value})
            ET.SubElement(
                emotion,
                f"{_E}reference",
                {"uri": media_fragment(uri, seg.start, seg.end), "role": "expressedBy"},
            )
            seg_info = ET.SubElement(emotion, f"{_E}info")
            ET.SubElement(
                seg_info,
                f"{_S}segment",
                {
                    "id": seg.id,
                    "label": seg.emotion.label if seg.emotion else "",
                    "speaker": seg.speaker or "",
                    "flags": " ".join(seg.flags),
                },
            )
            if seg.transcript:
                ET.SubElement(seg_info, f"{_S}transcript").text = seg.transcript
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


_FRAGMENT = re.compile(r"#t=(?:npt:)?(\d+(?:\.\d+)?)?,(\d+(?:\.\d+)?)$")
_CHILD_ORDER = ("category", "dimension", "appraisal", "action-tendency")


def check_emotionml(xml: bytes | str) -> list[str]:
    """Return the violations of EmotionML 1.0 rules in ``xml`` (empty when it conforms).

    Checked: well-formed XML; root ``emotionml`` in the EmotionML namespace with
    ``version="1.0"``; each ``<emotion>`` has at least one descriptor; a ``<category>`` has a
    category set declared on its emotion or the root, its name is in that vocabulary (big6, or an
    inline ``<vocabulary type="category">`` referenced by ``#id``) and unique within the emotion;
    ``confidence`` values are numbers in [0, 1]; ``duration`` is a non-negative integer;
    ``<reference>`` has a ``uri`` whose temporal fragment, if any, has start < end.

    Examples:
        >>> check_emotionml('<emotionml xmlns="http://www.w3.org/2009/10/emotionml"/>')
        ['root: version must be "1.0"; got None']
    """
    problems: list[str] = []
    try:
        root = ET.fromstring(xml.encode() if isinstance(xml, str) else xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != f"{_E}emotionml":
        return [f"root must be {{{EMOTIONML_NS}}}emotionml; got {root.tag}"]
    if root.get("version") != "1.0":
        problems.append(f'root: version must be "1.0"; got {root.get("version")}')
    vocabularies: dict[str, set[str]] = {BIG6_URI: set(BIG6)}
    for vocab in root.findall(f"{_E}vocabulary"):
        vid, vtype = vocab.get("id"), vocab.get("type")
        if not vid or vtype not in {"category", "dimension", "appraisal", "action-tendency"}:
            problems.append(f"vocabulary {vid!r}: needs an id and a valid type; got {vtype!r}")
            continue
        vocabularies[f"#{vid}"] = {i.get("name", "") for i in vocab.findall(f"{_E}item")}
    for i, emotion in enumerate(root.findall(f"{_E}emotion")):
        where = f"emotion {emotion.get('id') or i}"
        descriptors = [c for c in emotion if c.tag in {f"{_E}{n}" for n in _CHILD_ORDER}]
        if not descriptors:
            problems.append(f"{where}: needs at least one category/dimension/appraisal/action")
        categories = emotion.findall(f"{_E}category")
        category_set = emotion.get("category-set") or root.get("category-set")
        if categories and not category_set:
            problems.append(f"{where}: <category> used without a declared category-set")
        allowed = vocabularies.get(category_set or "")
        if categories and category_set and allowed is None:
            problems.append(f"{where}: category-set {category_set} cannot be resolved")
        names = [c.get("name") for c in categories]
        if len(set(names)) != len(names):
            problems.append(f"{where}: category names must be unique; got {names}")
        for name in names:
            if not name:
                problems.append(f"{where}: <category> needs a name")
            elif allowed is not None and name not in allowed:
                problems.append(f"{where}: category {name!r} is not in {category_set}")
        for child in descriptors:
            value = child.get("confidence")
            if value is None:
                continue
            try:
                ok = 0.0 <= float(value) <= 1.0
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"{where}: confidence must be in [0, 1]; got {value!r}")
        dimensions = emotion.findall(f"{_E}dimension")
        dimension_set = emotion.get("dimension-set") or root.get("dimension-set")
        if dimensions and dimension_set is None:
            problems.append(f"{where}: <dimension> used without a declared dimension-set")
        dim_names = [d.get("name") for d in dimensions]
        if len(set(dim_names)) != len(dim_names):
            problems.append(f"{where}: dimension names must be unique; got {dim_names}")
        for dim in dimensions:
            if dimension_set == PAD_URI and dim.get("name") not in PAD:
                problems.append(f"{where}: dimension {dim.get('name')!r} is not in {PAD_URI}")
            value = dim.get("value")
            if value is None and dim.find(f"{_E}trace") is None:
                problems.append(f"{where}: <dimension> needs a value or a <trace>")
            elif value is not None:
                try:
                    ok = 0.0 <= float(value) <= 1.0
                except ValueError:
                    ok = False
                if not ok:
                    problems.append(f"{where}: dimension value must be in [0, 1]; got {value!r}")
        duration = emotion.get("duration")
        if duration is not None and not duration.isdigit():
            problems.append(
                f"{where}: duration must be a non-negative integer (ms); got {duration}"
            )
        for ref in emotion.findall(f"{_E}reference"):
            uri = ref.get("uri")
            if not uri:
                problems.append(f"{where}: <reference> needs a uri")
                continue
            if "#t=" in uri:
                m = _FRAGMENT.search(uri)
                if m is None or (m.group(1) and float(m.group(1)) >= float(m.group(2))):
                    problems.append(f"{where}: bad media fragment in {uri!r}")
    return problems


register_exporter(
    "emotionml",
    render_emotionml,
    suffix=".emotionml.xml",
    media_type="application/emotionml+xml",
    description="W3C EmotionML 1.0 (big6 + emoscope vocabulary, media time fragments)",
)
