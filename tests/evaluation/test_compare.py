from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from lxml import html as lxml_html

from emoscope.cli import main
from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.evaluation.compare import compare_runs, load_run, mcnemar, paired_bootstrap
from emoscope.models.base import load_model


@pytest.fixture(scope="module")
def two_runs(test_manifest, train_manifest, fitted_model, tmp_path_factory):
    """The fitted baseline, and a weaker one (2 speakers, strong regularisation) on the same
    test set in which one utterance is unreadable."""
    root = tmp_path_factory.mktemp("runs")
    run_a = ["evaluate", str(test_manifest), "--model", str(fitted_model), "-o", str(root / "a")]
    assert main(run_a) == 0
    train = Manifest.from_jsonl(train_manifest).filter(lambda u: u.fold in (1, 2))
    weak = load_model("egemaps-logreg", c=0.01).fit(train).save(root / "weak")
    utts = list(Manifest.from_jsonl(test_manifest))
    bad = root / "bad.wav"
    bad.write_bytes(b"not audio")
    first = next(u for u in utts if u.canonical)
    utts[utts.index(first)] = first.with_(audio=str(bad))  # same id, unreadable in run b
    broken = Manifest(utts).to_jsonl(root / "broken.jsonl")
    assert main(["evaluate", str(broken), "--model", str(weak), "-o", str(root / "b")]) == 1
    assert main(["evaluate", str(test_manifest), "--model", "chance", "-o", str(root / "c")]) == 0
    return root / "a", root / "b", first.id


def test_mcnemar_exact():
    a = [True] * 10 + [True] * 5 + [False] * 1 + [False] * 4
    b = [True] * 10 + [False] * 5 + [True] * 1 + [False] * 4
    result = mcnemar(a, b)
    assert (result["b"], result["c"]) == (5, 1)
    assert result["p_value"] == pytest.approx(2 * (1 + 6) / 64)  # two-sided binomial, n = 6
    assert mcnemar([True, False], [True, False])["p_value"] == 1.0


def test_paired_bootstrap_of_identical_and_different_systems():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 3, 200)
    same = paired_bootstrap(t, t.copy(), t.copy(), n_labels=3)
    assert same["delta"] == 0 and same["ci95"] == [0, 0] and same["p_value"] == 1.0
    worse = np.where(rng.random(200) < 0.5, t, (t + 1) % 3)
    r = paired_bootstrap(t, t, worse, n_labels=3, seed=1)
    assert r["delta"] < -0.3 and r["ci95"][1] < 0 and r["p_value"] < 0.01
    assert r == paired_bootstrap(t, t, worse, n_labels=3, seed=1)


def test_compare_pairs_the_shared_utterances(two_runs):
    a, b, failed_id = two_runs
    run_a, run_b = load_run(a), load_run(b)
    assert failed_id in run_a.predictions and failed_id not in run_b.predictions
    comparison = compare_runs([run_a, run_b])
    assert comparison["shared"] == 23 and comparison["reference"] == "a"
    shared = [i for i in run_a.predictions if i != failed_id]
    ra, rb = comparison["runs"]
    right_a = np.array(
        [run_a.predictions[i]["pred"] == run_a.predictions[i]["true"] for i in shared]
    )
    right_b = np.array(
        [run_b.predictions[i]["pred"] == run_b.predictions[i]["true"] for i in shared]
    )
    assert ra["wa"] == pytest.approx(right_a.mean(), abs=1e-4)
    assert rb["wa"] == pytest.approx(right_b.mean(), abs=1e-4)
    assert rb["n_run"] == 23 and ra["n_run"] == 24
    vs = rb["vs_reference"]
    assert vs["mcnemar"]["b"] == int((right_a & ~right_b).sum())
    assert vs["mcnemar"]["c"] == int((~right_a & right_b).sum())
    assert vs["paired_bootstrap"]["delta"] == pytest.approx(rb["ua"] - ra["ua"], abs=1e-4)
    assert "vs_reference" not in ra
    # three runs: the chance floor always says neutral (recall 1 for neutral, 0 elsewhere)
    three = compare_runs([run_a, run_b, load_run(a.parent / "c")])
    chance = three["runs"][2]
    assert three["shared"] == 23 and chance["ua"] == 0.25
    assert chance["per_class"]["neutral"]["recall"] == 1.0
    # chance is right exactly on the neutral utterances: c counts those that a gets wrong
    a_wrong_neutral = sum(
        run_a.predictions[i]["true"] == "neutral" and run_a.predictions[i]["pred"] != "neutral"
        for i in shared
    )
    assert chance["vs_reference"]["mcnemar"]["c"] == a_wrong_neutral
    # Holm: with two comparisons the smaller p is doubled, the larger never drops below it
    ps = [r["vs_reference"]["mcnemar"]["p_value"] for r in three["runs"][1:]]
    holm_ps = [r["vs_reference"]["mcnemar"]["p_holm"] for r in three["runs"][1:]]
    assert min(holm_ps) == pytest.approx(min(1.0, 2 * min(ps)), abs=1e-6)
    assert max(holm_ps) == pytest.approx(max(min(1.0, 2 * min(ps)), max(ps)), abs=1e-6)


def test_compare_cli_formats_and_html(two_runs, tmp_path, capsys):
    a, b, _ = two_runs
    assert main(["compare", str(a), str(b), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    lines = [x for x in md.splitlines() if x.startswith("|")]
    assert len(lines) == 4 and "a (ref)" in lines[2] and lines[3].startswith("| b | weak")
    assert "23 shared utterances" in md
    assert main(["compare", str(a), str(b), "--format", "csv", "--reference", "b"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["run"] for r in rows] == ["a", "b (ref)"]
    assert float(rows[0]["dUA"]) > 0 and rows[1]["dUA"] == ""
    assert main(["compare", str(a), str(b), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["shared"] == 23
    page = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "a (ref)" in out and "p McNemar" in out
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    doc = lxml_html.fromstring(text)
    matrices = doc.xpath('//svg[@class="cm"]')
    assert len(matrices) == 2
    k = len(json.loads((a / "metrics.json").read_text())["labels"])
    assert all(len(m.xpath(".//rect")) == k * k for m in matrices)
    assert len(doc.xpath('//*[@id="per-class-compare"]//rect[@class="bar-f1"]')) == 2 * k


def test_compare_refuses_what_cannot_be_paired(two_runs, tmp_path, capsys):
    a, _, _ = two_runs
    assert main(["compare", str(a)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path)]) == 2
    assert "metrics.json is missing" in capsys.readouterr().err
    other = load_run(a)
    other.predictions = {
        k: {**v, "true": "sad" if v["true"] != "sad" else "happy"}
        for k, v in other.predictions.items()
    }
    with pytest.raises(UsageError, match="different true labels"):
        compare_runs([load_run(a), other])
    other.predictions = {"x": {"id": "x", "true": "sad", "pred": "sad"}}
    with pytest.raises(UsageError, match="share no"):
        compare_runs([load_run(a), other])
