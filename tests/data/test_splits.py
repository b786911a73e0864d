from __future__ import annotations

from collections import Counter

import pytest

from emoscope.data.manifest import Manifest
from emoscope.data.recipes import prepare
from emoscope.data.splits import (
    SpeakerOverlapError,
    assign_folds,
    check_speaker_overlap,
    iter_folds,
    official_split,
    speaker_disjoint_validation,
)
from emoscope.errors import ManifestError, UsageError
from emoscope.types import Utterance

LABELS = ("neutral", "happy", "sad", "angry")


def synthetic(n_speakers=10, per_speaker=12):
    return Manifest(
        Utterance(
            id=f"u{s}-{i}",
            speaker=f"s{s:02d}",
            session=f"sess{s // 2}",
            label=LABELS[i % 4],
            canonical=LABELS[i % 4],
        )
        for s in range(n_speakers)
        for i in range(per_speaker)
    )


def speakers_by_fold(m):
    out = {}
    for u in m:
        out.setdefault(u.fold, set()).add(u.speaker)
    return out


def test_loso_one_speaker_per_fold():
    m = assign_folds(synthetic(), scheme="loso")
    by_fold = speakers_by_fold(m)
    assert len(by_fold) == 10 and all(len(s) == 1 for s in by_fold.values())
    assert sum(1 for _ in iter_folds(m)) == 10


def test_kfold_is_speaker_grouped_stratified_and_seeded():
    m = synthetic(n_speakers=10)
    a = assign_folds(m, scheme="kfold", k=5, seed=0)
    by_fold = speakers_by_fold(a)
    assert len(by_fold) == 5
    all_speakers = [s for ss in by_fold.values() for s in ss]
    assert len(all_speakers) == len(set(all_speakers)) == 10
    for train, test in iter_folds(a):
        assert not set(train.speakers()) & set(test.speakers())
        assert set(Counter(u.label for u in test)) == set(LABELS)
    b = assign_folds(m, scheme="kfold", k=5, seed=0)
    c = assign_folds(m, scheme="kfold", k=5, seed=7)
    assert [u.fold for u in a] == [u.fold for u in b]
    assert [u.fold for u in a] != [u.fold for u in c]


def test_kfold_falls_back_when_unstratifiable():
    # each speaker says a single label: stratification cannot balance, grouping must still hold
    m = Manifest(
        Utterance(id=f"u{s}-{i}", speaker=f"s{s}", label=f"l{s}")
        for s in range(6)
        for i in range(3)
    )
    a = assign_folds(m, scheme="kfold", k=3)
    assert len(a.folds()) == 3
    assert all(len(s) == 2 for s in speakers_by_fold(a).values())


def test_session_folds_and_overlap_check():
    m = assign_folds(synthetic(), scheme="session")
    assert len(m.folds()) == 5
    leaky = synthetic().map(lambda u: u.with_(session=u.id[-1]))  # one speaker in many sessions
    with pytest.raises(SpeakerOverlapError):
        assign_folds(leaky, scheme="session")


def test_errors_are_clear():
    with pytest.raises(UsageError, match="loso, kfold, session"):
        assign_folds(synthetic(), scheme="random")
    with pytest.raises(UsageError, match="number of speakers"):
        assign_folds(synthetic(n_speakers=3), scheme="kfold", k=5)
    no_speaker = Manifest([Utterance(id="a", label="x")])
    with pytest.raises(ManifestError, match="needs a speaker"):
        assign_folds(no_speaker)
    with pytest.raises(ManifestError, match="no folds"):
        next(iter_folds(synthetic()))
    m = synthetic()
    with pytest.raises(SpeakerOverlapError, match="share 10 speaker"):
        check_speaker_overlap(m, m)


def test_official_split():
    m = synthetic().map(lambda u: u.with_(split="train" if u.speaker < "s08" else "test"))
    train, test = official_split(m, train="train", test="test")
    assert len(train) + len(test) == len(m)
    with pytest.raises(ManifestError, match="Splits present: test, train"):
        official_split(m, train="train", test="dev")


def test_speaker_disjoint_validation():
    m = synthetic(n_speakers=10)
    train, valid = speaker_disjoint_validation(m, fraction=0.25, seed=3)
    assert not set(train.speakers()) & set(valid.speakers())
    assert len(train) + len(valid) == len(m)
    assert 0.25 <= len(valid) / len(m) <= 0.35
    again = speaker_disjoint_validation(m, fraction=0.25, seed=3)[1]
    assert again.ids() == valid.ids()
    with pytest.raises(ManifestError, match="at least 2 speakers"):
        speaker_disjoint_validation(synthetic(n_speakers=1), fraction=0.5)
    with pytest.raises(UsageError):
        speaker_disjoint_validation(m, fraction=1.0)


def test_folds_survive_the_manifest_file(tmp_path):
    m = assign_folds(synthetic(), scheme="kfold", k=3, seed=1)
    for name in ("f.jsonl", "f.csv"):
        assert [u.fold for u in Manifest.load(m.save(tmp_path / name))] == [u.fold for u in m]


@pytest.mark.data
def test_real_ravdess_loso_and_kfold(shared_data):
    m = prepare("ravdess", shared_data / "ravdess")
    loso = assign_folds(m, scheme="loso")
    pairs = list(iter_folds(loso))
    assert len(pairs) == 20
    for train, test in pairs:
        assert len(test) == 60 and len(train) == 1140
        assert not set(train.speakers()) & set(test.speakers())
    k5 = assign_folds(m, scheme="kfold", k=5, seed=0)
    sizes = Counter(u.fold for u in k5)
    assert sorted(sizes.values()) == [240] * 5  # 4 actors per fold
    train, valid = speaker_disjoint_validation(pairs[0][0], fraction=0.1, seed=0)
    assert len(valid.speakers()) == 2 and not set(train.speakers()) & set(valid.speakers())
