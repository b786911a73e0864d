from __future__ import annotations

import json

import pytest

from emoscope.errors import UsageError
from emoscope.frontend.checks import check_alignment, normalise, word_error_rate
from emoscope.frontend.transcript import TextAligner, read_transcript
from emoscope.types import Word

SRT = """1
00:00:00,500 --> 00:00:04,178
Hello, thank you for coming in today.

2
00:00:05,178 --> 00:00:08,502
It was wonderful!
"""

VTT = """WEBVTT

intro
00:00.500 --> 00:04.178 align:start
<v Dr Jones>Hello, thank you for coming in today.</v>

00:05.178 --> 00:08.502
<v Alex Smith><i>It was</i> wonderful!
"""


def test_read_srt_vtt_json(tmp_path):
    srt = tmp_path / "t.srt"
    srt.write_text(SRT)
    vtt = tmp_path / "t.vtt"
    vtt.write_text(VTT)
    js = tmp_path / "t.json"
    js.write_text(json.dumps({"segments": [{"start": 0.5, "end": 4.178, "transcript": "Hello."}]}))
    a, b, c = read_transcript(srt), read_transcript(vtt), read_transcript(js)
    assert a.timed and [(x.start, x.end) for x in a.cues] == [(0.5, 4.178), (5.178, 8.502)]
    assert [x.text for x in b.cues] == [x.text for x in a.cues]
    assert [x.text for x in a.cues][1] == "It was wonderful!"
    # names never reach the document: speakers become pseudonyms in order of appearance
    assert [x.speaker for x in b.cues] == ["spk-1", "spk-2"]
    assert c.cues[0].text == "Hello."
    txt = tmp_path / "t.txt"
    txt.write_text("Hello there.\n\nGeneral   Kenobi.\n")
    plain = read_transcript(txt)
    assert not plain.timed and plain.text == "Hello there. General Kenobi."


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("t.doc", "x", "unknown kind"),
        ("t.txt", "   \n", "no words"),
        ("t.json", "{not json", "not JSON"),
        ("t.json", '[{"start": 2, "end": 1, "text": "x"}]', "before it starts"),
        ("t.json", '[{"begin": 2}]', "needs numeric"),
        ("t.srt", "1\n00:00:02,000 --> 00:00:01,000\nx\n", "ends before it starts"),
        ("t.srt", "just words\n", "no timed cues"),
        ("t.vtt", "00:01.000 --> 00:02.000\nx\n", "WEBVTT"),
    ],
)
def test_bad_transcripts_name_file_and_problem(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UsageError, match=match) as info:
        read_transcript(path)
    assert name in str(info.value)


def test_missing_transcript(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_transcript(tmp_path / "absent.txt")


def test_wer_matches_hand_counts():
    assert word_error_rate([], []) == 0.0
    assert word_error_rate(["a"], []) == 1.0
    assert word_error_rate("the cat sat".split(), "the cat sat on".split()) == pytest.approx(1 / 3)
    assert word_error_rate("a b c d e".split(), "a x c e".split()) == pytest.approx(2 / 5)
    assert normalise("It's—don't stop!") == ["it", "is", "do", "not", "stop"]


def test_check_flags_wrong_text_fast_text_and_missing_text():
    ok = check_alignment("I am so happy about it.", "I'm so happy about it", duration_s=2.0)
    assert ok.status == "ok" and ok.wer == 0.0 and ok.reasons == ()
    wrong = check_alignment("The weather is lovely in May.", "I am so happy", duration_s=2.0)
    assert wrong.status == "mismatch" and wrong.wer > 0.5
    too_fast = check_alignment(" ".join(["word"] * 30), " ".join(["word"] * 30), duration_s=2.0)
    assert too_fast.status == "mismatch" and "faster" in too_fast.reasons[0]
    too_slow = check_alignment("yes", "yes", duration_s=10.0)
    assert too_slow.status == "mismatch" and "too few" in too_slow.reasons[0]
    unheard = check_alignment("", "this was clearly said aloud", duration_s=2.0)
    assert unheard.status == "mismatch"


def _words(text: str, start: float, step: float = 0.3) -> list[Word]:
    return [
        Word(word=w, start=start + i * step, end=start + i * step + 0.25)
        for i, w in enumerate(text.split())
    ]


def test_aligner_places_words_window_by_window():
    given = "one two three four five six seven eight nine ten"
    aligner = TextAligner(given)
    first = aligner.align(_words("one two tree four", 0.0), last=False)
    assert [w for w, _ in first] == ["one", "two", "three", "four"]
    times = [t for _, t in first]
    assert times == sorted(times) and times[0] == pytest.approx(0.125)
    # the recogniser missed "six": it joins the word before it
    second = aligner.align(_words("five seven eight", 10.0), last=False)
    assert [w for w, _ in second] == ["five", "six", "seven", "eight"]
    assert second[0][1] == second[1][1] < second[2][1]
    # the last window takes the rest, even unheard
    third = aligner.align(_words("nine", 20.0), last=True)
    assert [w for w, _ in third] == ["nine", "ten"]
    assert aligner.remaining == 0


def test_aligner_with_unrelated_text_moves_on_at_the_heard_pace():
    aligner = TextAligner("alpha beta gamma delta epsilon zeta eta theta")
    out = aligner.align(_words("hello there you", 0.0), last=False)
    assert [w for w, _ in out] == ["alpha", "beta", "gamma"]
    assert aligner.remaining == 5


def test_unheard_words_join_their_own_sentence():
    aligner = TextAligner("It is over. Then we left.")
    out = dict(aligner.align(_words("it is over we left", 0.0), last=True))
    assert out["Then"] == out["we"] > out["over."]
    # a contraction heard for two given words still matches both
    aligner = TextAligner("I am scared.")
    out = aligner.align(_words("I'm scared", 5.0), last=True)
    assert [t for _, t in out] == [5.125, 5.125, 5.425]
