"""``emoscope prepare`` and ``emoscope stats`` through the installed console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from emoscope.cli import main as cli_main
from emoscope.data.manifest import Manifest
from emoscope.testing.corpora import make_meld, make_ravdess

EXE = shutil.which("emoscope", path=str(Path(sys.executable).parent)) or "emoscope"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=300)


def test_prepare_with_folds_then_stats(tmp_path):
    corpus = make_ravdess(tmp_path / "ravdess", actors=(1, 2, 3, 4))
    out = tmp_path / "m.jsonl"
    r = run("prepare", "ravdess", str(corpus), "-o", str(out), "--folds", "loso", "--keep-calm")
    assert r.returncode == 0, r.stderr
    assert "64 utterances, 4 speakers, 4 folds; 8 without a canonical label" in r.stdout
    m = Manifest.load(out)
    assert len(m) == 64 and m.folds() == [0, 1, 2, 3]
    assert all(u.extra["duration"] == 0.1 for u in m)
    assert {u.canonical for u in m if u.label == "calm"} == {None}

    r = run("stats", str(out))
    assert r.returncode == 0, r.stderr
    assert "utterances" in r.stdout and "64" in r.stdout
    assert "male 32, female 32" in r.stdout
    assert "calm" in r.stdout and "6.4s total over 64" in r.stdout
    assert "8 utterances have no canonical label (calm)" in r.stderr


def test_prepare_csv_and_imbalance_warning(tmp_path):
    corpus = make_meld(tmp_path / "meld", splits=("train",), dialogues=2)
    csv_path = tmp_path / "meld.csv"
    # drop most non-neutral rows to make the label set strongly imbalanced
    r = run("prepare", "meld", str(corpus), "-o", str(csv_path), "-O", "context_turns=1")
    assert r.returncode == 0, r.stderr
    m = Manifest.load(csv_path)
    assert len(m) == 14 and all(len(u.context) <= 1 for u in m)
    skewed = m.filter(lambda u: u.label == "neutral" or u.id.endswith("dia0_utt0"))
    for i in range(10):
        skewed = skewed + Manifest([skewed[1].with_(id=f"extra{i}")])
    skewed.save(tmp_path / "skewed.jsonl")
    r = run("stats", str(tmp_path / "skewed.jsonl"))
    assert r.returncode == 0
    assert "Strong canonical class imbalance: 'neutral' has 12" in r.stderr


def test_prepare_user_errors(tmp_path, capsys):
    # in-process (emoscope.cli.main) to keep the test fast; the smoke tests above use the script
    def main(*args):
        code = cli_main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    code, _, err = main("prepare", "ravdes", str(tmp_path), "-o", str(tmp_path / "m.jsonl"))
    assert code == 1 and "Known:" in err and "ravdess" in err
    code, _, err = main("prepare", "ravdess", str(tmp_path), "-o", str(tmp_path / "m.jsonl"))
    assert code == 1 and "Actor_NN" in err and "Traceback" not in err
    code, _, err = main("prepare", "meld", str(tmp_path), "-o", "m.jsonl", "--keep-calm")
    assert code == 2 and "RAVDESS only" in err
    code, _, err = main("prepare", "ravdess", str(tmp_path), "-o", "m.jsonl", "--folds", "1")
    assert code == 2 and "--folds" in err
    code, _, err = main("prepare", "ravdess", str(tmp_path), "-o", "m.jsonl", "-O", "novalue")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = main("stats", str(tmp_path / "none.jsonl"))
    assert code == 1 and "no such manifest" in err
    code, out, _ = main("prepare", "--list")
    assert code == 0 and "ravdess" in out and "calm_as_neutral" in out


def test_split_command(tmp_path, capsys):
    make_ravdess(tmp_path / "c", actors=(1, 2, 3, 4), emotions=("01", "03"))
    m = tmp_path / "m.csv"
    assert cli_main(["prepare", "ravdess", str(tmp_path / "c"), "-o", str(m)]) == 0
    assert cli_main(["split", str(m), "--folds", "2", "-o", str(tmp_path / "f.jsonl")]) == 0
    assert "2 folds of 8-8 utterances, 4 speakers" in capsys.readouterr().out
    folds = Manifest.load(tmp_path / "f.jsonl")
    assert folds.folds() == [0, 1] and Manifest.load(m).folds() == []
    assert cli_main(["split", str(m), "--folds", "loso"]) == 0
    assert Manifest.load(m).folds() == [0, 1, 2, 3]
    assert cli_main(["split", str(m), "--folds", "session"]) == 1
    assert "needs a session" in capsys.readouterr().err
