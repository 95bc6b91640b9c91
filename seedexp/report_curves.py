"""Render the curves of a summary (:mod:`seedexp.stats.curves`): ``curves.csv``, one figure per metric, summary.md's section.

``curves.csv`` is tidy: one row per (metric, group, step) with ``n``, ``mean``,
``sd``, the pointwise interval ``ci_low``/``ci_high`` and the simultaneous band
``band_low``/``band_high``. The figures are ``curves_<metric>.png``: per group
the mean curve, its pointwise band (shaded) and its simultaneous band (dashed).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

__all__ = ["CURVES_CSV", "FIGURE_PREFIX", "figure_name", "curves_csv", "curves_section", "curve_figure",
           "write_curves"]

CURVES_CSV = "curves.csv"
FIGURE_PREFIX = "curves_"
_COLUMNS = ("n", "mean", "sd", "ci_low", "ci_high", "band_low", "band_high")
_SCALAR_TITLES = {"final": "final", "best": "best", "best_step": "step of best", "auc": "area under curve",
                  "steps_to_threshold": "steps to threshold"}


def figure_name(metric: str) -> str:
    """The file of a metric's figure: ``curves_<metric>.png`` (characters outside ``[A-Za-z0-9_.-]`` become ``_``)."""
    return f"{FIGURE_PREFIX}{re.sub(r'[^A-Za-z0-9_.-]+', '_', metric).strip('.') or '_'}.png"


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _interval(low: Any, high: Any) -> str:
    return "–" if low is None or high is None else f"[{_fmt(low)}, {_fmt(high)}]"


def curves_csv(summary: Mapping[str, Any]) -> str:
    """The stepped aggregates as a tidy CSV (metric, group, step, n, mean, sd, ci_low, ci_high, band_low, band_high)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "group", "step", *_COLUMNS])
    for metric, entry in (summary.get("curves") or {}).get("metrics", {}).items():
        for group, g in entry.get("groups", {}).items():
            p = g["points"]
            columns = [p[k] for k in _COLUMNS[1:]]
            for i, step in enumerate(p["step"]):
                w.writerow([metric, group, step, g["n"], *("" if c[i] is None else repr(c[i]) for c in columns)])
    return buf.getvalue()


def _labels(groups: list[str]) -> dict[str, str]:
    if len(groups) < 2:
        return {g: g for g in groups}
    parts = [g.split(",") for g in groups]
    common = set(parts[0]).intersection(*parts[1:])
    return {g: ",".join(p for p in ps if p not in common) or g for g, ps in zip(groups, parts)}


def curves_section(summary: Mapping[str, Any], figures: bool = True) -> list[str]:
    """The "Curves" section of summary.md (empty when no run logged a series)."""
    curves = summary.get("curves")
    if not curves or not curves.get("metrics"):
        return []
    level = f"{100 * summary['options']['confidence']:g}%"
    methods = curves["methods"]
    out = ["## Curves (per-step series)", "",
           f"**Method:** line: the mean of the seeds at each step; shaded: the {level} pointwise t interval of "
           f"that mean (it covers the mean at one step); dashed: the {methods['simultaneous']}. "
           f"Scalar summaries: {methods['scalars']}. Comparisons: {methods['comparisons']}. "
           f"Alignment: {methods['align']}. Every step shown is in `{CURVES_CSV}`.", ""]
    all_groups = [g["group"] for g in summary["groups"]]
    label = _labels(all_groups)
    for metric, entry in curves["metrics"].items():
        arrow = "higher is better" if entry["higher_is_better"] else "lower is better"
        out += [f"### {metric} ({arrow})", ""]
        if entry.get("refused"):
            out += [f"⚠ Not aggregated: {entry['refused']}", ""]
            continue
        if figures:
            out += [f"![{metric}: mean per step with {level} bands per group]({figure_name(metric)})", ""]
        threshold = entry.get("threshold")
        head = ["group", "n", "steps", "band c", *(_SCALAR_TITLES[k] + f" [{level} CI]" for k in
                                                  ("final", "best", "best_step", "auc"))]
        if threshold is not None:
            head.append(f"steps to {_fmt(threshold)} [{level} CI] (reached)")
        out += ["| " + " | ".join(head) + " |", "|---|---:|---:|---:|" + "---|" * (len(head) - 4)]
        for group, g in entry["groups"].items():
            n = f"{g['n']} ⚠" if g["n"] < 5 else str(g["n"])
            if g.get("n_nonfinite"):
                n += f" (+{g['n_nonfinite']} non-finite)"
            cells = [label.get(group, group), n, str(g["n_steps"]),
                     _fmt(g["band_crit"], 3) + (" (Bonferroni)" if g["band_method"] == "bonferroni" else "")]
            for k in ("final", "best", "best_step", "auc"):
                s = g["scalars"][k]
                cells.append(f"{_fmt(s['mean'])} {_interval(s['ci_low'], s['ci_high'])}")
            if threshold is not None:
                s = g["scalars"].get("steps_to_threshold") or {}
                cells.append(f"{_fmt(s.get('mean'))} {_interval(s.get('ci_low'), s.get('ci_high'))} "
                             f"({s.get('reached', 0)}/{g['n']})")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        rows = [c for c in curves["comparisons"] if c["metric"] == metric]
        if rows:
            out += [f"| A | B | summary | pairs | mean(A−B) [{level} CI] | p | p (adjusted) | verdict |",
                    "|---|---|---|---:|---|---:|---:|---|"]
            for c in rows:
                verdict = (f"**{label.get(c['better'], c['better'])} better**" if c["better"] is not None else
                           "no test (the differences do not vary)" if c["pvalue"] is None else "no clear difference")
                out.append(f"| {label.get(c['a'], c['a'])} | {label.get(c['b'], c['b'])} | "
                           f"{_SCALAR_TITLES[c['summary']]} | {c['n_pairs']} | {_fmt(c['mean_diff'])} "
                           f"{_interval(c['ci_low'], c['ci_high'])} | {_fmt(c['pvalue'], 3)} | "
                           f"{_fmt(c['p_adjusted'], 3)} | {verdict} |")
            out.append("")
    return out


def curve_figure(summary: Mapping[str, Any], metric: str) -> Any:
    """One metric's figure: per group the mean, the pointwise band (shaded) and the simultaneous band (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entry = summary["curves"]["metrics"][metric]
    level = f"{100 * summary['options']['confidence']:g}%"
    label = _labels([g["group"] for g in summary["groups"]])
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ns = []
    for i, (group, g) in enumerate(entry["groups"].items()):
        p = g["points"]
        if not g["n"]:
            continue
        color = colors[i % len(colors)]
        nan = float("nan")
        steps = p["step"]

        def arr(key: str) -> list[float]:
            return [nan if v is None else v for v in p[key]]

        ax.plot(steps, arr("mean"), color=color, lw=1.6, label=f"{label.get(group, group)} (n={g['n']})")
        ax.fill_between(steps, arr("ci_low"), arr("ci_high"), color=color, alpha=0.25, lw=0)
        ax.plot(steps, arr("band_low"), color=color, lw=0.9, ls="--")
        ax.plot(steps, arr("band_high"), color=color, lw=0.9, ls="--")
        ns.append(g["n"])
    arrow = "↑ higher is better" if entry["higher_is_better"] else "↓ lower is better"
    ax.set_title(f"{metric} ({arrow})", fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    n = "–" if not ns else (str(ns[0]) if min(ns) == max(ns) else f"{min(ns)}–{max(ns)}")
    fig.text(0.01, 0.01, f"line: mean over n = {n} seeds; shaded: {level} pointwise t interval; dashed: {level} "
                         "simultaneous band (whole curve)", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def write_curves(summary: Mapping[str, Any], dest: Path, png: bool = True) -> list[str]:
    """Write ``curves.csv`` and (``png``) one figure per metric in ``dest``; return the file names written."""
    from .sweepdir import write_text_atomic

    curves = summary.get("curves")
    if not curves or not curves.get("metrics"):
        return []
    dest = Path(dest)
    write_text_atomic(dest / CURVES_CSV, curves_csv(summary))
    written = [CURVES_CSV]
    if png:
        import matplotlib.pyplot as plt

        for metric, entry in curves["metrics"].items():
            if entry.get("refused") or not entry.get("groups"):
                continue
            fig = curve_figure(summary, metric)
            path = dest / figure_name(metric)
            tmp = path.with_name(f".{path.name}.tmp.png")
            fig.savefig(tmp, dpi=110, metadata={"Title": f"seedexp curves: {metric}",
                                                "Software": f"seedexp ({summary['schema']})"})
            plt.close(fig)
            os.replace(tmp, path)
            written.append(path.name)
    return written
