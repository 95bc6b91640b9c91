"""The declared analysis: the report options, their defaults and their ONE check.

The options reach seedexp three ways (keyword arguments, the ``report:``
block of the config, ``seedexp report`` flags); :func:`check_options` turns
any of them into an :class:`Options` at the entry (the sweep's start, the
command's start, the public function's start), which every later step takes
as it is: an analysis is checked once, and an error names the option as the
user spelled it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ConfigError
from ..seeds import check_seed
from .benchmark import BENCHMARK_DEFAULTS, check_benchmark_options

__all__ = ["DEFAULTS", "TESTS", "CORRECTIONS", "Options", "check_options", "option_label",
           "higher_is_better_default"]

#: Metric names containing one of these are "lower is better" unless told otherwise.
LOWER_IS_BETTER_WORDS = ("loss", "error", "mse", "mae", "rmse")

#: How the runs' curves are aligned on one step grid (``report.curve_align``, :mod:`seedexp.stats.curves`).
ALIGN_RULES = ("exact", "common", "interpolate")
#: The curve options, defaults (the ``report.curve_*`` keys).
CURVE_DEFAULTS: dict[str, Any] = {"curve_align": "exact", "curve_threshold": None, "curve_points": 1000}
_POINTS_RANGE = (10, 1_000_000)

#: The report options: defaults, which are also the ``report:`` keys of the config.
DEFAULTS: dict[str, Any] = {
    "confidence": 0.95,
    "n_resamples": 2000,
    "bootstrap_seed": 0,
    "bootstrap_min_n": 20,
    "test": "t",
    "correction": "holm",
    "baseline": None,
    "primary_metric": None,
    "higher_is_better": None,
    "target_halfwidth": None,
    "target_difference": None,
    "power": 0.8,
    **CURVE_DEFAULTS,  # curve_align, curve_threshold, curve_points (seedexp.stats.curves)
    **BENCHMARK_DEFAULTS,  # task, normalize (seedexp.stats.benchmark)
}
TESTS = ("t", "permutation")
CORRECTIONS = ("holm", "bh", "none")
_RESAMPLES_RANGE = (100, 100_000)
_MIN_N_RANGE = (5, 1_000_000)
#: How each option is spelled on the command line (the rest: ``--name-with-dashes``).
_FLAGS = {"n_resamples": "--resamples"}


class Options(dict):
    """Report options that :func:`check_options` validated: every key of :data:`DEFAULTS`, normalised.

    Passed to :func:`check_options` again (alone), it is returned as it is: the
    check runs once, at the entry, whatever calls follow.
    """

    __slots__ = ()


def option_label(name: str, style: str) -> str:
    """How the user spelled option ``name``: ``n_resamples`` (python), ``--resamples`` (cli), ``report.n_resamples`` (config)."""
    if style == "cli":
        return _FLAGS.get(name, "--" + name.replace("_", "-"))
    if style == "config":
        return f"report.{name}"
    return name


def _number(value: Any, label: str, *, integer: bool, span: str = "") -> float | int:
    """A number from a Python value or its text (the command line passes text)."""
    kind = ("an integer" if integer else "a number") + (f" in {span}" if span else "")
    if isinstance(value, bool):
        raise ConfigError(f"{label}={value!r}: expected {kind}, not a bool")
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not re.fullmatch(r"\s*[+-]?\d+\s*", value) else int(value)
        except ValueError:
            raise ConfigError(f"{label}={value!r}: expected {kind}") from None
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{label}={value!r}: expected {kind}, got {type(value).__name__}")
    if integer:
        if isinstance(value, (float, np.floating)):
            if not (math.isfinite(value) and float(value).is_integer()):
                raise ConfigError(f"{label}={value!r}: expected {kind}")
        return int(value)
    return float(value)


def _in_range(value: Any, label: str, low: float, high: float, *, integer: bool, open_: bool = False,
              example: str = "") -> Any:
    span = f"({low:g}, {high:g})" if open_ else f"[{low:g}, {high:g}]"
    x = _number(value, label, integer=integer, span=span)
    ok = (low < x < high) if open_ else (low <= x <= high)
    if not ok or (not integer and not math.isfinite(x)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{label}={value!r} is out of range: expected {kind} in {span}"
                          + (f", e.g. {label}={example}" if example else ""))
    return x


def _per_metric(value: Any, label: str, example: str) -> float | dict[str, float] | None:
    """``None``, a positive number, or ``{metric: positive number}`` (text: ``a=0.01,b=0.02``)."""
    if value is None:
        return None
    if isinstance(value, str) and "=" in value:
        value = dict(item.split("=", 1) for item in value.split(",") if item.strip())
    if isinstance(value, Mapping):
        return {str(k).strip(): _in_range(v, f"{label} {str(k).strip()}", 0, math.inf, integer=False, open_=True,
                                          example=example)
                for k, v in value.items()}
    return _in_range(value, label, 0, math.inf, integer=False, open_=True, example=example)


def check_curve_options(out: dict[str, Any], label: Callable[[str], str]) -> None:
    """Validate the ``curve_*`` report options in place (called by :func:`check_options`)."""
    if out["curve_align"] not in ALIGN_RULES:
        raise ConfigError(f"{label('curve_align')}={out['curve_align']!r}: expected one of {', '.join(ALIGN_RULES)}")
    out["curve_points"] = _in_range(out["curve_points"], label("curve_points"), *_POINTS_RANGE, integer=True,
                                    example="1000")
    threshold = out["curve_threshold"]
    if threshold is not None:
        if isinstance(threshold, str) and "=" in threshold:
            threshold = dict(item.split("=", 1) for item in threshold.split(",") if item.strip())
        if not isinstance(threshold, Mapping) and not hasattr(threshold, "items"):
            raise ConfigError(f"{label('curve_threshold')}={threshold!r}: expected a mapping of metric -> value, "
                              "e.g. {val_acc: 0.9} (command line: val_acc=0.9)")
        out["curve_threshold"] = {
            str(k).strip(): float(_in_range(v, f"{label('curve_threshold')} {str(k).strip()}", -math.inf, math.inf,
                                            integer=False, open_=True, example="0.9"))
            for k, v in threshold.items()}


def check_options(options: Mapping[str, Any] | None = None, *, style: str = "python", **values: Any) -> Options:
    """Validate the report options; return all of them, defaults filled in.

    The ONE place where report options are checked, whichever way they came
    (keyword arguments, the ``report:`` block of the config, command-line flags):
    every error is one line naming the option as the user spelled it, the
    value and the accepted range.

    Parameters
    ----------
    options : mapping, optional
        Option name -> value (the keys of :data:`DEFAULTS`); ``values`` are added to it.
        An :class:`Options` (already checked) with no ``values`` is returned as it is.
    style : {"python", "cli", "config"}
        How to name an option in an error: ``n_resamples``, ``--resamples``
        or ``report.n_resamples``.

    Returns
    -------
    Options
        Every key of :data:`DEFAULTS`, validated and normalised.

    Raises
    ------
    ConfigError
        An unknown option, or a value out of its range.

    Examples
    --------
    >>> check_options(confidence=0.9)["confidence"]
    0.9
    >>> check_options({"n_resamples": "0"}, style="cli")
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: --resamples='0' is out of range: expected an integer in [100, 100000], e.g. --resamples=2000
    """
    if isinstance(options, Options) and not values:
        return options
    given = {**(options or {}), **values}
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown report option(s) {', '.join(option_label(u, style) for u in unknown)}; "
                          f"known: {', '.join(option_label(k, style) for k in DEFAULTS)}")
    out = {**DEFAULTS, **{k: v for k, v in given.items()}}
    lab = {k: option_label(k, style) for k in DEFAULTS}
    out["confidence"] = _in_range(out["confidence"], lab["confidence"], 0, 1, integer=False, open_=True, example="0.95")
    out["n_resamples"] = _in_range(out["n_resamples"], lab["n_resamples"], *_RESAMPLES_RANGE, integer=True,
                                   example="2000")
    out["bootstrap_min_n"] = _in_range(out["bootstrap_min_n"], lab["bootstrap_min_n"], *_MIN_N_RANGE, integer=True,
                                       example="20")
    out["power"] = _in_range(out["power"], lab["power"], 0, 1, integer=False, open_=True, example="0.8")
    seed = out["bootstrap_seed"]
    if isinstance(seed, str) and re.fullmatch(r"\s*[+-]?\d+\s*", seed):
        seed = int(seed)
    out["bootstrap_seed"] = check_seed(seed, lab["bootstrap_seed"])
    for key, choices in (("test", TESTS), ("correction", CORRECTIONS)):
        if out[key] not in choices:
            raise ConfigError(f"{lab[key]}={out[key]!r}: expected one of {', '.join(choices)}")
    for key in ("baseline", "primary_metric"):
        if out[key] is not None and (not isinstance(out[key], str) or not out[key].strip()):
            raise ConfigError(f"{lab[key]}={out[key]!r}: expected a non-empty name, or null")
    hib = out["higher_is_better"]
    if hib is not None:
        if not isinstance(hib, Mapping) or not all(isinstance(v, bool) for v in hib.values()):
            raise ConfigError(f"{lab['higher_is_better']}={hib!r}: expected a mapping of metric name -> true/false, "
                              f"e.g. {{test_loss: false}}")
        out["higher_is_better"] = {str(k): bool(v) for k, v in hib.items()}
    out["target_halfwidth"] = _per_metric(out["target_halfwidth"], lab["target_halfwidth"], "0.01")
    out["target_difference"] = _per_metric(out["target_difference"], lab["target_difference"], "0.02")
    check_curve_options(out, lab.__getitem__)
    check_benchmark_options(out, lab.__getitem__)
    return Options(out)


def higher_is_better_default(metric: str) -> bool:
    """The direction of a metric from its name: losses and errors are lower-is-better.

    Examples
    --------
    >>> higher_is_better_default("test_f1"), higher_is_better_default("val_loss"), higher_is_better_default("rmse")
    (True, False, False)
    """
    name = metric.lower()
    return not any(word in name for word in LOWER_IS_BETTER_WORDS)
