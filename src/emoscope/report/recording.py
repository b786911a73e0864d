"""The recording report: one self-contained HTML file for a prediction document.

Sections: what the tool is not (first, not last), a summary (dominant state, distribution,
changes), an emotion timeline (inline SVG, one lane per speaker, one bar per segment whose
height is the confidence), speakers, quality warnings, the transcript with each segment marked by
its emotion, flags and explanation, and the model with its card. No scripts, no external URLs.

Examples:
    >>> from emoscope.testing.documents import sample_document
    >>> html = render_recording_report(sample_document())
    >>> html.count('class="segment"')
    6
    >>> "not a diagnosis" in html
    True
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from emoscope.report.style import CSP_META, CSS, NOT_A_DIAGNOSIS, clock, colour, esc, pct
from emoscope.types import PredictionDocument, Segment

TIMELINE_WIDTH = 1000
LANE_HEIGHT = 40
LEFT = 90

FLAG_TEXT = {
    "too_short": "shorter than the model's reliable minimum",
    "low_confidence": "the model was unsure",
    "mismatch": "the words heard and the transcript given disagree",
    "clipped": "the audio is clipped (distorted)",
    "low_speech": "little voiced speech",
    "quiet": "very quiet",
    "no_transcript": "no words available",
    "text_only": "predicted from the words alone",
    "audio_only": "predicted from the sound alone",
    "error": "the model failed on this segment",
}


def _labels(doc: PredictionDocument) -> list[str]:
    if doc.model is not None:
        return list(doc.model.labels)
    return sorted({s.emotion.label for s in doc.segments if s.emotion})


def _chip(label: str) -> str:
    return f'<span class="chip" style="background:{colour(label)}">{esc(label)}</span>'


def _legend(labels: list[str]) -> str:
    items = "".join(
        f'<span><i style="background:{colour(lab)}"></i>{esc(lab)}</span>' for lab in labels
    )
    return f'<div class="legend">{items}</div>'


def _ticks(duration: float) -> list[float]:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if duration / step <= 12:
            break
    n = int(duration // step)
    return [i * step for i in range(n + 1)]


def timeline_svg(doc: PredictionDocument) -> str:
    """Return the emotion timeline as inline SVG (one ``rect.segment`` per segment)."""
    duration = max(doc.recording.duration_s, max((s.end for s in doc.segments), default=0), 1e-3)
    speakers = list(dict.fromkeys(s.speaker or "unknown" for s in doc.segments)) or ["unknown"]
    width = TIMELINE_WIDTH
    plot = width - LEFT - 30
    height = 28 + LANE_HEIGHT * len(speakers) + 8

    def x(t: float) -> float:
        return LEFT + plot * t / duration

    parts = [
        f'<svg id="timeline" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="Emotion timeline: one bar per segment, height = confidence">'
    ]
    for t in _ticks(duration):
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="20" y2="{height - 8}" stroke="#e3e6ea"/>'
            f'<text x="{x(t):.1f}" y="14" text-anchor="middle">{esc(clock(t))}</text>'
        )
    for i, spk in enumerate(speakers):
        top = 24 + i * LANE_HEIGHT
        parts.append(
            f'<rect x="{LEFT}" y="{top}" width="{plot}" height="{LANE_HEIGHT - 6}" '
            f'fill="#f6f7f9"/><text x="{LEFT - 8}" y="{top + LANE_HEIGHT / 2}" '
            f'text-anchor="end">{esc(spk)}</text>'
        )
    for change in doc.summary.changes:
        parts.append(
            f'<line class="change" x1="{x(change.time):.1f}" x2="{x(change.time):.1f}" y1="20" '
            f'y2="{height - 8}" stroke="#999" stroke-dasharray="3,3"/>'
        )
    for seg in doc.segments:
        lane = speakers.index(seg.speaker or "unknown")
        top = 24 + lane * LANE_HEIGHT
        full = LANE_HEIGHT - 6
        label = seg.emotion.label if seg.emotion else "none"
        conf = seg.emotion.confidence if seg.emotion else 0.0
        bar = max(3.0, full * conf)
        x0, w = x(seg.start), max(2.0, x(seg.end) - x(seg.start))
        fill = colour(label) if seg.emotion else "#c8ccd2"
        tip = f"{clock(seg.start)}-{clock(seg.end)} {seg.speaker or ''}: {label} ({pct(conf)})"
        if seg.flags:
            tip += " - " + ", ".join(seg.flags)
        parts.append(
            f'<a href="#{esc(seg.id)}"><rect x="{x0:.1f}" y="{top}" width="{w:.1f}" '
            f'height="{full}" fill="{fill}" fill-opacity="0.18"/>'
            f'<rect class="segment" data-segment="{esc(seg.id)}" data-label="{esc(label)}" '
            f'data-confidence="{conf:.3f}" x="{x0:.1f}" y="{top + full - bar:.1f}" '
            f'width="{w:.1f}" height="{bar:.1f}" fill="{fill}"><title>{esc(tip)}</title></rect>'
            "</a>"
        )
        if seg.flags:
            parts.append(
                f'<path class="flagmark" d="M{x0:.1f},{top} l9,0 l-4.5,8 z" fill="#e0712a">'
                f"<title>{esc(', '.join(seg.flags))}</title></path>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _distribution_svg(distribution: dict[str, float], labels: list[str]) -> str:
    rows = [lab for lab in labels if lab in distribution] or list(distribution)
    height = 22 * len(rows) + 4
    parts = [f'<svg class="dist" viewBox="0 0 520 {height}" width="520" role="img">']
    for i, lab in enumerate(rows):
        p = distribution[lab]
        y = 4 + 22 * i
        parts.append(
            f'<text x="80" y="{y + 12}" text-anchor="end">{esc(lab)}</text>'
            f'<rect x="88" y="{y}" width="{max(1.0, 360 * p):.1f}" height="15" '
            f'fill="{colour(lab)}"/><text x="{96 + 360 * p:.1f}" y="{y + 12}">{pct(p)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _summary(doc: PredictionDocument, labels: list[str]) -> str:
    s = doc.summary
    cards = [
        ("dominant state", _chip(s.dominant) if s.dominant else "-", "duration-weighted"),
        ("speech", clock(s.speech_s), f"of {clock(doc.recording.duration_s)}"),
        ("segments", str(s.n_segments), f"{len(s.changes)} change(s) of state"),
        ("mismatches", str(s.mismatched_segments), "words vs transcript"),
    ]
    html = ['<div class="cards">']
    for title, big, small in cards:
        html.append(
            f'<div class="card"><div class="small">{esc(title)}</div><div class="big">{big}</div>'
            f'<div class="small">{esc(small)}</div></div>'
        )
    html.append("</div>")
    if s.distribution:
        html.append("<h3>Distribution over the recording</h3>")
        html.append(_distribution_svg(s.distribution, labels))
    if s.changes:
        html.append(
            "<h3>Changes</h3><table><tr><th>time</th><th>speaker</th><th>from</th><th>to</th></tr>"
        )
        for c in s.changes:
            html.append(
                f"<tr><td>{clock(c.time)}</td><td>{esc(c.speaker or '-')}</td>"
                f"<td>{_chip(c.from_label)}</td><td>{_chip(c.to_label)}</td></tr>"
            )
        html.append("</table>")
    return "".join(html)


def _speakers(doc: PredictionDocument) -> str:
    per: dict[str, list[Segment]] = defaultdict(list)
    for seg in doc.segments:
        per[seg.speaker or "unknown"].append(seg)
    if not per:
        return "<p>No speech segments.</p>"
    rows = [
        "<table><tr><th>speaker</th><th class='num'>segments</th><th class='num'>speech</th>"
        "<th>most frequent state</th><th>states</th></tr>"
    ]
    for spk, segs in per.items():
        time: dict[str, float] = defaultdict(float)
        for seg in segs:
            if seg.emotion:
                time[seg.emotion.label] += seg.duration
        total = sum(seg.duration for seg in segs)
        top = max(time, key=time.__getitem__) if time else None
        bars = "".join(
            f'<span class="bar" title="{esc(lab)} {pct(t / total)}" '
            f'style="width:{160 * t / total:.0f}px;background:{colour(lab)}"></span>'
            for lab, t in sorted(time.items(), key=lambda kv: -kv[1])
        )
        rows.append(
            f"<tr><td>{esc(spk)}</td><td class='num'>{len(segs)}</td>"
            f"<td class='num'>{clock(total)}</td><td>{_chip(top) if top else '-'}</td>"
            f"<td>{bars}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _warnings(doc: PredictionDocument) -> str:
    items = [esc(note) for note in doc.summary.notes]
    by_flag: dict[str, list[Segment]] = defaultdict(list)
    for seg in doc.segments:
        for flag in seg.flags:
            by_flag[flag].append(seg)
    for flag, segs in by_flag.items():
        links = ", ".join(f'<a href="#{esc(s.id)}">{clock(s.start)}</a>' for s in segs)
        items.append(
            f"<b>{esc(flag)}</b> ({esc(FLAG_TEXT.get(flag, flag))}): {len(segs)} segment(s) "
            f"at {links}"
        )
    privacy = doc.provenance.config.get("privacy") or {}
    if privacy.get("no_transcript"):
        items.append("Transcripts were removed from this report (--no-transcript).")
    elif privacy.get("redact"):
        items.append(
            "Names, numbers, dates, phone numbers and e-mails in the transcript were "
            "replaced by placeholders (--redact)."
        )
    if not doc.segments:
        items.append("No speech segments were found or analysed.")
    if not items:
        return "<p>No quality warnings.</p>"
    return '<ul class="warnings">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _highlighted_text(seg: Segment) -> str:
    text = seg.transcript or ""
    words = (seg.explanation or {}).get("words") or []
    tokens = text.split()
    if not words or len(words) != len(tokens):
        return esc(text)
    peak = max((abs(float(w.get("importance", 0.0))) for w in words), default=0.0)
    if peak <= 0:
        return esc(text)
    out = []
    for token, item in zip(tokens, words, strict=True):
        weight = float(item.get("importance", 0.0)) / peak
        if weight > 0.25:
            out.append(
                f'<mark class="w" title="word importance {weight:.2f}" '
                f'style="background:rgba(224,161,0,{0.15 + 0.45 * weight:.2f})">{esc(token)}</mark>'
            )
        else:
            out.append(esc(token))
    return " ".join(out)


def _occlusion_svg(seg: Segment, temporal: dict[str, Any]) -> str:
    values = [float(v) for v in temporal.get("importance") or []]
    starts = [float(v) for v in temporal.get("starts") or []]
    ends = [float(v) for v in temporal.get("ends") or []]
    if not values or len(values) != len(starts) or len(ends) != len(starts):
        return ""
    width, height = 240.0, 22.0
    span = max(ends[-1], 1e-3)
    peak = max(max(abs(v) for v in values), 1e-6)
    bars = []
    for a, b, v in zip(starts, ends, values, strict=True):
        h = (height / 2 - 1) * abs(v) / peak
        y = height / 2 - h if v >= 0 else height / 2
        fill = "#d1343b" if v >= 0 else "#3b6fd1"
        bars.append(
            f'<rect class="occ" x="{width * a / span:.1f}" y="{y:.1f}" '
            f'width="{max(1.0, width * (b - a) / span - 1):.1f}" height="{max(h, 0.5):.1f}" '
            f'fill="{fill}"><title>{clock(seg.start + a)}-{clock(seg.start + b)}: '
            f"{v:+.3f}</title></rect>"
        )
    return (
        f'<svg class="occlusion" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="importance of each moment">'
        f'<line x1="0" x2="{width:.0f}" y1="{height / 2}" y2="{height / 2}" stroke="#ccc"/>'
        + "".join(bars)
        + "</svg>"
    )


def _explanation(seg: Segment) -> str:
    exp = seg.explanation or {}
    label = str(exp.get("label", "?"))
    parts = []
    modality = exp.get("modality") or {}
    contribution = modality.get("contribution") or {}
    if contribution:
        shares = ", ".join(f"{esc(k)} {v:+.2f}" for k, v in contribution.items())
        alone = "; ".join(
            f"{esc(m)} alone {pct((modality.get(m) or {}).get(label))}"
            for m in ("audio", "text")
            if modality.get(m)
        )
        parts.append(f"what each part adds to p({esc(label)}): {shares} ({alone})")
    cues = exp.get("cues") or {}
    if cues.get("description"):
        parts.append(f"voice: {esc(cues['description'])}")
    temporal = exp.get("temporal") or {}
    strip = _occlusion_svg(seg, temporal) if temporal else ""
    if temporal.get("peak") is not None:
        parts.append(f"most telling moment around {clock(seg.start + float(temporal['peak']))}")
    if not parts and not strip:
        return ""
    return f'<div class="why">{"; ".join(parts)}</div>{strip}'


def _stacked(probabilities: dict[str, float], *, width: int = 120) -> str:
    """A one-line stacked bar of a whole distribution (largest first)."""
    parts = "".join(
        f'<span class="bar" title="{esc(lab)} {pct(p)}" '
        f'style="width:{width * p:.1f}px;background:{colour(lab)};border-radius:0"></span>'
        for lab, p in sorted(probabilities.items(), key=lambda kv: -kv[1])
        if width * p >= 0.5
    )
    return f'<span class="dist-bar" title="all labels">{parts}</span>'


def _details(seg: Segment) -> str:
    """Per-modality verdicts and dimensions, when the document has them."""
    parts = []
    names = {"audio": "sound", "text": "words"}
    verdicts = [
        f"{names.get(m, m)}: {esc(max(p, key=p.__getitem__))} {pct(max(p.values()))}"
        for m, p in seg.modalities.items()
        if p
    ]
    if verdicts:
        parts.append(" &middot; ".join(verdicts))
    if seg.dimensions is not None:
        dims = [
            f"{name} {value:+.2f}"
            for name, value in seg.dimensions.model_dump().items()
            if value is not None
        ]
        if dims:
            parts.append(", ".join(dims))
    return f'<div class="why">{" &middot; ".join(parts)}</div>' if parts else ""


def _transcript(doc: PredictionDocument) -> str:
    privacy = doc.provenance.config.get("privacy") or {}
    out = []
    for seg in doc.segments:
        label = seg.emotion.label if seg.emotion else None
        head = _chip(label) if label else '<span class="chip" style="background:#999">none</span>'
        if seg.emotion:
            head += f" {pct(seg.emotion.confidence)} {_stacked(seg.emotion.probabilities)}"
        head += "".join(
            f'<span class="flag" title="{esc(FLAG_TEXT.get(f, f))}">{esc(f)}</span>'
            for f in seg.flags
        )
        if seg.transcript:
            text = _highlighted_text(seg)
        elif privacy.get("no_transcript"):
            text = '<span class="removed">(transcript removed)</span>'
        else:
            text = '<span class="removed">(no words)</span>'
        out.append(
            f'<div class="seg" id="{esc(seg.id)}"><div><div>{esc(seg.speaker or "unknown")}</div>'
            f'<div class="when">{clock(seg.start)} - {clock(seg.end)}</div></div>'
            f'<div><div>{head}</div><div class="text">{text}</div>{_details(seg)}'
            f"{_explanation(seg)}</div></div>"
        )
    return "".join(out) or "<p>No speech segments.</p>"


def _model(doc: PredictionDocument) -> str:
    m = doc.model
    if m is None:
        return "<p>No model was run on this recording.</p>"
    rows: list[tuple[str, Any]] = [
        ("name", m.name),
        ("version", m.version),
        ("backend", m.backend),
        ("labels", ", ".join(m.labels)),
        ("modalities", ", ".join(m.modalities)),
    ]
    rows += [(k, v) for k, v in (("prompt", m.prompt_id), ("adapter", m.adapter_id)) if v]
    html = "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl>"
    if m.card:
        html += "<h3>Model card</h3><dl>"
        for key, value in m.card.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            html += f"<dt>{esc(key)}</dt><dd>{esc(shown)}</dd>"
        html += "</dl>"
    return html


def render_recording_report(doc: PredictionDocument, *, title: str | None = None) -> str:
    """Return the recording report as one HTML string (inline CSS and SVG, no scripts).

    Args:
        doc: The prediction document (after :func:`emoscope.privacy.apply_privacy`).
        title: The page title; default names the recording id.
    """
    labels = _labels(doc)
    title = title or f"Emotion report - {doc.recording.id}"
    model = f"{doc.model.name} {doc.model.version}" if doc.model else "no model"
    config = json.dumps(doc.provenance.config, ensure_ascii=False, sort_keys=True)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{CSP_META}
<title>{esc(title)}</title><style>{CSS}</style></head>
<body><main>
<h1>{esc(title)}</h1>
<p class="meta">Recording {esc(doc.recording.id)} &middot; {clock(doc.recording.duration_s)}
&middot; model {esc(model)} &middot; analysed {esc(doc.provenance.created)}</p>
<div class="notice" id="not-a-diagnosis"><strong>What this is not</strong>{esc(NOT_A_DIAGNOSIS)}
</div>
<h2>Summary</h2>{_summary(doc, labels)}
<h2>Timeline</h2>
<p class="meta">One lane per speaker; each bar is a segment, coloured by its most probable
emotion, its height the model's confidence. Dashed lines mark changes; click a bar to jump to its
words.</p>
{timeline_svg(doc)}{_legend(labels)}
<h2>Speakers</h2>{_speakers(doc)}
<h2>Quality warnings</h2>{_warnings(doc)}
<h2>Transcript</h2>{_transcript(doc)}
<h2>Model</h2>{_model(doc)}
<footer>emoscope {esc(doc.provenance.emoscope_version)} &middot; schema {esc(doc.schema_)}
&middot; explanation method {esc(doc.provenance.explanation_method or "none")}
&middot; configuration {esc(config)} &middot; no audio is stored in this file.</footer>
</main></body></html>
"""
