"""Render a sweep summary as text and pictures: summary.csv, runs.csv, summary.md, summary.png.

Pure rendering: :mod:`seedexp.summary_files` writes the files
(:func:`seedexp.summary_files.write_summary`, what a sweep and ``seedexp report``
call at the end).
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Mapping

from .stats.estimators import STAT_NAMES
from .stats.summary import RUN_STATUSES
from .report_curves import curves_section

__all__ = ["to_csv", "runs_csv", "to_markdown", "comparisons_table", "planning_table", "figure",
           "plot", "stopping_section"]



# --------------------------------------------------------------------------- numbers as text


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if not math.isfinite(x):
            return "–"
        return f"{x:.{digits}g}"
    return str(x)


def _fmt_noisy(x: float | None, noise: float | None) -> str:
    """``x`` with no more decimals than its resampling noise supports (and at most 4 significant digits)."""
    if x is None:
        return "–"
    if not noise:
        return _fmt(x)
    decimals = max(0, math.floor(-math.log10(noise)))
    plain = f"{x:.{decimals}f}"
    return plain if len(plain.lstrip("-0.")) <= 4 else _fmt(x)


def _fmt_p(p: float | None, noise: float | None = None) -> str:
    if p is None:
        return "–"
    if p < 1e-4:
        return "<0.0001"
    return _fmt_noisy(p, noise) if noise else f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _level(summary: Mapping[str, Any]) -> str:
    return f"{100 * summary['options']['confidence']:g}%"


def _decimals(*values: Any, digits: int = 4) -> int | None:
    """Decimals that give the largest of ``values`` ``digits`` significant digits (None: use %g)."""
    finite = [abs(float(v)) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    top = max(finite, default=0.0)
    if top == 0.0:
        return digits - 1
    if top < 1e-3 or top >= 1e5:
        return None
    return max(0, digits - 1 - math.floor(math.log10(top)))


def _fixed(x: Any, decimals: int | None, digits: int = 4) -> str:
    """``x`` with ``decimals`` decimals (an estimate and its interval share them), else as :func:`_fmt`."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if decimals is None or not isinstance(x, (int, float)):
        return _fmt(x, digits)
    text = f"{x:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _interval(low: Any, high: Any, noise: float | None = None, decimals: Any = "auto") -> str:
    if low is None or high is None:
        return "–"
    if noise:
        return f"[{_fmt_noisy(low, noise)}, {_fmt_noisy(high, noise)}]"
    places = _decimals(low, high) if decimals == "auto" else decimals
    return f"[{_fixed(low, places)}, {_fixed(high, places)}]"


def _estimate(x: Any, low: Any, high: Any, digits: int = 4) -> str:
    """``x [low, high]`` with the same decimals throughout."""
    places = _decimals(x, low, high, digits=digits)
    return f"{_fixed(x, places, digits)} {_interval(low, high, decimals=places)}"


def _labels(summary: Mapping[str, Any]) -> dict[str, str]:
    """Group name -> the overrides that tell it apart (those every group shares are named once, above)."""
    groups = [g["group"] for g in summary["groups"]]
    if len(groups) < 2:
        return {g: g for g in groups}
    parts = [g.split(",") for g in groups]
    common = set(parts[0]).intersection(*parts[1:])
    return {g: ",".join(p for p in ps if p not in common) or g for g, ps in zip(groups, parts)}


def _shared(summary: Mapping[str, Any]) -> str:
    groups = [g["group"] for g in summary["groups"]]
    if len(groups) < 2:
        return ""
    parts = [g.split(",") for g in groups]
    common = set(parts[0]).intersection(*parts[1:])
    return ",".join(p for p in parts[0] if p in common)


def _direction(summary: Mapping[str, Any], metric: str) -> str:
    return "higher is better" if summary["higher_is_better"].get(metric, True) else "lower is better"


# --------------------------------------------------------------------------- tables


