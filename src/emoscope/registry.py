"""The one mechanism behind every plug-in registry (models, corpus recipes, export formats).

A :class:`Registry` maps names to plug-ins of one kind. Plug-ins live in modules that register
themselves when imported; the registry imports those modules on its first look-up (so importing
emoscope stays light) and skips a module that does not exist. Duplicate names raise; unknown
names raise :class:`~emoscope.errors.UnknownNameError` listing the known ones.

Examples:
    >>> colours = Registry("colour", known="Known colours")
    >>> colours.register("red", "#f00")
    >>> colours.get("red"), colours.names()
    ('#f00', ['red'])
    >>> colours.get("blue")
    Traceback (most recent call last):
    ...
    emoscope.errors.UnknownNameError: No colour named 'blue'. Known colours: red.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from emoscope.errors import UnknownNameError

T = TypeVar("T")
log = logging.getLogger(__name__)


class Registry(Generic[T]):
    """Named plug-ins of one kind, loaded lazily from their modules.

    Args:
        kind: What a plug-in is called in messages ("model", "export format").
        known: How the list of names is introduced in the unknown-name error.
        modules: Modules that register plug-ins when imported (a missing one is skipped).
        hint: Appended to the unknown-name error (e.g. another way to name a plug-in).
        normalize: Applied to a name before a look-up (e.g. ``str.lower``).
    """

    def __init__(
        self,
        kind: str,
        *,
        known: str = "Known",
        modules: Sequence[str] = (),
        hint: str = "",
        normalize: Callable[[str], str] | None = None,
    ) -> None:
        self.kind = kind
        self.known = known
        self.modules = tuple(modules)
        self.hint = hint
        self._normalize = normalize or (lambda name: name)
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str, item: T) -> None:
        """Add ``item`` under ``name``.

        Raises:
            ValueError: If ``name`` is already registered.
        """
        if name in self._items:
            raise ValueError(f"A {self.kind} named {name!r} is already registered; choose another.")
        self._items[name] = item

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self.modules:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                log.debug("%s plug-in module %s is not present", self.kind, module)

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        self._load()
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        """Return ``(name, plug-in)`` pairs, in registration order."""
        self._load()
        return list(self._items.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return isinstance(name, str) and self._normalize(name) in self._items

    def get(self, name: str) -> T:
        """Return the plug-in registered as ``name``.

        Raises:
            UnknownNameError: Listing the known names.
        """
        self._load()
        try:
            return self._items[self._normalize(name)]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        """The message for a name that is not registered."""
        known = ", ".join(sorted(self._items)) or "none"
        return f"No {self.kind} named {name!r}. {self.known}: {known}{self.hint}."

    @contextmanager
    def scoped(self) -> Iterator[Registry[T]]:
        """Within the block, registrations are temporary (for tests and experiments)."""
        self._load()
        saved = dict(self._items)
        try:
            yield self
        finally:
            self._items = saved
