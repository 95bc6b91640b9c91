"""Which source of randomness moves the metric, and how sure is that answer?

After Bouthillier et al., "Accounting for Variance in Machine Learning
Benchmarks" (MLSys 2021). For each stream the experiment uses, N runs vary
only that stream, at K base seeds: at each base seed every other stream takes
the values that master seed derives (so the others are *drawn*, K times, not
fixed at one value), and the studied stream takes N / K fresh values
(``pin.<stream>``). One more series of N runs varies everything (``seed``).
Each series is an ordinary seedexp multirun under ``<out>/<stream>/base<k>``
(``<out>/all``), so it runs on any launcher and resumes.

Per metric and source:

* **variance of the source**: the within-base variance, pooled over the K base
  seeds (the residual mean square of a one-way ANOVA on the base seed), with
  ``N - K`` degrees of freedom. It is the variance the source causes with the
  other sources at typical values, interactions included.
* **share** of the total: ``var(source) / var(all)``, with an F interval
  (the two estimates are independent: no run, base seed or pinned value is
  shared). Shares need not add up to 100%: sources interact, and each is an
  estimate.
* **flags**: a share estimate above 100%, fewer than 10 runs, and a source
  whose spread differs between base seeds (Brown-Forsythe test, Bonferroni over
  the sources): then the answer depends on the other sources' values.

The intervals assume the metric is roughly normal across seeds. The runs
themselves are launched by :func:`run_study`; :func:`decompose` reads them back.
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
from .sweepdir import load_records, read_record, write_json_atomic, write_text_atomic

__all__ = ["GLOBAL_STREAMS", "ALL", "discover_streams", "series_plan", "source_share", "decompose", "run_study",
           "to_markdown", "to_csv", "plot"]

VARIANCE_SCHEMA = "seedexp.variance/2"
#: Streams every run reseeds; studied when the experiment draws from them.
GLOBAL_STREAMS = ("python", "numpy")
#: Streams the config declares under `pin` (others need `+pin.NAME`).
CANONICAL_PINS = tuple(s for s in STREAMS if s not in GLOBAL_STREAMS)
ALL = "all"
#: Pinned values start here (plus the base seed): they never equal a master
#: seed of the study, since ``pin.init=i`` gives the init stream the seed ``seed=i`` would.
PIN_OFFSET = 1_000_000
#: Below this many runs a variance is flagged as too uncertain to read.
MIN_RUNS = 10


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


def _check_design(n: int, base_seeds: int) -> int:
    if n < 2:
        raise ConfigError(f"--seeds {n}: a variance needs at least 2 runs per source; e.g. --seeds 30")
    if base_seeds < 1:
        raise ConfigError(f"--base-seeds {base_seeds}: needs at least 1 base seed; e.g. --base-seeds 5")
    if n % base_seeds or n // base_seeds < 2:
        fits = [k for k in range(1, n // 2 + 1) if n % k == 0]
        raise ConfigError(f"--seeds {n} is not {base_seeds} base seeds x at least 2 values each; "
                          f"use --base-seeds {max(k for k in fits if k <= base_seeds) if fits else 1} "
                          f"or --seeds {max(2 * base_seeds, math.ceil(n / base_seeds) * base_seeds)}")
    return n // base_seeds


def series_plan(stream: str, n: int, base_seed: int, base_seeds: int = 5) -> list[tuple[str, list[str]]]:
    """The multiruns of one series: ``(subdirectory, overrides)`` each.

    ``all``: ``seed`` over ``base_seed .. base_seed + n - 1``. A stream: at base
    seed ``base_seed + n + k`` (k < ``base_seeds``, distinct from the masters of
    ``all``), ``pin.<stream>`` over ``n / base_seeds`` values of its own.

    Examples
    --------
    >>> series_plan("init", 4, 0, 2)
    [('base0', ['seed=4', 'pin.init=range(1000000,1000002)']), ('base1', ['seed=5', 'pin.init=range(1000002,1000004)'])]
    >>> series_plan("all", 4, 0, 2)
    [('', ['seed=range(0,4)'])]
    """
    m = _check_design(n, base_seeds)
    if stream == ALL:
        return [("", [f"seed=range({base_seed},{base_seed + n})"])]
    pin = f"pin.{stream}" if stream in CANONICAL_PINS else f"+pin.{stream}"
    first = base_seed + PIN_OFFSET
    return [(f"base{k}", [f"seed={base_seed + n + k}", f"{pin}=range({first + k * m},{first + (k + 1) * m})"])
            for k in range(base_seeds)]


def _f_interval(ratio: float, df1: int, df2: int, confidence: float) -> tuple[float, float]:
    from scipy import stats

    a = (1 - confidence) / 2
    return ratio / float(stats.f.ppf(1 - a, df1, df2)), ratio / float(stats.f.ppf(a, df1, df2))


def _chi2_interval(var: float, df: int, confidence: float) -> tuple[float, float]:
    from scipy import stats

    a = (1 - confidence) / 2
    return df * var / float(stats.chi2.ppf(1 - a, df)), df * var / float(stats.chi2.ppf(a, df))


def source_share(by_base: Sequence[Sequence[float]], total: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Variance of one source from its runs at several base seeds, and its share of the total variance.

    Parameters
    ----------
    by_base : sequence of sequences of float
        The metric at each base seed, one sequence per base seed (only the
        studied source varies within one).
    total : sequence of float
        The metric when every source varies.
    confidence : float
        Level of the intervals.

    Returns
    -------
    dict
        ``n``, ``n_bases``, ``df``, ``var`` (pooled within-base variance),
        ``std`` with ``std_ci_low``/``std_ci_high`` (chi-square), ``share`` with
        ``share_ci_low``/``share_ci_high`` (F with ``df`` and ``len(total) - 1``
        degrees of freedom), ``base_std`` (per base seed) and ``base_pvalue``
        (Brown-Forsythe test that the spread is the same at every base seed).

    Examples
    --------
    >>> r = source_share([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [0.0, 2.0, 4.0, 1.0, 3.0])
    >>> r["var"], r["share"], r["df"]
    (1.0, 0.4, 4)
    """
    from scipy import stats

    groups = [np.asarray(g, dtype=float) for g in by_base]
    usable = [g for g in groups if len(g) >= 2]
    t = np.asarray(total, dtype=float)
    out: dict[str, Any] = {"n": int(sum(len(g) for g in groups)), "n_bases": len(usable), "df": 0, "var": None,
                           "std": None, "std_ci_low": None, "std_ci_high": None, "share": None,
                           "share_ci_low": None, "share_ci_high": None,
                           "base_std": [float(g.std(ddof=1)) if len(g) >= 2 else None for g in groups],
                           "base_pvalue": None}
    df = int(sum(len(g) - 1 for g in usable))
    if df < 1:
        return out
    ss = float(sum(((g - g.mean()) ** 2).sum() if not np.all(g == g[0]) else 0.0 for g in usable))
    var = ss / df
    low, high = _chi2_interval(var, df, confidence)
    out.update(df=df, var=var, std=math.sqrt(var), std_ci_low=math.sqrt(low), std_ci_high=math.sqrt(high))
    if len(usable) >= 2 and var > 0:
        out["base_pvalue"] = float(stats.levene(*usable, center="median").pvalue)
    total_var = float(t.var(ddof=1)) if len(t) >= 2 and not np.all(t == t[0]) else (0.0 if len(t) >= 2 else None)
    if total_var:
        share = var / total_var
        s_low, s_high = _f_interval(share, df, len(t) - 1, confidence)
        out.update(share=share, share_ci_low=s_low, share_ci_high=s_high)
    return out


def _values(records: list[dict[str, Any]], metric: str) -> list[float]:
    return [float(r["metrics"][metric]) for r in records
            if r["status"] == "ok" and r["metrics"].get(metric) is not None and math.isfinite(r["metrics"][metric])]


def decompose(out: Path, streams: Sequence[str], *, n: int, base_seed: int = 0, base_seeds: int = 5,
              confidence: float = 0.95) -> dict[str, Any]:
    """Read the series of a study under ``out`` and compute every source's variance and share, per metric."""
    import scipy

    out = Path(out)
    series: dict[str, dict[int, list[dict[str, Any]]]] = {}
    failed: dict[str, int] = {}
    for name in [*streams, ALL]:
        records, _ = load_records(out / name) if (out / name).is_dir() else ([], [])
        failed_here = sum(1 for r in records if r["status"] != "ok")
        if failed_here:
            failed[name] = failed_here
        by_base: dict[int, list[dict[str, Any]]] = {}
        for rec in records:
            by_base.setdefault(int(rec["seed"]), []).append(rec)
        series[name] = by_base
    all_records = [r for rs in series[ALL].values() for r in rs]
    metrics = sorted({m for r in all_records if r["status"] == "ok" for m in r["metrics"]})
    alpha = 1 - confidence
    table: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        total = _values(all_records, metric)
        rows: dict[str, Any] = {}
        for name in streams:
            bases = [_values(series[name][b], metric) for b in sorted(series[name])]
            rows[name] = source_share(bases, total, confidence)
        t = np.asarray(total)
        total_row: dict[str, Any] = {"n": len(t), "n_bases": len(t), "df": max(0, len(t) - 1),
                                     "var": None, "std": None, "std_ci_low": None, "std_ci_high": None,
                                     "share": None, "share_ci_low": None, "share_ci_high": None,
                                     "base_std": [], "base_pvalue": None}
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
            if row["base_pvalue"] is not None and row["base_pvalue"] < alpha / max(1, len(streams)):
                flags.append(f"spread differs between base seeds (p={row['base_pvalue']:.2g}): "
                             "it depends on the other sources")
            row["flags"] = flags
        table[metric] = rows
    return {
        "schema": VARIANCE_SCHEMA, "n": n, "base_seed": base_seed, "base_seeds": base_seeds,
        "values_per_base": n // base_seeds, "confidence": confidence, "streams": list(streams),
        "metrics": metrics, "table": table, "failed": failed,
        "methods": {
            "variance": f"pooled within-base variance over {base_seeds} base seed(s) x {n // base_seeds} values "
                        "of the source (one-way ANOVA residual mean square); the other sources take the values "
                        "each base seed derives",
            "share": f"var(source) / var(all), {100 * confidence:g}% F interval (normal metric assumed)",
            "std_interval": f"{100 * confidence:g}% chi-square interval",
            "base_dependence": "Brown-Forsythe (median-centred Levene) test across base seeds, flagged at "
                               f"p < {alpha:g} / {max(1, len(streams))} sources",
        },
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
    }