def to_csv(summary: Mapping[str, Any]) -> str:
    """Tidy table: one row per (group, metric), one column per statistic (:data:`~seedexp.stats.estimators.STAT_NAMES`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["group", "metric", "n_runs", *STAT_NAMES])
    for g in summary["groups"]:
        for metric, st in g["metrics"].items():
            w.writerow([g["group"], metric, g["n_runs"],
                        *("" if st.get(k) is None else st[k] if isinstance(st[k], str) else repr(st[k])
                          for k in STAT_NAMES)])
    return buf.getvalue()


def runs_csv(summary: Mapping[str, Any]) -> str:
    """One row per run, planned ones included: group, seed, status (ok/failed/crashed/timed_out/missing), path, metrics."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["group", "seed", "status", "path", *summary["metrics"]])
    for r in summary["runs"]:
        w.writerow([r["group"], r["seed"], r["status"], r["path"] or "",
                    *("" if r["metrics"].get(m) is None else repr(r["metrics"][m]) for m in summary["metrics"])])
    return buf.getvalue()


def _correction_name(summary: Mapping[str, Any]) -> str:
    return {"holm": "Holm", "bh": "BH", "none": "uncorrected"}[summary["options"]["correction"]]


def comparisons_table(summary: Mapping[str, Any], metric: str | None = None) -> str:
    """The paired comparisons as a markdown table (all metrics, or one)."""
    rows = [c for c in summary["comparisons"] if metric is None or c["metric"] == metric]
    if not rows:
        return "No paired comparison (it needs two groups that share at least two seeds with a finite value).\n"
    level, corr = _level(summary), _correction_name(summary)
    test = "paired t" if summary["options"]["test"] == "t" else "sign-flip permutation"
    lines = [
        f"| metric | A | B | pairs | mean(A−B) [{level} CI] | d_z [{level} CI] | p ({test}) | p ({corr}) "
        f"| A better on (k/n) [{level} CI] | verdict |",
        "|---|---|---|---:|---|---|---:|---:|---|---|",
    ]
    label = _labels(summary)
    fixed_n_only = bool(summary.get("stopping"))  # seed=auto: the sequential verdict is the valid one
    for c in rows:
        if c["better"] is not None and fixed_n_only:
            verdict = f"{label.get(c['better'], c['better'])} better (fixed-n; not valid after seed=auto)"
        elif c["better"] is not None:
            verdict = f"**{label.get(c['better'], c['better'])} better**"
        elif c["pvalue"] is None:
            verdict = "no test (the differences do not vary)"
        else:
            verdict = "no clear difference"
        ties = c["ties"] or 0  # out of the win rate's count
        wins = (f"{c['wins']}/{c['n_pairs'] - ties}" + (f" (+{ties} tie{'s' if ties > 1 else ''})" if ties else "")
                + f" {_interval(c['win_rate_ci_low'], c['win_rate_ci_high'], decimals=3)}")
        lines.append(
            f"| {c['metric']} | {label.get(c['a'], c['a'])} | {label.get(c['b'], c['b'])} | {c['n_pairs']} | "
            f"{_estimate(c['mean_diff'], c['ci_low'], c['ci_high'])} | "
            f"{_estimate(c['d_z'], c['d_z_ci_low'], c['d_z_ci_high'], digits=3)} "
            f"| {_fmt_p(c['pvalue'], c['p_mc_se'])} | {_fmt_p(c['p_adjusted'], c['p_mc_se'])} | {wins} | {verdict} |"
        )
    notes = [f"\n\nA and B are compared on the seeds they share; mean(A−B) with its {level} interval from the same "
             f"method as the test (per comparison); p ({corr}): adjusted across "
             + ("the primary metric's comparisons, and separately across the others" if summary["primary_metric"]
                else f"all {len(summary['comparisons'])} comparisons")
             + f"; a verdict needs an adjusted p < {summary['methods']['alpha']}, and \"better\" follows each "
             "metric's direction. A better on: the seeds where A is better, of those that are not ties (ties "
             "are counted apart, out of the rate), with its exact binomial interval."]
    from .diagnose import disagreeing_metrics

    notes += [f"\n⚠ {line}." for line in disagreeing_metrics(summary, label) if metric is None]
    return "\n".join(lines) + "\n".join(notes) + "\n"


