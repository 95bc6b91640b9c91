"""scikit-learn and imbalanced-learn: every ``random_state`` set from a seed plan.

:func:`inject_random_state` walks an estimator's ``get_params(deep=True)``
(pipelines, column transformers, meta-estimators, search objects, samplers)
and the CV splitters passed as parameters, and gives every ``random_state``
its own seed, derived from the stream and the parameter's *path*
(``"rf__estimator__random_state"``). The same path always gets the same
seed; siblings get different ones; adding an unrelated step changes no
existing seed.

Policy for values you already set
---------------------------------
``None`` is always replaced, and so is a value equal to the class's own
default (``FactorAnalysis`` and ``Perceptron`` default to ``random_state=0``:
left alone, every seed would give the same model). A seed this plan already
handed out (by :func:`resampler` or :func:`kfold`) is kept quietly. A
deprecated parameter (scikit-learn's ``"deprecated"`` sentinel) is left alone.
Any other int in [0, 2**32 - 1] or ``RandomState`` you set is KEPT, with a
:class:`~seedexp.errors.SeedexpWarning` naming its path, unless
``overwrite=True``. An int outside that range, a NumPy ``Generator`` (both of
which scikit-learn rejects) or any other type raises
:class:`~seedexp.errors.SeedError` naming the path, unless ``overwrite=True``
replaces it. A splitter with ``shuffle=False`` has no randomness (and
scikit-learn rejects a ``random_state`` on it): it is left alone.

Where the randomness hides
--------------------------
* Estimators listed in a search's ``param_grid`` / ``param_distributions``
  (``GridSearchCV(pipe, {"clf": [RandomForestClassifier(), ...]})``) are
  injected too, at paths such as ``param_grid__clf__0__random_state``.
* ``TargetEncoder`` (scikit-learn >= 1.9) shuffles the folds of
  ``fit_transform`` with ``random_state=None`` while its own ``shuffle`` and
  ``random_state`` parameters are deprecated: an int (or ``None``) ``cv`` is
  replaced by :class:`SeededCV`, the same folds scikit-learn would build,
  seeded at ``<path>cv__random_state``. Before 1.9 its ``random_state`` is
  injected like any other.
* Nothing is left drawing from NumPy's global state, so fits in joblib workers
  (``n_jobs > 1``), whose global state no one resets, are reproducible bit for bit.

The helpers :func:`train_test_split`, :func:`kfold` and :func:`resampler`
are the seeded versions of the three sources the design names: data
splitting (``split`` stream), CV folds (``cv``), resampling (``resample``).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, MutableMapping

import numpy as np

from .errors import InjectionError, SeedError, SeedexpWarning
from .seeds import MAX_SEED, SeedPlan, check_seed

__all__ = ["inject_random_state", "inject_config_objects", "train_test_split", "kfold", "resampler", "RESAMPLERS",
           "SeededCV"]

_RS = "random_state"


def _is_splitter(obj: Any) -> bool:
    return hasattr(obj, "split") and hasattr(obj, "get_n_splits") and not hasattr(obj, "get_params")


def _is_sampler(obj: Any) -> bool:
    return hasattr(obj, "fit_resample") and hasattr(obj, "get_params")


def _default_random_state(owner: Any) -> Any:
    """The ``random_state`` default of ``owner``'s class (some default to 0, not None)."""
    import inspect

    try:
        param = inspect.signature(type(owner)).parameters.get(_RS)
    except (TypeError, ValueError):
        return None
    return None if param is None or param.default is inspect.Parameter.empty else param.default


def _decide(path: str, current: Any, overwrite: bool, default: Any = None, issued: frozenset = frozenset()) -> bool:
    """Whether to set the random_state at ``path`` (True) or keep it (False)."""
    if isinstance(current, str) and current in ("deprecated", "warn"):
        return False  # scikit-learn's sentinel of a deprecated parameter: setting it would warn or fail
    if current is None or overwrite:
        return True
    if default is not None and type(current) is type(default) and current == default:
        return True  # the class's own default (FactorAnalysis, Perceptron: 0), not a choice of yours
    if isinstance(current, np.random.Generator):
        raise SeedError(
            f"{path}={current!r}: scikit-learn rejects a numpy Generator as random_state; "
            "pass an int, or let seedexp set it with overwrite=True"
        )
    if isinstance(current, numbers.Integral) and not isinstance(current, bool):
        check_seed(current, path, upper=MAX_SEED)  # scikit-learn would reject it at fit time: say so now
        if int(current) in issued:
            return False  # a seed this plan already handed out (e.g. by resampler()): keep it quietly
    if isinstance(current, (numbers.Integral, np.random.RandomState)) and not isinstance(current, bool):
        warnings.warn(
            f"kept {path}={current!r} that you set; pass overwrite=True to derive it from the seed plan",
            SeedexpWarning,
            stacklevel=4,
        )
        return False
    raise SeedError(
        f"{path}={current!r} ({type(current).__name__}) is not a valid random_state: "
        "expected None, an int in [0, 2**32 - 1] or a RandomState; or pass overwrite=True"
    )


