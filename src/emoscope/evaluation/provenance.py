"""What a run records about its model, and the leakage guard.

- :func:`model_record`: name, labels, modalities, ``info``/``card`` and prompt hash of a model.
- :func:`training_data_of`: the speakers and corpora a model is known to be trained on: its
  ``training_data`` attribute (``{"speakers": [...], "corpora": [...]}``), the same key of its
  ``card``, and an adapter folder's ``training_manifest.jsonl``.
- :func:`leakage_check`: the test set's overlap with them, as a loud warning.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emoscope.data.manifest import Manifest
from emoscope.types import Utterance

ADAPTER_TRAINING_MANIFEST = "training_manifest.jsonl"
"""The file of an adapter folder that lists what the adapter was trained on."""


def json_safe(value: Any) -> Any:
    """Return ``value`` as plain JSON data (unknown objects become strings)."""
    return json.loads(json.dumps(value, default=str))


def model_record(model: Any, spec: str) -> dict[str, Any]:
    """Return what a run records about its model: name, labels, info, card, prompt hash."""
    record: dict[str, Any] = {
        "spec": spec,
        "class": type(model).__name__,
        "labels": list(model.labels),
        "modalities": sorted(model.modalities),
    }
    for name in ("info", "card"):
        value = getattr(model, name, None)
        if callable(value):
            value = value()
        if value is not None:
            record[name] = json_safe(value)
    prompt_hash = getattr(model, "prompt_hash", None)
    if prompt_hash is None:
        for source in (record.get("info"), record.get("card")):
            if isinstance(source, dict) and source.get("prompt_hash"):
                prompt_hash = source["prompt_hash"]
                break
    record["prompt_hash"] = prompt_hash
    return record


def training_data_of(
    model: Any, adapter: Path | None, *, model_dir: Path | None = None
) -> dict[str, set[str]]:
    """Return the speakers and corpora a model (and its adapter) is known to be trained on.

    Sources: the model's ``training_data`` attribute, ``training_data`` in its ``card`` or
    ``info`` dict, and ``training_manifest.jsonl`` in the adapter folder or the model folder (a
    merged fine-tuned model carries it there).
    """
    speakers: set[str] = set()
    corpora: set[str] = set()
    sources: list[Any] = [getattr(model, "training_data", None)]
    for name in ("card", "info"):
        value = getattr(model, name, None)
        if isinstance(value, dict):
            sources.append(value.get("training_data"))
            if isinstance(value.get("card"), dict):
                sources.append(value["card"].get("training_data"))
    for source in sources:
        if isinstance(source, dict):
            speakers.update(str(s) for s in source.get("speakers") or ())
            corpora.update(str(c) for c in source.get("corpora") or ())
    for folder in (adapter, model_dir):
        if folder is not None and (Path(folder) / ADAPTER_TRAINING_MANIFEST).is_file():
            train = Manifest.load(Path(folder) / ADAPTER_TRAINING_MANIFEST)
            speakers.update(u.speaker for u in train if u.speaker is not None)
            corpora.update(u.corpus for u in train if u.corpus is not None)
    return {"speakers": speakers, "corpora": corpora}


def leakage_check(
    test: Sequence[Utterance],
    training: dict[str, set[str]],
    *,
    where: str = "",
    corpus_expected: bool = False,
) -> dict[str, Any] | None:
    """Return the test set's overlap with the training speakers and corpora (``None``: none).

    Speaker overlap is leakage (the figures are not speaker-independent). Corpus overlap makes
    the run in-corpus rather than cross-corpus; it is reported too, unless ``corpus_expected``
    (cross-validation within a corpus).

    Examples:
        >>> test = [Utterance(id="a", speaker="s1", corpus="c"), Utterance(id="b", speaker="s9")]
        >>> found = leakage_check(test, {"speakers": {"s1", "s2"}, "corpora": {"d"}})
        >>> found["speakers"], found["utterances"]
        (['s1'], 1)
    """
    speakers = sorted({u.speaker for u in test if u.speaker in training["speakers"]})
    corpora = (
        []
        if corpus_expected
        else sorted({u.corpus for u in test if u.corpus in training["corpora"]})
    )
    if not speakers and not corpora:
        return None
    affected = sum(1 for u in test if u.speaker in speakers or u.corpus in corpora)
    scope = f" ({where})" if where else ""
    parts = []
    if speakers:
        shown = ", ".join(speakers[:8]) + (
            f" and {len(speakers) - 8} more" if len(speakers) > 8 else ""
        )
        parts.append(
            f"LEAKAGE: test utterances{scope} come from {len(speakers)} speaker(s) the model was "
            f"trained on ({shown}); its figures are not speaker-independent"
        )
    if corpora:
        parts.append(
            f"the test corpus{scope} ({', '.join(corpora)}) was in the model's training data, so "
            "this is an in-corpus result, not a cross-corpus one"
        )
    return {
        "where": where or "all",
        "speakers": speakers,
        "corpora": corpora,
        "utterances": affected,
        "message": "; ".join(parts) + f" ({affected} of {len(test)} utterances affected).",
    }