def planning_table(summary: Mapping[str, Any], metric: str | None = None) -> str:
    """How many seeds: per group and metric, from ``summary["planning"]``."""
    order = {m: i for i, m in enumerate(summary["metrics"])}
    rows = sorted((r for r in summary["planning"] if metric is None or r["metric"] == metric),
                  key=lambda r: order.get(r["metric"], 0))
    opt = summary["options"]
    level = _level(summary)
    if not any(r["target_halfwidth"] is not None or r["target_difference"] is not None for r in rows):
        return _precision_table(summary, rows)  # the target columns would be all dashes
    assurance = next((r.get("assurance") for r in rows if r.get("assurance")), None)
    assured = f" ({100 * assurance:g}% assurance)" if assurance else ""
    lines = [
        f"| metric | group | n | std | half-width now | seeds for ±target{assured} | sd of differences | "
        f"seeds for {100 * opt['power']:g}% power{assured} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    label = _labels(summary)
    for r in rows:
        known = r.get("seeds_for_halfwidth_known_sd")
        hw = "–" if r["target_halfwidth"] is None else (
            f"{r['seeds_for_halfwidth'] or 'out of reach'} (±{_fmt(r['target_halfwidth'])})"
            + (f", {known} if the sd were known" if known and assurance else ""))
        pw = "–" if r["target_difference"] is None else (
            f"{r['seeds_for_power'] or 'out of reach'} (Δ={_fmt(r['target_difference'])})")
        sd = "–" if r["sd_diff"] is None else _fmt(r["sd_diff"]) + ("" if r["sd_diff_basis"].startswith("paired")
                                                                   else " (√2·std)")
        lines.append(f"| {r['metric']} | {label.get(r['group'], r['group'])} | {r['n']} | {_fmt(r['std'])} | "
                     f"±{_fmt(r['halfwidth_now'])} | {hw} | {sd} | {pw} |")
    alpha = rows[0]["alpha"] if rows else 1 - opt["confidence"]
    if assurance:
        promise = (f" The sd of these n seeds is an estimate, so each plan holds with {100 * assurance:g}% assurance: "
                   f"re-run with that many seeds (the ones already run are re-used), and the half-width is met in "
                   f"{100 * assurance:g}% of such sweeps (Kupper-Hafner probability, the sd's uncertainty included); "
                   f"the power is planned at the sd's one-sided {100 * assurance:g}% upper confidence bound, so it "
                   f"is reached with probability {100 * assurance:g}%.")
    else:
        promise = " Both treat the observed std as the true one: read them as \"about\"."
    lines.append(
        f"\nHalf-width of the {level} t interval of the mean; seeds for a target half-width "
        f"(`report.target_halfwidth`) and for {100 * opt['power']:g}% power of the paired t-test against a "
        f"difference Δ (`report.target_difference`) at α = {alpha:.3g}"
        + (" (α / number of comparisons, as the correction demands)" if opt["correction"] != "none" else "")
        + "." + promise + " sd of differences: the largest among the group's comparisons; √2·std where it has none."
    )
    return "\n".join(lines) + "\n"


def _precision_table(summary: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> str:
    """The planning table when no target is set: the precision now, and how to ask for more."""
    label = _labels(summary)
    lines = ["| metric | group | n | std | half-width now |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['metric']} | {label.get(r['group'], r['group'])} | {r['n']} | {_fmt(r['std'])} | "
              f"±{_fmt(r['halfwidth_now'])} |" for r in rows]
    lines.append(f"\nHalf-width of the {_level(summary)} t interval of the mean. No target was set: "
                 "`report.target_halfwidth` (a half-width) and/or `report.target_difference` (a paired difference "
                 "to detect), or `seedexp plan DIR --halfwidth H --difference D`, give the seeds they need.")
    return "\n".join(lines) + "\n"


#: How the headline interval of a mean is marked when it is not the plain t interval (``ci_method``).
_CI_MARKS = {"t": "", "lognormal-mean": " (lognormal mean)", "t, skewed": " ⚠ skewed (t)"}
#: Said under a metric's table when one of its intervals is marked.
SKEW_NOTES = {
    "lognormal-mean": "(lognormal mean): these values are strongly skewed (positive, a lognormal fits them better "
                      "than a normal, log-scale sd ≥ 0.25), where the t interval of the mean covers 82-84% at 5-10 "
                      "seeds; the interval shown is the modified-Cox interval of a lognormal mean, which covers "
                      "89-92% there and 95% from 30 seeds (BENCHMARKS.md).",
    "t, skewed": "⚠ skewed (t): strongly skewed values (sample skewness ≥ 1.5) that the log cannot take (zero or "
                 "negative): the t interval of the mean covers less than its level; read the median's interval.",
}


def _skew_notes(summary: Mapping[str, Any], metric: str) -> list[str]:
    used = {g["metrics"][metric].get("ci_method") for g in summary["groups"]}
    return [SKEW_NOTES[m] for m in ("lognormal-mean", "t, skewed") if m in used]


def _metric_table(summary: Mapping[str, Any], metric: str) -> list[str]:
    level = _level(summary)
    opt = summary["options"]
    stats = [g["metrics"][metric] for g in summary["groups"]]
    boot = any(s["boot_ci_low"] is not None for s in stats)
    lower = not summary["higher_is_better"].get(metric, True)
    geo = lower and any(s["gmean"] is not None for s in stats)
    methods = {s.get("ci_method") or "t" for s in stats if s.get("ci_low") is not None}
    head = ["group", "n", "mean", f"{level} CI (t)" if methods <= {"t"} else f"{level} CI of the mean", "std",
            f"median [{level} CI]", "min", "max"]
    if boot:
        head.insert(4, f"{level} CI (BCa bootstrap, n ≥ {opt['bootstrap_min_n']})")
    if geo:
        head.append(f"geometric mean [{level} CI, log scale]")
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if h in ("n", "mean", "std", "min", "max") else "---"
                                                         for h in head) + "|"]
    for g, s in zip(summary["groups"], stats):
        n = f"{s['n']} ⚠" if s["n"] < 5 else str(s["n"])
        lost = g["n_runs"] - s["n"]
        if lost:
            n += f" (of {g['n_runs']})"
        places = _decimals(s["mean"], s["ci_low"], s["ci_high"])  # the mean and its interval: the same decimals
        ci = _interval(s["ci_low"], s["ci_high"], decimals=places) + _CI_MARKS.get(s.get("ci_method") or "t", "")
        cells = [_labels(summary)[g["group"]], n, _fixed(s["mean"], places), ci, _fmt(s["std"]),
                 _estimate(s["median"], s["median_ci_low"], s["median_ci_high"]),
                 _fixed(s["min"], places), _fixed(s["max"], places)]
        if boot:
            cells.insert(4, _interval(s["boot_ci_low"], s["boot_ci_high"], s["boot_mc_se"]))
        if geo:
            cells.append(_estimate(s["gmean"], s["gmean_ci_low"], s["gmean_ci_high"]))
        out.append("| " + " | ".join(cells) + " |")
    return out