def _inject_splitter(splitter: Any, path: str, plan: SeedPlan, overwrite: bool, issued: frozenset = frozenset()) -> None:
    if not hasattr(splitter, _RS):
        return  # no randomness (LeaveOneOut, TimeSeriesSplit, ...)
    if getattr(splitter, "shuffle", True) is False:
        return  # shuffle=False: no randomness, and scikit-learn rejects a random_state
    if _decide(path, splitter.random_state, overwrite, _default_random_state(splitter), issued):
        splitter.random_state = plan.seed(path)


def inject_random_state(obj: Any, seeds: SeedPlan, stream: str = "model", *, overwrite: bool = False) -> Any:
    """Give every ``random_state`` inside ``obj`` its own seed from ``seeds``.

    Parameters
    ----------
    obj : estimator, pipeline, search object, sampler or CV splitter
        Anything with ``get_params``/``set_params`` (walked deeply), or a
        scikit-learn CV splitter. Modified in place and returned.
    seeds : SeedPlan
        The seed plan; see the "stream" entry of :mod:`seedexp.seeds`.
    stream : str
        The stream the seeds come from. The seed of the parameter at path
        ``p`` is ``seeds.child(stream).seed(p)``.
    overwrite : bool
        Replace ``random_state`` values that are already set (see the module
        docstring for the policy when False).

    Returns
    -------
    obj
        The same object, with every reachable ``random_state`` set.

    Raises
    ------
    InjectionError
        ``obj`` is neither an estimator nor a splitter.
    SeedError
        A ``random_state`` already set to something scikit-learn rejects, or
        that the estimator refuses; the message names its parameter path.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier, BaggingClassifier
    >>> from seedexp import SeedPlan
    >>> model = BaggingClassifier(RandomForestClassifier())
    >>> _ = inject_random_state(model, SeedPlan(0))
    >>> model.random_state != model.estimator.random_state
    True
    """
    plan = seeds.child(stream)
    issued = frozenset(seeds.used().values())
    if _is_splitter(obj):
        _inject_splitter(obj, _RS, plan, overwrite, issued)
        return obj
    if not (hasattr(obj, "get_params") and hasattr(obj, "set_params")):
        raise InjectionError(
            f"{stream}: {type(obj).__name__} object {obj!r:.60} is not a scikit-learn estimator or CV splitter "
            "(no get_params/set_params, no split); pass the estimator itself"
        )
    _inject(obj, plan, "", overwrite, issued)
    return obj


#: Parameters of search objects that may list estimators (or splitters) to try.
_GRIDS = ("param_grid", "param_distributions")


def _inject(obj: Any, plan: SeedPlan, prefix: str, overwrite: bool, issued: frozenset) -> None:
    """Seed every ``random_state`` reachable from estimator ``obj``; paths start with ``prefix``."""
    params = obj.get_params(deep=True)
    updates: dict[str, Any] = {}
    for path in sorted(params):
        value = params[path]
        name = path.rpartition("__")[2]
        owner = obj if "__" not in path else params.get(path.rpartition("__")[0])
        if name == _RS:
            if _deprecated_random_state(owner):
                cv_path = path[: -len(_RS)] + "cv"
                if isinstance(params.get(cv_path, 0), (numbers.Integral, type(None))) and not isinstance(
                        params.get(cv_path), bool):
                    updates[cv_path] = SeededCV(params.get(cv_path) or 5, plan.seed(prefix + cv_path + "__" + _RS),
                                                classifier=getattr(owner, "target_type", "auto") != "continuous")
            elif _decide(prefix + path, value, overwrite, _default_random_state(owner), issued):
                updates[path] = plan.seed(prefix + path)
        elif _is_splitter(value):
            _inject_splitter(value, f"{prefix}{path}__{_RS}", plan, overwrite, issued)
        elif name in _GRIDS:
            _inject_grid(value, f"{prefix}{path}__", plan, overwrite, issued)
    for path, seed in updates.items():
        try:
            obj.set_params(**{path: seed})
        except (ValueError, TypeError) as exc:
            raise SeedError(f"{prefix}{path}={seed}: {type(obj).__name__} refused it ({exc})") from None


def _inject_grid(grid: Any, prefix: str, plan: SeedPlan, overwrite: bool, issued: frozenset) -> None:
    """The estimators and splitters listed in a ``param_grid`` (dict or list of dicts)."""
    grids = [grid] if isinstance(grid, dict) else list(grid) if isinstance(grid, (list, tuple)) else []
    for g, one in enumerate(grids):
        if not isinstance(one, dict):
            continue
        at = prefix if isinstance(grid, dict) else f"{prefix}{g}__"
        for key, candidates in sorted(one.items(), key=lambda kv: str(kv[0])):
            if not isinstance(candidates, (list, tuple)):
                continue  # a scipy distribution: values, not estimators
            for i, candidate in enumerate(candidates):
                if _is_splitter(candidate):
                    _inject_splitter(candidate, f"{at}{key}__{i}__{_RS}", plan, overwrite, issued)
                elif hasattr(candidate, "get_params") and hasattr(candidate, "set_params") \
                        and not isinstance(candidate, type):
                    _inject(candidate, plan, f"{at}{key}__{i}__", overwrite, issued)


