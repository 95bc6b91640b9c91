"""Render a summary's benchmark section (:mod:`seedexp.stats.benchmark`): markdown, benchmark.csv and four pictures.

Pictures, one set per metric of the section, each titled with the metric, the
method (stratified bootstrap, its level and resamples) and the n of methods,
tasks and seeds:

* ``benchmark_<metric>_aggregates.png``: mean, median, IQM and optimality gap per method, with intervals;
* ``benchmark_<metric>_profiles.png``: performance profiles with their bands;
* ``benchmark_<metric>_improvement.png``: P(A > B) for every pair, with intervals;
* ``benchmark_<metric>_cd.png``: the critical-difference diagram (average ranks, Nemenyi CD).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

__all__ = ["markdown", "to_csv", "picture_names", "write_pictures", "per_group_plot", "MAX_PLOT_GROUPS", "MAX_PAIRS_SHOWN"]

#: Above this many (method, task) groups, summary.png (a box per group) is not drawn: it would be
#: hundreds of boxes wide, and the benchmark pictures show the methods across tasks.
MAX_PLOT_GROUPS = 60

#: Above this many pairs, the probability-of-improvement picture shows each method against the best-ranked one.
MAX_PAIRS_SHOWN = 28

_TITLES = {"mean": "mean", "median": "median", "iqm": "IQM", "optimality_gap": "optimality gap"}


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _est(cell: Mapping[str, Any] | None) -> str:
    if cell is None:
        return "–"
    return f"{cell['estimate']:.3f} [{cell['ci_low']:.3f}, {cell['ci_high']:.3f}]"


def _slug(metric: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", metric)


def _counts(b: Mapping[str, Any]) -> str:
    """``3 methods x 4 tasks x 10 seeds`` (a range of seeds where runs are missing)."""
    n = [v for per in b["n_seeds"].values() for v in per.values()] or [0]
    seeds = f"{min(n)}" if min(n) == max(n) else f"{min(n)}-{max(n)}"
    return f"{len(b['methods'])} methods × {len(b['tasks'])} tasks × {seeds} seeds"


def _label(b: Mapping[str, Any]) -> dict[str, str]:
    """Method -> the overrides that tell it apart."""
    methods = b["methods"]
    if len(methods) < 2:
        return {m: m for m in methods}
    parts = [m.split(",") for m in methods]
    common = set(parts[0]).intersection(*parts[1:])
    rest = {m: [p for p in ps if p not in common] for m, ps in zip(methods, parts)}
    keys = {tuple(p.partition("=")[0] for p in r) for r in rest.values()}
    if len(keys) == 1 and len(next(iter(keys))) == 1:  # one swept key tells the methods apart: its values
        return {m: r[0].partition("=")[2] for m, r in rest.items()}
    return {m: ",".join(r) or m for m, r in rest.items()}


def _scores_line(b: Mapping[str, Any]) -> str:
    norm = b["normalization"] or {"kind": "raw"}
    if norm["kind"] == "raw":
        return "Scores: raw (no normalisation; declare `report.normalize` to put tasks on one scale)."
    if norm["kind"] == "minmax":
        return ("Scores: min-max per task (0 = the worst run of any method on the task, 1 = the best), so the "
                "aggregates compare methods relative to each other.")
    refs = ", ".join(f"{t} [{_fmt(w)}, {_fmt(h)}]" for t, (w, h) in norm["references"].items())
    return f"Scores: normalised per task by the declared reference scores [worst, best] (0 = worst, 1 = best): {refs}."


def markdown(summary: Mapping[str, Any]) -> list[str]:
    """The benchmark section of summary.md (empty when the sweep declares no task)."""
    section = summary.get("benchmark")
    if not section:
        return []
    out: list[str] = []
    level = f"{100 * summary['options']['confidence']:g}%"
    for metric, b in section["metrics"].items():
        label = _label(b)
        out += [f"## Benchmark: {metric} across tasks ({b['task_key']}), {_counts(b)}", ""]
        keys = {m.partition("=")[0] for m in b["methods"]}
        method_key = f" ({next(iter(keys))})" if len(keys) == 1 and all(m.count("=") == 1 for m in b["methods"]) else ""
        if not b.get("aggregates"):
            out += [f"- ⚠ {w}" for w in b["warnings"]] + [""]
            continue
        dropped = "; ".join(f"{d['task']} (no value for {', '.join(label.get(m, m) for m in d['methods_without_value'])})"
                            for d in b["tasks_dropped"])
        out += [f"Tasks used: {', '.join(b['tasks'])}" + (f"; left out: {dropped}" if dropped else "") + ". "
                + _scores_line(b), ""]
        if b["missing"]:
            out += ["Missing runs: " + "; ".join(
                f"{label.get(x['method'], x['method'])} on {x['task']}: seed(s) {', '.join(map(str, x['seeds']))} "
                f"({', '.join(sorted(set(x['statuses'])))})" for x in b["missing"]) + " (each task mean uses the seeds "
                "it has).", ""]
        if b["warnings"]:
            out += [f"- ⚠ {w}" for w in b["warnings"]] + [""]
        ranks = b["ranks"]
        head = [f"{_TITLES[k]} [{level} CI]" for k in ("mean", "median", "iqm", "optimality_gap")]
        out += [f"| method{method_key} | " + " | ".join(head) + " | average rank |", "|---|" + "---|" * len(head) + "---:|"]
        for m in sorted(b["methods"], key=lambda m: ranks["mean_ranks"][m]):
            cells = [_est(b["aggregates"][m][k]) for k in ("mean", "median", "iqm", "optimality_gap")]
            out.append(f"| {label[m]} | " + " | ".join(cells) + f" | {ranks['mean_ranks'][m]:.2f} |")
        out += ["", f"Mean and median of the per-task means, IQM (25% trimmed mean of all runs), optimality gap "
                f"(distance below {_fmt((b['normalization'] or {}).get('gamma'))}, none for raw lower-is-better "
                f"scores); intervals: {b['method']} (seeds resampled within each task, tasks fixed). Average rank: "
                "of the per-task means, 1 = best.", ""]
        fr = ranks["friedman"]
        alpha = 1 - summary["options"]["confidence"]
        if fr:
            cliques = "; ".join("{" + ", ".join(label[m] for m in c) + "}" for c in ranks["cliques"])
            out += [f"**Ranks over {ranks['n_tasks']} tasks:** Friedman χ² = {fr['statistic']:.3f} (df {fr['df']}), "
                    f"p = {_p(fr['pvalue'])}; Iman-Davenport F = {_fmt(fr['iman_davenport'])}, p = {_p(fr['id_pvalue'])}. "
                    f"Nemenyi critical difference at α = {alpha:.3g}: CD = {ranks['cd']:.3f} "
                    + (f"(methods not told apart: {cliques})." if cliques else "(every pair told apart)."), ""]
        out += ["| A | B | P(A > B) [" + level + " CI] | A better on tasks (W/L/T) | Wilcoxon p | p (Holm) | Nemenyi p |",
                "|---|---|---|---|---:|---:|---:|"]
        wil = {(w["a"], w["b"]): w for w in ranks["wilcoxon"]}
        nem = {(n["a"], n["b"]): n for n in ranks["nemenyi"]}
        for pr in b["improvement"]:
            w, n = wil.get((pr["a"], pr["b"])), nem.get((pr["a"], pr["b"]))
            out.append(f"| {label[pr['a']]} | {label[pr['b']]} | {pr['p']:.3f} [{pr['ci_low']:.3f}, {pr['ci_high']:.3f}] | "
                       f"{w['wins']}/{w['losses']}/{w['ties']} | {_p(w['pvalue'])} | {_p(w['p_adjusted'])} | "
                       f"{_p(n['pvalue']) if n else '–'} |")
        out += ["", "P(A > B): the probability that a run of A beats a run of B on the same task (ties 1/2), averaged "
                "over tasks; its interval resamples the seeds of A and of B independently (as rliable). Wilcoxon: "
                "signed-rank test of the per-task means over tasks, Holm-adjusted across pairs.", "",
                "Pictures: " + ", ".join(f"`{name}`" for name in picture_names(metric))
                + ("" if per_group_plot(summary) else f" (no `summary.png`: {len(summary['groups'])} groups, one box "
                   f"each, would not be readable)") + ".", ""]
    if not summary.get("baseline"):
        out += ["Per-task paired comparisons: none (the question is answered across tasks above); declare "
                "`report.baseline=METHOD` to compare every method with it on each task, seed by seed.", ""]
    return out


def to_csv(summary: Mapping[str, Any]) -> str:
    """benchmark.csv: one row per (metric, method, statistic): estimate, ci_low, ci_high (mean_rank: no interval)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "method", "statistic", "estimate", "ci_low", "ci_high", "n_tasks", "normalization"])
    for metric, b in (summary.get("benchmark") or {}).get("metrics", {}).items():
        if not b.get("aggregates"):
            continue
        kind = (b["normalization"] or {}).get("kind", "raw")
        for m in b["methods"]:
            for k in ("mean", "median", "iqm", "optimality_gap"):
                c = b["aggregates"][m][k]
                if c is not None:
                    w.writerow([metric, m, k, repr(c["estimate"]), repr(c["ci_low"]), repr(c["ci_high"]),
                                len(b["tasks"]), kind])
            w.writerow([metric, m, "mean_rank", repr(b["ranks"]["mean_ranks"][m]), "", "", len(b["tasks"]), kind])
        for pr in b["improvement"]:
            w.writerow([metric, f"{pr['a']} > {pr['b']}", "p_improvement", repr(pr["p"]), repr(pr["ci_low"]),
                        repr(pr["ci_high"]), len(b["tasks"]), kind])
    return buf.getvalue()


