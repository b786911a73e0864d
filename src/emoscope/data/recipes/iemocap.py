"""IEMOCAP (Busso et al. 2008): ``Session1-5``, EmoEvaluation files, transcriptions.

Per session: ``dialog/EmoEvaluation/<dialog>.txt`` holds one line per turn
(``[start - end]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[V, A, D]``), ``dialog/transcriptions/``
the words, ``sentences/wav/<dialog>/<turn>.wav`` the turn's audio (or, without it,
``dialog/wav/<dialog>.wav`` cut at start/end). The turn's last part (``F000``/``M000``) tells
which of the session's two actors speaks.

Setups (``setup``): ``"all"`` keeps every turn (unmapped ones out of canonical evaluation),
``"4class"`` keeps neutral, happy, sad, angry (the usual benchmark; add ``merge_excited=True``
for happy+excited), ``"6class"`` keeps neutral, happy, sad, angry, excited, frustrated.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import (
    AUDIO_EXTENSIONS,
    check_folder,
    nothing_found,
    read_text,
)
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError, UsageError
from emoscope.types import Utterance

SETUPS: dict[str, frozenset[str] | None] = {
    "all": None,
    "4class": frozenset({"neu", "hap", "sad", "ang"}),
    "6class": frozenset({"neu", "hap", "sad", "ang", "exc", "fru"}),
}
EVALUATION = re.compile(
    r"\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(Ses\d\d[FM]_\S+)\s+(\w+)\s+"
    r"\[\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\]"
)
TRANSCRIPT = re.compile(r"(Ses\d\d[FM]_\S+)\s+\[[^\]]*\]:\s*(.*)")
EXPECTED = "Session1 ... Session5 folders with dialog/EmoEvaluation/*.txt"


def _sessions(corpus_dir: Path) -> list[Path]:
    for base in (corpus_dir, corpus_dir / "IEMOCAP_full_release"):
        found = sorted(p for p in base.glob("Session[1-5]") if p.is_dir())
        if found:
            return found
    return []


def _audio_index(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        p.stem: p
        for p in folder.rglob("*")
        if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
    }


def _transcripts(folder: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.txt")):
            for line in read_text(path).splitlines():
                m = TRANSCRIPT.match(line.strip())
                if m:
                    texts[m.group(1)] = " ".join(m.group(2).split())
    return texts


@register_recipe("iemocap")
def prepare_iemocap(
    corpus_dir: Path,
    *,
    setup: str = "all",
    merge_excited: bool = False,
    improvised_only: bool = False,
) -> Manifest:
    """IEMOCAP dyadic sessions (10 actors in 5 sessions, categorical and dimensional labels).

    Args:
        corpus_dir: ``IEMOCAP_full_release`` (or its parent).
        setup: ``"all"``, ``"4class"`` or ``"6class"`` (see the module docs).
        merge_excited: Count excited as happy (native label stays ``exc``, canonical ``happy``).
        improvised_only: Keep only the improvised dialogues (``*_impro*``).

    Returns:
        One utterance per evaluated turn, id ``iemocap/<turn>``, speaker ``iemocap/Ses01F``,
        session ``iemocap/Ses01``, ``extra`` valence/arousal/dominance (1-5).

    Raises:
        ManifestError: If no session folder or evaluation file is found.
        UsageError: If ``setup`` is unknown.
        BadLabelError: If an evaluation line carries an unknown category.
    """
    if setup not in SETUPS:
        raise UsageError(f"IEMOCAP setup must be one of {', '.join(SETUPS)}. Got {setup!r}.")
    corpus_dir = check_folder(corpus_dir, corpus="IEMOCAP", expected=EXPECTED)
    labels = corpus_labels("iemocap")
    if merge_excited:
        labels = labels.with_changes(exc="happy")
    keep = SETUPS[setup]
    if keep is not None and merge_excited:
        keep = keep | {"exc"}
    utterances = []
    for session_dir in _sessions(corpus_dir):
        sentences = _audio_index(session_dir / "sentences" / "wav")
        dialogs = _audio_index(session_dir / "dialog" / "wav")
        texts = _transcripts(session_dir / "dialog" / "transcriptions")
        for path in sorted((session_dir / "dialog" / "EmoEvaluation").glob("*.txt")):
            for line in read_text(path).splitlines():
                m = EVALUATION.match(line.strip())
                if not m:
                    continue
                start, end, turn, native, v, a, d = m.groups()
                try:
                    canonical = labels.canonical(native)
                except BadLabelError as exc:
                    raise BadLabelError(f"{path}: {exc}") from None
                if keep is not None and native not in keep:
                    continue
                dialog = turn.rsplit("_", 1)[0]
                if improvised_only and "_impro" not in dialog:
                    continue
                who = turn.rsplit("_", 1)[1][0]
                session = turn[:5]
                audio, cut = sentences.get(turn), (None, None)
                if audio is None and dialog in dialogs:
                    audio, cut = dialogs[dialog], (float(start), float(end))
                utterances.append(
                    Utterance(
                        id=f"iemocap/{turn}",
                        audio=str(audio) if audio else None,
                        start=cut[0],
                        end=cut[1],
                        speaker=f"iemocap/{session}{who}",
                        gender="female" if who == "F" else "male",
                        session=f"iemocap/{session}",
                        transcript=texts.get(turn),
                        label=native,
                        canonical=canonical,
                        corpus="iemocap",
                        extra={
                            "dialog": dialog,
                            "improvised": "_impro" in dialog,
                            "valence": float(v),
                            "arousal": float(a),
                            "dominance": float(d),
                            "duration": round(float(end) - float(start), 4),
                        },
                    )
                )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="IEMOCAP", expected=EXPECTED)
    return Manifest(utterances)
