"""The registry of corpus recipes: ``prepare(name, corpus_dir, **options) -> Manifest``.

A recipe is a function ``prepare_<corpus>(corpus_dir, *, ...) -> Manifest`` registered under the
corpus's name (the lhotse pattern). Recipes live in the modules of :mod:`emoscope.data.recipes`,
which registers them all when imported.

Examples:
    >>> "ravdess" in available_recipes()
    True
    >>> prepare("no-such-corpus", ".")
    Traceback (most recent call last):
    ...
    emoscope.errors.UnknownNameError: No corpus recipe named 'no-such-corpus'. Known: ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.registry import Registry

RecipeFunc = Callable[..., Manifest]


@dataclass(frozen=True)
class Recipe:
    """A registered recipe: its name, function and one-line description."""

    name: str
    func: RecipeFunc
    description: str

    def options(self) -> dict[str, Any]:
        """Return the recipe's keyword options and their defaults."""
        params = inspect.signature(self.func).parameters
        return {n: p.default for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}


RECIPES: Registry[Recipe] = Registry(
    "corpus recipe",
    modules=("emoscope.data.recipes",),
    normalize=lambda name: name.strip().lower(),
)
"""The registry of corpus recipes (use :func:`register_recipe` to add one)."""


def register_recipe(name: str) -> Callable[[RecipeFunc], RecipeFunc]:
    """Register a recipe function under ``name`` (a decorator).

    The first line of the function's docstring becomes the recipe's description.

    Raises:
        ValueError: If ``name`` is already registered.
    """

    def decorate(func: RecipeFunc) -> RecipeFunc:
        doc = (func.__doc__ or "").strip().splitlines()
        RECIPES.register(name, Recipe(name, func, doc[0] if doc else ""))
        return func

    return decorate


def available_recipes() -> list[str]:
    """Return the names of the registered recipes, sorted."""
    return RECIPES.names()


def get_recipe(name: str) -> Recipe:
    """Return the recipe registered as ``name``.

    Raises:
        UnknownNameError: Listing the known recipes.
    """
    return RECIPES.get(name)


def prepare(name: str, corpus_dir: str | Path, **options: Any) -> Manifest:
    """Run the recipe ``name`` on ``corpus_dir`` and return its manifest.

    Args:
        name: A recipe name (see :func:`available_recipes`).
        corpus_dir: The corpus folder, in the layout its authors distribute.
        **options: The recipe's keyword options (e.g. ``calm_as_neutral=False`` for RAVDESS).

    Returns:
        The manifest of the corpus's utterances.

    Raises:
        UnknownNameError: If no recipe has that name.
        UsageError: If an option is not one the recipe takes.
        ManifestError: If the folder does not hold the corpus; the message says what was expected.
    """
    recipe = get_recipe(name)
    accepted = recipe.options()
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UsageError(
            f"The {recipe.name!r} recipe has no option {', '.join(unknown)}. "
            f"Options: {', '.join(f'{k}={v!r}' for k, v in accepted.items()) or 'none'}."
        )
    return recipe.func(Path(corpus_dir).expanduser(), **options)
