"""Colours per label, shared CSS and small formatting helpers of the HTML reports."""

from __future__ import annotations

import hashlib
from html import escape

LABEL_COLOURS: dict[str, str] = {
    "neutral": "#8a8f98",
    "happy": "#e0a100",
    "sad": "#3b6fd1",
    "angry": "#d1343b",
    "fearful": "#7f4bc4",
    "disgust": "#3c9a4c",
    "surprised": "#e0712a",
    "calm": "#55a6a0",
}
"""Fixed colours of the canonical labels (colour-blind-distinguishable pairs where it matters)."""

_FALLBACK = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666")

NOT_A_DIAGNOSIS = (
    "This report is an automatic estimate of the emotions expressed in the voice and words of a "
    "recording. It is not a diagnosis and not a clinical assessment: it can be wrong, more so for "
    "short, quiet or overlapping speech, for accents and languages the model saw little of, and "
    "for acted or masked emotion. Use it to find moments worth listening to again, never as the "
    "only basis of a decision about a person."
)


def colour(label: str) -> str:
    """Return the colour of ``label`` (a stable fallback colour for non-canonical labels).

    Examples:
        >>> colour("sad")
        '#3b6fd1'
        >>> colour("boredom") == colour("boredom")
        True
    """
    if label in LABEL_COLOURS:
        return LABEL_COLOURS[label]
    index = int(hashlib.sha256(label.encode()).hexdigest(), 16) % len(_FALLBACK)
    return _FALLBACK[index]


def esc(value: object) -> str:
    """HTML-escape ``str(value)`` (quotes included)."""
    return escape(str(value), quote=True)


def clock(seconds: float) -> str:
    """Format seconds as ``m:ss.s``.

    Examples:
        >>> clock(75.25)
        '1:15.2'
    """
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def pct(value: float | None) -> str:
    """Format a share as a percentage (``-`` for none)."""
    return "-" if value is None else f"{100 * value:.0f}%"


CSP_META = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
)
"""Forbid every external load: a report that tried one would show an error in the console."""

CSS = """
:root { --ink:#1d232b; --muted:#5b6470; --line:#d9dde3; --bg:#ffffff; --soft:#f4f6f8; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: var(--muted); margin: 0 0 14px; }
.notice { background: #fff6e0; border: 1px solid #e8c66a; border-radius: 8px; padding: 10px 14px;
  margin: 14px 0; }
.notice strong { display: block; margin-bottom: 2px; }
.warn { background: #fdecec; border: 1px solid #e6a3a6; border-radius: 8px; padding: 8px 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: var(--soft); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .big { font-size: 22px; font-weight: 600; }
.card .small { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; background: var(--soft); }
table.confusion { width: auto; }
table.confusion td { min-width: 64px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.chip { display: inline-block; border-radius: 10px; padding: 0 8px; color: #fff;
  font-size: 13px; font-weight: 600; white-space: nowrap; }
.flag { display: inline-block; border-radius: 10px; padding: 0 7px; font-size: 12px;
  background: #fde2c8; color: #7a3b00; margin-left: 4px; white-space: nowrap; }
.seg { display: grid; grid-template-columns: 130px 1fr; gap: 10px; padding: 8px 0;
  border-bottom: 1px solid var(--line); }
.seg:target { background: #fffbe6; }
.seg .when { color: var(--muted); font-size: 13px; }
.seg .text { margin-top: 2px; }
.seg .why { color: var(--muted); font-size: 13px; margin-top: 4px; }
.seg .removed { color: var(--muted); font-style: italic; }
.bar { display: inline-block; height: 10px; border-radius: 2px; vertical-align: middle; }
.legend span { margin-right: 12px; white-space: nowrap; font-size: 13px; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 4px; vertical-align: -1px; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #444; }
dl { display: grid; grid-template-columns: 180px 1fr; gap: 2px 12px; margin: 6px 0; }
dt { color: var(--muted); }
dd { margin: 0; }
mark.w { border-radius: 3px; padding: 0 1px; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
@page { size: A4; margin: 14mm 12mm; }
@media print { main { max-width: none; padding: 0; } .seg { break-inside: avoid; } }
"""
