from __future__ import annotations

import pytest

from emoscope.labels import CANONICAL_LABELS
from emoscope.models.lalm.parsing import parse_choice, parse_label

CASES = [
    ("angry", "angry"),
    ("Angry.", "angry"),
    ("anger", "angry"),
    ("The speaker speaks angrily.", "angry"),
    ("furious", "angry"),
    ("joy", "happy"),
    ("Joyful!", "happy"),
    ("happiness", "happy"),
    ("The emotion is sadness.", "sad"),
    ("sorrowful", "sad"),
    ("She sounds scared.", "fearful"),
    ("fear", "fearful"),
    ("anxious", "fearful"),
    ("disgusted", "disgust"),
    ("Disgust", "disgust"),
    ("astonished", "surprised"),
    ("surprise!", "surprised"),
    ("Neutral", "neutral"),
    ("calm", "neutral"),
    ("not angry, rather sad", "sad"),
    ("He isn't happy; he is angry.", "angry"),
    ("Neither happy nor sad: neutral.", "neutral"),
    ("  HAPPY  ", "happy"),
]


@pytest.mark.parametrize(("text", "label"), CASES)
def test_synonyms_and_inflections_map_to_canonical_labels(text: str, label: str) -> None:
    assert parse_label(text, CANONICAL_LABELS) == label


@pytest.mark.parametrize(
    "text", ["", "I cannot tell.", "The audio is too short.", "angrii", "lorem ipsum"]
)
def test_unparseable_answers_give_none(text: str) -> None:
    assert parse_label(text, CANONICAL_LABELS) is None


def test_a_label_outside_the_set_is_not_invented() -> None:
    # "furious" means angry, but angry is not among these labels
    assert parse_label("furious", ("happy", "sad")) is None


def test_own_label_names_beat_synonyms_of_other_labels() -> None:
    labels = ("neutral", "calm", "happy")
    assert parse_label("calm", labels) == "calm"
    assert parse_label("calm", ("neutral", "happy")) == "neutral"


def test_verbalizer_words_map_back_to_their_label() -> None:
    assert parse_label("jolly", ("happy", "sad"), answers={"happy": "jolly"}) == "happy"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("A", "neutral"),
        ("B.", "happy"),
        ("(C)", "sad"),
        ("Answer: D", "angry"),
        ("G. surprised", "surprised"),
        ("happy", "happy"),
        ("a sad voice", "sad"),
    ],
)
def test_choice_letters(text: str, label: str) -> None:
    assert parse_choice(text, CANONICAL_LABELS) == label


def test_choice_letter_outside_the_options() -> None:
    assert parse_choice("H", CANONICAL_LABELS) is None
