"""A post-import hook: call a function the moment a watched top-level package is first imported.

Used by :mod:`seedexp.frameworks` so that a framework imported *during* a run
(``import torch`` inside the experiment function) is seeded before the line
after the import runs, and a framework the run never imports is never imported.

The hook is a :data:`sys.meta_path` finder placed first. For a watched name it
asks the other finders for the real spec and wraps the spec's loader; the
wrapper restores the real loader on the module (so ``__loader__`` and
``__spec__.loader`` are the library's own), executes the module, and then
calls the callback with the fully imported module.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Callable, Iterable


class _SeedingLoader(importlib.abc.Loader):
    """Delegates to the real loader; calls ``on_import(module)`` once the module is executed."""

    def __init__(self, loader: importlib.abc.Loader, on_import: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._on_import = on_import

    def create_module(self, spec):  # noqa: D401 - importlib protocol
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        # The module is complete and registered: never raise from here (a failed
        # import would be removed from sys.modules and torch cannot be imported twice).
        self._on_import(module)


class PostImportHook(importlib.abc.MetaPathFinder):
    """Calls ``on_import(module)`` right after a watched top-level package is imported.

    Parameters
    ----------
    names : iterable of str
        Top-level package names (``"torch"``, ``"tensorflow"``, ``"keras"``).
    on_import : callable
        Called with the imported module; must not raise.
    """

    def __init__(self, names: Iterable[str], on_import: Callable[[ModuleType], None]) -> None:
        self._names = frozenset(names)
        self._on_import = on_import
        self._busy: set[str] = set()

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def remove(self) -> None:
        while self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname not in self._names or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)  # the other finders (we answer None while busy)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _SeedingLoader(spec.loader, self._on_import)
        return spec
