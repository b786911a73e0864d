from __future__ import annotations

import json
from pathlib import Path

import pytest

from emoscope.errors import UnknownNameError
from emoscope.prompts import (
    CONDITIONS,
    MODES,
    PromptError,
    available_prompts,
    load_prompt,
    prompt_fingerprint,
)

LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")


@pytest.mark.parametrize("name", available_prompts())
def test_every_shipped_prompt_renders_every_condition_and_mode(name: str) -> None:
    p = load_prompt(name)
    assert p.id == name
    for condition in CONDITIONS:
        for mode in MODES:
            text = p.render_user(
                condition=condition, mode=mode, labels=LABELS, transcript="See you {later}."
            )
            assert "{" not in text.replace("{later}", "")
            if condition == "audio":
                assert "See you" not in text
            else:
                assert "See you {later}." in text
            if mode == "choice":
                assert "G. surprised" in text and "F. disgusted" in text
            else:
                assert "disgusted" in text and "surprised" in text


def test_descriptions_appear_in_the_described_prompt() -> None:
    text = load_prompt("emotion-described-v1").render_user(
        condition="audio", mode="score", labels=("sad", "angry")
    )
    assert "- sad: unhappy" in text and "- angry: annoyed" in text


def test_hash_is_stable_and_follows_content(tmp_path: Path) -> None:
    p = load_prompt("emotion-v1")
    assert p.hash == load_prompt("emotion-v1").hash
    data = p.content()
    data["system"] += " Be brief."
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    mine = load_prompt(path)
    assert mine.id == "emotion-v1" and mine.source == str(path)
    assert mine.hash != p.hash
    same = tmp_path / "same.json"
    same.write_text(json.dumps(p.content(), indent=4))
    assert load_prompt(same).hash == p.hash  # formatting of the file does not matter


def test_fingerprint_covers_labels_mode_and_condition() -> None:
    p = load_prompt("emotion-v1")
    base = {"labels": LABELS, "mode": "score", "condition": "audio"}
    prints = {prompt_fingerprint(p, **base)}
    for change in (
        {"labels": LABELS[:-1]},
        {"mode": "choice"},
        {"mode": "generate"},
        {"condition": "both"},
    ):
        prints.add(prompt_fingerprint(p, **{**base, **change}))
    assert len(prints) == 5


def test_bad_templates_are_refused_with_the_reason(tmp_path: Path) -> None:
    good = load_prompt("emotion-v1").content()
    cases = {
        "no_user.json": ({k: v for k, v in good.items() if k != "user"}, "'user' is required"),
        "no_text.json": (
            {**good, "user": {"audio": "x {instruction}", "both": "y"}},
            "Missing: text",
        ),
        "bad_field.json": (
            {**good, "user": {**good["user"], "audio": "Hear {speaker}"}},
            "unknown placeholders ['speaker']",
        ),
        "no_choice.json": ({**good, "instruction": {"answer": "x"}}, "'choice' entry"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(data))
        with pytest.raises(PromptError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_prompt(path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(PromptError, match="not valid JSON"):
        load_prompt(broken)


def test_unknown_prompt_lists_the_shipped_ones() -> None:
    with pytest.raises(UnknownNameError, match="emotion-v1"):
        load_prompt("no-such-prompt")


def test_too_many_labels_for_letters() -> None:
    with pytest.raises(PromptError, match="at most 26"):
        load_prompt("emotion-v1").letters([f"l{i}" for i in range(27)])
