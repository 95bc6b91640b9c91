"""seedexp in a Hydra app: the only package of seedexp that imports Hydra.

Two lines bring seedexp into an existing ``@hydra.main`` app:

.. code-block:: yaml

    # conf/config.yaml
    defaults:
      - seedexp        # seed, pin, determinism, resume, report; the seedexp sweeper
      - model: rf
      - _self_

.. code-block:: python

    import seedexp

    @seedexp.main(config_path="conf", config_name="config", version_base=None)
    def train(cfg, seeds):          # or train(cfg) and seedexp.current_seeds()
        ...
        return {"accuracy": acc}     # or one number: return acc

Each job then resets every global RNG from its seed plan, records the
returned dict in ``result.json`` (resumable by run dir), runs under
``PYTHONHASHSEED=0``, and ``-m`` ends with the summary at the sweep root (also
when a job failed) and a non-zero exit code when a planned run is not ok.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from .secrets import register_resolver
from ..core import current_seeds
from .task import wrap_task

register_resolver()  # seedexp.yaml's hydra.sweep.subdir, in every process that runs a job

__all__ = ["main", "current_seeds", "wrap_task"]


def fix_hash_seed() -> None:
    """Re-execute this program under ``PYTHONHASHSEED=0`` unless it already runs so.

    ``hash()`` of a str is salted per process unless PYTHONHASHSEED was set
    before the interpreter started: setting it later is too late, so the
    process restarts itself with the same arguments (``sys.orig_argv``). A script
    that uses ``@seedexp.main`` has normally restarted already, at ``import seedexp``
    (:mod:`seedexp._start`), before its own heavy imports. Set
    ``SEEDEXP_NO_REEXEC=1`` to opt out (the record then states the salt in force).
    """
    from .._start import reexec

    reexec()


def main(config_path: Optional[str] = None, config_name: Optional[str] = None,
         version_base: Optional[str] = None) -> Callable[[Callable[..., Any]], Callable[[], Any]]:
    """``@hydra.main`` with seedexp's run around each job.

    Parameters
    ----------
    config_path, config_name, version_base
        As for ``hydra.main``. The config must include seedexp's settings:
        ``defaults: [seedexp, _self_]``.

    Returns
    -------
    decorator
        Decorates ``task(cfg)`` or ``task(cfg, seeds)``; ``seeds`` is the run's
        :class:`~seedexp.SeedPlan` and ``cfg.seed`` its master seed, as recorded.
        The task returns ``{metric: number}`` or one number (recorded as
        ``report.primary_metric``, else ``objective``); a sweeper such as
        Hydra's Optuna sweeper gets that return value. Run as a program, the
        app shows what seedexp says (a failed run, the summary) on stdout and
        stderr (:func:`seedexp.console.show`), and what cannot run is one line
        (:func:`seedexp.hydra.app.run_app`).
    """
    import hydra

    def decorator(task_function: Callable[..., Any]) -> Callable[[], Any]:
        wrapped = wrap_task(task_function)
        hydra_main = hydra.main(config_path=config_path, config_name=config_name,
                                version_base=version_base)(wrapped)

        @functools.wraps(task_function)
        def entry(*args: Any, **kwargs: Any) -> Any:
            if args or kwargs:  # called directly with a cfg (tests, notebooks): plain call, as hydra.main does
                return hydra_main(*args, **kwargs)
            fix_hash_seed()
            from ..console import show

            show()  # the app's command line shows what seedexp says, as the seedexp command does
            from .app import run_app

            return run_app(hydra_main)  # what cannot run: one line, as the seedexp command

        return entry

    return decorator