def _deprecated_random_state(owner: Any) -> bool:
    """An estimator whose ``random_state`` is deprecated in favour of a seeded ``cv`` (TargetEncoder >= 1.9)."""
    return getattr(owner, _RS, None) == "deprecated" and getattr(owner, "shuffle", None) == "deprecated" \
        and "cv" in getattr(owner, "get_params", dict)()


class SeededCV:
    """The folds scikit-learn builds from an int ``cv``, shuffled and seeded.

    ``check_cv(n_splits, y, classifier=classifier, shuffle=True, random_state=...)``:
    a shuffled ``StratifiedKFold`` for a binary or multiclass target (when
    ``classifier``), a shuffled ``KFold`` otherwise, decided from ``y`` at split
    time, as ``TargetEncoder`` decides. What :func:`inject_random_state` gives a
    ``TargetEncoder`` whose own ``shuffle`` / ``random_state`` are deprecated.

    Parameters
    ----------
    n_splits : int
        Number of folds.
    random_state : int
        The seed, in [0, 2**32 - 1].
    classifier : bool
        Stratify when the target is binary or multiclass.
    """

    shuffle = True

    def __init__(self, n_splits: int = 5, random_state: int | None = None, classifier: bool = True) -> None:
        self.n_splits = int(n_splits)
        self.random_state = random_state
        self.classifier = bool(classifier)

    def _splitter(self, y: Any) -> Any:
        from sklearn.model_selection import check_cv

        return check_cv(self.n_splits, y, classifier=self.classifier, shuffle=True, random_state=self.random_state)

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:
        return self._splitter(y).split(X, y, groups)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def __repr__(self) -> str:
        return f"SeededCV(n_splits={self.n_splits}, random_state={self.random_state}, classifier={self.classifier})"


def inject_config_objects(objects: MutableMapping[str, Any], seeds: SeedPlan) -> None:
    """Seed the scikit-learn objects an experiment's YAML declared with ``_target_``.

    Called by the app on the experiment's keyword arguments: a CV splitter
    takes the ``cv`` stream, an imbalanced-learn sampler the ``resample``
    stream, any other estimator the ``model`` stream; the keyword's name
    extends the path, so two estimators never share a seed. Values you set
    in the YAML are kept (with a warning).
    """
    for name, value in objects.items():
        if _is_splitter(value):
            stream = "cv"
        elif _is_sampler(value):
            stream = "resample"
        elif hasattr(value, "get_params"):
            stream = "model"
        else:
            continue
        inject_random_state(value, seeds.child(stream), stream=name)


def train_test_split(*arrays: Any, seeds: SeedPlan, stream: str = "split", **kwargs: Any) -> list[Any]:
    """``sklearn.model_selection.train_test_split`` seeded from the ``split`` stream."""
    from sklearn.model_selection import train_test_split as _split

    if _RS in kwargs:
        raise SeedError(f"random_state={kwargs[_RS]!r} given to train_test_split: drop it, seeds= sets it")
    return _split(*arrays, random_state=seeds.seed(stream), **kwargs)


def kfold(seeds: SeedPlan, n_splits: int = 5, *, stratified: bool = True, stream: str = "cv") -> Any:
    """A shuffled ``StratifiedKFold`` (or ``KFold``) seeded from the ``cv`` stream."""
    from sklearn.model_selection import KFold, StratifiedKFold

    cls = StratifiedKFold if stratified else KFold
    return cls(n_splits=n_splits, shuffle=True, random_state=seeds.seed(stream))


#: Names accepted by :func:`resampler`, and the imbalanced-learn class each one builds.
RESAMPLERS = {
    "random_over": "imblearn.over_sampling.RandomOverSampler",
    "smote": "imblearn.over_sampling.SMOTE",
    "adasyn": "imblearn.over_sampling.ADASYN",
    "random_under": "imblearn.under_sampling.RandomUnderSampler",
}


def resampler(seeds: SeedPlan, method: str = "random_over", *, stream: str = "resample", **kwargs: Any) -> Any:
    """An imbalanced-learn sampler seeded from the ``resample`` stream.

    ``method`` is one of :data:`RESAMPLERS`; ``kwargs`` go to its class.
    """
    import importlib

    if method not in RESAMPLERS:
        raise SeedError(f"resampler method={method!r} is unknown; choose one of {sorted(RESAMPLERS)}")
    module, _, cls = RESAMPLERS[method].rpartition(".")
    return getattr(importlib.import_module(module), cls)(random_state=seeds.seed(stream), **kwargs)
