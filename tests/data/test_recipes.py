"""Every recipe on a fake corpus tree with the corpus's real naming scheme."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from emoscope.data.labels import corpus_labels, known_corpora
from emoscope.data.recipes import available_recipes, get_recipe, prepare
from emoscope.data.splits import assign_folds, iter_folds
from emoscope.errors import BadLabelError, ManifestError, UsageError
from emoscope.labels import CANONICAL_LABELS
from emoscope.testing import tone, write_audio
from emoscope.testing.corpora import (
    make_cremad,
    make_emodb,
    make_esd,
    make_iemocap,
    make_meld,
    make_msp_podcast,
    make_ravdess,
    make_savee,
    make_tess,
)

BUILDERS = {
    "crema-d": make_cremad,
    "emodb": make_emodb,
    "esd": make_esd,
    "iemocap": make_iemocap,
    "meld": make_meld,
    "msp-podcast": make_msp_podcast,
    "ravdess": make_ravdess,
    "savee": make_savee,
    "tess": make_tess,
}


def test_every_corpus_recipe_has_a_builder_and_a_label_set():
    assert set(available_recipes()) == set(BUILDERS) | {"generic"}
    assert set(known_corpora()) == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_recipe_common_contract(name, tmp_path):
    m = prepare(name, BUILDERS[name](tmp_path / name))
    assert len(m) > 0
    labels = corpus_labels(name)
    for u in m:
        assert u.id.startswith(f"{name}/") and u.corpus == name
        assert u.label in labels.native
        assert u.canonical == labels.mapping[u.label]
        assert u.canonical is None or u.canonical in CANONICAL_LABELS
        if u.audio is not None:
            assert u.audio.startswith(str(tmp_path))
    # stable: the same tree gives the same manifest
    assert [u.to_dict() for u in prepare(name, tmp_path / name)] == [u.to_dict() for u in m]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_wrong_folder_says_what_was_expected(name, tmp_path):
    (tmp_path / "notes.txt").write_text("not a corpus")
    write_audio(tmp_path / "random.wav", tone(0.05))
    with pytest.raises(ManifestError, match="Expected") as err:
        prepare(name, tmp_path)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(ManifestError, match="no such folder"):
        prepare(name, tmp_path / "missing")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_canonical_mappings_are_explicit(name):
    labels = corpus_labels(name)
    assert set(labels.mapping.values()) - {None} <= set(CANONICAL_LABELS)


def test_label_mapping_table():
    expected = {
        ("meld", "joy"): "happy",
        ("meld", "surprise"): "surprised",
        ("crema-d", "FEA"): "fearful",
        ("emodb", "boredom"): None,
        ("emodb", "happiness"): "happy",
        ("iemocap", "exc"): None,
        ("iemocap", "fru"): None,
        ("tess", "pleasant_surprise"): "surprised",
        ("savee", "sadness"): "sad",
        ("esd", "Surprise"): "surprised",
        ("msp-podcast", "C"): None,
        ("msp-podcast", "U"): "surprised",
        ("ravdess", "calm"): "neutral",
    }
    for (corpus, native), canonical in expected.items():
        assert corpus_labels(corpus).canonical(native) == canonical, (corpus, native)
    with pytest.raises(BadLabelError, match="Allowed: ANG, DIS, FEA, HAP, NEU, SAD"):
        corpus_labels("crema-d").canonical("CAL")
    with pytest.raises(BadLabelError, match="'bored'"):
        corpus_labels("emodb").with_changes(boredom="bored")


def test_cremad(tmp_path):
    m = prepare("crema-d", make_cremad(tmp_path, actors=(1001, 1002)))
    assert len(m) == 2 * 2 * 6
    u = m.by_id("crema-d/1001_IEO_HAP_HI")
    assert (u.label, u.canonical, u.transcript) == ("HAP", "happy", "It's eleven o'clock.")
    assert (u.speaker, u.gender, u.extra["age"], u.extra["intensity"]) == (
        "crema-d/1001",
        "male",
        30,
        "high",
    )
    assert m.by_id("crema-d/1002_DFA_SAD_XX").gender == "female"
    assert m.by_id("crema-d/1002_DFA_SAD_XX").transcript == "Don't forget a jacket."
    (tmp_path / "VideoDemographics.csv").unlink()
    assert {u.gender for u in prepare("crema-d", tmp_path)} == {None}
    write_audio(tmp_path / "AudioWAV" / "1003_DFA_CAL_XX.wav", tone(0.05))
    with pytest.raises(BadLabelError, match="1003_DFA_CAL_XX.*'CAL'.*Allowed"):
        prepare("crema-d", tmp_path)


def test_emodb(tmp_path):
    m = prepare("emodb", make_emodb(tmp_path))
    assert len(m) == 3 * 2 * 7
    u = m.by_id("emodb/08b10La")
    assert (u.label, u.canonical, u.gender, u.speaker) == ("boredom", None, "female", "emodb/08")
    assert u.transcript == "Die wird auf dem Platz sein, wo wir sie immer hinlegen."
    assert m.by_id("emodb/03a01Wa").label == "anger"
    assert m.unmapped_counts() == Counter({"boredom": 6})
    assert len(m.canonical_subset()) == 36
    write_audio(tmp_path / "wav" / "03a01Xa.wav", tone(0.05))
    with pytest.raises(BadLabelError, match="'X'.*W \\(anger\\)"):
        prepare("emodb", tmp_path)


def test_tess(tmp_path):
    m = prepare("tess", make_tess(tmp_path))
    assert len(m) == 2 * 7 * 2 and m.speakers() == ["tess/OAF", "tess/YAF"]
    u = m.by_id("tess/YAF_youth_ps")
    assert (u.label, u.canonical, u.transcript) == (
        "pleasant_surprise",
        "surprised",
        "Say the word youth.",
    )
    assert {u.gender for u in m} == {"female"}
    write_audio(tmp_path / "OAF_x" / "OAF_back_bored.wav", tone(0.05))
    with pytest.raises(BadLabelError, match="'bored'"):
        prepare("tess", tmp_path)


@pytest.mark.parametrize("flat", [False, True])
def test_savee(tmp_path, flat):
    m = prepare("savee", make_savee(tmp_path, flat=flat))
    assert len(m) == 2 * 7 * 2
    u = m.by_id("savee/JE_su02")
    assert (u.label, u.canonical, u.speaker, u.gender) == (
        "surprise",
        "surprised",
        "savee/JE",
        "male",
    )
    assert m.by_id("savee/DC_sa01").canonical == "sad"


@pytest.mark.parametrize("split_folders", [False, True])
def test_esd(tmp_path, split_folders):
    make_esd(tmp_path, split_folders=split_folders)
    m = prepare("esd", tmp_path)
    assert len(m) == 4 * 5 * 3
    u = m.by_id("esd/0011_000351")  # Angry, position 1
    assert (u.label, u.canonical, u.split, u.transcript) == (
        "Angry",
        "angry",
        "dev",
        "Sentence number 1.",
    )
    assert m.by_id("esd/0011_000371").split == "test"
    assert m.by_id("esd/0012_001451").split == "train"
    zh = m.by_id("esd/0001_000021")
    assert zh.extra["language"] == "zh" and zh.transcript == "第21句话。"
    english = prepare("esd", tmp_path, languages=("en",))
    assert english.speakers() == ["esd/0011", "esd/0012"]
    with pytest.raises(UsageError, match="en, zh"):
        prepare("esd", tmp_path, languages=("fr",))


def test_iemocap_all_and_setups(tmp_path):
    make_iemocap(tmp_path, sessions=(1, 2))
    m = prepare("iemocap", tmp_path)
    assert len(m) == 2 * 2 * 8
    u = m.by_id("iemocap/Ses01M_script01_1_F000")
    assert (u.label, u.canonical, u.speaker, u.gender, u.session) == (
        "neu",
        "neutral",
        "iemocap/Ses01F",
        "female",
        "iemocap/Ses01",
    )
    assert u.transcript == "Excuse me." and u.audio.endswith("Ses01M_script01_1_F000.wav")
    assert u.extra["arousal"] == 3.0 and not u.extra["improvised"]
    assert m.unmapped_counts() == Counter({"exc": 4, "fru": 4, "xxx": 4})
    assert m.speakers() == ["iemocap/Ses01F", "iemocap/Ses01M", "iemocap/Ses02F", "iemocap/Ses02M"]

    four = prepare("iemocap", tmp_path, setup="4class")
    assert four.label_counts() == Counter({"neu": 4, "hap": 4, "sad": 4, "ang": 4})
    merged = prepare("iemocap", tmp_path, setup="4class", merge_excited=True)
    assert merged.label_counts(canonical=True)["happy"] == 8
    assert {u.label for u in merged if u.canonical == "happy"} == {"hap", "exc"}
    six = prepare("iemocap", tmp_path, setup="6class")
    assert set(six.label_counts()) == {"neu", "hap", "exc", "sad", "ang", "fru"}
    impro = prepare("iemocap", tmp_path, improvised_only=True)
    assert len(impro) == 16 and all(u.extra["improvised"] for u in impro)
    with pytest.raises(UsageError, match="all, 4class, 6class"):
        prepare("iemocap", tmp_path, setup="5class")

    sessions = assign_folds(m, scheme="session")
    assert len(list(iter_folds(sessions))) == 2


def test_iemocap_dialog_audio_with_times(tmp_path):
    make_iemocap(tmp_path, sessions=(3,), sentences_audio=False)
    m = prepare("iemocap", tmp_path / "IEMOCAP_full_release")
    u = m.by_id("iemocap/Ses03F_impro01_M000")
    assert u.audio.endswith("dialog/wav/Ses03F_impro01.wav")
    assert (u.start, u.end) == pytest.approx((1.2, 1.3))
    assert u.load_audio().size == pytest.approx(1600, abs=2)


def test_iemocap_unknown_category(tmp_path):
    make_iemocap(tmp_path, sessions=(1,))
    path = next((tmp_path / "IEMOCAP_full_release/Session1/dialog/EmoEvaluation").glob("*.txt"))
    path.write_text(path.read_text().replace("\tsad\t", "\tbored\t"))
    with pytest.raises(BadLabelError, match="'bored'.*Allowed: neu, hap"):
        prepare("iemocap", tmp_path)


def test_msp_podcast(tmp_path):
    m = prepare("msp-podcast", make_msp_podcast(tmp_path, speakers=3))
    assert len(m) == 30
    u = m[0]
    assert (u.label, u.canonical, u.speaker, u.gender, u.split) == (
        "A",
        "angry",
        "msp-podcast/100",
        "male",
        "train",
    )
    assert u.transcript == "segment 0 words" and u.audio.endswith(".wav")
    assert u.extra == {"arousal": 4.2, "valence": 3.0, "dominance": 5.0}
    assert m.splits() == ["dev", "test1", "train"]
    unknown = [x for x in m if x.split == "test1"]
    assert all(x.speaker is None and x.gender is None for x in unknown)
    assert m.unmapped_counts() == Counter({"C": 3, "O": 3, "X": 3})
    with pytest.raises(ManifestError, match="needs a speaker"):
        assign_folds(m, scheme="loso")
    assert assign_folds(m.filter(lambda x: x.speaker is not None), scheme="loso").folds() == [0, 1]


def test_generic_folder(tmp_path):
    for label in ("Joy", "anger", "bored"):
        for spk in ("s1", "s2"):
            write_audio(tmp_path / label / spk / f"{spk}_{label}.flac", tone(0.05))
    m = prepare("generic", tmp_path, speaker_level=2, corpus="mine")
    assert len(m) == 6 and m.speakers() == ["mine/s1", "mine/s2"]
    u = m.by_id("mine/Joy/s1/s1_Joy")
    assert (u.label, u.canonical, u.corpus) == ("Joy", "happy", "mine")
    assert m.unmapped_counts() == Counter({"bored": 2})
    by_regex = prepare("generic", tmp_path, speaker_from=r"^(s\d)_")
    assert by_regex.speakers() == ["generic/s1", "generic/s2"]
    mapped = prepare("generic", tmp_path, label_map={"bored": "neutral", "Joy": None})
    assert mapped.by_id("generic/bored/s2/s2_bored").canonical == "neutral"
    assert mapped.by_id("generic/Joy/s2/s2_Joy").canonical is None
    with pytest.raises(BadLabelError, match="'bored'.*Joy, anger"):
        prepare("generic", tmp_path, labels=["Joy", "anger"])
    with pytest.raises(BadLabelError, match="'content'"):
        prepare("generic", tmp_path, label_map={"bored": "content"})


def test_generic_csv(tmp_path):
    write_audio(tmp_path / "audio" / "a.wav", tone(0.05))
    write_audio(tmp_path / "audio" / "b.wav", tone(0.05))
    table = tmp_path / "labels.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "speaker", "transcript", "split", "start"])
        w.writerow(["audio/a.wav", "sad", "p1", "oh no", "train", "0.01"])
        w.writerow(["audio/b.wav", "surprise", "p2", "", "test", ""])
    m = prepare("generic", table)
    a = m.by_id("generic/audio/a")
    assert (a.label, a.canonical, a.speaker, a.transcript, a.split, a.start) == (
        "sad",
        "sad",
        "generic/p1",
        "oh no",
        "train",
        0.01,
    )
    assert m.by_id("generic/audio/b").canonical == "surprised"
    with pytest.raises(ManifestError, match="missing the column.*emotion"):
        prepare("generic", table, label_column="emotion")
    table.write_text(table.read_text().replace("audio/b.wav", "audio/c.wav"))
    with pytest.raises(ManifestError, match="line 3.*c.wav does not exist"):
        prepare("generic", table)


def test_recipe_options_are_listed():
    assert get_recipe("iemocap").options() == {
        "setup": "all",
        "merge_excited": False,
        "improvised_only": False,
    }
    assert "calm_as_neutral" in get_recipe("ravdess").options()


def test_generic_wrong_folder(tmp_path):
    write_audio(tmp_path / "loose.wav", tone(0.05))
    with pytest.raises(ManifestError, match="<label>/<file>"):
        prepare("generic", tmp_path)
