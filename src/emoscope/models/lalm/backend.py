"""The transformers LALM backend: an EmotionModel over any registered audio-language family.

Three ways to read a label off the model (``mode``):

- ``score`` (default): the log-likelihood of every label as the complete assistant answer,
  shared-prefix batched (:func:`~emoscope.models.lalm.scoring.score_labels`), softmax over the
  closed set.
- ``choice``: the labels as lettered options in the prompt; the letters are scored the same way.
- ``generate``: greedy free text, mapped to a label by
  :func:`~emoscope.models.lalm.parsing.parse_label`. Unparseable answers get uniform
  probabilities and are counted in ``n_unparsed_`` and listed in ``last_unparsed_``, never
  silently turned into a label.

With ``calibrate=True`` the label prior the model shows on content-free inputs (silence, an empty
transcript) is estimated once per condition (``priors_``) and divided out of every prediction
(contextual calibration, Zhao et al. 2021).

Under condition ``both``, an utterance without a transcript is asked as ``audio`` and one without
audio as ``text`` (:func:`~emoscope.models.lalm.prompting.effective_condition`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import UsageError
from emoscope.models.lalm.config import LALMConfig
from emoscope.models.lalm.families import FAMILIES
from emoscope.models.lalm.parsing import parse_choice, parse_label
from emoscope.models.lalm.prompting import (
    answer_suffix,
    build_inputs,
    content_free_utterances,
    group_by_condition,
)
from emoscope.models.lalm.scoring import (
    combine_forms,
    continuation_ids,
    score_labels,
    scores_to_probabilities,
)
from emoscope.prompts import load_prompt, prompt_fingerprint
from emoscope.types import ModelInfo, Utterance

log = logging.getLogger(__name__)


class LALMModel:
    """Zero-shot emotion recognition with a transformers audio-language model.

    Args:
        config: The backend's options. The checkpoint must be on disk (checked at once); the
            weights load on first use, or with :meth:`load`.

    Raises:
        ModelLoadError: If the checkpoint or adapter is not on disk (offline).

    Attributes:
        labels: Column order of :meth:`predict_proba`.
        modalities: What the model is given (from ``config.condition``).
        prompt_id: The prompt template's id.
        prompt_hash: Fingerprint of template, labels, mode and condition.
        priors_: Calibration priors over ``labels`` per condition (estimated on first use).
        n_unparsed_: Generated answers no label could be read from (``generate`` mode).
        last_unparsed_: Ids of the unparseable utterances of the last call.
        last_answers_: The free-text answers of the last call (``generate`` mode).
    """

    def __init__(self, config: LALMConfig) -> None:
        from emoscope.models.lalm.loading import check_available

        check_available(config)  # a missing checkpoint fails here, not at the first prediction
        self.config = config
        self.family = FAMILIES[config.family]
        self.labels: tuple[str, ...] = tuple(config.labels)
        self.modalities: frozenset[str] = config.modalities
        self.prompt = load_prompt(config.prompt)
        self.prompt_id = self.prompt.id
        self.prompt_hash = prompt_fingerprint(
            self.prompt, labels=self.labels, mode=config.mode, condition=config.condition
        )
        self.priors_: dict[str, np.ndarray] = {}
        self.n_unparsed_ = 0
        self.last_unparsed_: list[str] = []
        self.last_answers_: list[str] = []
        self._model: Any = None
        self._processor: Any = None
        self._forms: list[tuple[int, list[int]]] | None = None

    # -- loading -----------------------------------------------------------------------------

    def load(self) -> LALMModel:
        """Load the weights and processor now (otherwise the first prediction does)."""
        if self._model is None:
            from emoscope.models.lalm.loading import load_checkpoint

            self._model, self._processor = load_checkpoint(self.config)
        return self

    @property
    def model(self) -> Any:
        """The loaded transformers model."""
        return self.load()._model

    @property
    def processor(self) -> Any:
        """The loaded processor (tokenizer padding on the left)."""
        return self.load()._processor

    @property
    def info(self) -> dict[str, Any]:
        """What the prediction document's ``model`` block records about this model."""
        checkpoint = self.config.checkpoint
        path = Path(checkpoint).expanduser()
        name = path.name if path.is_dir() else checkpoint
        version = self.config.revision
        if version is None and path.is_dir() and path.parent.name == "snapshots":
            version = path.name  # a Hugging Face cache snapshot folder is named by its commit
        if version is None and self._model is not None:
            version = getattr(self._model.config, "_commit_hash", None)
        return {
            "name": name,
            "version": version or "local",
            "backend": f"lalm/{self.family.name}",
            "labels": list(self.labels),
            "modalities": sorted(self.modalities),
            "prompt_id": self.prompt_id,
            "prompt_hash": self.prompt_hash,
            "adapter_id": Path(self.config.adapter).name if self.config.adapter else None,
            "card": {
                "family": self.family.name,
                "checkpoint": name,
                "mode": self.config.mode,
                "condition": self.config.condition,
                "calibrated": self.config.calibrate,
                "length_normalize": self.config.length_normalize,
                "answer_variants": self.config.answer_variants,
                "include_end_token": self.config.include_end_token,
                "transformers": _version_of("transformers"),
                "torch": _version_of("torch"),
            },
        }

    def model_info(self) -> ModelInfo:
        """Return :attr:`info` as the prediction document's :class:`~emoscope.types.ModelInfo`."""
        return ModelInfo(**self.info)

    # -- prediction --------------------------------------------------------------------------

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return ``(len(batch), len(labels))`` probabilities; rows sum to 1."""
        batch = list(batch)
        self.last_unparsed_ = []
        self.last_answers_ = []
        rows = [
            self._raw_proba(batch[i : i + self.config.batch_size])
            for i in range(0, len(batch), self.config.batch_size)
        ]
        proba = np.concatenate(rows) if rows else np.zeros((0, len(self.labels)))
        if self.config.calibrate and len(batch):
            for condition, idx in group_by_condition(batch, self.config.condition).items():
                proba[idx] = calibrate(proba[idx], self.prior_for(condition))
        return proba

    @property
    def prior_(self) -> np.ndarray | None:
        """The calibration prior of the configured condition (``None`` until estimated)."""
        return self.priors_.get(self.config.condition)

    def prior_for(self, condition: str) -> np.ndarray:
        """Return (estimating once) the mean label distribution on content-free inputs.

        Under ``both``, utterances lacking a modality are asked as ``audio`` or ``text`` and are
        calibrated with the prior of that condition.
        """
        if condition not in self.priors_:
            inputs = content_free_utterances(condition)
            self.priors_[condition] = self._raw_proba(inputs).mean(axis=0)
        return self.priors_[condition]

    def _inputs(self, batch: Sequence[Utterance], condition: str | None = None) -> Any:
        inputs = build_inputs(
            self.processor,
            batch,
            self.prompt,
            condition=condition or self.config.condition,
            mode=self.config.mode,
            labels=self.labels,
            family=self.family,
        )
        model = self.model
        return inputs.to(model.device, dtype=model.dtype)

    def _by_condition(self, batch: Sequence[Utterance], run: Any) -> list[Any]:
        """Run ``run(sub_batch, condition)`` per effective condition; rows in input order."""
        out: list[Any] = [None] * len(batch)
        for condition, idx in group_by_condition(batch, self.config.condition).items():
            for i, row in zip(idx, run([batch[i] for i in idx], condition), strict=True):
                out[i] = row
        return out

    def answer_forms(self) -> list[tuple[int, list[int]]]:
        """Every scored answer form as ``(label index, token ids)``.

        The first K forms are the labels' answer words (letters in ``choice`` mode) in label
        order; with ``answer_variants`` (score mode) their Capitalised forms follow. Each form
        ends with the end-of-turn marker when ``include_end_token`` is set.
        """
        if self._forms is None:
            choice = self.config.mode == "choice"
            answers = (
                self.prompt.letters(self.labels) if choice else self.prompt.answers(self.labels)
            )
            texts = list(enumerate(answers))
            if self.config.answer_variants and not choice:
                for i, answer in enumerate(answers):
                    variant = answer[:1].upper() + answer[1:]
                    if variant != answer:
                        texts.append((i, variant))
            suffix = answer_suffix(self.processor) if self.config.include_end_token else ""
            ids = continuation_ids(self.processor.tokenizer, [t for _, t in texts], suffix=suffix)
            self._forms = [(i, x) for (i, _), x in zip(texts, ids, strict=True)]
        return self._forms

    def continuations(self) -> list[list[int]]:
        """Token ids of each label's main answer form (answer word or letter, end marker)."""
        return [ids for _, ids in self.answer_forms()[: len(self.labels)]]

    def form_log_likelihoods(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return the summed log-likelihood of every answer form, ``(n, F)``."""
        if not batch:
            return np.zeros((0, len(self.answer_forms())))
        return np.stack(self._by_condition(batch, self._form_log_likelihoods))

    def log_likelihoods(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return each label's log-likelihood, ``(n, K)``: its answer forms' summed."""
        label_of = [k for k, _ in self.answer_forms()]
        return combine_forms(self.form_log_likelihoods(batch), label_of, len(self.labels))

    def _form_log_likelihoods(self, batch: Sequence[Utterance], condition: str) -> np.ndarray:
        tok = self.processor.tokenizer
        scores = score_labels(
            self.model,
            self._inputs(batch, condition),
            [ids for _, ids in self.answer_forms()],
            explicit_position_ids=self.family.explicit_position_ids,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else 0,
            per_pass=self.config.forms_per_pass,
        )
        return scores.numpy().astype(np.float64)

    def generate_text(self, batch: Sequence[Utterance]) -> list[str]:
        """Return the model's greedy free-text answers."""
        return list(self._by_condition(batch, self._generate_text)) if batch else []

    def _generate_text(self, batch: Sequence[Utterance], condition: str) -> list[str]:
        import torch

        inputs = self._inputs(batch, condition)
        tok = self.processor.tokenizer
        with torch.inference_mode():
            out = self.model.generate(
                **{k: v for k, v in dict(inputs).items() if k != "num_audio_tokens"},
                max_new_tokens=self.config.max_new_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
        new = out[:, inputs["input_ids"].shape[1] :]
        return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]

    def _raw_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        if not batch:
            return np.zeros((0, len(self.labels)))
        if self.config.mode == "generate":
            return self._generate_proba(batch)
        forms = self.answer_forms()
        scores = self.form_log_likelihoods(batch)
        if self.config.length_normalize:
            scores = scores / np.array([len(ids) for _, ids in forms], dtype=np.float64)
        labels = combine_forms(scores, [k for k, _ in forms], len(self.labels))
        return scores_to_probabilities(labels, [1] * len(self.labels))

    def _generate_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        texts = self.generate_text(batch)
        self.last_answers_.extend(texts)
        answers = dict(zip(self.labels, self.prompt.answers(self.labels), strict=True))
        k = len(self.labels)
        proba = np.full((len(batch), k), 1.0 / k)
        for i, (u, text) in enumerate(zip(batch, texts, strict=True)):
            label = parse_label(text, self.labels, answers=answers)
            if label is None:
                label = parse_choice(text, self.labels, answers=answers)
            if label is None:
                self.n_unparsed_ += 1
                self.last_unparsed_.append(u.id)
                log.warning("utterance %s: no label in the answer %r", u.id, text[:80])
                continue
            proba[i] = 0.0
            proba[i, self.labels.index(label)] = 1.0
        return proba


def _version_of(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def calibrate(proba: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Divide ``proba`` by ``prior`` column-wise and renormalise rows (contextual calibration).

    Examples:
        >>> calibrate(np.array([[0.6, 0.4]]), np.array([0.6, 0.4]))
        array([[0.5, 0.5]])
    """
    prior = np.clip(np.asarray(prior, dtype=np.float64), 1e-12, None)
    p = np.asarray(proba, dtype=np.float64) / prior[None, :]
    return p / p.sum(axis=1, keepdims=True)


OPTIONS_FILE = "emoscope-lalm.json"
"""A file in a model folder with LALM options (a saved :class:`LALMConfig`): lets
``--model FOLDER`` pick a mode, condition, prompt or calibration without more CLI flags."""


def lalm_from_path(config_cls: type[LALMConfig]) -> Any:
    """Return a ``from_path`` hook recognising folders of ``config_cls``'s family.

    A folder is recognised when it is a transformers checkpoint of the family (``config.json``
    ``model_type``), or when it holds an ``emoscope-lalm.json`` options file naming the family.
    Options in that file apply in both cases; a relative ``model`` path in it is taken
    relative to the folder, and a missing one means the folder itself.
    """
    from emoscope.models.lalm.loading import model_type_of

    family = FAMILIES[config_cls().family]

    def from_path(path: Path) -> LALMConfig | None:
        path = Path(path)
        options: dict[str, Any] = {}
        options_file = path / OPTIONS_FILE
        if options_file.is_file():
            try:
                options = json.loads(options_file.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise UsageError(f"{options_file} is not valid JSON: {exc}.") from None
            if not isinstance(options, dict):
                raise UsageError(f"{options_file} must hold a JSON object of LALM options.")
        model_type = model_type_of(path)
        is_checkpoint = model_type is not None and model_type in family.model_types
        named = options.get("family") == family.name
        if not is_checkpoint and not named:
            return None
        model = options.get("model")
        if model is None:
            options["model"] = str(path)
        elif not Path(str(model)).is_absolute() and (path / str(model)).exists():
            options["model"] = str(path / str(model))
        options["family"] = family.name
        return config_cls.from_dict(options)  # type: ignore[return-value]

    return from_path
