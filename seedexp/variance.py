"""Which source of randomness moves the metric, and how sure is that answer?

After Bouthillier et al., "Accounting for Variance in Machine Learning
Benchmarks" (MLSys 2021), in a paired design. One series of N runs varies
everything: master seeds ``b = base_seed .. base_seed + N - 1`` (``all``). For
each stream the experiment uses, N more runs repeat those master seeds with
that one stream given a fresh value (``pin.<stream>``, a value no master seed
of the study gives it): run ``b`` of the stream's series differs from run ``b``
of ``all`` in that stream only, every other stream keeping the value master
``b`` derives. So each pair is one draw of the other sources, N of them,
and the two runs of a pair share everything but the studied source.
Each series is one ordinary seedexp multirun under ``<out>/<stream>``
(``<out>/all``), so it runs on any launcher and resumes. The pinned value is
derived from the master seed by a config group the study writes
(``<out>/_conf/seedexp_variance/<stream>.yaml``, found through
``hydra.searchpath``), so the N runs of a series are one configuration.

Per metric and source (``y_b``: run b of ``all``; ``y'_b``: run b of the source's series):

* **variance of the source**: ``mean((y_b - y'_b)^2) / 2``, which estimates
  ``E[Var(y | the other sources)]``: the variance the source causes with the
  others at their typical values, interactions included.
* **share** of the total: that divided by the variance of the ``y_b``, with a
  jackknife interval over the N pairs on the log scale (t with N - 1 df). The
  pairs are the independent units, so the interval holds when the source's
  effect depends on the others (an interaction), which an F interval does not:
  at N = 30 with an interaction of 0.5 the F interval of the earlier design (5
  base seeds) covered 0.78, this one 0.93 (``scripts/bench_variance.py``).
  Shares need not add up to 100%: sources interact, and each is an estimate.
* **flags**: a share estimate above 100%; a source whose effect varies with the
  others (the paired differences are heavier-tailed than normal: kurtosis test,
  Bonferroni over the sources).

Below :data:`MIN_RUNS` runs per source a share is known only within a factor of
about 7 (a true 50% share is estimated anywhere from 20% to 138% at N = 10):
:func:`run_study` refuses. The runs are launched by :func:`run_study`;
:func:`decompose` reads them back.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._subprocess import run_seedexp
from .errors import ConfigError
from .record import RECORD_NAME
from .seeds import STREAMS
from .redact import redact_overrides
from .sweepdir import load_records, read_record, write_json_atomic, write_text_atomic

__all__ = ["GLOBAL_STREAMS", "ALL", "MIN_RUNS", "discover_streams", "series_plan", "paired_share", "decompose",
           "run_study", "to_markdown", "to_csv", "plot"]

VARIANCE_SCHEMA = "seedexp.variance/3"
#: Streams every run reseeds; studied when the experiment draws from them.
GLOBAL_STREAMS = ("python", "numpy")
#: Streams the config declares under `pin` (others need `+pin.NAME`).
CANONICAL_PINS = tuple(s for s in STREAMS if s not in GLOBAL_STREAMS)
ALL = "all"
#: The pinned value of run b is the integer written "100000" followed by b's digits: >= 1,000,000
#: and one-to-one, so it never equals a master seed of the study (``pin.init=i`` gives the init
#: stream the seed ``seed=i`` would).
PIN_PREFIX = "100000"
PIN_OFFSET = 1_000_000
#: Fewer runs per source than this: ``run_study`` refuses (the share would be known within a factor of ~7).
MIN_RUNS = 20
#: The config group the study writes to pin a stream per master seed.
PAIR_GROUP = "seedexp_variance"


def _last_line(text: str | None, code: int) -> str:
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit {code}"


def _probe(overrides: list[str], where: Path, extra: Sequence[str] = ()) -> dict[str, Any]:
    proc = run_seedexp([*overrides, *extra, f"hydra.run.dir={where}"], Path.cwd(), quiet=True)
    path = where / RECORD_NAME
    if proc.returncode != 0 or not path.is_file():
        raise ConfigError(f"the probe run failed ({_last_line(proc.stderr, proc.returncode)}); "
                          "fix the experiment first, e.g. with a single `seedexp` run")
    return read_record(path)


def discover_streams(overrides: list[str], out: Path, base_seed: int) -> list[str]:
    """The streams one run of the experiment draws from: every named stream it asked for, plus
    ``python`` / ``numpy`` when it drew from the global ``random`` / ``np.random``.

    The record says which global states a run drew from (``global_draws``);
    a record without that field is probed: the experiment runs again with the
    global stream pinned elsewhere, and a changed metric or fingerprint means
    it draws from it.
    """
    base = _probe(overrides, out / "_probe" / "base", [f"seed={base_seed}"])
    named = {name.split("/")[0] for name in base.get("streams", {})} - set(GLOBAL_STREAMS)
    if "global_draws" in base:
        used = set(base["global_draws"]) & set(GLOBAL_STREAMS)
    else:
        used = set()
        for stream in GLOBAL_STREAMS:
            other = _probe(overrides, out / "_probe" / stream,
                           [f"seed={base_seed}", f"+pin.{stream}={base_seed + PIN_OFFSET - 1}"])
            if (other.get("metrics"), other.get("fingerprints")) != (base.get("metrics"), base.get("fingerprints")):
                used.add(stream)
    return sorted(named | used)


def _check_design(n: int, base_seed: int = 0) -> None:
    if n < MIN_RUNS:
        raise ConfigError(f"--seeds {n}: a share from fewer than {MIN_RUNS} runs per source is known only within a "
                          f"factor of 7 or more (a true 50% share reads anywhere from 20% to 138% at 10 runs); "
                          f"use --seeds {MIN_RUNS} or more (30 is the default)")
    last = base_seed + n - 1
    if int(PIN_PREFIX + str(base_seed)) <= last:  # pinned values must stay clear of the study's master seeds
        raise ConfigError(f"--base-seed {base_seed}: the master seeds {base_seed}..{last} would meet the pinned "
                          f"values (from {PIN_OFFSET}); use a --base-seed below {PIN_OFFSET - n}")


def pinned_value(seed: int) -> int:
    """The value the studied stream is pinned to in the run of master seed ``seed``.

    Examples
    --------
    >>> pinned_value(0), pinned_value(7), pinned_value(12)
    (1000000, 1000007, 10000012)
    """
    return int(PIN_PREFIX + str(int(seed)))


def pair_config(stream: str) -> str:
    """The config group option that pins ``stream`` to :func:`pinned_value` of the run's own seed."""
    return (f"# @package _global_\n# written by seedexp variance: run b of this series pins {stream} to "
            f"{PIN_PREFIX}<b>, all else as master seed b derives it\n"
            f"pin:\n  {stream}: ${{oc.decode:\"{PIN_PREFIX}${{seed}}\"}}\n")


def series_plan(stream: str, n: int, base_seed: int, conf_dir: Path | None = None) -> list[str]:
    """The overrides of one series' multirun (besides the experiment's own and the sweep dir).

    ``all``: ``seed`` over ``base_seed .. base_seed + n - 1``. A stream: the same
    seeds, with the config group option that pins the stream per seed
    (:func:`pair_config`, written under ``conf_dir``).

    Examples
    --------
    >>> series_plan("all", 30, 0)
    ['seed=range(0,30)']
    >>> series_plan("init", 30, 0, Path("/s/_conf"))
    ['seed=range(0,30)', '+seedexp_variance=init', 'hydra.searchpath=[file:///s/_conf]']
    """
    seeds = f"seed=range({base_seed},{base_seed + n})"
    if stream == ALL:
        return [seeds]
    if conf_dir is None:
        raise ValueError("series_plan needs conf_dir for a stream's series")
    return [seeds, f"+{PAIR_GROUP}={stream}", f"hydra.searchpath=[file://{Path(conf_dir).absolute()}]"]


def _chi2_interval(var: float, df: int, confidence: float) -> tuple[float, float]:
    from scipy import stats

    a = (1 - confidence) / 2
    return df * var / float(stats.chi2.ppf(1 - a, df)), df * var / float(stats.chi2.ppf(a, df))


def _jackknife_se(loo: np.ndarray) -> float:
    """Jackknife standard error from the leave-one-out values of a statistic."""
    n = len(loo)
    return float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))


def paired_share(total: Sequence[float], varied: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Variance of one source from pairs of runs that differ in it alone, and its share of the total variance.

    Parameters
    ----------
    total : sequence of float
        The metric of the runs where every source varies, one per master seed.
    varied : sequence of float
        The metric of the same master seeds with the studied source given another
        value: pair i is ``(total[i], varied[i])``. NaN marks a failed run (its pair is left out).
    confidence : float
        Level of the intervals.

    Returns
    -------
    dict
        ``n`` (pairs), ``df``, ``var`` (``mean((total - varied)^2) / 2``), ``std``
        with ``std_ci_low``/``std_ci_high``, ``share`` (``var / var(total)``) with
        ``share_ci_low``/``share_ci_high`` (jackknife over the pairs, log scale,
        t with n - 1 df), and ``kurtosis_pvalue`` (one-sided test that the paired
        differences are heavier-tailed than normal: the source's effect varies
        with the others; n >= 20).

    Examples
    --------
    >>> r = paired_share([0.0, 2.0, 4.0, 1.0, 3.0], [1.0, 2.0, 3.0, 3.0, 2.0])
    >>> r["var"], round(r["share"], 6), r["n"]
    (0.7, 0.28, 5)
    """
    from scipy import stats

    y = np.asarray(total, dtype=float)
    v = np.asarray(varied, dtype=float)
    keep = np.isfinite(y) & np.isfinite(v)
    y, v = y[keep], v[keep]
    n = len(y)
    out: dict[str, Any] = {"n": n, "df": max(0, n - 1), "var": None, "std": None, "std_ci_low": None,
                           "std_ci_high": None, "share": None, "share_ci_low": None, "share_ci_high": None,
                           "kurtosis_pvalue": None}
    if n < 2:
        return out
    d2 = (y - v) ** 2 / 2.0
    var = float(d2.mean())
    total_var = 0.0 if np.all(y == y[0]) else float(y.var(ddof=1))
    out.update(var=var, std=math.sqrt(var))
    q = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    if var == 0:
        out.update(std_ci_low=0.0, std_ci_high=0.0)
        if total_var > 0:
            out.update(share=0.0, share_ci_low=0.0, share_ci_high=0.0)
        return out
    loo_num = (d2.sum() - d2) / (n - 1)  # leave-one-out sums, in O(n)
    if n >= 3:
        with np.errstate(divide="ignore"):
            se_v = _jackknife_se(np.log(loo_num))
        out.update(std_ci_low=math.sqrt(var * math.exp(-q * se_v)), std_ci_high=math.sqrt(var * math.exp(q * se_v)))
    if n >= 20 and np.any(y != v):
        out["kurtosis_pvalue"] = float(stats.kurtosistest(y - v, alternative="greater").pvalue)
    if total_var > 0:
        share = var / total_var
        out["share"] = share
        if n >= 3:
            c = y - y.mean()
            loo_mean = (c.sum() - c) / (n - 1)
            loo_var = ((c * c).sum() - c * c - (n - 1) * loo_mean ** 2) / (n - 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                se = _jackknife_se(np.log(loo_num) - np.log(loo_var))
            if math.isfinite(se):
                out.update(share_ci_low=share * math.exp(-q * se), share_ci_high=share * math.exp(q * se))
    return out


def _by_seed(records: list[dict[str, Any]], metric: str) -> dict[int, float]:
    """Master seed -> the metric of its ok run (NaN for a non-finite value)."""
    out = {}
    for r in records:
        if r["status"] == "ok" and isinstance(r.get("seed"), int):
            v = r["metrics"].get(metric)
            out[r["seed"]] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
    return out


def decompose(out: Path, streams: Sequence[str], *, n: int, base_seed: int = 0,
              confidence: float = 0.95) -> dict[str, Any]:
    """Read the series of a study under ``out`` and compute every source's variance and share, per metric.

    Run b of a source's series is paired with run b (same master seed) of ``all``.
    """
    import scipy

    out = Path(out)
    series: dict[str, list[dict[str, Any]]] = {}
    failed: dict[str, int] = {}
    for name in [*streams, ALL]:
        records, _ = load_records(out / name) if (out / name).is_dir() else ([], [])
        failed_here = sum(1 for r in records if r["status"] != "ok")
        if failed_here:
            failed[name] = failed_here
        series[name] = records
    metrics = sorted({m for r in series[ALL] if r["status"] == "ok" for m in r["metrics"]})
    alpha = 1 - confidence
    table: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        total = _by_seed(series[ALL], metric)
        rows: dict[str, Any] = {}
        for name in streams:
            varied = _by_seed(series[name], metric)
            seeds = sorted(set(total) & set(varied))
            rows[name] = paired_share([total[b] for b in seeds], [varied[b] for b in seeds], confidence)
        t = np.asarray([v for v in total.values() if math.isfinite(v)])
        total_row: dict[str, Any] = {"n": len(t), "df": max(0, len(t) - 1), "var": None, "std": None,
                                     "std_ci_low": None, "std_ci_high": None, "share": None, "share_ci_low": None,
                                     "share_ci_high": None, "kurtosis_pvalue": None}
        if len(t) >= 2:
            var = 0.0 if np.all(t == t[0]) else float(t.var(ddof=1))
            low, high = _chi2_interval(var, len(t) - 1, confidence)
            total_row.update(var=var, std=math.sqrt(var), std_ci_low=math.sqrt(low), std_ci_high=math.sqrt(high),
                             share=1.0 if var > 0 else None)
        rows[ALL] = total_row
        for name, row in rows.items():
            flags = []
            if row["n"] < MIN_RUNS:
                flags.append(f"N={row['n']} < {MIN_RUNS}: too few runs to read")
            if row["share"] is not None and row["share"] > 1:
                flags.append("share > 100%: sources interact, or the estimates are noisy")
            if row["kurtosis_pvalue"] is not None and row["kurtosis_pvalue"] < alpha / max(1, len(streams)):
                flags.append(f"its effect varies with the other sources (kurtosis p={row['kurtosis_pvalue']:.2g})")
            row["flags"] = flags
        table[metric] = rows
    level = f"{100 * confidence:g}%"
    return {
        "schema": VARIANCE_SCHEMA, "n": n, "base_seed": base_seed, "design": "paired", "confidence": confidence,
        "streams": list(streams), "metrics": metrics, "table": table, "failed": failed,
        "methods": {
            "design": f"paired: run b of a source's series repeats master seed b of 'all' (seeds {base_seed}.."
                      f"{base_seed + n - 1}) with only that source given a fresh value (pin.<source> = "
                      f"{PIN_PREFIX}<b>)",
            "variance": "mean over the pairs of (y_all - y_source)^2 / 2: E[Var(metric | the other sources)]",
            "share": f"var(source) / var(all) on the same pairs, {level} jackknife interval over the pairs on the "
                     "log scale (t, n - 1 df); it holds when sources interact",
            "std_interval": f"source: {level} jackknife interval (log scale); all: {level} chi-square interval",
            "interaction": "one-sided kurtosis test of the paired differences (scipy.stats.kurtosistest, n >= 20), "
                           f"flagged at p < {alpha:g} / {max(1, len(streams))} sources",
        },
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
    }


def _searchpath(overrides: list[str], conf_dir: Path) -> tuple[list[str], str]:
    """The overrides without a ``hydra.searchpath=[...]`` of the user's, and the searchpath with ours added."""
    ours = f"file://{conf_dir}"
    kept, theirs = [], []
    for o in overrides:
        key, _, value = o.partition("=")
        if key.lstrip("+") == "hydra.searchpath" and value.startswith("[") and value.endswith("]"):
            theirs += [v.strip() for v in value[1:-1].split(",") if v.strip()]
        else:
            kept.append(o)
    return kept, f"hydra.searchpath=[{','.join([*theirs, ours])}]"


def run_study(overrides: Sequence[str], out: Path, *, n: int = 30, base_seed: int = 0,
              streams: Sequence[str] | None = None, confidence: float = 0.95,
              progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Run (or resume) every series of a study under ``out`` and decompose it.

    Refuses (one-line :class:`~seedexp.errors.ConfigError`) below :data:`MIN_RUNS`
    runs per source. Writes ``variance.json``, ``variance.csv``, ``variance.md``
    and ``variance.png`` in ``out`` and returns the result (:func:`decompose`,
    plus ``overrides``). ``progress`` receives one line per step.
    """
    _check_design(n, base_seed)
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    overrides = list(overrides)
    streams = list(streams) if streams else discover_streams(overrides, out, base_seed)
    conf_dir = out / "_conf"
    (conf_dir / PAIR_GROUP).mkdir(parents=True, exist_ok=True)
    for name in streams:
        write_text_atomic(conf_dir / PAIR_GROUP / f"{name}.yaml", pair_config(name))
    base, searchpath = _searchpath(overrides, conf_dir)
    progress(f"sources {', '.join(streams)} + all; {n} runs each (master seeds {base_seed}..{base_seed + n - 1}; "
             f"each source's run b differs from run b of 'all' in that source only), in {out}")
    for name in [ALL, *streams]:
        progress(f"series '{name}'")
        plan = series_plan(name, n, base_seed, conf_dir)
        extra = [o for o in plan if not o.startswith("hydra.searchpath=")]
        if name != ALL:
            extra.append(searchpath)
        proc = run_seedexp(["-m", *base, *extra, f"hydra.sweep.dir={out / name}"], Path.cwd(), quiet=True)
        if proc.returncode not in (0, 1) or not any((out / name).rglob(RECORD_NAME)):
            raise ConfigError(f"series {name!r} could not run: {_last_line(proc.stderr, proc.returncode)}")
    result = decompose(out, streams, n=n, base_seed=base_seed, confidence=confidence)
    result["overrides"] = redact_overrides(overrides)  # a secret by its tag (seedexp.redact)
    write_json_atomic(out / "variance.json", result)
    write_text_atomic(out / "variance.csv", to_csv(result))
    write_text_atomic(out / "variance.md", to_markdown(result))
    plot(result, out / "variance.png")
    return result


def _pct(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.0f}%" if x >= 0.1 else f"{100 * x:.1f}%"


def _g(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def to_markdown(result: dict[str, Any]) -> str:
    """One table per metric: each source's std and share of the variance, with intervals and flags."""
    level = f"{100 * result['confidence']:g}%"
    lines = [f"# Variance by source: {result['n']} runs with every source varying, and per source {result['n']} "
             "runs that each repeat one of them with only that source changed", ""]
    for metric in result["metrics"]:
        lines += [f"## {metric}", "",
                  f"| source | runs | std [{level} CI] | share of total variance [{level} CI] | flags |",
                  "|---|---:|---|---|---|"]
        for name, row in result["table"][metric].items():
            label = "all sources" if name == ALL else name
            std = f"{_g(row['std'])} [{_g(row['std_ci_low'])}, {_g(row['std_ci_high'])}]"
            share = "–" if row["share"] is None else (
                "100% (reference)" if name == ALL else
                f"{_pct(row['share'])} [{_pct(row['share_ci_low'])}, {_pct(row['share_ci_high'])}]")
            flags = "; ".join(f"⚠ {f}" for f in row["flags"])
            lines.append(f"| {label} | {row['n']} | {std} | {share} | {flags} |")
        lines.append("")
    lines += [f"Share = var(source) / var(all sources), where var(source) = mean((y_all - y_source)^2) / 2 over "
              f"the pairs (the variance the source causes, the others at their typical values), with a {level} "
              "jackknife interval over the pairs, which holds when sources interact. Shares need not add up to "
              "100%: sources interact, and each is an estimate. Sources whose intervals overlap are not ranked by "
              "this study: run more seeds (`--seeds`) to separate them.", ""]
    if result["failed"]:
        lines += [f"Runs not ok per series: {', '.join(f'{k}: {v}' for k, v in result['failed'].items())} "
                  "(re-run to retry them).", ""]
    return "\n".join(lines)


def to_csv(result: dict[str, Any]) -> str:
    """One row per metric and source."""
    keys = ("n", "df", "std", "std_ci_low", "std_ci_high", "share", "share_ci_low", "share_ci_high",
            "kurtosis_pvalue")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "source", *keys, "flags"])
    for metric in result["metrics"]:
        for name, row in result["table"][metric].items():
            w.writerow([metric, name, *("" if row[k] is None else repr(row[k]) for k in keys), "; ".join(row["flags"])])
    return buf.getvalue()


def plot(result: dict[str, Any], path: Path) -> None:
    """Share of the total variance per source, with its interval, one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = result["metrics"]
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(3.4 * max(1, len(metrics)) + 1, 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = {k: v for k, v in result["table"][metric].items() if k != ALL}
        names = list(rows)
        shares = [100 * (rows[k]["share"] or 0) for k in names]
        low = [100 * (rows[k]["share_ci_low"] or 0) for k in names]
        high = [100 * (rows[k]["share_ci_high"] or 0) for k in names]
        ax.bar(range(len(names)), shares, color=["#c44" if rows[k]["flags"] else "#4878a8" for k in names])
        ax.errorbar(range(len(names)), shares, yerr=[[s - lo for s, lo in zip(shares, low)],
                                                     [hi - s for s, hi in zip(shares, high)]],
                    fmt="none", color="black", capsize=3)
        ax.axhline(100, color="#888", lw=0.8, ls="--")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.set_ylabel("% of the total variance", fontsize=8)
    fig.suptitle(f"Variance share per source, {100 * result['confidence']:g}% jackknife interval; N={result['n']} "
                 "paired runs per source; red: flagged", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
