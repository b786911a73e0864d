"""Versioned prompt templates for zero-shot emotion recognition with audio-language models.

A template is a JSON file (``templates/<id>.json`` in the package, or any path a user gives):
a system message, one user message per *condition* (``audio``: the model hears the speech;
``text``: it reads the transcript; ``both``), one instruction per kind of answer (``answer``: a
word from the label list, used by the ``score`` and ``generate`` modes; ``choice``: a lettered
option), optional *verbalizers* (the word the model should answer for a label, e.g.
``disgust -> disgusted``) and optional one-line label descriptions.

Placeholders: ``{instruction}`` and ``{transcript}`` in user messages; ``{labels}`` (comma list of
answer words), ``{options}`` (``A. neutral`` lines) and ``{descriptions}`` (``- neutral: ...``
lines) in instructions.

Every rendered prompt is identified by the template's id and a hash over the template's content
plus the labels, mode and condition (:func:`prompt_fingerprint`), which the LALM backends put
into every prediction document.

Examples:
    >>> p = load_prompt("emotion-v1")
    >>> p.id, len(p.hash)
    ('emotion-v1', 16)
    >>> print(p.render_user(condition="text", mode="score", labels=("sad", "happy"),
    ...                     transcript="I lost my keys."))
    Here is what a speaker said: "I lost my keys."
    Which emotion does the speaker express? Answer with one word from this list: sad, happy.
    >>> print(p.render_user(condition="audio", mode="choice", labels=("sad", "disgust")))
    Listen to the speaker. Which emotion does the speaker express?
    A. sad
    B. disgusted
    Answer with the letter of one option.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from emoscope.errors import UnknownNameError, UsageError

CONDITIONS: tuple[str, ...] = ("audio", "text", "both")
"""What the model is given: the audio, the transcript, or both."""

MODES: tuple[str, ...] = ("score", "choice", "generate")
"""How a label is read off the model: label log-likelihoods, lettered choice, or free text."""

INSTRUCTION_OF_MODE: Mapping[str, str] = {
    "score": "answer",
    "generate": "answer",
    "choice": "choice",
}
"""Which instruction of a template each mode uses."""

LETTERS = string.ascii_uppercase

_USER_FIELDS = frozenset({"instruction", "transcript"})
_INSTRUCTION_FIELDS = frozenset({"labels", "options", "descriptions"})


class PromptError(UsageError):
    """A prompt template is malformed or cannot be used for the requested labels or condition."""


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@dataclass(frozen=True)
class PromptTemplate:
    """A versioned prompt: system + user messages per condition and instructions per mode.

    Build it with :func:`load_prompt`; the fields mirror the JSON file.
    """

    id: str
    system: str
    user: Mapping[str, str]
    instruction: Mapping[str, str]
    description: str = ""
    verbalizers: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or self.id
        missing = [c for c in CONDITIONS if c not in self.user]
        if missing:
            raise PromptError(
                f"Prompt {where}: 'user' must have a message for every condition "
                f"({', '.join(CONDITIONS)}). Missing: {', '.join(missing)}."
            )
        for kind in ("answer", "choice"):
            if kind not in self.instruction:
                raise PromptError(
                    f"Prompt {where}: 'instruction' must have an {kind!r} entry. "
                    "Add it (see the shipped emotion-v1.json)."
                )
        for name, text in self.user.items():
            bad = _fields(text) - _USER_FIELDS
            if bad:
                raise PromptError(
                    f"Prompt {where}: user[{name!r}] uses unknown placeholders {sorted(bad)}. "
                    f"Allowed: {sorted(_USER_FIELDS)}."
                )
        for name, text in self.instruction.items():
            bad = _fields(text) - _INSTRUCTION_FIELDS
            if bad:
                raise PromptError(
                    f"Prompt {where}: instruction[{name!r}] uses unknown placeholders "
                    f"{sorted(bad)}. Allowed: {sorted(_INSTRUCTION_FIELDS)}."
                )

    def content(self) -> dict[str, Any]:
        """Return the template's content (what the hash covers), JSON-ready."""
        return {
            "id": self.id,
            "system": self.system,
            "user": dict(self.user),
            "instruction": dict(self.instruction),
            "verbalizers": dict(self.verbalizers),
            "descriptions": dict(self.descriptions),
        }

    @property
    def hash(self) -> str:
        """The first 16 hex digits of the SHA-256 of the template's canonical JSON."""
        text = json.dumps(self.content(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def answers(self, labels: Sequence[str]) -> tuple[str, ...]:
        """Return the word the model should answer for each label (its verbalizer or itself).

        Examples:
            >>> load_prompt("emotion-v1").answers(["sad", "disgust"])
            ('sad', 'disgusted')
        """
        return tuple(self.verbalizers.get(lab, lab) for lab in labels)

    @staticmethod
    def letters(labels: Sequence[str]) -> tuple[str, ...]:
        """Return the option letters of ``labels`` (A, B, ...).

        Raises:
            PromptError: If there are more labels than letters.
        """
        if len(labels) > len(LETTERS):
            raise PromptError(
                f"Multiple-choice prompts support at most {len(LETTERS)} labels. Got "
                f"{len(labels)}; use mode 'score' instead."
            )
        return tuple(LETTERS[: len(labels)])

    def render_instruction(self, *, mode: str, labels: Sequence[str]) -> str:
        """Return the instruction of ``mode`` for ``labels``."""
        check_mode(mode)
        answers = self.answers(labels)
        options = "\n".join(
            f"{letter}. {ans}" for letter, ans in zip(self.letters(labels), answers, strict=True)
        )
        descriptions = "\n".join(
            f"- {ans}: {self.descriptions[lab]}" if lab in self.descriptions else f"- {ans}"
            for lab, ans in zip(labels, answers, strict=True)
        )
        return self.instruction[INSTRUCTION_OF_MODE[mode]].format(
            labels=", ".join(answers), options=options, descriptions=descriptions
        )

    def render_user(
        self, *, condition: str, mode: str, labels: Sequence[str], transcript: str | None = None
    ) -> str:
        """Return the user message's text for one utterance (without the audio placeholder)."""
        check_condition(condition)
        return self.user[condition].format(
            instruction=self.render_instruction(mode=mode, labels=labels),
            transcript=(transcript or "").strip(),
        )


def check_condition(condition: str) -> None:
    """Raise :class:`PromptError` unless ``condition`` is one of :data:`CONDITIONS`."""
    if condition not in CONDITIONS:
        raise PromptError(
            f"The condition must be one of {', '.join(CONDITIONS)}. Got {condition!r}."
        )


def check_mode(mode: str) -> None:
    """Raise :class:`PromptError` unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise PromptError(f"The mode must be one of {', '.join(MODES)}. Got {mode!r}.")


def _templates() -> Any:
    return resources.files("emoscope.prompts").joinpath("templates")


def available_prompts() -> list[str]:
    """Return the ids of the templates that ship with emoscope.

    Examples:
        >>> "emotion-v1" in available_prompts()
        True
    """
    return sorted(
        p.name.removesuffix(".json") for p in _templates().iterdir() if p.name.endswith(".json")
    )


def prompt_from_dict(data: Mapping[str, Any], *, source: str = "") -> PromptTemplate:
    """Build a template from its JSON data.

    Raises:
        PromptError: If a required key is missing or a value has the wrong type.
    """
    where = source or str(data.get("id", "<prompt>"))
    for key in ("id", "system", "user", "instruction"):
        if key not in data:
            raise PromptError(f"Prompt {where}: the key {key!r} is required. Add it.")
    for key in ("user", "instruction", "verbalizers", "descriptions"):
        if key in data and not isinstance(data[key], dict):
            raise PromptError(f"Prompt {where}: {key!r} must be an object of strings.")
    return PromptTemplate(
        id=str(data["id"]),
        system=str(data["system"]),
        user=dict(data["user"]),
        instruction=dict(data["instruction"]),
        description=str(data.get("description", "")),
        verbalizers=dict(data.get("verbalizers", {})),
        descriptions=dict(data.get("descriptions", {})),
        source=source,
    )


def load_prompt(spec: str | Path) -> PromptTemplate:
    """Load a shipped template by id, or a template file by path.

    Args:
        spec: A shipped id (see :func:`available_prompts`) or the path of a JSON template.

    Raises:
        UnknownNameError: If ``spec`` is neither a shipped id nor an existing file.
        PromptError: If the file is not valid JSON or not a valid template.
    """
    spec_str = str(spec)
    if spec_str in available_prompts():
        text = _templates().joinpath(f"{spec_str}.json").read_text(encoding="utf-8")
        source = f"emoscope:{spec_str}"
    else:
        path = Path(spec_str).expanduser()
        if not path.is_file():
            raise UnknownNameError(
                f"No prompt named {spec_str!r} and no such file. Shipped prompts: "
                f"{', '.join(available_prompts())}; or give the path of a JSON template."
            )
        text = path.read_text(encoding="utf-8")
        source = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PromptError(f"Prompt {source} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise PromptError(f"Prompt {source} must be a JSON object.")
    return prompt_from_dict(data, source=source)


def prompt_fingerprint(
    prompt: PromptTemplate, *, labels: Sequence[str], mode: str, condition: str
) -> str:
    """Return a 16-hex-digit hash of everything that shapes the rendered prompt.

    Two runs with equal fingerprints ask the model exactly the same question.

    Examples:
        >>> p = load_prompt("emotion-v1")
        >>> a = prompt_fingerprint(p, labels=("sad", "happy"), mode="score", condition="audio")
        >>> b = prompt_fingerprint(p, labels=("happy", "sad"), mode="score", condition="audio")
        >>> a == b
        False
    """
    payload = {
        "template": prompt.hash,
        "labels": list(labels),
        "mode": mode,
        "condition": condition,
    }
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
