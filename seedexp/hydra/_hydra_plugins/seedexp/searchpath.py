"""Adds ``pkg://seedexp.conf`` to the config search path of every Hydra app."""

from __future__ import annotations

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

from seedexp.hydra.secrets import register_resolver

register_resolver()  # seedexp.yaml's hydra.sweep.subdir: every Hydra process that finds seedexp's configs has it


class SeedexpSearchPathPlugin(SearchPathPlugin):
    """Appended after the app's own config dirs: the user's files always win."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="seedexp", path="pkg://seedexp.conf")
