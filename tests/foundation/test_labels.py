from __future__ import annotations

import pytest

from emoscope.errors import BadLabelError, BadProbabilitiesError
from emoscope.labels import CANONICAL, LabelScheme, check_probabilities


def test_canonical_is_big_six_plus_neutral() -> None:
    assert set(CANONICAL.labels) == {
        "neutral",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    }


def test_unknown_labels_are_listed_with_allowed_ones() -> None:
    with pytest.raises(BadLabelError) as err:
        CANONICAL.check(["happy", "bored", "calm"])
    msg = str(err.value)
    assert "'bored', 'calm'" in msg and "Allowed: neutral, happy" in msg


def test_scheme_validation() -> None:
    with pytest.raises(ValueError, match="Repeated"):
        LabelScheme("x", ("a", "a"))
    with pytest.raises(ValueError, match="at least one"):
        LabelScheme("x", ())


def test_check_probabilities_over_scheme() -> None:
    scheme = LabelScheme("ab", ("a", "b"))
    check_probabilities({"a": 0.5, "b": 0.5}, scheme=scheme)
    with pytest.raises(BadLabelError, match="Missing: b"):
        check_probabilities({"a": 1.0}, scheme=scheme)
    with pytest.raises(BadProbabilitiesError, match=r"\[0, 1\]"):
        check_probabilities({"a": 1.5, "b": -0.5})
    with pytest.raises(BadProbabilitiesError, match="sum to 1"):
        check_probabilities({"a": 0.5, "b": 0.4})


def test_normalize() -> None:
    assert CANONICAL.normalize({"sad": 1.0, "happy": 1.0})["sad"] == 0.5
    with pytest.raises(BadProbabilitiesError):
        CANONICAL.normalize({"sad": -1.0})
