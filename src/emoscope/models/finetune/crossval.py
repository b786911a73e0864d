"""Cross-validated fine-tuning: one adapter per speaker-independent fold, and the fold report.

``OUT_DIR`` layout::

    config.json            the FinetuneConfig (a resumed run must match it)
    manifest.jsonl         the utterances used, with the folds they were given
    fold-00/               one folder per fold ("all/" with --folds none)
      adapter/             the best adapter: PEFT files, training_manifest.jsonl, finetune.json
      checkpoint/          the latest training checkpoint (resume)
      train_log.jsonl      loss and validation figures per step
      predictions.jsonl    test predictions (adapter, and zero-shot with the adapter off)
      result.json          the fold's figures (its presence marks the fold done)
    report.json, report.md the cross-validated report of every fold

Run the same command again after an interruption: finished folds are skipped and the running one
continues from its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.data.manifest import Manifest
from emoscope.errors import ManifestError, UsageError
from emoscope.models.finetune.config import FinetuneConfig
from emoscope.models.finetune.report import write_report
from emoscope.types import Utterance

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.jsonl"
RESULT_FILE = "result.json"
PREDICTIONS_FILE = "predictions.jsonl"

ProgressHook = Callable[[str, int, int, float], None]
"""Called as ``(fold name, step, total steps, loss)``."""


def parse_folds(text: str) -> str | int:
    """Parse ``--folds``: ``auto``, ``manifest``, ``loso``, ``none`` or a number of folds.

    Examples:
        >>> parse_folds("loso"), parse_folds("5")
        ('loso', 5)
        >>> parse_folds("x")
        Traceback (most recent call last):
        ...
        emoscope.errors.UsageError: --folds must be auto, manifest, loso, none or a number of \