def to_markdown(summary: Mapping[str, Any]) -> str:
    """The summary a person reads: methods, n and warnings first, then the tables."""
    level = _level(summary)
    opt = summary["options"]
    counts = ", ".join(f"{summary.get(f'n_{s}', 0)} {s.replace('_', ' ')}" for s in RUN_STATUSES
                       if summary.get(f"n_{s}") or s == "ok")
    corrupt = summary.get("corrupt") or []
    out = [
        f"# seedexp summary: {summary.get('sweep_dir', '')}",
        "",
        f"{summary['n_runs']} {'planned ' if summary.get('planned') else ''}runs in {len(summary['groups'])} "
        f"group(s): {counts}" + (f"; {len(corrupt)} unreadable file(s)" if corrupt else "") + "."
        + (f" Every group has `{_shared(summary)}`; the tables name groups by what tells them apart."
           if _shared(summary) else ""),
        "",
        *stopping_section(summary),  # seed=auto: the verdict of the design that was run, before any fixed-n table
        f"**Method{' of the fixed-n tables' if summary.get('stopping') else ''}:** mean with its {level} Student t interval (for strongly skewed positive values the interval of a lognormal mean, marked); n = seeds with a finite value (⚠: n < 5, the "
        "interval leans on normality; no interval at n < 2)"
        + (f"; BCa bootstrap interval ({opt['n_resamples']} resamples) as a second column from n ≥ "
           f"{opt['bootstrap_min_n']}" if any(g['metrics'][m]['boot_ci_low'] is not None for g in summary['groups']
                                                 for m in summary['metrics']) else "")
        + f"; medians with a distribution-free {level} interval (none when n is too small to reach it). "
        f"Comparisons: {summary['methods']['test']}; {summary['methods']['correction']}.",
        "",
    ]
    if summary["warnings"]:
        out += ["**Warnings**", ""] + [f"- ⚠ {w}" for w in summary["warnings"]] + [""]
    for metric in summary["metrics"]:
        primary = " — primary metric" if metric == summary["primary_metric"] else ""
        out += [f"## {metric} ({_direction(summary, metric)}){primary}", "", *_metric_table(summary, metric), ""]
        out += [line for note in _skew_notes(summary, metric) for line in (note, "")]
    if summary.get("benchmark"):  # methods x tasks x seeds (seedexp.report_benchmark)
        from .report_benchmark import markdown as benchmark_markdown

        out += benchmark_markdown(summary)
    if summary["comparisons"]:
        base = f", each against the baseline {summary['baseline']}" if summary["baseline"] else ""
        fixed_n = " — fixed-n, not valid at a seed=auto stop" if summary.get("stopping") else ""
        out += [f"## Paired comparisons (same seeds{base}){fixed_n}", "", comparisons_table(summary)]
    out += curves_section(summary)  # runs that logged per-step series (seedexp.report_curves)
    if summary["planning"]:
        out += ["## How many seeds", "", planning_table(summary)]
    if summary["not_ok"]:
        out += ["## Runs that are not ok", ""]
        for f in summary["not_ok"]:
            what = f"{f['type']}: {f.get('message')}" if f.get("type") else f.get("message", "")
            where = f" — `{f['path']}`" if f.get("path") else ""
            out.append(f"- seed {f['seed']} ({f['group']}): **{f['status'].replace('_', ' ')}** — {what}{where}")
            if f.get("log_tail"):
                last = [ln for ln in f["log_tail"].splitlines() if ln.strip()][-3:]
                out.append("  last output: " + " ⏎ ".join(f"`{ln.strip()[:200]}`" for ln in last))
        out.append("")
    lost = [f for f in summary["survivorship"] if f["lost"]]
    if lost:
        out += ["## Lost seeds per metric (survivorship)", "",
                "| metric | group | lost / runs | Fisher p vs the rest (Holm) | flag |", "|---|---|---:|---:|---|"]
        out += [f"| {f['metric']} | {f['group']} | {f['lost']}/{f['n_runs']} | {_fmt_p(f['p_adjusted'])} | "
                f"{'⚠ rate differs' if f['flagged'] else ''} |" for f in lost]
        out.append("")
    if corrupt:
        out += ["## Unreadable files", ""] + [f"- {m}" for m in corrupt] + [""]
    v = summary["versions"]
    out += ["## Provenance", "",
            f"seedexp {v['seedexp']}, numpy {v['numpy']}, scipy {v['scipy']}, statsmodels {v['statsmodels']}, "
            f"Python {v['python']}. Every method, in full: `summary.json` → `methods`.", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- plot


def _short_labels(groups: list[str]) -> list[str]:
    """Drop the overrides every group shares, so plot labels say what differs."""
    parts = [g.split(",") for g in groups]
    common = set(parts[0]).intersection(*parts[1:]) if len(parts) > 1 else set()
    labels = [",".join(p for p in ps if p not in common) or g for ps, g in zip(parts, groups)]
    return [label.replace("experiment.", "").replace(",", "\n") for label in labels]


def plot_caption(summary: Mapping[str, Any]) -> str:
    """The figure's title: what the marks are, the method, the level and the n."""
    ns = sorted({g["metrics"][m]["n"] for g in summary["groups"] for m in summary["metrics"]})
    if not ns:
        return f"no metric to plot — {summary['n_ok']} of {summary['n_runs']} runs ok"
    n = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}–{ns[-1]} (under each group)"
    marked = any(g["metrics"][m].get("ci_method", "t") != "t" for g in summary["groups"] for m in summary["metrics"])
    which = "Student t CI (lognormal-mean CI where the values are strongly skewed)" if marked else "Student t CI"
    return (f"◆ mean with {_level(summary)} {which}, {n} seeds per group; box: quartiles; dots: seeds; "
            f"↑ higher / ↓ lower is better — {summary['n_ok']} of {summary['n_runs']} runs ok")


