"""Evaluation: metrics, bootstrap intervals, calibration, fairness, the run store, comparison.

- :mod:`~emoscope.evaluation.metrics`: UA, WA, macro/weighted F1, per-class figures, confusion
  matrix, bootstrap 95% intervals, expected calibration error.
- :mod:`~emoscope.evaluation.fairness`: UA per gender, speaker and corpus, and the largest gap.
- :mod:`~emoscope.evaluation.store`: the SQLite run store (resumable, keyed by utterance id).
- :mod:`~emoscope.evaluation.runner`: :func:`evaluate`, what ``emoscope evaluate`` runs.
- :mod:`~emoscope.evaluation.compare`: runs side by side with paired significance tests.
"""