speaker-grouped folds (>= 2). Got 'x'.
    """
    value = text.strip().lower()
    if value in ("auto", "manifest", "loso", "none"):
        return value
    if value.isdigit() and int(value) >= 2:
        return int(value)
    raise UsageError(
        "--folds must be auto, manifest, loso, none or a number of speaker-grouped folds (>= 2). "
        f"Got {text!r}."
    )


def usable_utterances(manifest: Manifest, labels: tuple[str, ...]) -> tuple[Manifest, int]:
    """Return the utterances whose canonical label is in ``labels``, and how many were left out.

    Raises:
        ManifestError: If none is usable.
    """
    keep = manifest.filter(lambda u: u.canonical in labels)
    if len(keep) == 0:
        raise ManifestError(
            f"No utterance has a canonical label among {', '.join(labels)}; nothing to train on. "
            "Check the corpus recipe's label mapping or --labels."
        )
    return keep, len(manifest) - len(keep)


def plan_folds(manifest: Manifest, folds: str | int, *, seed: int) -> Manifest:
    """Return the manifest with the folds to use (``none``: every fold ``None``).

    Raises:
        UsageError: If ``manifest`` folds are asked for and there are none.
    """
    from emoscope.data.splits import assign_folds

    if folds == "none":
        return manifest.map(lambda u: u.with_(fold=None))
    has_folds = any(u.fold is not None for u in manifest)
    if folds == "manifest" or (folds == "auto" and has_folds):
        if not has_folds:
            raise UsageError(
                "--folds manifest: the manifest has no folds. Use --folds loso or a number, or "
                "assign them with `emoscope split`."
            )
        return manifest
    if folds == "auto":
        n_speakers = len(manifest.speakers())
        return assign_folds(manifest, scheme="kfold", k=min(5, n_speakers), seed=seed)
    if folds == "loso":
        return assign_folds(manifest, scheme="loso")
    return assign_folds(manifest, scheme="kfold", k=int(folds), seed=seed)


def _run_key(config: FinetuneConfig, manifest_sha: str, folds: str | int) -> dict[str, Any]:
    return {"config": config.to_dict(), "manifest_sha256": manifest_sha, "folds": folds}


def _check_out_dir(out_dir: Path, key: dict[str, Any], *, overwrite: bool) -> None:
    import shutil

    path = out_dir / CONFIG_FILE
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored != key and not overwrite:
            raise UsageError(
                f"{out_dir} holds a fine-tuning run with other settings or data; resuming would "
                "mix them. Give another -o folder or --overwrite to start again."
            )
        if stored != key or overwrite:
            shutil.rmtree(out_dir)
    elif overwrite and out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(key, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _prediction_rows(
    test: list[Utterance], proba: np.ndarray, labels: tuple[str, ...], zero: np.ndarray | None
) -> list[dict[str, Any]]:
    rows = []
    for i, u in enumerate(test):
        row: dict[str, Any] = {
            "id": u.id,
            "speaker": u.speaker,
            "label": u.canonical,
            "predicted": labels[int(proba[i].argmax())],
            "probabilities": {
                lab: round(float(p), 6) for lab, p in zip(labels, proba[i], strict=True)
            },
        }
        if zero is not None:
            row["zero_shot"] = labels[int(zero[i].argmax())]
        rows.append(row)
    return rows


def _test_report(
    test: list[Utterance], proba: np.ndarray, labels: tuple[str, ...], seed: int
) -> dict[str, Any]:
    from emoscope.evaluation.metrics import classification_report

    index = {lab: i for i, lab in enumerate(labels)}
    y = [index[u.canonical] for u in test]
    return classification_report(
        y, proba.argmax(1).tolist(), labels=list(labels), proba=proba, n_resamples=200, seed=seed
    )


def run_fold(
    config: FinetuneConfig,
    accelerator: Any,
    fold_dir: Path,
    *,
    train: Manifest,
    test: Manifest | None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) one fold, test it, write its result; return the result."""
    from emoscope.data.splits import speaker_disjoint_validation
    from emoscope.models.finetune.trainer import open_session, train_fold

    fit, valid = speaker_disjoint_validation(train, config.val_fraction, config.seed)
    session = open_session(config, accelerator)
    outcome = train_fold(session, fold_dir, train=fit, valid=valid, on_step=on_step)
    result: dict[str, Any] = {
        "fold": fold_dir.name,
        "processes": accelerator.num_processes,
        "n_train": len(fit),
        "n_valid": len(valid),
        "train_speakers": fit.speakers(),
        "valid_speakers": valid.speakers(),
        "steps": outcome.steps,
        "total_steps": outcome.total_steps,
        "best_step": outcome.best_step,
        "best_val_ua": round(outcome.best_val_ua, 4),
        "stopped_early": outcome.stopped_early,
        "first_loss": outcome.history[0]["loss"] if outcome.history else None,
        "last_loss": outcome.history[-1]["loss"] if outcome.history else None,
        "trainable": outcome.trainable,
        "adapter": str(fold_dir / "adapter"),
    }
    if test is not None and len(test):
        test_u = list(test)
        proba = session.predict_proba(test_u)
        zero = (
            session.predict_proba(test_u, adapter=False)
            if config.baseline and config.head == "lm"
            else None
        )
        result["n_test"] = len(test_u)
        result["test_speakers"] = test.speakers()
        result["test"] = _test_report(test_u, proba, config.labels, config.seed)
        if zero is not None:
            result["zero_shot"] = _test_report(test_u, zero, config.labels, config.seed)
        if accelerator.is_main_process:
            with (fold_dir / PREDICTIONS_FILE).open("w", encoding="utf-8") as fh:
                for row in _prediction_rows(test_u, proba, config.labels, zero):
                    fh.write(json.dumps(row) + "\n")
    if accelerator.is_main_process:
        (fold_dir / RESULT_FILE).write_text(
            json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    del session
    accelerator.free_memory()  # the next fold loads a fresh base model
    return result


def finetune(
    manifest_path: Path,
    config: FinetuneConfig,
    out_dir: Path,
    *,
    folds: str | int = "auto",
    overwrite: bool = False,
    progress: ProgressHook | None = None,
) -> dict[str, Any]:
    """Fine-tune one adapter per fold of ``manifest_path``; write ``OUT_DIR`` (see module doc).

    Args:
        manifest_path: A manifest (JSONL) with speakers and canonical labels.
        config: The training options.
        out_dir: The output folder (resumed when it holds the same run).
        folds: ``auto`` (the manifest's folds, else 5 speaker-grouped folds), ``manifest``,
            ``loso``, ``none`` (one adapter on everything) or a number of folds.
        overwrite: Start again even if ``out_dir`` holds a run.
        progress: Optional hook called after every optimizer step.

    Returns:
        The report (also written to ``report.json`` and ``report.md``).

    Raises:
        UsageError: On bad options or an ``out_dir`` holding another run.
        ManifestError: If the manifest has no usable utterance or too few speakers.
    """
    from emoscope.data.splits import iter_folds
    from emoscope.models.finetune.trainer import make_accelerator

    manifest_path = Path(manifest_path)
    if not manifest_path.is_file():
        raise UsageError(f"{manifest_path}: no such manifest file.")
    accelerator = make_accelerator(config)
    manifest, dropped = usable_utterances(Manifest.load(manifest_path), config.labels)
    if dropped:
        log.warning("%d utterance(s) without a label in %s left out", dropped, config.labels)
    planned = plan_folds(manifest, folds, seed=config.seed)
    sha = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    out_dir = Path(out_dir)
    if accelerator.is_main_process:
        _check_out_dir(out_dir, _run_key(config, sha, folds), overwrite=overwrite)
        planned.to_jsonl(out_dir / MANIFEST_FILE)
    accelerator.wait_for_everyone()
    if folds == "none":
        plan: list[tuple[str, Manifest, Manifest | None]] = [("all", planned, None)]
    else:
        plan = [
            (f"fold-{int(test[0].fold):02d}", train, test) for train, test in iter_folds(planned)
        ]
    results = []
    for name, train, test in plan:
        fold_dir = out_dir / name
        done = fold_dir / RESULT_FILE
        if done.is_file():
            results.append(json.loads(done.read_text(encoding="utf-8")))
            continue
        hook = None
        if progress is not None:

            def hook(step: int, total: int, loss: float, name: str = name) -> None:
                progress(name, step, total, loss)

        results.append(
            run_fold(config, accelerator, fold_dir, train=train, test=test, on_step=hook)
        )
    report = write_report(
        out_dir,
        results,
        config=config,
        folds=folds,
        dropped=dropped,
        write=accelerator.is_main_process,
    )
    accelerator.wait_for_everyone()
    return report
