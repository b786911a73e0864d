"""Corpus recipes: one module per corpus, each registering ``prepare_<corpus>``.

Examples:
    >>> from emoscope.data.recipes import available_recipes
    >>> {"meld", "ravdess"} <= set(available_recipes())
    True
"""

from emoscope.data.recipes import meld, ravdess  # noqa: F401  (registration)
from emoscope.data.recipes.registry import (
    Recipe,
    available_recipes,
    get_recipe,
    prepare,
    register_recipe,
)

__all__ = ["Recipe", "available_recipes", "get_recipe", "prepare", "register_recipe"]
