"""Render a sweep summary: summary.json, summary.csv, runs.csv, summary.md, summary.png."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Mapping

from .aggregate import STAT_NAMES, aggregate
from .record import write_json_atomic, write_text_atomic

OUTPUTS = ("summary.json", "summary.csv", "runs.csv", "summary.md", "summary.png")


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def to_csv(summary: Mapping[str, Any]) -> str:
    """Tidy table: one row per (group, metric), one column per statistic."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["group", "metric", *STAT_NAMES])
    for g in summary["groups"]:
        for metric, st in g["metrics"].items():
            w.writerow([g["group"], metric, *("" if st.get(k) is None else repr(st.get(k)) for k in STAT_NAMES)])
    return buf.getvalue()


def runs_csv(summary: Mapping[str, Any]) -> str:
    """One row per run: group, seed, status, path and every metric."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["group", "seed", "status", "path", *summary["metrics"]])
    for r in summary["runs"]:
        w.writerow([r["group"], r["seed"], r["status"], r["path"],
                    *("" if r["metrics"].get(m) is None else repr(r["metrics"][m]) for m in summary["metrics"])])
    return buf.getvalue()


def comparisons_table(summary: Mapping[str, Any], metric: str | None = None) -> str:
    rows = [c for c in summary["comparisons"] if metric is None or c["metric"] == metric]
    if not rows:
        return "No paired comparison (it needs two groups that share at least two seeds).\n"
    conf = int(round(summary["bootstrap"]["confidence"] * 100))
    lines = [
        f"| metric | A | B | pairs | mean(A−B) | {conf}% CI | t-test p | Wilcoxon p | P(A>B) |",
        "|---|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for c in rows:
        lines.append(
            f"| {c['metric']} | {c['a']} | {c['b']} | {c['n_pairs']} | {_fmt(c['mean_diff'])} | "
            f"[{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}] | {_fmt(c['t_pvalue'])} | "
            f"{_fmt(c['wilcoxon_pvalue'])} | {_fmt(c['p_a_gt_b'])} |"
        )
    return "\n".join(lines) + "\n"


def to_markdown(summary: Mapping[str, Any]) -> str:
    """The table a person reads."""
    conf = int(round(summary["bootstrap"]["confidence"] * 100))
    out = [
        f"# seedexp summary: {summary.get('sweep_dir', '')}",
        "",
        f"{summary['n_runs']} runs in {len(summary['groups'])} group(s): "
        f"{summary['n_ok']} ok, {summary['n_failed']} failed"
        + (f", {len(summary.get('corrupt', []))} unreadable record(s)" if summary.get("corrupt") else "") + ".",
        "",
    ]
    for metric in summary["metrics"]:
        out += [
            f"## {metric}", "",
            f"| group | n | failed | mean | std | {conf}% CI (bootstrap) | {conf}% CI (t) | median | IQM | min | max |",
            "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
        ]
        for g in summary["groups"]:
            s = g["metrics"][metric]
            out.append(
                f"| {g['group']} | {s['n']} | {s['n_failed']} | {_fmt(s['mean'])} | {_fmt(s['std'])} | "
                f"[{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}] | [{_fmt(s['t_ci_low'])}, {_fmt(s['t_ci_high'])}] | "
                f"{_fmt(s['median'])} | {_fmt(s['iqm'])} | {_fmt(s['min'])} | {_fmt(s['max'])} |"
            )
        out.append("")
    if summary["comparisons"]:
        out += ["## Paired comparisons (same seeds)", "", comparisons_table(summary)]
    if summary["failures"]:
        out += ["## Failed runs", ""]
        out += [f"- seed {f['seed']} ({f['group']}): {f.get('type')}: {f.get('message')} — `{f.get('path')}`"
                for f in summary["failures"]]
        out.append("")
    if summary.get("corrupt"):
        out += ["## Unreadable records", ""] + [f"- {m}" for m in summary["corrupt"]] + [""]
    return "\n".join(out)


def _short_labels(groups: list[str]) -> list[str]:
    """Drop the overrides every group shares, so plot labels say what differs."""
    parts = [g.split(",") for g in groups]
    common = set(parts[0]).intersection(*parts[1:]) if len(parts) > 1 else set()
    labels = [",".join(p for p in ps if p not in common) or g for ps, g in zip(parts, groups)]
    return [label.replace("experiment.", "").replace(",", "\n") for label in labels]


def plot(summary: Mapping[str, Any], path: Path) -> None:
    """Per-metric strip + box plot of every group, with the mean and its bootstrap CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metrics = summary["metrics"]
    groups = [g["group"] for g in summary["groups"]]
    if not metrics:
        return
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4.0, 1.2 * len(groups) + 2) * len(metrics) ** 0.5 + 2, 4.2),
                             squeeze=False)
    jitter = np.random.Generator(np.random.PCG64(0))
    labels = _short_labels(groups)
    for ax, metric in zip(axes[0], metrics):
        data = [[r["metrics"].get(metric) for r in summary["runs"] if r["group"] == g and r["status"] == "ok"]
                for g in groups]
        data = [[v for v in d if v is not None] for d in data]
        ax.boxplot(data, positions=range(len(groups)), widths=0.5, showfliers=False)
        for i, (d, g) in enumerate(zip(data, summary["groups"])):
            ax.scatter(i + jitter.uniform(-0.15, 0.15, len(d)), d, s=10, alpha=0.6, zorder=3)
            s = g["metrics"][metric]
            if s["mean"] is not None and s["ci_low"] is not None:
                ax.errorbar(i + 0.32, s["mean"], yerr=[[s["mean"] - s["ci_low"]], [s["ci_high"] - s["mean"]]],
                            fmt="D", color="black", capsize=3, markersize=4, zorder=4)
        ax.set_xticks(range(len(groups)), labels, fontsize=7, rotation=25, ha="right")
        ax.set_title(metric, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{summary['n_ok']} runs ok, {summary['n_failed']} failed — box: quartiles, ◆: mean with "
                 f"{int(round(summary['bootstrap']['confidence'] * 100))}% bootstrap CI", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_summary(sweep_dir: Path, *, bootstrap_seed: int = 0, n_resamples: int = 2000,
                  confidence: float = 0.95, png: bool = True) -> dict[str, Any]:
    """Aggregate ``sweep_dir`` and write every summary file at its root."""
    sweep_dir = Path(sweep_dir)
    summary = aggregate(sweep_dir, bootstrap_seed=bootstrap_seed, n_resamples=n_resamples, confidence=confidence)
    write_json_atomic(sweep_dir / "summary.json", summary)
    write_text_atomic(sweep_dir / "summary.csv", to_csv(summary))
    write_text_atomic(sweep_dir / "runs.csv", runs_csv(summary))
    write_text_atomic(sweep_dir / "summary.md", to_markdown(summary))
    if png:
        plot(summary, sweep_dir / "summary.png")
    return summary
