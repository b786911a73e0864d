from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from emoscope.errors import UsageError
from emoscope.evaluation.fairness import fairness_audit, largest_gap
from emoscope.evaluation.labelmap import LabelMap
from emoscope.evaluation.metrics import (
    bootstrap_ci,
    bootstrap_confusions,
    classification_report,
    cluster_bootstrap_confusions,
    confusion_matrix,
    expected_calibration_error,
    macro_f1,
    per_class_metrics,
    unweighted_accuracy,
    weighted_accuracy,
    weighted_f1,
)


def test_hand_computed_case():
    # 3 classes; true counts 4/2/2; predictions chosen by hand.
    y_true = [0, 0, 0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 1, 2, 1, 0, 2, 2]
    cm = confusion_matrix(y_true, y_pred, n_labels=3)
    assert cm.tolist() == [[2, 1, 1], [1, 1, 0], [0, 0, 2]]
    # recalls 2/4, 1/2, 2/2 -> UA = (0.5 + 0.5 + 1) / 3
    assert unweighted_accuracy(y_true, y_pred, n_labels=3) == pytest.approx(2 / 3)
    assert weighted_accuracy(y_true, y_pred) == pytest.approx(5 / 8)
    # precisions 2/3, 1/2, 2/3; F1 = 2PR/(P+R)
    f1 = [2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 0.5, 2 * (2 / 3) * 1 / (2 / 3 + 1)]
    assert macro_f1(y_true, y_pred, n_labels=3) == pytest.approx(np.mean(f1))
    assert weighted_f1(y_true, y_pred, n_labels=3) == pytest.approx(
        (4 * f1[0] + 2 * f1[1] + 2 * f1[2]) / 8
    )
    per = per_class_metrics(cm, ["a", "b", "c"])
    assert per["c"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2, "predicted": 3}


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    n = int(rng.integers(5, 300))
    y_true = rng.integers(0, k, n)
    # correlated predictions, with some classes missing from y_true now and then
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    present = sorted(set(y_true.tolist()))
    assert unweighted_accuracy(y_true, y_pred, n_labels=k) == pytest.approx(
        skm.recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
    )
    if set(y_pred) <= set(y_true):
        assert unweighted_accuracy(y_true, y_pred, n_labels=k) == pytest.approx(
            skm.balanced_accuracy_score(y_true, y_pred)
        )
    assert weighted_accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert macro_f1(y_true, y_pred, n_labels=k) == pytest.approx(
        skm.f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
    )
    assert weighted_f1(y_true, y_pred, n_labels=k) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)
    )
    cm = confusion_matrix(y_true, y_pred, n_labels=k)
    assert cm.tolist() == skm.confusion_matrix(y_true, y_pred, labels=range(k)).tolist()
    per = per_class_metrics(cm, [str(i) for i in range(k)])
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=range(k), zero_division=0
    )
    for i in range(k):
        assert per[str(i)]["precision"] == pytest.approx(p[i], abs=1e-4)
        assert per[str(i)]["recall"] == pytest.approx(r[i], abs=1e-4)
        assert per[str(i)]["f1"] == pytest.approx(f[i], abs=1e-4)
        assert per[str(i)]["support"] == s[i]


def test_bootstrap_confusions_match_a_loop():
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    stack = bootstrap_confusions(y_true, y_pred, n_labels=4, n_resamples=20, seed=7)
    idx = np.random.default_rng(7).integers(0, 50, size=(20, 50))
    for b in range(20):
        expected = confusion_matrix(y_true[idx[b]], y_pred[idx[b]], n_labels=4)
        assert (stack[b] == expected).all()


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 400)
    y_pred = np.where(rng.random(400) < 0.7, y_true, rng.integers(0, 3, 400))
    a = bootstrap_ci(y_true, y_pred, n_labels=3, seed=5)
    b = bootstrap_ci(y_true, y_pred, n_labels=3, seed=5)
    c = bootstrap_ci(y_true, y_pred, n_labels=3, seed=6)
    assert a == b and a != c
    ua = unweighted_accuracy(y_true, y_pred, n_labels=3)
    low, high = a["ua"]
    assert low < ua < high
    # a 95% interval of an accuracy near 0.8 on 400 items is about +-0.04 wide
    assert 0.04 < high - low < 0.12
    with pytest.raises(UsageError, match="no metric"):
        bootstrap_ci(y_true, y_pred, n_labels=3, metrics=("auc",))


def test_expected_calibration_error():
    # perfectly calibrated bins give 0; a confident always-wrong model gives its confidence
    proba = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(proba, [0, 0, 0, 1]) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([[0.95, 0.05]] * 3), [1, 1, 1]) == pytest.approx(
        0.95
    )
    # two bins: conf 0.9 (acc 0.5) and conf 0.6 (acc 1.0): (2*0.4 + 2*0.4) / 4
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    assert expected_calibration_error(proba, [0, 1, 0, 0]) == pytest.approx(0.4)
    with pytest.raises(UsageError, match="proba must be"):
        expected_calibration_error(proba, [0, 1])


