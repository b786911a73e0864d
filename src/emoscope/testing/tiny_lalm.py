"""Tiny, randomly initialised audio-language models of the real architectures, built offline.

:func:`build_tiny_lalm` writes a checkpoint directory (config, safetensors weights, tokenizer,
processor, chat template) that loads with ``from_pretrained`` exactly like real weights, so the
LALM backends can be tested end to end without a model hub. The tokenizer is a byte-level BPE
trained on the shipped prompts' words and wrapped in the family's real tokenizer class; the audio
side uses the family's real processor with 2-second windows (instead of 30 s) to stay small.

Random weights answer gibberish: tests check agreement between code paths (batched vs one by
one, cached vs brute force), not accuracy.

Command line: ``python -m emoscope.testing tiny-lalm OUT_DIR --family qwen2-audio``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FAMILIES = ("qwen2-audio", "audio-flamingo-3")
"""Families :func:`build_tiny_lalm` can build."""

HIDDEN = 64
CHUNK_SECONDS = 2

AF3_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' %}<sound>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""A Qwen-style ChatML template with ``<sound>`` for the audio, as Audio Flamingo 3 uses."""


def _corpus() -> Iterator[str]:
    from emoscope.models.lalm.parsing import SYNONYMS
    from emoscope.prompts import available_prompts, load_prompt

    for name in available_prompts():
        p = load_prompt(name)
        yield p.system
        yield from p.user.values()
        yield from p.instruction.values()
        yield from p.verbalizers.values()
        yield from p.descriptions.values()
    for label, words in SYNONYMS.items():
        yield f"{label} " + " ".join(words)
    yield "A B C D E F G H . The speaker sounds happy, sad, angry or neutral. I cannot tell."
    yield "Audio 1: system user assistant N/A"


def _train_bpe(vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    tok.train_from_iterator(list(_corpus()) * 3, trainer)
    data = json.loads(tok.to_str())
    merges = [
        tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]
    ]
    return data["model"]["vocab"], merges  # type: ignore[return-value]


def _tokenizer(extra: dict[str, str], additional: list[str], vocab_size: int) -> Any:
    from transformers import Qwen2Tokenizer

    vocab, merges = _train_bpe(vocab_size)
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, extra_special_tokens=extra)
    tok.add_special_tokens(
        {"additional_special_tokens": additional}, replace_extra_special_tokens=False
    )
    tok.padding_side = "left"
    return tok


def _text_config(vocab_size: int, seed: int) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
    )


def _build_qwen2_audio(vocab_size: int, seed: int) -> tuple[Any, Any]:
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
    )

    tok = _tokenizer(
        {
            "audio_token": "<|AUDIO|>",
            "audio_bos_token": "<|audio_bos|>",
            "audio_eos_token": "<|audio_eos|>",
        },
        ["<|im_start|>", "<|im_end|>"],
        vocab_size,
    )
    fe = WhisperFeatureExtractor(feature_size=128, chunk_length=CHUNK_SECONDS, sampling_rate=16000)
    processor = Qwen2AudioProcessor(feature_extractor=fe, tokenizer=tok)
    config = Qwen2AudioConfig(
        audio_config=Qwen2AudioEncoderConfig(
            d_model=HIDDEN,
            encoder_layers=2,
            encoder_attention_heads=2,
            encoder_ffn_dim=2 * HIDDEN,
            num_mel_bins=128,
            max_source_positions=CHUNK_SECONDS * 50,
        ),
        text_config=_text_config(len(tok), seed),
        audio_token_index=tok.audio_token_id,
    )
    return Qwen2AudioForConditionalGeneration(config), processor


def _build_audio_flamingo_3(vocab_size: int, seed: int) -> tuple[Any, Any]:
    from transformers import (
        AudioFlamingo3Config,
        AudioFlamingo3EncoderConfig,
        AudioFlamingo3ForConditionalGeneration,
        AudioFlamingo3Processor,
        WhisperFeatureExtractor,
    )

    tok = _tokenizer({}, ["<|im_start|>", "<|im_end|>", "<sound>"], vocab_size)
    tok.chat_template = AF3_CHAT_TEMPLATE
    fe = WhisperFeatureExtractor(feature_size=128, chunk_length=CHUNK_SECONDS, sampling_rate=16000)
    processor = AudioFlamingo3Processor(
        feature_extractor=fe, tokenizer=tok, chat_template=AF3_CHAT_TEMPLATE
    )
    config = AudioFlamingo3Config(
        audio_config=AudioFlamingo3EncoderConfig(
            hidden_size=HIDDEN,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=2 * HIDDEN,
            num_mel_bins=128,
            max_source_positions=CHUNK_SECONDS * 50,
        ),
        text_config=_text_config(len(tok), seed),
        audio_token_id=tok.convert_tokens_to_ids("<sound>"),
    )
    return AudioFlamingo3ForConditionalGeneration(config), processor


_BUILDERS: dict[str, Callable[[int, int], tuple[Any, Any]]] = {
    "qwen2-audio": _build_qwen2_audio,
    "audio-flamingo-3": _build_audio_flamingo_3,
}


def build_tiny_lalm(
    out_dir: Path,
    *,
    family: str = "qwen2-audio",
    seed: int = 0,
    vocab_size: int = 600,
    logit_scale: float = 10.0,
) -> Path:
    """Write a tiny random checkpoint of ``family`` to ``out_dir`` and return ``out_dir``.

    Args:
        out_dir: Where to write (created; existing files are overwritten).
        family: ``qwen2-audio`` or ``audio-flamingo-3``.
        seed: Seed of the random weights (same seed, same checkpoint).
        vocab_size: Size of the trained BPE vocabulary (before special tokens).
        logit_scale: Factor on the LM head, so that random label scores differ visibly
            (random initialisation otherwise keeps every logit near zero).

    Raises:
        UsageError: If ``family`` is not one this helper builds.

    Examples:
        >>> FAMILIES
        ('qwen2-audio', 'audio-flamingo-3')
    """
    import torch

    from emoscope.errors import UsageError

    if family not in _BUILDERS:
        raise UsageError(
            f"build_tiny_lalm cannot build family {family!r}. Choose one of {', '.join(FAMILIES)}."
        )
    torch.manual_seed(seed)
    model, processor = _BUILDERS[family](vocab_size, seed)
    with torch.no_grad():
        model.lm_head.weight.mul_(logit_scale)
    tok = processor.tokenizer
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tok.pad_token_id
    model.eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir
