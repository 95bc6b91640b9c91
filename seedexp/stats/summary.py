"""Run records -> a sweep's summary: statistics per configuration and metric, paired comparisons.

:func:`summarize` is a pure function of the run records (and the checked
options, :mod:`seedexp.stats.options`): the same records give the same summary,
bit for bit, every time. Runs are grouped by their overrides minus the seed
and the settings that do not change a run (:func:`seedexp.record.group_of`):
one group per configuration. The numbers come from
:mod:`seedexp.stats.estimators`; reading a sweep directory is
:func:`seedexp.sweepdir.aggregate`, rendering :mod:`seedexp.report`.

How a summary is built, step by step (each a short function here):

1. the runs, each with its status (:func:`runs_of`): records matched to the
   plan; ``crashed`` is a run whose process died (its record says so, or was
   left at ``running``), ``timed_out`` one stopped at its time limit, ``missing``
   a planned run with no record;
2. the metrics and their directions (:func:`_metrics`), checking that the
   options name metrics the runs reported;
3. per group and metric, :func:`~seedexp.stats.estimators.describe` of the
   finite values of the ok runs (:func:`_group`), and a warning where n < 5 or
   where every seed gave the same values (:func:`seedexp.diagnose.identical_metrics`);
4. the paired comparisons (:func:`_comparisons`): every pair of groups, or
   each against the ``baseline``, on their shared seeds, with ONE declared test,
   then the p-values adjusted per family (Holm or Benjamini-Hochberg; with a
   ``primary_metric``, its comparisons form their own family) and the verdicts;
5. how many seeds a target needs (:func:`_planning`, :mod:`seedexp.planning`);
6. survivorship: groups whose share of lost seeds differs from the rest
   (:func:`_survivorship`).
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import PurePosixPath
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..diagnose import identical_metrics
from ..errors import ConfigError, RecordError
from ..seeds import stream_key
from .estimators import adjust_pvalues, describe, paired
from .options import Options, check_options, higher_is_better_default

__all__ = ["SUMMARY_SCHEMA", "RUN_STATUSES", "RECORD_FIELDS", "SMALL_N", "summarize", "summary_of", "runs_of",
           "run_of", "resolve_baseline", "all_ok", "lost_values_line", "not_ok_line"]

SUMMARY_SCHEMA = "seedexp.summary/2"

#: What became of a run: ``failed``: the experiment raised; ``crashed``: its process
#: died (a record the supervisor wrote, :mod:`seedexp.supervise`, or one left at
#: ``running``); ``timed_out``: stopped at its ``timeout``; ``missing``: a planned
#: run with no record at all.
RUN_STATUSES = ("ok", "failed", "crashed", "timed_out", "missing")

#: Below this many seeds the summary warns that the interval is wide and leans on normality.
SMALL_N = 5

#: Fields :func:`summarize` reads from a record (``metrics`` only for ok runs;
#: ``error`` and ``path`` are optional).
RECORD_FIELDS = ("group", "seed", "status", "metrics", "error", "path")


class Run(dict):
    """A run in the form :func:`run_of` gives it (what :func:`seedexp.sweepdir.load_records` builds: no second copy)."""

    __slots__ = ()


def run_of(i: int, rec: Any) -> dict[str, Any]:
    """Record number ``i`` as the summary reads it (:data:`RECORD_FIELDS`); RecordError names a missing field."""
    if type(rec) is Run:
        return rec
        return rec
    where = f"record #{i}" + (f" ({rec.get('path')})" if isinstance(rec, Mapping) and rec.get("path") else "")
    if not isinstance(rec, Mapping):
        raise RecordError(f"{where} is a {type(rec).__name__}, not a dict; summarize needs dicts with "
                          "group, seed, status (and metrics when ok)")
    for key in ("group", "seed", "status"):
        if key not in rec:
            raise RecordError(f"{where} has no {key!r} field; summarize needs group, seed, status "
                              "(and metrics when ok), as in result.json")
    if not isinstance(rec["group"], str):
        raise RecordError(f"{where}: group={rec['group']!r} is not a str")
    if isinstance(rec["seed"], bool) or not isinstance(rec["seed"], (int, np.integer)):
        raise RecordError(f"{where}: seed={rec['seed']!r} is not an int")
    if rec["status"] not in ("ok", "failed", "running", "crashed", "timed_out"):
        raise RecordError(f"{where}: status={rec['status']!r} is not one of ok, failed, running, crashed, timed_out")
    metrics = rec.get("metrics") or {}
    if rec["status"] == "ok" and ("metrics" not in rec or not isinstance(metrics, Mapping)):
        raise RecordError(f"{where} is ok but has no 'metrics' dict")
    return {"group": rec["group"], "seed": int(rec["seed"]),
            "status": "crashed" if rec["status"] in ("running", "crashed") else rec["status"],
            "path": None if rec.get("path") is None else PurePosixPath(str(rec["path"])).as_posix(),
            "metrics": dict(metrics) if rec["status"] == "ok" else {},
            "error": dict(rec.get("error") or {})}


def runs_of(records: Iterable[Mapping[str, Any]],
            planned: Sequence[Mapping[str, Any]] | None) -> tuple[list[dict], list[str]]:
    """Every run with its status: records matched to the plan; planned runs with no record are missing."""
    notes: list[str] = []
    runs = [run_of(i, r) for i, r in enumerate(records)]
    by_key: dict[tuple[str, int], dict] = {}
    for r in sorted(runs, key=lambda r: (r["path"] or "")):
        key = (r["group"], r["seed"])
        if key in by_key:
            notes.append(f"two records for seed {r['seed']} of {r['group']!r} ({by_key[key]['path']}, {r['path']}): "
                         "the first is used")
            continue
        by_key[key] = r
    runs = list(by_key.values())
    if planned is not None:
        by_path = {r["path"]: r for r in runs if r["path"]}
        for i, p in enumerate(planned):
            if not isinstance(p, Mapping) or not isinstance(p.get("group"), str):
                raise RecordError(f"planned run #{i} ({p!r}) needs a str 'group' and an int 'seed'")
            seed = p.get("seed")
            path = None if p.get("path") is None else PurePosixPath(str(p["path"])).as_posix()
            if path and path in by_path:
                continue
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                notes.append(f"planned run #{i} of {p['group']!r} has seed {seed!r}, not an int: "
                             "it cannot be matched to a record, so it is not counted")
                continue
            key = (p["group"], int(seed))
            if key not in by_key:
                by_key[key] = {"group": p["group"], "seed": int(seed), "status": "missing", "path": path,
                               "metrics": {}, "error": {}}
                runs.append(by_key[key])
    runs.sort(key=lambda r: (r["group"], r["seed"]))
    return runs, notes


def resolve_baseline(baseline: str, groups: Sequence[str]) -> str:
    """The group ``baseline`` names: a group's name, or overrides only that group has (ConfigError else)."""
    if baseline in groups:
        return baseline
    parts = {p.strip() for p in baseline.split(",") if p.strip()}
    matches = [g for g in groups if parts <= set(g.split(","))]
    if len(matches) == 1:
        return matches[0]
    what = "matches no group" if not matches else f"matches {len(matches)} groups"
    raise ConfigError(f"baseline {baseline!r} {what}; the groups are: {'; '.join(groups)}. "
                      "Name one of them, or overrides only it has (e.g. experiment.model=lr)")



# --------------------------------------------------------------------------- the summary, step by step


def summarize(records: Iterable[Mapping[str, Any]], *, planned: Sequence[Mapping[str, Any]] | None = None,
              options: Mapping[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    """Statistics per group and metric, the status of every run, and the paired comparisons.

    Parameters
    ----------
    records : iterable of dict
        Run records (``result.json`` contents, or dicts with the same fields).
        Read: ``group`` (str), ``seed`` (int), ``status`` (``"ok"``, ``"failed"``
        or ``"running"``, the marker a run leaves when its process died: counted
        as *crashed*), ``metrics`` (``{name: float or None}``, for ok runs),
        ``error`` (``{type, message}``, optional) and ``path`` (optional: the run
        dir, relative to the sweep dir).
    planned : sequence of dict, optional
        The sweep's planned runs, ``{"group", "seed", "path"}`` each (from
        ``sweep.json``): a planned run with no record is counted as *missing*.
    options : mapping, optional
        The report options, or the :class:`~seedexp.stats.options.Options` an
        entry checked already.
    **values
        Report options by name (:data:`~seedexp.stats.options.DEFAULTS`, checked by
        :func:`~seedexp.stats.options.check_options`): ``confidence``,
        ``n_resamples``, ``bootstrap_seed``, ``bootstrap_min_n``, ``test``,
        ``correction``, ``baseline``, ``primary_metric``, ``higher_is_better``,
        ``target_halfwidth``, ``target_difference``, ``power``.

    Returns
    -------
    dict
        Schema ``seedexp.summary/2``: ``n_runs`` and ``n_<status>`` for every status of
        :data:`RUN_STATUSES` (``n_timed_out`` since seedexp 0.3), ``groups`` (per group:
        run counts by status and, per metric, :data:`~seedexp.stats.estimators.STAT_NAMES`),
        ``comparisons``, ``planning``, ``runs`` (every run, planned ones included,
        with its status), ``n_nonfinite`` and ``nonfinite`` (per group and metric, the
        seeds of ok runs whose value was NaN or inf: lost values, named in ``warnings``
        too, and the sweep is not all ok), ``not_ok`` (each run that is not ok: its status, the error's
        ``type`` and ``message`` - for a crashed or timed-out run, the cause: exit code
        or signal, or the limit - and ``log_tail``, its last output, when known),
        ``survivorship``, ``warnings``, ``methods``, ``options``, ``versions``.

    Raises
    ------
    RecordError
        A record without one of the fields above (named).
    ConfigError
        An option out of range, or naming a metric or group that is not there.

    Examples
    --------
    >>> recs = [{"group": g, "seed": s, "status": "ok",
    ...          "metrics": {"acc": 0.7 + 0.01 * s + (g == "b") * (0.02 + 0.003 * (s % 2))}}
    ...         for g in "ab" for s in range(5)]
    >>> s = summarize(recs)
    >>> s["groups"][0]["metrics"]["acc"]["n"], s["comparisons"][0]["better"]
    (5, 'b')
    """
    return summary_of(records, planned, check_options(options, **values))


def summary_of(records: Iterable[Mapping[str, Any]], planned: Sequence[Mapping[str, Any]] | None,
               opt: Options, series_metrics: Sequence[str] = ()) -> dict[str, Any]:
    """:func:`summarize` with options already checked (the entry checked them once).

    ``series_metrics``: metrics the runs logged as series (:mod:`seedexp.stats.curves`);
    ``higher_is_better`` may name them too.
    """
    runs, warn = runs_of(records, planned)
    group_names = sorted({r["group"] for r in runs})
    task = opt.get("task")
    if task is not None:  # a benchmark (seedexp.stats.benchmark): the task key is checked before any work
        from . import benchmark

        benchmark.check_task(group_names, task)
    metric_names, direction = _metrics(runs, opt, series_metrics)
    baseline = resolve_baseline(opt["baseline"], group_names) if opt["baseline"] is not None and task is None \
        else opt["baseline"]
    groups, series = [], {}
    for name in group_names:
        group, by_metric = _group(name, [r for r in runs if r["group"] == name], metric_names, opt)
        groups.append(group)
        series.update(((name, m), values) for m, values in by_metric.items())
    warn += _small_n_warnings(groups, metric_names)
    warn += identical_metrics(groups, metric_names)  # the seed reaches nothing these runs compute
    if task is not None:  # within a task only: each method against the baseline method
        pairs = benchmark.task_pairs(group_names, task, opt["baseline"])
    else:
        pairs = [(g, baseline) for g in group_names if g != baseline] if baseline is not None \
            else list(itertools.combinations(group_names, 2))
    comparisons = _comparisons(series, metric_names, pairs, direction, opt)
    warn += _verdicts(comparisons, direction, opt)
    survivorship = _survivorship(groups, metric_names, opt)
    warn += [f"{f['metric']}, {f['group']}: lost {f['lost']} of {f['n_runs']} seeds, a rate unlike the other groups' "
             f"(Fisher p={f['pvalue']:.3g}, Holm {f['p_adjusted']:.3g}): statistics over the surviving seeds may be "
             "biased" for f in survivorship if f["flagged"]]
    not_ok = _not_ok(runs)
    nonfinite = _nonfinite(runs, metric_names)
    warn += [f"{f['metric']}, {f['group']}: {len(f['seeds'])} run(s) returned NaN or inf (seed(s) "
             f"{', '.join(map(str, f['seeds'][:10]))}{', ...' if len(f['seeds']) > 10 else ''}): lost values, left out of "
             "the statistics" for f in nonfinite]
    return {
        "schema": SUMMARY_SCHEMA,
        "n_runs": len(runs),
        **{f"n_{s}": sum(1 for r in runs if r["status"] == s) for s in RUN_STATUSES},
        "n_not_ok": len(not_ok),
        "n_nonfinite": sum(len(f["seeds"]) for f in nonfinite),
        "planned": planned is not None,
        "metrics": metric_names,
        "primary_metric": opt["primary_metric"],
        "baseline": baseline,
        "higher_is_better": direction,
        "groups": groups,
        "comparisons": comparisons,
        "planning": _planning(groups, metric_names, comparisons, len(pairs), opt),
        "survivorship": survivorship,
        "not_ok": not_ok,
        "failures": [f for f in not_ok if f["status"] == "failed"],
        "nonfinite": nonfinite,
        "bootstrap": {"seed": opt["bootstrap_seed"], "n_resamples": opt["n_resamples"],
                      "confidence": opt["confidence"], "min_n": opt["bootstrap_min_n"], "method": "BCa"},
        "warnings": warn,
        "options": opt,
        "methods": _methods(opt),
        "versions": _versions(),
        "runs": [{k: r[k] for k in ("group", "seed", "status", "path", "metrics")} for r in runs],
        **({"benchmark": benchmark.section(runs, opt, metric_names, direction)} if task is not None else {}),
    }


def all_ok(summary: Mapping[str, Any]) -> bool:
    """True when every planned run has an ok record, no metric value was NaN or inf, and no record is unreadable."""
    bad = sum(int(summary.get(k) or 0) for k in ("n_failed", "n_crashed", "n_timed_out", "n_missing", "n_nonfinite"))
    return bad == 0 and not summary.get("corrupt")


def lost_values_line(summary: Mapping[str, Any]) -> str | None:
    """The one line a front-end prints when ok runs returned NaN or inf (their values are lost), or None."""
    lost = summary.get("nonfinite") or []
    if not lost:
        return None
    where = "; ".join(f"{f['metric']} of {f['group']}: seed(s) {', '.join(map(str, f['seeds'][:5]))}"
                      f"{', ...' if len(f['seeds']) > 5 else ''}" for f in lost[:3]) + ("; ..." if len(lost) > 3 else "")
    return (f"{summary.get('n_nonfinite')} metric value(s) are NaN or inf ({where}): lost, left out of the "
            "statistics; the runs are ok, so a re-run gives the same - fix the experiment")


def not_ok_line(summary: Mapping[str, Any]) -> str:
    """The one line of a sweep that is not all ok: how many runs, how, and what a re-run does."""
    parts = []
    not_ok = sum(int(summary.get(f"n_{s}") or 0) for s in RUN_STATUSES if s != "ok")
    if not_ok:
        how = ", ".join(f"{summary[f'n_{s}']} {s.replace('_', ' ')}" for s in RUN_STATUSES
                        if s != "ok" and summary.get(f"n_{s}"))
        parts.append(f"{not_ok} of {summary.get('n_runs')} planned runs did not finish ok ({how}; listed above); "
                     "re-run the same command to run only those")
    lost = lost_values_line(summary)
    if lost is not None:
        parts.append(lost)
    if summary.get("corrupt"):
        parts.append(f"{len(summary['corrupt'])} result.json file(s) are not readable records (warned above)")
    return "; and ".join(parts)


def _nonfinite(runs: list[dict], metrics: list[str]) -> list[dict[str, Any]]:
    """Per group and metric, the ok runs whose value of it was NaN or inf (recorded as null)."""
    out = []
    groups = sorted({r["group"] for r in runs})
    for group in groups:
        for metric in metrics:
            seeds = [r["seed"] for r in runs if r["group"] == group and r["status"] == "ok"
                     and metric in r["metrics"] and (r["metrics"][metric] is None
                                                     or not math.isfinite(float(r["metrics"][metric])))]
            if seeds:
                out.append({"group": group, "metric": metric, "seeds": seeds})
    return out


def _metrics(runs: list[dict], opt: Options, series_metrics: Sequence[str] = ()) -> tuple[list[str], dict[str, bool]]:
    """The metrics of the ok runs (the primary one first) and their directions; the options must name them."""
    names = sorted({m for r in runs if r["status"] == "ok" for m in r["metrics"]})
    for key in ("higher_is_better", "target_halfwidth", "target_difference"):
        named = opt[key] if isinstance(opt[key], Mapping) else {}
        unknown = sorted(set(named) - set(names) - (set(series_metrics) if key == "higher_is_better" else set()))
        if unknown:
            raise ConfigError(f"{key} names metric(s) {', '.join(unknown)} that no run reported; "
                              f"the metrics are: {', '.join(names) or '(none)'}")
    primary = opt["primary_metric"]
    if primary is not None and primary not in names:
        raise ConfigError(f"primary_metric={primary!r} is not a metric of these runs; "
                          f"they report: {', '.join(names) or '(none)'}")
    direction = {m: (opt["higher_is_better"] or {}).get(m, higher_is_better_default(m)) for m in names}
    if primary:
        names = [primary, *[m for m in names if m != primary]]
    return names, direction


def _rng(bootstrap_seed: int, *names: str) -> np.random.Generator:
    """A generator per (group, metric): independent of the order groups come in."""
    seq = np.random.SeedSequence(entropy=bootstrap_seed, spawn_key=tuple(stream_key(n) for n in names))
    return np.random.Generator(np.random.PCG64(seq))


def _group(name: str, mine: list[dict], metrics: list[str], opt: Options) -> tuple[dict, dict[str, dict[int, float]]]:
    """One group's entry of the summary, and its finite values per metric, by seed (for the pairs)."""
    ok = [r for r in mine if r["status"] == "ok"]
    stats_by_metric, series = {}, {}
    for metric in metrics:
        by_seed, nonfinite = {}, 0
        for r in ok:
            v = r["metrics"].get(metric)
            if v is None or not math.isfinite(float(v)):
                nonfinite += 1
            else:
                by_seed[r["seed"]] = float(v)
        series[metric] = by_seed
        st = describe(list(by_seed.values()), _rng(opt["bootstrap_seed"], name, metric),
                      n_resamples=opt["n_resamples"], confidence=opt["confidence"],
                      bootstrap_min_n=opt["bootstrap_min_n"])
        st["n_nonfinite"] = nonfinite
        stats_by_metric[metric] = st
    group = {
        "group": name, "n_runs": len(mine), **{f"n_{s}": sum(1 for r in mine if r["status"] == s) for s in RUN_STATUSES},
        "seeds": [r["seed"] for r in ok],
        "not_ok": [{"seed": r["seed"], "status": r["status"], "path": r["path"]} for r in mine if r["status"] != "ok"],
        "metrics": stats_by_metric,
    }
    return group, series


def _small_n_warnings(groups: list[dict], metrics: list[str]) -> list[str]:
    warn = []
    for g in groups:
        for metric in metrics:
            n = g["metrics"][metric]["n"]
            if n < 2:
                warn.append(f"{metric}, {g['group']}: n={n}: no interval (it needs at least 2 seeds)")
            elif n < SMALL_N:
                warn.append(f"{metric}, {g['group']}: n={n} < {SMALL_N}: the interval is wide and leans on the "
                            "metric being close to normal across seeds; run more seeds")
            if g["metrics"][metric].get("ci_method") == "t, skewed":  # skewed, and the log cannot take it
                warn.append(f"{metric}, {g['group']}: strongly skewed values (some <= 0): the t interval of the mean "
                            "covers less than its level; read the median's interval")
    return warn


def _comparisons(series: Mapping[tuple[str, str], dict[int, float]], metrics: list[str],
                 pairs: list[tuple[str, str]], direction: Mapping[str, bool], opt: Options) -> list[dict]:
    """The paired comparison of each pair of groups and metric, on their shared seeds (at least 2)."""
    out = []
    for metric in metrics:
        for a, b in pairs:
            sa, sb = series[(a, metric)], series[(b, metric)]
            common = sorted(s for s in sa if s in sb)
            if len(common) < 2:
                continue
            res = paired([sa[s] for s in common], [sb[s] for s in common],
                         np.random.SeedSequence(opt["bootstrap_seed"], spawn_key=tuple(stream_key(x) for x in (a, b, metric))),
                         test=opt["test"], n_resamples=opt["n_resamples"], confidence=opt["confidence"],
                         higher_is_better=direction[metric])
            family = ("primary" if metric == opt["primary_metric"] else "secondary") if opt["primary_metric"] else "all"
            out.append({"metric": metric, "a": a, "b": b, "family": family, **res})
    return out


def _verdicts(comparisons: list[dict], direction: Mapping[str, bool], opt: Options) -> list[str]:
    """Adjust the p-values per family, then say which side is better; the warnings of tests that cannot reject."""
    alpha = 1.0 - opt["confidence"]
    for family in sorted({c["family"] for c in comparisons}):
        members = [c for c in comparisons if c["family"] == family and c["pvalue"] is not None]
        adjusted = adjust_pvalues([c["pvalue"] for c in members], opt["correction"])
        for c, pa in zip(members, adjusted):
            c["p_adjusted"] = float(pa)
        for c in comparisons:
            if c["family"] == family:
                c["family_size"] = len(members)
    warn = []
    for c in comparisons:
        c.setdefault("p_adjusted", None)
        significant = c["p_adjusted"] is not None and c["p_adjusted"] < alpha
        c["significant"] = significant
        if significant:
            a_better = (c["mean_diff"] > 0) == direction[c["metric"]]
            c["better"] = c["a"] if a_better else c["b"]
        else:
            c["better"] = None
        if c["min_pvalue"] is not None and c["min_pvalue"] >= alpha:
            warn.append(f"{c['metric']}, {c['a']} vs {c['b']}: with {c['n_pairs']} pairs the permutation test "
                        f"cannot reach p < {alpha:.3g} (smallest p = {c['min_pvalue']:.4g}); run more seeds")
    return warn


def _planning(groups: list[dict], metrics: list[str], comparisons: list[dict], n_pairs: int,
              opt: Options) -> list[dict[str, Any]]:
    """Per group and metric: seeds for the target half-width and for power at the target difference."""
    from .. import planning

    def per_metric(value: Any, metric: str) -> float | None:
        return value.get(metric) if isinstance(value, Mapping) else value

    targets = []
    for g in groups:
        for metric in metrics:
            st = g["metrics"][metric]
            mine = [c for c in comparisons if c["metric"] == metric and g["group"] in (c["a"], c["b"])
                    and c["sd_diff"] is not None]
            targets.append(planning.plan_row(
                group=g["group"], metric=metric, n=st["n"], std=st["std"],
                sd_diffs=[c["sd_diff"] for c in mine],
                halfwidth=per_metric(opt["target_halfwidth"], metric),
                difference=per_metric(opt["target_difference"], metric),
                confidence=opt["confidence"], power=opt["power"],
                n_tests=max((c.get("family_size", 1) for c in mine), default=max(1, n_pairs))
                if opt["correction"] != "none" else 1,
            ))
    return targets


def _survivorship(groups: list[dict], metrics: list[str], opt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per metric: groups whose share of lost seeds differs from the rest (Fisher exact, Holm)."""
    from scipy import stats

    flags = []
    if len(groups) < 2:
        return flags
    for metric in metrics:
        lost = [g["n_runs"] - g["metrics"][metric]["n"] for g in groups]
        total = [g["n_runs"] for g in groups]
        if len(set(l / t if t else 0 for l, t in zip(lost, total))) <= 1:
            continue
        pvals = []
        for i in range(len(groups)):
            rest_lost, rest_total = sum(lost) - lost[i], sum(total) - total[i]
            table = [[lost[i], total[i] - lost[i]], [rest_lost, rest_total - rest_lost]]
            pvals.append(float(stats.fisher_exact(table).pvalue))
        adj = adjust_pvalues(pvals, "holm")
        for g, l, t, p, pa in zip(groups, lost, total, pvals, adj):
            flags.append({"metric": metric, "group": g["group"], "lost": l, "n_runs": t, "pvalue": p,
                          "p_adjusted": float(pa), "flagged": bool(pa < 1 - opt["confidence"])})
    return flags




def _not_ok(runs: list[dict]) -> list[dict[str, Any]]:
    """Every run that is not ok, with what became of it."""
    return [{"group": r["group"], "seed": r["seed"], "status": r["status"], "path": r["path"],
             **({"type": r["error"].get("type"), "message": _plain(r["error"].get("message"))} if r["error"] else {}),
             **({"log_tail": _plain(r["error"]["log_tail"])} if r["error"].get("log_tail") else {}),
             **({"message": "the run's process died before it finished (its record still says running)"}
                if r["status"] == "crashed" and not r["error"] else {}),
             **({"message": "planned but no record: it never ran, or its directory was removed"}
                if r["status"] == "missing" else {})}
            for r in runs if r["status"] != "ok"]


def _methods(opt: Mapping[str, Any]) -> dict[str, str]:
    level = f"{100 * opt['confidence']:g}%"
    alpha = f"{1 - opt['confidence']:.3g}"
    test = ("paired t-test on the per-seed differences (scipy.stats.ttest_rel), two-sided"
            if opt["test"] == "t" else
            f"sign-flip permutation test of the mean difference (scipy.stats.permutation_test, exact when "
            f"2^n <= {opt['n_resamples']} resamples), two-sided; smallest possible p = 2/2^n")
    correction = {"holm": "Holm step-down (family-wise error <= alpha, any dependence)",
                  "bh": "Benjamini-Hochberg (false discovery rate <= alpha)",
                  "none": "none: p-values are per comparison (uncorrected)"}[opt["correction"]]
    return {
        "interval": f"Student t interval of the mean, {level}, n-1 degrees of freedom; none at n < 2, "
                    f"flagged at n < {SMALL_N}; for strongly skewed positive values (a lognormal fits better than a "
                    "normal, log-scale sd >= 0.25) the modified-Cox interval of a lognormal mean instead; ci_method "
                    "says which (seedexp.stats.estimators.headline_interval)",
        "bootstrap": f"BCa bootstrap interval of the mean, {level}, {opt['n_resamples']} resamples "
                     f"(scipy.stats.bootstrap), seed {opt['bootstrap_seed']} per (group, metric); "
                     f"second column, from n >= {opt['bootstrap_min_n']} only",
        "median_interval": f"distribution-free {level} interval of the median from order statistics "
                           "(scipy.stats.quantile_test); none when n is too small to reach the level",
        "log_interval": f"geometric mean with a {level} t interval on the log scale (positive values only)",
        "test": test,
        "difference_interval": f"{level} interval of the mean difference from the same method "
                               + ("(paired t)" if opt["test"] == "t" else "(inverted sign-flip test)")
                               + "; per comparison, not adjusted",
        "correction": correction + ", across all comparisons"
                      + (" of the primary metric, and separately across the others" if opt["primary_metric"] else ""),
        "alpha": alpha,
        "effect_size": f"d_z = mean(diff) / sd(diff), {level} interval by inverting the noncentral t distribution",
        "win_rate": f"share of shared seeds where A is better by the metric's direction, ties out of the count, "
                    f"exact Clopper-Pearson {level} interval (scipy.stats.binomtest)",
        "planning": f"seeds for a {level} t interval of half-width target_halfwidth, met with 80% assurance over "
                    "the uncertainty of the observed std (Kupper-Hafner probability of achieving the half-width, "
                    "the sweep's seeds re-used); seeds for "
                    f"{100 * opt['power']:g}% power of the paired t-test at a difference of target_difference "
                    "(statsmodels TTestPower) at the std's one-sided 80% upper confidence bound, at alpha / "
                    "(number of comparisons) when corrected (seedexp.planning)",
        "survivorship": "per metric: seeds lost (not ok, or a non-finite value); a group whose loss rate differs "
                        "from the others' (Fisher exact test, Holm-adjusted) is flagged",
    }


def _versions() -> dict[str, str]:
    from importlib import metadata

    from .. import __version__

    out = {"python": ".".join(map(str, sys.version_info[:3])), "seedexp": __version__}
    for name in ("numpy", "scipy", "statsmodels"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _plain(message: Any) -> Any:
    """A record's error message without terminal escape codes (older records kept them raw)."""
    from ..record import strip_escapes

    return strip_escapes(message) if isinstance(message, str) else message
