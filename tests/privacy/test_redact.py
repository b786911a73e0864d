"""Redaction of each kind of identifier, in text and in timed words."""

from __future__ import annotations

import pytest

from emoscope.privacy import find_identifiers, redact, redact_tokens

CASES = [
    ("Write to jane.doe+work@mail.example.co.uk today.", "Write to [EMAIL] today."),
    ("It's jdoe at example dot com", "It's [EMAIL]"),
    ("See https://clinic.example.org/forms?id=3.", "See [URL]."),
    ("Call +44 20 7946 0958 now.", "Call [PHONE] now."),
    ("My number is (555) 123-4567.", "My number is [PHONE]."),
    ("Ring 555.123.4567 tonight", "Ring [PHONE] tonight"),
    ("Born 12/05/1987, moved 2019-03-04.", "Born [DATE], moved [DATE]."),
    ("on the third of March 2025", "on [DATE]"),
    ("on 3 March and on April 5th, 2024", "on [DATE] and on [DATE]"),
    ("We meet on Monday at 10:30 am.", "We meet on [DATE] at [DATE]."),
    ("I take 20 mg, 3 times, room 221b.", "I take [NUMBER] mg, [NUMBER] times, room 221b."),
    (
        "He is twenty three and lives at 42 Baker Street.",
        "He is [NUMBER] and lives at [NUMBER] [NAME].",
    ),
    ("five five five one two three four", "[NUMBER]"),
    ("I told Jennifer and Mr Smith about it.", "I told [NAME] and [NAME] about it."),
    ("Sarah said no. Then Dr. Alvarez came.", "[NAME] said no. Then [NAME] came."),
    ("my sister michael called", "my sister [NAME] called"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_keeps_ordinary_words() -> None:
    text = "Will you come? Hope so. I feel sad and tired. No one listens. May I go?"
    assert redact(text) == text


def test_kinds_reported() -> None:
    kinds = [k for _, _, k in find_identifiers("Mail a@b.org or call 555-123-4567, Anna.")]
    assert kinds == ["EMAIL", "PHONE", "NAME"]


def test_tokens_merge_an_identifier_spread_over_words() -> None:
    tokens = [" Call", " 555", "123", "4567,", " Anna."]
    assert redact_tokens(tokens) == [
        ("Call", [0]),
        ("[PHONE],", [1, 2, 3]),
        ("[NAME].", [4]),
    ]