def run_study(overrides: Sequence[str], out: Path, *, n: int = 30, base_seeds: int = 5, base_seed: int = 0,
              streams: Sequence[str] | None = None, confidence: float = 0.95,
              progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Run (or resume) every series of a study under ``out`` and decompose it.

    Writes ``variance.json``, ``variance.csv``, ``variance.md`` and
    ``variance.png`` in ``out`` and returns the result (:func:`decompose`, plus
    ``overrides``). ``progress`` receives one line per step.
    """
    _check_design(n, base_seeds)
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    overrides = list(overrides)
    streams = list(streams) if streams else discover_streams(overrides, out, base_seed)
    m = n // base_seeds
    progress(f"sources {', '.join(streams)} + all; {n} runs each ({base_seeds} base seeds x {m} values), in {out}")
    for name in [*streams, ALL]:
        progress(f"series '{name}'")
        for sub, series in series_plan(name, n, base_seed, base_seeds):
            proc = run_seedexp(["-m", *overrides, *series, f"hydra.sweep.dir={out / name / sub}"], Path.cwd(),
                               quiet=True)
            if proc.returncode not in (0, 1) or not any((out / name / sub).rglob(RECORD_NAME)):
                raise ConfigError(f"series {name!r} could not run: {_last_line(proc.stderr, proc.returncode)}")
    result = decompose(out, streams, n=n, base_seed=base_seed, base_seeds=base_seeds, confidence=confidence)
    result["overrides"] = overrides
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
    lines = [f"# Variance by source: {result['n']} runs per source ({result['base_seeds']} base seeds x "
             f"{result['values_per_base']} values), {result['n']} with every source varying", ""]
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
    lines += [f"Share = var(source) / var(all sources), with a {level} F interval (normal metric assumed). "
              "Shares need not add up to 100%: sources interact, and each is an estimate. Sources whose intervals "
              "overlap are not ranked by this study: run more seeds (`--seeds`) to separate them.", ""]
    if result["failed"]:
        lines += [f"Runs not ok per series: {', '.join(f'{k}: {v}' for k, v in result['failed'].items())} "
                  "(re-run to retry them).", ""]
    return "\n".join(lines)


def to_csv(result: dict[str, Any]) -> str:
    """One row per metric and source."""
    keys = ("n", "n_bases", "df", "std", "std_ci_low", "std_ci_high", "share", "share_ci_low", "share_ci_high",
            "base_pvalue")
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
    fig.suptitle(f"Variance share per source, {100 * result['confidence']:g}% F interval; N={result['n']} runs "
                 f"per source ({result['base_seeds']} base seeds); red: flagged", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
