"""Search spaces: what each parameter of a tuning study may take, checked once.

A space maps a parameter name to one of:

* a list or tuple of values: a categorical choice (``["rbf", "linear"]``);
* a string in the shape of Hydra's sweep overrides, the shape of
  hydra-optuna-sweeper's ``params``:

  - ``interval(low, high)``: a float, uniform in [low, high];
  - ``tag(log, interval(low, high))``: a float, log-uniform (0 < low);
  - ``range(start, stop[, step])``: an integer from start to stop, **both
    included** (as hydra-optuna-sweeper reads it: Optuna's ``suggest_int``),
    by ``step``; float bounds or step give a float grid;
  - ``tag(log, range(start, stop))``: an integer, log-uniform;
  - ``choice(a, b, ...)``: a categorical choice;
  - anything else that is not a sweep (``12``, ``rbf``): a fixed value.

Every mistake is ONE :class:`~seedexp.errors.ConfigError` line naming the
parameter, what was given and how to write it: an empty choice, low > high, a
log scale over non-positive values, an unknown distribution.

A string is read by Hydra's override grammar (:mod:`seedexp.hydra.space`,
Hydra being a core dependency); nothing from Optuna is imported until a
trial asks for values (:meth:`Param.suggest`).

Examples
--------
>>> space = parse_space({"C": "tag(log, interval(1e-3, 1e2))", "kernel": ["rbf", "linear"], "degree": "range(2, 4)"})
>>> [(p.name, p.kind, p.low, p.high, p.log) for p in space.params]
[('C', 'float', 0.001, 100.0, True), ('kernel', 'categorical', None, None, False), ('degree', 'int', 2, 4, False)]
>>> parse_space({"C": "interval(10, 1)"})
Traceback (most recent call last):
...
seedexp.errors.ConfigError: space C='interval(10, 1)': low 10 > high 1; write interval(1, 10)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import ConfigError

__all__ = ["Param", "Space", "parse_space", "FORMS"]

#: How to write each distribution, for error messages.
FORMS = ("interval(low, high), tag(log, interval(low, high)), range(start, stop[, step]), "
         "tag(log, range(start, stop)) or choice(a, b, ...)")


@dataclass(frozen=True)
class Param:
    """One searched parameter.

    ``kind`` is ``"float"``, ``"int"`` or ``"categorical"``; ``low``/``high`` are
    inclusive bounds; ``step`` a grid step (or None); ``choices`` the values of
    a categorical parameter; ``text`` what the user wrote.
    """

    name: str
    kind: str
    low: Any = None
    high: Any = None
    log: bool = False
    step: Any = None
    choices: tuple = ()
    text: str = ""

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this parameter's value (define-by-run: works with every Optuna version)."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def describe(self) -> str:
        """The parameter as a short text, e.g. ``C ~ log-uniform [0.001, 100]``."""
        if self.kind == "categorical":
            return f"{self.name} in {{{', '.join(map(str, self.choices))}}}"
        scale = "log-uniform" if self.log else "uniform"
        grid = f" step {self.step:g}" if self.step else ""
        return f"{self.name} ~ {scale} {self.kind} [{self.low:g}, {self.high:g}]{grid}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high, "log": self.log,
                "step": self.step, "choices": list(self.choices), "text": self.text}


@dataclass(frozen=True)
class Space:
    """The searched parameters (in the order given) and the fixed ones."""

    params: tuple[Param, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """The trial's values of the searched parameters (what tuning.json and the trials table show)."""
        return {p.name: p.suggest(trial) for p in self.params}

    def full(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """What a run is given: the fixed parameters and the trial's values."""
        return {**dict(self.fixed), **dict(values)}

    def to_dict(self) -> dict[str, Any]:
        from ..api import _jsonable
        from ..redact import redact_config

        return {"params": [p.to_dict() for p in self.params],
                "fixed": redact_config({k: _jsonable(v) for k, v in self.fixed.items()})}  # a secret by its tag


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _scalar(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (str, bool)) or _is_number(value):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    raise ConfigError(f"{where}: the choice {value!r} is a {type(value).__name__}; choices must be strings, "
                      "numbers, booleans or null")


def _choice(name: str, values: Any, text: str) -> Param:
    values = list(values)
    where = f"space {name}={text}"
    if not values:
        raise ConfigError(f"{where} is an empty choice; give at least one value, e.g. choice(a, b)")
    values = [_scalar(v, where) for v in values]
    if len({repr(v) for v in values}) != len(values):
        raise ConfigError(f"{where} lists a value twice; give each choice once")
    return Param(name=name, kind="categorical", choices=tuple(values), text=text)


def _bounds(name: str, low: Any, high: Any, log: bool, text: str, form: str) -> None:
    where = f"space {name}={text!r}"
    if not (_is_number(low) and _is_number(high)):
        raise ConfigError(f"{where}: bounds must be finite numbers, e.g. {form}(0.1, 10)")
    if low > high:
        raise ConfigError(f"{where}: low {low:g} > high {high:g}; write {form}({high:g}, {low:g})")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0 (got {low:g}); e.g. tag(log, {form}(1e-3, {high:g}))")


def _from_sweep(name: str, text: str) -> Param | tuple[str, Any]:
    """Parse one Hydra-style value (:func:`seedexp.hydra.space.read_sweep`); a non-sweep value comes back as ``("fixed", value)``."""
    from ..hydra.space import read_sweep

    value = read_sweep(name, text, FORMS)
    if value["kind"] == "fixed":
        return ("fixed", value["value"])
    unknown = sorted(value["tags"] - {"log"})
    if unknown:
        raise ConfigError(f"space {name}={text!r}: unknown tag {unknown[0]!r}; the only tag is log, "
                          "e.g. tag(log, interval(1e-3, 10))")
    log = "log" in value["tags"]
    if value["kind"] == "choice":
        if log:
            raise ConfigError(f"space {name}={text!r}: a choice has no scale; drop tag(log, ...)")
        return _choice(name, value["values"], repr(text))
    if value["kind"] == "interval":
        low, high = value["low"], value["high"]
        _bounds(name, low, high, log, text, "interval")
        return Param(name=name, kind="float", low=float(low), high=float(high), log=log, text=text)
    if value["shuffle"]:
        raise ConfigError(f"space {name}={text!r}: shuffle has no meaning in a search space; drop it")
    low, high, step = value["start"], value["stop"], value["step"]
    _bounds(name, low, high, log, text, "range")
    if not (_is_number(step) and step > 0):
        raise ConfigError(f"space {name}={text!r}: the step must be a positive number, e.g. range(1, 10, 1)")
    ints = all(isinstance(v, numbers.Integral) for v in (low, high, step))
    if log and step != 1:
        raise ConfigError(f"space {name}={text!r}: a log scale takes no step; write tag(log, range({low:g}, {high:g}))")
    if ints:
        return Param(name=name, kind="int", low=int(low), high=int(high), log=log,
                     step=None if log else int(step), text=text)
    return Param(name=name, kind="float", low=float(low), high=float(high), log=log,
                 step=None if log else float(step), text=text)


def parse_space(space: Mapping[str, Any], fixed: Mapping[str, Any] | None = None) -> Space:
    """Check a search space and return it as a :class:`Space`.

    Parameters
    ----------
    space : mapping of str to {list, tuple, str}
        Parameter name -> a list of choices, or a distribution written as in
        Hydra's sweep overrides (see the module docstring). A string that is
        not a sweep (``"12"``) is a fixed value.
    fixed : mapping, optional
        Values passed to every trial unchanged.

    Returns
    -------
    Space

    Raises
    ------
    ConfigError
        One line per mistake, naming the parameter: empty choice, low > high,
        a log scale over non-positive values, an unknown distribution, no
        searched parameter at all.

    Examples
    --------
    >>> parse_space({"depth": "range(2, 8)"}).params[0].describe()
    'depth ~ uniform int [2, 8] step 1'
    >>> parse_space({"x": "normal(0, 1)"})
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: space x='normal(0, 1)': unknown distribution; use interval(low, high), tag(log, interval(low, high)), range(start, stop[, step]), tag(log, range(start, stop)) or choice(a, b, ...)
    """
    if not isinstance(space, Mapping):
        raise ConfigError(f"space={space!r} must be a mapping of parameter name -> distribution, "
                          "e.g. {'C': 'tag(log, interval(1e-3, 100))', 'kernel': ['rbf', 'linear']}")
    params: list[Param] = []
    fixed_values = dict(fixed or {})
    for raw_name, spec in space.items():
        name = str(raw_name)
        if not name or name == "seed" or "=" in name or "," in name:
            raise ConfigError(f"space {raw_name!r}: not a parameter name"
                              + ("; the seeds are given by seeds=, not searched" if name == "seed" else ""))
        if isinstance(spec, (list, tuple)):
            params.append(_choice(name, spec, repr(list(spec))))
        elif isinstance(spec, str):
            parsed = _from_sweep(name, spec)
            if isinstance(parsed, Param):
                params.append(parsed)
            else:
                fixed_values[name] = parsed[1]
        elif hasattr(spec, "items") or spec is None or isinstance(spec, (bool, numbers.Number)):
            raise ConfigError(f"space {name}={spec!r}: not a distribution; use a list of choices or {FORMS}")
        else:
            raise ConfigError(f"space {name}={spec!r}: unknown distribution ({type(spec).__name__}); use a list of "
                              f"choices or {FORMS}")
    if not params:
        raise ConfigError("the search space has no searched parameter; give at least one, "
                          "e.g. {'C': 'tag(log, interval(1e-3, 100))'}")
    overlap = sorted(set(fixed_values) & {p.name for p in params})
    if overlap:
        raise ConfigError(f"{overlap[0]} is both searched and fixed; keep one")
    return Space(params=tuple(params), fixed=fixed_values)
