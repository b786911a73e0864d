"""Fixtures of the default-model tests: the shipped model, loaded once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def model():
    from emoscope.models.base import load_model

    return load_model("default")
