"""Every use of Hydra's private API, in one place: each with why, and the Hydra version it was checked on.

seedexp needs ``hydra-core>=1.3.2,<1.4``; each use below was read against the
source of Hydra 1.3.8 (the version CI pins) and is covered by the tests named
in its comment. A Hydra upgrade that breaks one of them breaks it here only.
The rest of :mod:`seedexp.hydra` uses Hydra's public plugin API
(``hydra.plugins``, ``hydra.core.utils``, ``hydra.core.override_parser``,
``hydra.core.plugins.Plugins``, ``hydra.core.singleton.Singleton`` as
Hydra's own launcher plugins use them).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["CHECKED_ON", "BASIC_LAUNCHER", "run_hydra", "args_parser", "use_version_base_none",
           "chdir_by_default", "job_value", "set_job_value", "set_job_config", "group_exists"]

#: The Hydra version every use here was checked on.
CHECKED_ON = "1.3.8"

#: The class of Hydra's basic launcher, by name (never imported): the fast path runs jobs itself
#: under this launcher only (and the joblib plugin's). Checked on 1.3.8: hydra/_internal/core_plugins/
#: basic_launcher.py. Tests: tests/test_fast.py.
BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def run_hydra(args: Any, parser: Any, task_function: Callable[[Any], Any], config_name: str | None) -> None:
    """Run the ``seedexp`` command as a Hydra app.

    Why: the command chooses its primary config at run time (the user's
    DIR/config.yaml under --config-dir, else seedexp's own), which ``@hydra.main``
    fixes at import; ``hydra.main`` calls this same ``_run_hydra`` with these
    arguments. Checked on 1.3.8: hydra/_internal/utils.py. Tests: tests/test_cli.py.
    """
    from hydra._internal.utils import _run_hydra

    _run_hydra(args=args, args_parser=parser, task_function=task_function, config_path=None,
               config_name=config_name)


def args_parser() -> Any:
    """Hydra's own command-line parser (``-m``, ``--cfg``, ``--config-dir``...), as ``_run_hydra`` expects.

    Why: :func:`run_hydra` needs it, built as ``hydra.main`` builds it.
    Checked on 1.3.8: hydra/_internal/utils.py ``get_args_parser``. Tests: tests/test_cli.py.
    """
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def use_version_base_none() -> None:
    """Hydra 1.3's defaults (no chdir into the run dir), as ``@hydra.main(version_base=None)`` sets them.

    Why: :func:`run_hydra` bypasses ``hydra.main``, which is where the version
    base is set. Checked on 1.3.8: hydra/version.py ``setbase``. Tests: tests/test_cli.py.
    """
    from hydra import version

    version.setbase(None)


def chdir_by_default() -> bool:
    """Does a job chdir into its run dir when ``hydra.job.chdir`` is unset? (True before version base 1.2.)

    Why: the fast path decides it as Hydra's ``run_job`` does.
    Checked on 1.3.8: hydra/core/utils.py ``run_job``, hydra/version.py. Tests: tests/test_fast.py.
    """
    from hydra import version

    return not version.base_at_least("1.2")


def job_value(ret: Any) -> Any:
    """A job's return value, or the exception it raised, without raising it.

    Why: ``JobReturn.return_value`` raises a failed job's exception; the fast
    path carries statuses between processes and must read it as a value.
    Checked on 1.3.8: hydra/core/utils.py ``JobReturn._return_value``. Tests: tests/test_fast.py.
    """
    return ret._return_value


def set_job_value(ret: Any, value: Any) -> None:
    """Replace what a job returned (the fast path sends back a status, not the whole record).

    Why and where checked: as :func:`job_value`.
    """
    ret._return_value = value


def set_job_config(cfg: Any) -> None:
    """Make ``cfg`` the job's config that ``HydraConfig.get()`` returns, without a copy.

    Why: ``HydraConfig.instance().set_config(cfg)`` stores a masked copy of the
    config for each job; the fast path sets each job's fields on one config per
    configuration, which nothing else holds, and hands that over as it is.
    Checked on 1.3.8: hydra/core/hydra_config.py (``set_config`` stores its copy
    in ``cfg``; ``get()`` reads ``cfg.hydra``). Tests: tests/test_fast.py.
    """
    from hydra.core.hydra_config import HydraConfig

    HydraConfig.instance().cfg = cfg  # type: ignore[assignment]


def group_exists(config_loader: Any, key: str) -> bool:
    """Is ``key`` a config group of the app (``experiment``, ``hydra/launcher``...)? True when unknown.

    Why: an override of a group (``experiment=other``) changes a config's
    structure, one of a plain key (``experiment.C=1``) only a value; the fast
    path composes once per structure. ``ConfigLoaderImpl.repository`` is not
    part of the ``ConfigLoader`` interface. Checked on 1.3.8:
    hydra/_internal/config_loader_impl.py, config_repository.py. Tests: tests/test_fast.py.
    """
    repository = getattr(config_loader, "repository", None)
    try:
        return repository is None or bool(repository.group_exists(key))
    except Exception:  # noqa: BLE001 - unknown: treat as structure (full composition)
        return True
