"""Label scoring on tiny random models of the real architectures, loaded with from_pretrained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoscope.errors import UsageError
from emoscope.models.base import load_model
from emoscope.models.lalm.prompting import build_inputs
from emoscope.models.lalm.scoring import (
    combine_forms,
    score_labels,
    score_labels_naive,
    scores_to_probabilities,
)
from emoscope.types import Utterance


@pytest.mark.parametrize(
    ("condition", "mode"), [("audio", "score"), ("both", "choice"), ("text", "score")]
)
def test_batched_and_one_by_one_predictions_agree(
    tiny_dir: Path, utterances: list[Utterance], condition: str, mode: str
) -> None:
    model = load_model(str(tiny_dir), condition=condition, mode=mode, batch_size=4)
    batched = model.predict_proba(utterances)
    single = np.concatenate([model.predict_proba([u]) for u in utterances])
    assert batched.shape == (4, 7)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(batched, single, atol=1e-4)
    # the batch is really padded: prompts of different lengths
    inputs = model._inputs(utterances)
    assert (inputs["attention_mask"] == 0).any()
    # the log-likelihoods themselves agree, and really differ between utterances
    scores = model.log_likelihoods(utterances)
    single_scores = np.concatenate([model.log_likelihoods([u]) for u in utterances])
    np.testing.assert_allclose(scores, single_scores, atol=1e-4)
    assert np.abs(scores[0] - scores[3]).max() > 1e-3


@pytest.mark.parametrize(
    ("family", "condition", "mode"),
    [("qwen2-audio", "both", "score"), ("audio-flamingo-3", "audio", "choice")],
)
def test_cached_scoring_equals_per_label_full_forward_passes(
    request: pytest.FixtureRequest,
    utterances: list[Utterance],
    family: str,
    condition: str,
    mode: str,
) -> None:
    tiny = request.getfixturevalue("tiny_qwen2_audio" if family == "qwen2-audio" else "tiny_af3")
    model = load_model(str(tiny), condition=condition, mode=mode)
    assert model.family.name == family
    fast = model.log_likelihoods(utterances)
    single = [
        build_inputs(
            model.processor,
            [u],
            model.prompt,
            condition=condition,
            mode=mode,
            labels=model.labels,
            family=model.family,
        )
        for u in utterances
    ]
    forms = model.answer_forms()
    per_form = score_labels_naive(model.model, single, [ids for _, ids in forms]).numpy()
    slow = combine_forms(per_form, [k for k, _ in forms], 7)
    assert fast.shape == slow.shape == (4, 7)
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    np.testing.assert_allclose(model.form_log_likelihoods(utterances), per_form, atol=1e-4)
    assert (fast < 0).all()  # log-probabilities of multi-token answers
    # score mode adds the Capitalised answers; letters have one form
    assert len(forms) == (14 if mode == "score" else 7)


def test_labels_are_scored_as_complete_answers_with_the_end_marker(tiny_qwen2_audio: Path) -> None:
    model = load_model(str(tiny_qwen2_audio))
    tok = model.processor.tokenizer
    end = tok.convert_tokens_to_ids("<|im_end|>")
    conts = model.continuations()
    assert all(c[-1] == end for c in conts)
    assert tok.decode(conts[5][:-1]) == "disgusted"  # the prompt's verbalizer of disgust
    bare = load_model(str(tiny_qwen2_audio), include_end_token=False).continuations()
    assert [c[:-1] for c in conts] == bare
    variants = [tok.decode(ids[:-1]) for k, ids in model.answer_forms()[7:]]
    assert variants == ["Neutral", "Happy", "Sad", "Angry", "Fearful", "Disgusted", "Surprised"]


def test_length_normalisation_divides_by_token_counts(
    tiny_qwen2_audio: Path, utterances: list[Utterance]
) -> None:
    model = load_model(str(tiny_qwen2_audio), length_normalize=True, answer_variants=False)
    scores = model.log_likelihoods(utterances[:2])
    lengths = np.array([len(c) for c in model.continuations()])
    assert len(set(lengths)) > 1
    expected = np.exp(scores / lengths)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(utterances[:2]), expected, atol=1e-6)
    plain = scores_to_probabilities(scores, lengths)
    assert np.abs(plain - expected).max() > 1e-4


def test_right_padded_batches_are_refused(
    tiny_qwen2_audio: Path, utterances: list[Utterance]
) -> None:
    model = load_model(str(tiny_qwen2_audio), condition="text")
    model.processor.tokenizer.padding_side = "right"
    try:
        inputs = model.processor(
            text=["<|im_start|>user\nhello there<|im_end|>\n", "hi"],
            padding=True,
            padding_side="right",
            return_tensors="pt",
        )
        with pytest.raises(UsageError, match="left-padded"):
            score_labels(model.model, inputs, model.continuations())
    finally:
        model.processor.tokenizer.padding_side = "left"


def test_scoring_forms_in_chunks_gives_the_same_scores(
    tiny_af3: Path, utterances: list[Utterance]
) -> None:
    whole = load_model(str(tiny_af3), condition="both").form_log_likelihoods(utterances)
    for per_pass in (1, 5):
        chunked = load_model(str(tiny_af3), condition="both", forms_per_pass=per_pass)
        np.testing.assert_allclose(chunked.form_log_likelihoods(utterances), whole, atol=1e-5)
