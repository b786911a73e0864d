"""Corpus recipes: one module per corpus, each registering ``prepare_<corpus>``.

Examples:
    >>> from emoscope.data.recipes import available_recipes
    >>> print(" ".join(available_recipes()))
    crema-d emodb esd generic iemocap meld msp-podcast ravdess savee tess
"""

from emoscope.data.recipes import (  # noqa: F401  (each module registers its recipe)
    cremad,
    emodb,
    esd,
    generic,
    iemocap,
    meld,
    msp_podcast,
    ravdess,
    savee,
    tess,
)
from emoscope.data.recipes.registry import (
    Recipe,
    available_recipes,
    get_recipe,
    prepare,
    register_recipe,
)

__all__ = ["Recipe", "available_recipes", "get_recipe", "prepare", "register_recipe"]