def per_group_plot(summary: Mapping[str, Any]) -> bool:
    """Whether summary.png (one box per group) is drawn for this benchmark: up to :data:`MAX_PLOT_GROUPS` groups."""
    return len(summary["groups"]) <= MAX_PLOT_GROUPS


def picture_names(metric: str) -> list[str]:
    return [f"benchmark_{_slug(metric)}_{kind}.png" for kind in ("aggregates", "profiles", "improvement", "cd")]


def _title(summary: Mapping[str, Any], b: Mapping[str, Any], what: str) -> str:
    level = f"{100 * summary['options']['confidence']:g}%"
    return (f"{b['metric']}: {what}\n{_counts(b)}; stratified bootstrap, {level}, "
            f"{summary['options']['n_resamples']} resamples")


def _save(fig: Any, path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, metadata={"Title": title.replace("\n", " — "), "Software": "seedexp"})
    plt.close(fig)
    os.replace(tmp, path)


def write_pictures(summary: Mapping[str, Any], dest: Path) -> list[Path]:
    """Draw the four pictures of every metric of the benchmark section into ``dest``; return their paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    written = []
    for metric, b in (summary.get("benchmark") or {}).get("metrics", {}).items():
        if not b.get("aggregates"):
            continue
        label = _label(b)
        ranks = b["ranks"]["mean_ranks"]
        order = sorted(b["methods"], key=lambda m: -ranks[m])  # best at the top of each panel
        names = picture_names(metric)
        stats = [k for k in ("mean", "median", "iqm", "optimality_gap") if b["aggregates"][order[0]][k] is not None]

        fig, axes = plt.subplots(1, len(stats), figsize=(3.2 * len(stats) + 1.5, 0.45 * len(order) + 1.8),
                                 sharey=True, squeeze=False)
        for ax, k in zip(axes[0], stats):
            cells = [b["aggregates"][m][k] for m in order]
            y = range(len(order))
            ax.errorbar([c["estimate"] for c in cells], list(y),
                        xerr=[[c["estimate"] - c["ci_low"] for c in cells], [c["ci_high"] - c["estimate"] for c in cells]],
                        fmt="o", capsize=4)
            ax.set_title(_TITLES[k] + (" (lower is better)" if k == "optimality_gap" else ""))
            ax.grid(axis="x", alpha=0.3)
        axes[0][0].set_yticks(range(len(order)), [label[m] for m in order])
        fig.suptitle(_title(summary, b, "aggregates of normalised scores" if b["normalization"]["kind"] != "raw"
                                   else "aggregates of raw scores"), fontsize=9)
        fig.tight_layout()
        _save(fig, dest / names[0], _title(summary, b, "aggregates"))
        written.append(dest / names[0])

        prof = b["profiles"]
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for m in order[::-1]:
            p = prof["methods"][m]
            line, = ax.plot(prof["thresholds"], p["fraction"], label=label[m], drawstyle="steps-post")
            ax.fill_between(prof["thresholds"], p["ci_low"], p["ci_high"], alpha=0.2, color=line.get_color(), step="post")
        ax.set_xlabel("score threshold τ" + (" (normalised)" if b["normalization"]["kind"] != "raw" else ""))
        ax.set_ylabel("fraction of runs with score " + (">" if prof["higher_is_better"] else "<") + " τ")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax.set_title(_title(summary, b, "performance profiles"), fontsize=9)
        fig.tight_layout()
        _save(fig, dest / names[1], _title(summary, b, "performance profiles"))
        written.append(dest / names[1])

        pairs, what = b["improvement"], "probability of improvement"
        if len(pairs) > MAX_PAIRS_SHOWN:  # many methods: each against the best-ranked one
            best = order[-1]
            pairs = [p if p["b"] == best else {**p, "a": p["b"], "b": p["a"], "p": 1 - p["p"], "ci_low": 1 - p["ci_high"],
                                                "ci_high": 1 - p["ci_low"]}
                     for p in pairs if best in (p["a"], p["b"])]
            what = f"probability of improvement over the best-ranked method, {label[best]}"
        fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(pairs) + 1.8))
        for i, pr in enumerate(pairs):
            ax.errorbar([pr["p"]], [i], xerr=[[pr["p"] - pr["ci_low"]], [pr["ci_high"] - pr["p"]]], fmt="o", capsize=4,
                        color="C0")
        ax.axvline(0.5, color="grey", ls="--", lw=1)
        ax.set_yticks(range(len(pairs)), [f"P({label[pr['a']]} > {label[pr['b']]})" for pr in pairs])
        ax.set_xlim(0, 1)
        ax.set_xlabel("probability of improvement")
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(_title(summary, b, what), fontsize=9)
        fig.tight_layout()
        _save(fig, dest / names[2], _title(summary, b, what))
        written.append(dest / names[2])

        fig = _cd_figure(b, label, summary)
        _save(fig, dest / names[3], _title(summary, b, "critical difference"))
        written.append(dest / names[3])
    return written


def _cd_figure(b: Mapping[str, Any], label: Mapping[str, str], summary: Mapping[str, Any]) -> Any:
    """Average ranks on an axis (1 = best, on the left), clique bars, and the CD as a scale bar (Demsar 2006)."""
    import matplotlib.pyplot as plt

    ranks = b["ranks"]
    mr = ranks["mean_ranks"]
    k = len(mr)
    order = sorted(mr, key=lambda m: mr[m])
    half = math.ceil(k / 2)
    height = 0.35 * half + 1.9 + 0.2 * len(ranks["cliques"])
    fig, ax = plt.subplots(figsize=(7.5, height))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-0.35 * half - 0.6, 1.0 + 0.2 * len(ranks["cliques"]))
    ax.axis("off")
    ax.hlines(0, 1, k, color="k", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.08, color="k", lw=1)
        ax.text(r, 0.12, str(r), ha="center", va="bottom", fontsize=8)
    for i, m in enumerate(order):
        left = i < half
        level = -(0.35 * (i if left else k - 1 - i)) - 0.3
        x_end = 0.6 if left else k + 0.4
        ax.plot([mr[m], mr[m], x_end], [0, level, level], color="k", lw=0.8)
        ax.text(x_end + (-0.05 if left else 0.05), level, f"{label[m]} ({mr[m]:.2f})", ha="right" if left else "left",
                va="center", fontsize=8)
    for j, clique in enumerate(ranks["cliques"]):
        y = -0.12 - 0.1 * j
        ax.hlines(y, mr[clique[0]] - 0.03, mr[clique[-1]] + 0.03, color="C3", lw=3)
    if ranks["cd"] is not None:
        y = 0.55 + 0.2 * len(ranks["cliques"])
        ax.hlines(y, 1, 1 + ranks["cd"], color="k", lw=1.5)
        ax.vlines([1, 1 + ranks["cd"]], y - 0.05, y + 0.05, color="k", lw=1.5)
        ax.text(1 + ranks["cd"] / 2, y + 0.06, f"CD = {ranks['cd']:.2f}", ha="center", va="bottom", fontsize=8)
    fr = ranks["friedman"]
    sub = f"; Friedman p = {_p(fr['pvalue'])}" if fr else ""
    ax.set_title(f"{b['metric']}: average ranks over tasks (1 = best), Nemenyi CD at α = "
                 f"{1 - summary['options']['confidence']:.3g}{sub}\n{_counts(b)}; bars join methods the Nemenyi "
                 "test does not tell apart", fontsize=9)
    fig.tight_layout()
    return fig
