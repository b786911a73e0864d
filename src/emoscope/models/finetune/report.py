"""The cross-validated fine-tuning report: every fold, their mean and spread (JSON + Markdown)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emoscope.models.finetune.config import FinetuneConfig

FIGURES: tuple[str, ...] = ("ua", "wa", "macro_f1")


def _spread(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "sd": None, "min": None, "max": None}
    return {
        "mean": round(statistics.fmean(values), 4),
        "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the mean, standard deviation and range of each figure over the tested folds.

    Examples:
        >>> s = summarize([{"test": {"ua": 0.5, "wa": 0.5, "macro_f1": 0.4}},
        ...                {"test": {"ua": 0.7, "wa": 0.6, "macro_f1": 0.6}}])
        >>> s["test"]["ua"]["mean"], s["n_folds"]
        (0.6, 2)
    """
    out: dict[str, Any] = {"n_folds": sum(1 for r in results if "test" in r)}
    for part in ("test", "zero_shot"):
        tested = [r[part] for r in results if part in r]
        if tested:
            out[part] = {
                f: _spread([t[f] for t in tested if t.get(f) is not None]) for f in FIGURES
            }
    if "test" in out and "zero_shot" in out:
        gains = [r["test"]["ua"] - r["zero_shot"]["ua"] for r in results if "zero_shot" in r]
        out["ua_gain_over_zero_shot"] = _spread(gains)
    return out


def _fmt(x: Any) -> str:
    return "-" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def markdown(report: dict[str, Any]) -> str:
    """Return the report as readable Markdown."""
    cfg = report["config"]
    lines = [
        "# Fine-tuning report",
        "",
        f"Base model `{cfg['model']}`, head `{cfg['head']}`, LoRA r={cfg['rank']} "
        f"alpha={cfg['alpha']} dropout={cfg['dropout']}, lr {cfg['lr']}, weight decay "
        f"{cfg['weight_decay']}, balance `{cfg['balance']}`, prompt `{cfg['prompt']}` "
        f"({cfg['condition']}, {cfg['mode']}), labels: {', '.join(cfg['labels'])}.",
        f"Folds: `{report['folds']}` (speaker-independent; each training fold holds out "
        f"{cfg['val_fraction']:.0%} of its speakers for validation and early stopping, "
        f"patience {cfg['patience']}).",
        "",
        "| fold | test speakers | train / val / test | steps (best) | val UA | test UA | "
        "test WA | test F1 | zero-shot UA |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["folds_detail"]:
        t = r.get("test", {})
        z = r.get("zero_shot", {})
        speakers = ", ".join(r.get("test_speakers", [])[:4]) or "-"
        stop = " early" if r.get("stopped_early") else ""
        lines.append(
            f"| {r['fold']} | {speakers} | {r['n_train']} / {r['n_valid']} / "
            f"{r.get('n_test', '-')} | {r['steps']} ({r['best_step']}){stop} | "
            f"{_fmt(r['best_val_ua'])} | {_fmt(t.get('ua'))} | {_fmt(t.get('wa'))} | "
            f"{_fmt(t.get('macro_f1'))} | {_fmt(z.get('ua'))} |"
        )
    s = report["summary"]
    if "test" in s:
        lines += ["", f"Over {s['n_folds']} folds (mean ± sd, [min, max]):", ""]
        for part, title in (("test", "fine-tuned"), ("zero_shot", "zero-shot (adapter off)")):
            if part in s:
                cells = [
                    f"{f.upper()} {v['mean']:.3f} ± {v['sd']:.3f} [{v['min']:.3f}, {v['max']:.3f}]"
                    for f, v in s[part].items()
                    if v["mean"] is not None
                ]
                lines.append(f"- {title}: " + "; ".join(cells))
        if "ua_gain_over_zero_shot" in s:
            g = s["ua_gain_over_zero_shot"]
            lines.append(f"- UA gain over zero-shot: {g['mean']:+.3f} ± {g['sd']:.3f}")
    else:
        lines += ["", "No test folds (`--folds none`): one adapter trained on all speakers."]
    if report.get("dropped"):
        lines += ["", f"{report['dropped']} utterance(s) without a label in the set left out."]
    t = report["folds_detail"][0].get("trainable", {}) if report["folds_detail"] else {}
    if t:
        lines += [
            "",
            f"Trainable parameters: {t['trainable']:,} of {t['total']:,} "
            f"({100 * t['fraction']:.3f} %).",
        ]
    lines += [
        "",
        "Adapters: `<fold>/adapter` (use with `--adapter`); each records its training "
        "manifest (`training_manifest.jsonl`) for the leakage guard.",
        "",
    ]
    return "\n".join(lines)


def write_report(
    out_dir: Path,
    results: Sequence[dict[str, Any]],
    *,
    config: FinetuneConfig,
    folds: str | int,
    dropped: int = 0,
    write: bool = True,
) -> dict[str, Any]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``; return the report.

    ``write=False`` only builds it (the other processes of a multi-process run).
    """
    report = {
        "config": config.to_dict(),
        "folds": folds,
        "dropped": dropped,
        "summary": summarize(results),
        "folds_detail": list(results),
    }
    if not write:
        return report
    out_dir = Path(out_dir)
    (out_dir / "report.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (out_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    return report