def figure(summary: Mapping[str, Any]) -> Any:
    """Per-metric strip + box plot of every group, with the mean and its t interval (a matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metrics = summary["metrics"]
    groups = [g["group"] for g in summary["groups"]]
    fig, axes = plt.subplots(1, max(1, len(metrics)), squeeze=False,
                             figsize=(max(4.0, 1.2 * len(groups) + 2) * max(1, len(metrics)) ** 0.5 + 2, 4.4))
    jitter = np.random.Generator(np.random.PCG64(0))
    labels = _short_labels(groups) if groups else []
    for ax, metric in zip(axes[0], metrics):
        data = [[r["metrics"].get(metric) for r in summary["runs"] if r["group"] == g and r["status"] == "ok"]
                for g in groups]
        data = [[v for v in d if v is not None and math.isfinite(v)] for d in data]
        ax.boxplot(data, positions=range(len(groups)), widths=0.5, showfliers=False)
        for i, (d, g) in enumerate(zip(data, summary["groups"])):
            ax.scatter(i + jitter.uniform(-0.15, 0.15, len(d)), d, s=10, alpha=0.6, zorder=3)
            s = g["metrics"][metric]
            if s["mean"] is not None and s["ci_low"] is not None:
                ax.errorbar(i + 0.32, s["mean"], yerr=[[max(0.0, s["mean"] - s["ci_low"])], [max(0.0, s["ci_high"] - s["mean"])]],
                            fmt="D", color="black", capsize=3, markersize=4, zorder=4)
            elif s["mean"] is not None:
                ax.plot(i + 0.32, s["mean"], "D", color="black", markersize=4, zorder=4)
        ax.set_xticks(range(len(groups)), [f"{lab}\nn={g['metrics'][metric]['n']}"
                                           + (" ⚠" if g["metrics"][metric]["n"] < 5 else "")
                                           for lab, g in zip(labels, summary["groups"])],
                      fontsize=7, rotation=25, ha="right")
        ax.set_title(f"{metric} {'↑' if summary['higher_is_better'].get(metric, True) else '↓'}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    import textwrap

    # the caption is wrapped to the figure's width (at 8 pt about 16 characters an inch): never clipped
    caption = textwrap.wrap(plot_caption(summary), width=max(40, int(fig.get_figwidth() * 16) - 6))
    fig.suptitle("\n".join(caption), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.03 * (len(caption) - 1)))
    return fig


def plot(summary: Mapping[str, Any], path: Path) -> None:
    """Write :func:`figure` as a PNG whose metadata also names the method and n."""
    import matplotlib.pyplot as plt

    fig = figure(summary)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, metadata={"Title": "seedexp summary", "Description": plot_caption(summary),
                                        "Software": f"seedexp ({summary['schema']})"})
    plt.close(fig)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- adaptive stopping (seed=auto)

def _bound(x: Any) -> str:
    return "unbounded" if x is None else _fmt(x)


_DESIGN_NAMES = {"group_sequential": "group-sequential design", "confidence_sequence": "confidence sequence"}
_INTERVAL_NAMES = {"fixed-width": "fixed-width (mean ± target)", "repeated": "repeated CI",
                   "anytime-valid": "anytime-valid"}

#: Said after the verdict of an adaptive sweep, and above the fixed-n tables.
FIXED_N_NOTE = ("The tables below are fixed-n methods: their intervals, p-values and verdicts assume the number of "
                "seeds was fixed before the runs. A seed=auto sweep stopped when its data said so, so they are not "
                "valid here (under no true difference, the fixed-n test at such a stop finds a difference in 6-8% "
                "of sweeps instead of 5%: BENCHMARKS.md); quote the verdict of seed=auto above.")


def stopping_section(summary: Mapping[str, Any]) -> list[str]:
    """The verdict of an adaptive sweep (seed=auto), from the design that was run: why it stopped, its intervals.

    ``to_markdown`` puts it first, before the fixed-n tables, which it labels as
    not valid at a data-dependent stop.
    """
    st = summary.get("stopping")
    if not st:
        return []
    rule = st.get("rule") or {}
    level = f"{100 * float(st.get('confidence', 0.95)):g}%"
    design = st.get("design") or "confidence_sequence"  # stopping.json files written before the designs
    if st.get("stop"):
        head = f"**Stopped after {st.get('n_seeds')} seeds** ({st.get('cause')}): {st.get('reason')}."
    else:
        head = (f"**Not stopped:** the sweep ended before its rule did ({st.get('reason')}); re-run the same "
                "command to go on.")
    given = ", ".join(f"stop.{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in rule.items()
                      if v is not None and k != "confidence")
    if design == "group_sequential":
        guarantee = (f"a repeated CI covers its true mean with probability ≥ {level} at every look at once, "
                     "whatever made the sweep stop; a fixed-width interval (mean ± stop.halfwidth, for a group that "
                     f"met the target) covers with probability ≥ {level} at the seed count the half-width rule "
                     f"stopped at. Looks: {len(st.get('looks') or [])}, at seed counts "
                     f"{_looks_text(st.get('looks') or [])}")
    else:
        guarantee = (f"each interval below covers its true mean with probability ≥ {level} at whatever seed count the "
                     "sweep stopped, whatever made it stop")
    out = [f"## Verdict of seed=auto ({_DESIGN_NAMES.get(design, design)})", "", head, "",
           f"Rule: {given}, on `{st.get('metric')}` ({st.get('metric_source')}). Method: {st.get('method')}: "
           f"{guarantee}.", "",
           f"| group | n | mean | {level} interval | half-width | interval |", "|---|---:|---:|---|---:|---|"]
    n_seeds = int(st.get("n_seeds") or 0)
    if any(r.get("seed", -1) >= n_seeds and r.get("status") != "missing" for r in summary.get("runs") or []):
        out[-2:-2] = [f"⚠ This directory also holds runs of seeds ≥ {n_seeds}, which the rule did not look at (an "
                      "earlier sweep's, or a batch this one did not finish): the other tables count them; the "
                      f"intervals here are those of seeds 0-{n_seeds - 1}.", ""]
    out += [f"| {g.get('group')} | {g.get('n')} | {_fmt(g.get('mean'))} | [{_bound(g.get('low'))}, "
            f"{_bound(g.get('high'))}] | {_bound(g.get('halfwidth'))} | "
            f"{_INTERVAL_NAMES.get(g.get('method') or 'anytime-valid', g.get('method'))} |" for g in st["groups"]]
    if st["comparisons"]:
        kind = "repeated" if design == "group_sequential" else "anytime"
        out += ["", f"| group − baseline | pairs | mean difference [{kind} interval] | {kind} p | verdict |",
                "|---|---:|---|---:|---|"]
        out += [f"| {c.get('group')} − {c.get('baseline')} | {c.get('n')} | {_fmt(c.get('mean_diff'))} "
                f"[{_bound(c.get('low'))}, {_bound(c.get('high'))}] ({100 * float(c.get('confidence', 0)):g}%) | "
                f"{_fmt_p(c.get('p_value'))} | **{c.get('state')}** |" for c in st["comparisons"]]
    return out + ["", FIXED_N_NOTE, ""]


def _looks_text(looks: list[Any]) -> str:
    if len(looks) <= 8:
        return ", ".join(str(k) for k in looks) or "none"
    return ", ".join(str(k) for k in looks[:4]) + ", ..., " + ", ".join(str(k) for k in looks[-2:])
