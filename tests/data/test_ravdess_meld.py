from __future__ import annotations

from collections import Counter

import pytest

from emoscope.data.manifest import Manifest
from emoscope.data.recipes import available_recipes, prepare
from emoscope.errors import BadLabelError, ManifestError, UnknownNameError, UsageError
from emoscope.testing.corpora import make_meld, make_ravdess


def test_unknown_recipe_lists_known_ones():
    with pytest.raises(UnknownNameError) as err:
        prepare("ravdes", ".")
    assert "ravdess" in str(err.value) and "meld" in str(err.value)
    assert {"ravdess", "meld"} <= set(available_recipes())


def test_unknown_option_is_a_usage_error(tmp_path):
    make_ravdess(tmp_path, actors=(1,), emotions=("01",))
    with pytest.raises(UsageError, match="calm_as_neutral"):
        prepare("ravdess", tmp_path, calm_as_netural=False)


def test_ravdess_fields(tmp_path):
    make_ravdess(tmp_path, actors=(1, 2), ext="flac")
    m = prepare("ravdess", tmp_path)
    assert len(m) == 2 * 8 * 2
    u = m.by_id("ravdess/03-01-05-01-02-01-01")
    assert u.label == "angry" and u.canonical == "angry"
    assert u.speaker == "ravdess/01" and u.gender == "male"
    assert u.transcript == "Dogs are sitting by the door."
    assert u.audio.endswith(".flac") and u.corpus == "ravdess"
    assert m.by_id("ravdess/03-01-01-01-01-01-02").gender == "female"
    calm = m.by_id("ravdess/03-01-02-01-01-01-02")
    assert (calm.label, calm.canonical) == ("calm", "neutral")


def test_ravdess_keep_calm_apart(tmp_path):
    make_ravdess(tmp_path, actors=(1,))
    m = prepare("ravdess", tmp_path, calm_as_neutral=False)
    calm = [u for u in m if u.label == "calm"]
    assert calm and all(u.canonical is None for u in calm)
    assert m.unmapped_counts() == Counter({"calm": 2})
    assert "calm" not in {u.label for u in m.canonical_subset()}


def test_ravdess_song_and_channels(tmp_path):
    make_ravdess(tmp_path, actors=(1,), song=True)
    both = prepare("ravdess", tmp_path)
    speech = prepare("ravdess", tmp_path, channels=("speech",))
    assert len(both) == 16 + 12 and len(speech) == 16
    assert {u.extra["channel"] for u in both} == {"speech", "song"}
    with pytest.raises(UsageError, match="speech, song"):
        prepare("ravdess", tmp_path, channels=("opera",))


def test_ravdess_wrong_folder_says_what_it_expected(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(ManifestError, match="Actor_NN"):
        prepare("ravdess", tmp_path)
    with pytest.raises(ManifestError, match="no such folder"):
        prepare("ravdess", tmp_path / "missing")


def test_ravdess_unknown_emotion_code(tmp_path):
    make_ravdess(tmp_path, actors=(1,), emotions=("09",))
    with pytest.raises(BadLabelError, match="08 \\(surprised\\)"):
        prepare("ravdess", tmp_path)


def test_meld_text_only(tmp_path):
    make_meld(tmp_path, splits=("train", "dev"), dialogues=2)
    m = prepare("meld", tmp_path)
    assert len(m) == 2 * 2 * 7 and m.splits() == ["dev", "train"]
    assert all(u.audio is None for u in m)
    u = m.by_id("meld/train/dia1_utt4")
    assert (u.label, u.canonical, u.speaker) == ("sadness", "sad", "meld/Rachel")
    assert u.session == "meld/train/dia1" and u.split == "train"
    # the last three turns of the same dialogue, in order
    assert u.context == ("Yeah, I came back.", "That is great news.", "No, it is terrible.")
    assert m.by_id("meld/dev/dia0_utt0").context == ()
    assert m.by_id("meld/train/dia0_utt6").extra["duration"] == pytest.approx(2.5)
    assert prepare("meld", tmp_path, context_turns=1).by_id(u.id).context == (
        "No, it is terrible.",
    )


def test_meld_with_audio(tmp_path):
    make_meld(tmp_path, splits=("train", "test"), dialogues=1, audio=True)
    (tmp_path / "MELD.Raw/test/output_repeated_splits_test/dia0_utt3.wav").unlink()
    m = prepare("meld", tmp_path)
    assert m.by_id("meld/test/dia0_utt0").audio.endswith(
        "test/output_repeated_splits_test/dia0_utt0.wav"
    )
    assert m.by_id("meld/test/dia0_utt3").audio is None
    assert len(prepare("meld", tmp_path, require_audio=True)) == 13
    assert m.by_id("meld/train/dia0_utt0").load_audio().size > 0


def test_meld_bad_label_and_missing(tmp_path):
    with pytest.raises(ManifestError, match="train_sent_emo.csv"):
        prepare("meld", tmp_path)
    make_meld(tmp_path, splits=("dev",), dialogues=1)
    path = tmp_path / "dev_sent_emo.csv"
    path.write_text(path.read_text().replace("disgust", "contempt"))
    with pytest.raises(BadLabelError, match="dev_sent_emo.csv, line 7.*'contempt'.*Allowed"):
        prepare("meld", tmp_path)


@pytest.mark.data
def test_real_ravdess(shared_data):
    m = prepare("ravdess", shared_data / "ravdess")
    assert len(m) == 1200 and len(m.speakers()) == 20
    counts = m.label_counts()
    assert counts["neutral"] == 80 and all(counts[k] == 160 for k in counts if k != "neutral")
    assert m.label_counts(canonical=True)["neutral"] == 240
    assert Counter(u.gender for u in m) == Counter({"male": 600, "female": 600})


@pytest.mark.data
def test_real_meld(shared_data):
    m = prepare("meld", shared_data / "meld")
    assert len(m.split("train")) == 9989 and len(m.split("dev")) == 1109
    assert m.label_counts()["joy"] == 1743 + 163
    assert all(u.canonical is not None for u in m)
    assert not any(u.has_audio for u in m)


def test_manifest_jsonl_and_csv_round_trip(tmp_path):
    make_ravdess(tmp_path / "c", actors=(1,), emotions=("01", "02"))
    make_meld(tmp_path / "c2", splits=("dev",), dialogues=1)
    m = prepare("ravdess", tmp_path / "c") + prepare("meld", tmp_path / "c2")
    for name in ("m.jsonl", "m.csv"):
        back = Manifest.load(m.save(tmp_path / name))
        assert [u.to_dict() for u in back] == [u.to_dict() for u in m]


def test_ravdess_audio_video_copies_are_not_doubled(tmp_path):
    make_ravdess(tmp_path, actors=(1,), emotions=("03",), statements=("01",))
    src = tmp_path / "Actor_01" / "03-01-03-01-01-01-01.wav"
    (tmp_path / "Actor_01" / "01-01-03-01-01-01-01.wav").write_bytes(src.read_bytes())
    (tmp_path / "Actor_01" / "02-01-03-01-02-01-01.wav").write_bytes(src.read_bytes())
    (tmp_path / "Actor_01" / "01-01-03-01-02-01-01.wav").write_bytes(src.read_bytes())
    assert prepare("ravdess", tmp_path).ids() == [
        "ravdess/01-01-03-01-02-01-01",
        "ravdess/03-01-03-01-01-01-01",
    ]
