"""Turn utterances into model inputs: chat messages, rendered prompts, processor outputs.

These functions are shared with fine-tuning (the same prompt is used to train and to score):

- :func:`build_messages`: the chat conversation of one utterance.
- :func:`render_prompts`: the processor's chat template applied (generation prompt appended).
- :func:`build_inputs`: tokenised, left-padded tensors plus audio features for a batch.
- :func:`answer_suffix`: the text the chat template puts after an assistant answer
  (``<|im_end|>`` for the Qwen family), to score a label as a *complete* answer.
- :func:`content_free_utterances`: the inputs contextual calibration estimates the prior from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emoscope.models.lalm.families import FamilySpec
from emoscope.prompts import PromptTemplate, check_condition
from emoscope.types import Utterance

SAMPLE_RATE = 16000

_ANSWER_PROBE = "XYZZY"


def build_messages(
    utterance: Utterance,
    prompt: PromptTemplate,
    *,
    condition: str,
    mode: str,
    labels: Sequence[str],
    audio_content: Mapping[str, Any] | None = None,
    answer: str | None = None,
) -> list[dict[str, Any]]:
    """Return the chat conversation asking for the emotion of one utterance.

    Args:
        utterance: The utterance (its transcript is used under ``text`` and ``both``).
        prompt: The prompt template.
        condition: ``audio``, ``text`` or ``both``.
        mode: ``score``, ``choice`` or ``generate``.
        labels: The closed label set.
        audio_content: The content item standing for the audio (the family's
            ``audio_content``); defaults to ``{"type": "audio"}``.
        answer: When given, an assistant turn with this text is appended (for training).

    Examples:
        >>> from emoscope.prompts import load_prompt
        >>> m = build_messages(Utterance(id="u", transcript="hi"), load_prompt("emotion-v1"),
        ...                    condition="both", mode="score", labels=("sad", "happy"))
        >>> [x["role"] for x in m], m[1]["content"][0]
        (['system', 'user'], {'type': 'audio'})
    """
    check_condition(condition)
    transcript = utterance.transcript if condition in ("text", "both") else None
    text = prompt.render_user(condition=condition, mode=mode, labels=labels, transcript=transcript)
    content: list[dict[str, Any]] = []
    if condition in ("audio", "both"):
        content.append(dict(audio_content or {"type": "audio"}))
    content.append({"type": "text", "text": text})
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": [{"type": "text", "text": prompt.system}]},
        {"role": "user", "content": content},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


def render_prompts(
    processor: Any,
    utterances: Sequence[Utterance],
    prompt: PromptTemplate,
    *,
    condition: str,
    mode: str,
    labels: Sequence[str],
    family: FamilySpec | None = None,
) -> list[str]:
    """Return one prompt string per utterance, ending where the assistant's answer begins."""
    audio_content = family.audio_content if family is not None else None
    return [
        processor.apply_chat_template(
            build_messages(
                u,
                prompt,
                condition=condition,
                mode=mode,
                labels=labels,
                audio_content=audio_content,
            ),
            tokenize=False,
            add_generation_prompt=True,
        )
        for u in utterances
    ]


def build_inputs(
    processor: Any,
    utterances: Sequence[Utterance],
    prompt: PromptTemplate,
    *,
    condition: str,
    mode: str,
    labels: Sequence[str],
    family: FamilySpec | None = None,
) -> Any:
    """Return the processor's batch (``input_ids``, ``attention_mask``, audio features).

    The tokenizer must pad on the left (the loader sets it), so that every row ends where the
    answer begins; :func:`emoscope.models.lalm.scoring.score_labels` checks it.

    Raises:
        AudioError: If an utterance needs audio (condition ``audio``/``both``) and has none.
    """
    texts = render_prompts(
        processor, utterances, prompt, condition=condition, mode=mode, labels=labels, family=family
    )
    kwargs: dict[str, Any] = {
        "text": texts,
        "return_tensors": "pt",
        "text_kwargs": {"padding": True, "padding_side": "left"},
    }
    if condition in ("audio", "both"):
        kwargs["audio"] = [u.load_audio(sample_rate=SAMPLE_RATE) for u in utterances]
        # every clip padded to the encoder's full window: features independent of the batch
        kwargs["audio_kwargs"] = {"sampling_rate": SAMPLE_RATE, "padding": "max_length"}
    return processor(**kwargs)


def answer_suffix(processor: Any) -> str:
    """Return what the chat template writes right after an assistant answer (e.g. ``<|im_end|>``).

    Found by rendering a conversation with a probe answer; trailing whitespace is dropped.
    Returns ``""`` when the template shows no such marker.
    """
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "q"}]},
    ]
    prefix = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = processor.apply_chat_template(
        [*messages, {"role": "assistant", "content": [{"type": "text", "text": _ANSWER_PROBE}]}],
        tokenize=False,
    )
    start = full.find(_ANSWER_PROBE, len(prefix) - 1 if prefix else 0)
    if not full.startswith(prefix) or start < 0:
        return ""
    return full[start + len(_ANSWER_PROBE) :].rstrip()


def effective_condition(utterance: Utterance, condition: str) -> str:
    """Return the condition one utterance is asked under.

    ``both`` uses what the utterance has: without a transcript it is asked as ``audio``, without
    audio as ``text`` (so removing a modality really removes it, e.g. in modality ablation).
    ``audio`` and ``text`` are kept as they are.

    Examples:
        >>> effective_condition(Utterance(id="u", transcript="hi"), "both")
        'text'
        >>> effective_condition(Utterance(id="u", transcript="hi"), "audio")
        'audio'
    """
    check_condition(condition)
    if condition != "both":
        return condition
    if not utterance.has_audio:
        return "text"
    if not utterance.has_text:
        return "audio"
    return "both"


def group_by_condition(utterances: Sequence[Utterance], condition: str) -> dict[str, list[int]]:
    """Return effective condition -> indices of the utterances asked under it (in order)."""
    groups: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        groups.setdefault(effective_condition(u, condition), []).append(i)
    return groups


def content_free_utterances(condition: str, *, seconds: float = 1.0) -> list[Utterance]:
    """Return the content-free inputs contextual calibration uses for ``condition``.

    ``audio``: a second of silence. ``text``: the transcripts ``"N/A"`` and ``""``.
    ``both``: silence with each of those transcripts (Zhao et al., 2021, "Calibrate before use").

    Examples:
        >>> [u.transcript for u in content_free_utterances("text")]
        ['N/A', '']
    """
    check_condition(condition)
    silence = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    if condition == "audio":
        return [Utterance(id="content-free-silence", waveform=silence)]
    texts = ["N/A", ""]
    return [
        Utterance(
            id=f"content-free-{i}",
            transcript=t,
            waveform=silence if condition == "both" else None,
        )
        for i, t in enumerate(texts)
    ]
