"""Say when the seed changes nothing.

A study over seeds is only as good as the seed's reach: an estimator built with
``random_state=0`` (instead of ``random_state=cfg.seed`` or
``seeds.seed("model")``) gives the same number for every seed, and a summary
of such runs shows a spread of zero and "no test" without saying why. Two
checks, each one line:

* :func:`identical_metrics`: every seed of a configuration gave the same value
  of every metric (from a summary's groups). Goes into the summary's warnings,
  which the sweep prints.
* :func:`run_note`: a single run asked seedexp for no stream and drew nothing
  from the reseeded global generators (``random``, ``np.random``), so nothing
  seedexp seeded reached it; only code that reads the master seed itself
  (``cfg.seed``) can vary with it.

And one line for a summary whose metrics rank two configurations in opposite
ways while no primary metric was declared (:func:`disagreeing_metrics`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

__all__ = ["identical_metrics", "run_note", "is_seed_warning", "disagreeing_metrics", "GLOBAL_STREAMS"]

#: Streams every run seeds, whether or not its code draws from them.
GLOBAL_STREAMS = ("python", "numpy")

#: How each line of :func:`identical_metrics` starts (:func:`is_seed_warning`).
PREFIX = "the seed changes nothing"

_CAUSE = ("likely a random_state hard-coded (e.g. random_state=0: use cfg.seed or seeds.seed('model')), or a "
          "deterministic model on a fixed split")


def identical_metrics(groups: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> list[str]:
    """One line per group whose seeds (two or more) all gave the same value of every metric.

    ``groups``: a summary's ``groups`` (per metric ``n``, ``min``, ``max``).

    Examples
    --------
    >>> g = {"group": "model=rf", "metrics": {"acc": {"n": 5, "min": 0.9, "max": 0.9}}}
    >>> identical_metrics([g], ["acc"])[0][:60]
    'the seed changes nothing in model=rf: its 5 seeds gave the s'
    """
    out = []
    for g in groups:
        stats = [g["metrics"].get(m) or {} for m in metrics]
        finite = [s for s in stats if (s.get("n") or 0) >= 2]
        if not finite or len(finite) != sum(1 for s in stats if s.get("n")):
            continue
        if all(s.get("min") is not None and s.get("min") == s.get("max") and math.isfinite(s["min"]) for s in finite):
            n = max(s["n"] for s in finite)
            names = [m for m in metrics if (g["metrics"].get(m) or {}).get("n", 0) >= 2]
            what = f"the same {names[0]}" if len(names) == 1 else f"the same value of every metric ({', '.join(names)})"
            out.append(f"{PREFIX} in {g['group']}: its {n} seeds gave {what}; {_CAUSE}")
    return out


def run_note(record: Mapping[str, Any], reads_seed: bool = False) -> str | None:
    """A line when an ok run asked for no stream and drew no seeded randomness, else None.

    ``reads_seed``: the configuration passes the master seed on itself (an
    interpolation ``${seed}``), so the seed does reach the code: no line.
    """
    if record.get("status") != "ok" or reads_seed:
        return None
    streams = [s for s in (record.get("streams") or {}) if s.split("/")[0] not in GLOBAL_STREAMS]
    if streams or record.get("global_draws") or "global_draws" not in record:
        return None
    return ("the seed reached nothing seedexp seeds: this run asked for no seed stream (seeds.seed / "
            "seeds.generator) and drew nothing from the reseeded random / np.random; unless your code passes "
            f"cfg.seed on, every seed gives this result: {_CAUSE}")


def is_seed_warning(line: str) -> bool:
    """Is ``line`` one of this module's (to print it again where a person looks)?"""
    return line.startswith(PREFIX)


def disagreeing_metrics(summary: Mapping[str, Any], label: Mapping[str, str] | None = None) -> list[str]:
    """One line per pair of groups that metrics rank in opposite ways, when no primary metric was declared.

    With several metrics and no ``report.primary_metric``, "A better on one
    metric, B on another" has no answer: the line says so, and what to declare.
    ``label``: how to name each group (default: its name).
    """
    label = label or {}
    if summary.get("primary_metric"):
        return []
    winners: dict[tuple[str, str], dict[str, list[str]]] = {}
    for c in summary.get("comparisons") or []:
        if c.get("better"):
            winners.setdefault((c["a"], c["b"]), {}).setdefault(c["better"], []).append(c["metric"])
    out = []
    for (a, b), by in winners.items():
        if len(by) > 1:
            said = "; ".join(f"{label.get(g, g)} better on {', '.join(ms)}" for g, ms in sorted(by.items()))
            out.append(f"the metrics disagree ({said}) and no primary metric was declared, so neither is the "
                       "answer: declare the one that decides before the runs (report.primary_metric)")
    return out