def test_classification_report_fields():
    report = classification_report(
        [0, 1, 2, 2], [0, 1, 2, 0], labels=["a", "b", "c"], proba=np.eye(3)[[0, 1, 2, 0]]
    )
    assert report["n"] == 4
    assert report["ua"] == pytest.approx(round((1 + 1 + 0.5) / 3, 4))
    assert report["confusion"] == {
        "labels": ["a", "b", "c"],
        "matrix": [[1, 0, 0], [0, 1, 0], [1, 0, 1]],
    }
    assert set(report["ci95"]) == {"ua", "wa", "macro_f1", "weighted_f1"}
    low, high = report["ci95"]["weighted_f1"]
    assert low <= report["weighted_f1"] <= high
    assert report["ece"] == pytest.approx(0.25)  # confidence 1 everywhere, accuracy 0.75


def test_fairness_audit_groups_and_gap():
    rows = []
    # speaker a: all right (12 items); speaker b: half right (12 items); speaker c: 2 items
    for i in range(12):
        rows.append({"true": i % 2, "pred": i % 2, "speaker": "a", "gender": "f", "corpus": "x"})
        rows.append({"true": i % 2, "pred": 0, "speaker": "b", "gender": "m", "corpus": "x"})
    rows += [{"true": 1, "pred": 0, "speaker": "c", "gender": None, "corpus": "x"}] * 2
    audit = fairness_audit(rows, n_labels=2)
    assert audit["by_speaker"]["a"] == {"ua": 1.0, "wa": 1.0, "n": 12}
    assert audit["by_speaker"]["b"]["ua"] == 0.5
    assert audit["by_speaker"]["c"]["n"] == 2
    assert "None" not in audit["by_gender"] and audit["by_gender"]["f"]["n"] == 12
    # c is too small for the gap (min 10 utterances)
    assert audit["largest_gap"]["speaker"] == {"gap": 0.5, "best": "a", "worst": "b"}
    assert audit["largest_gap"]["corpus"] is None  # one corpus only
    assert audit["largest_gap"]["overall"]["gap"] == 0.5
    assert largest_gap({"a": {"ua": 0.9, "n": 3}}) is None


def test_label_map_projects_by_name():
    m = LabelMap.build(("ANGER", "Happiness", "sadness", "other"))
    assert m.to_canonical == {
        "ANGER": "angry",
        "Happiness": "happy",
        "sadness": "sad",
        "other": None,
    }
    assert m.dropped == ["other"]
    assert m.project([0.2, 0.2, 0.1, 0.5], ("happy", "sad", "angry")) == pytest.approx(
        [0.4, 0.2, 0.4]
    )
    # all the mass on a dropped label: uniform over what the model can output
    assert m.project([0, 0, 0, 1.0], ("neutral", "happy", "sad", "angry")) == pytest.approx(
        [0, 1 / 3, 1 / 3, 1 / 3]
    )


def test_cluster_bootstrap_matches_a_loop_over_speakers():
    rng = np.random.default_rng(4)
    groups = np.repeat(["s1", "s2", "s3", "s4"], [5, 8, 3, 6])
    y_true = rng.integers(0, 3, groups.size)
    y_pred = rng.integers(0, 3, groups.size)
    stack = cluster_bootstrap_confusions(y_true, y_pred, groups, n_labels=3, n_resamples=30, seed=2)
    names = np.unique(groups)
    draws = np.random.default_rng(2).integers(0, 4, size=(30, 4))
    for b in range(30):
        idx = np.concatenate([np.flatnonzero(groups == names[g]) for g in draws[b]])
        assert (stack[b] == confusion_matrix(y_true[idx], y_pred[idx], n_labels=3)).all()


def test_speaker_intervals_are_wider_when_speakers_differ():
    rng = np.random.default_rng(0)
    groups, y_true, y_pred = [], [], []
    for s, accuracy in enumerate(np.linspace(0.2, 0.95, 10)):
        t = rng.integers(0, 4, 60)
        groups += [f"spk{s}"] * 60
        y_true += t.tolist()
        y_pred += np.where(rng.random(60) < accuracy, t, (t + 1) % 4).tolist()
    by_item = bootstrap_ci(y_true, y_pred, n_labels=4)["ua"]
    by_speaker = bootstrap_ci(y_true, y_pred, n_labels=4, groups=groups)["ua"]
    assert by_speaker[1] - by_speaker[0] > 1.5 * (by_item[1] - by_item[0])
    assert bootstrap_ci([], [], n_labels=4) == {
        m: [None, None] for m in ("ua", "wa", "macro_f1", "weighted_f1")
    }
