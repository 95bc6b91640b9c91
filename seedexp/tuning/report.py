"""Render a tuning study: trials.csv, finalists.csv, tuning.md and tuning.png at the study's root.

Everything here is a function of ``tuning.json``'s content (:mod:`seedexp.tuning.study`),
so ``seedexp report`` of the ``search/`` and ``fresh/`` sweeps and these files agree.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Mapping

from ..sweepdir import write_text_atomic

__all__ = ["trial_rows", "finalist_rows", "to_markdown", "figure", "write_files", "OUTPUTS"]

OUTPUTS = ("tuning.json", "trials.csv", "finalists.csv", "tuning.md", "tuning.png")


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def trial_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat dict per trial (the rows of trials.csv and of :attr:`TuneResult.trials`)."""
    metric = data.get("metric")
    rows = []
    for t in data.get("trials", []):
        st = (t.get("stats") or {}).get(metric) or {}
        rows.append({"number": t["number"], "state": t["state"], "n_seeds": t["n_seeds"],
                     "objective": t.get("objective"), "mean": st.get("mean"), "ci_low": st.get("ci_low"),
                     "ci_high": st.get("ci_high"), **{f"param_{k}": v for k, v in t["params"].items()},
                     "group": t["group"], "error": t.get("error")})
    return rows


def finalist_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat dict per finalist (the rows of finalists.csv)."""
    keys = ("rank", "number", "search_objective", "fresh_objective", "optimism", "search_mean", "search_ci_low",
            "search_ci_high", "fresh_mean", "fresh_ci_low", "fresh_ci_high", "fresh_n", "vs_winner", "diff",
            "diff_ci_low", "diff_ci_high", "pvalue", "p_adjusted")
    return [{**{k: f.get(k) for k in keys}, **{f"param_{k}": v for k, v in f["params"].items()}, "group": f["group"]}
            for f in data.get("finalists", [])]


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return buf.getvalue()


def to_markdown(data: Mapping[str, Any]) -> str:
    """The study as Markdown: settings, verdict, finalists (search vs fresh), every trial."""
    metric = data.get("metric") or "?"
    direction = (data.get("directions") or ["?"])[0]
    ident = data.get("identity") or {}
    seeds = data.get("seeds") or []
    conf = data.get("confidence", 0.95)
    statistic = {"mean": "the mean over seeds",
                 "bound": f"the pessimistic end of the {100 * conf:g}% t interval"}.get(data.get("statistic"), "?")
    trials = data.get("trials", [])
    counts = {s: sum(1 for t in trials if t["state"] == s) for s in ("complete", "stopped", "failed")}
    lines = [f"# Tuning study: {ident.get('experiment', '')}", "",
             f"- objective: {statistic} of **{metric}** ({direction}), every trial on the same "
             f"{len(seeds)} search seed(s) {_seed_text(seeds)}",
             f"- sampler: {ident.get('sampler')} (seed {ident.get('sampler_seed')}, from the study's seed)",
             f"- trials: {len(trials)} ({counts['complete']} complete, {counts['stopped']} stopped early by the "
             f"adaptive rule, {counts['failed']} failed)"]
    if ident.get("adaptive"):
        a = ident["adaptive"]
        lines.append(f"- adaptive seeds: at least {a['min_seeds']}, then {a['batch']} at a time; a trial stops when "
                     f"the {100 * a['confidence']:g}% anytime-valid confidence sequence of its paired difference "
                     "with the incumbent lies on the worse side of 0")
    fresh = data.get("fresh_seeds") or []
    lines.append(f"- finalists: {len(data.get('finalists', []))}, re-run on {len(fresh)} fresh seed(s) "
                 f"{_seed_text(fresh)} never used in the search")
    lines += ["", f"**Verdict:** {data.get('verdict', '(the search has not finished)')}", ""]
    if data.get("best"):
        lines += [f"**Best configuration:** {_params(data['best']['params'])}", ""]
    finals = data.get("finalists", [])
    if finals:
        test = data.get("test") or "t"
        lines += ["## Finalists: search score vs fresh score", "",
                  f"Optimism = search score − fresh score, in the better direction (> 0: the search flattered it). "
                  f"Comparisons with the search's winner on the fresh seeds: paired {test} test, "
                  f"{data.get('correction') or 'holm'} across the finalists.", "",
                  "| rank | trial | parameters | search | fresh | optimism | fresh mean [CI] | vs winner | p (adj.) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for f in finals:
            lines.append(f"| {f['rank']} | {f['number']} | {_params(f['params'])} | {_fmt(f['search_objective'])} | "
                         f"{_fmt(f['fresh_objective'])} | {_fmt(f['optimism'], 3)} | {_fmt(f['fresh_mean'])} "
                         f"[{_fmt(f['fresh_ci_low'])}, {_fmt(f['fresh_ci_high'])}] | {f['vs_winner']} | "
                         f"{_fmt(f.get('p_adjusted'), 3)} |")
        if data.get("optimism_mean") is not None:
            lines += ["", f"Mean optimism of the finalists: {_fmt(data['optimism_mean'], 3)} ({metric} units)."]
        lines.append("")
    lines += ["## Trials", "", f"| trial | state | seeds | {metric} mean [CI] | objective | parameters |",
              "|---|---|---|---|---|---|"]
    for r, t in zip(trial_rows(data), trials):
        state = t["state"] + (f" ({t['error']})" if t.get("error") else "")
        lines.append(f"| {r['number']} | {state} | {r['n_seeds']} | {_fmt(r['mean'])} [{_fmt(r['ci_low'])}, "
                     f"{_fmt(r['ci_high'])}] | {_fmt(r['objective'])} | {_params(t['params'])} |")
    lines += ["", "Every run is an ordinary seedexp record: `seedexp report search` and `seedexp report fresh` "
              "(in this directory) give the full statistics of each phase.", ""]
    return "\n".join(lines)


def _seed_text(seeds: list[int]) -> str:
    if not seeds:
        return ""
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"({seeds[0]}-{seeds[-1]})"
    return "(" + ", ".join(map(str, seeds[:8])) + (", ..." if len(seeds) > 8 else "") + ")"


def figure(data: Mapping[str, Any]) -> Any:
    """Optimisation history with each trial's interval, and the finalists' search vs fresh scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = data.get("metric") or "?"
    higher = (data.get("directions") or ["maximize"])[0] == "maximize"
    rows = trial_rows(data)
    finals = data.get("finalists", [])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2.2, 1]})
    ax = axes[0]
    colors = {"complete": "tab:blue", "stopped": "tab:orange"}
    for state, color in colors.items():
        mine = [r for r in rows if r["state"] == state and r["mean"] is not None]
        if not mine:
            continue
        x = [r["number"] for r in mine]
        y = [r["mean"] for r in mine]
        low = [r["mean"] - r["ci_low"] if r["ci_low"] is not None else 0.0 for r in mine]
        high = [r["ci_high"] - r["mean"] if r["ci_high"] is not None else 0.0 for r in mine]
        label = "trial: mean, t interval" if state == "complete" else "stopped early (fewer seeds)"
        ax.errorbar(x, y, yerr=[low, high], fmt="o", color=color, capsize=2, markersize=4, label=label, alpha=0.85)
    best, xs, ys = None, [], []
    for r in rows:
        if r["state"] == "complete" and r["objective"] is not None:
            if best is None or (r["objective"] > best if higher else r["objective"] < best):
                best = r["objective"]
        if best is not None:
            xs.append(r["number"])
            ys.append(best)
    if xs:
        xs, ys = [*xs, xs[-1] + 0.5], [*ys, ys[-1]]  # the last trial's step shows too
        ax.step(xs, ys, where="post", color="black", lw=1.2, label=f"best objective ({data.get('statistic')})")
    failed = [r["number"] for r in rows if r["state"] == "failed"]
    if failed:
        ax.plot(failed, [ax.get_ylim()[0]] * len(failed), "x", color="tab:red", label="failed")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{metric} {'↑' if higher else '↓'}")
    ax.set_title(f"search: every trial on the same {len(data.get('seeds') or [])} seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax = axes[1]
    for i, f in enumerate(finals):
        for off, (mean, low, high, color, label) in enumerate((
                (f["search_mean"], f["search_ci_low"], f["search_ci_high"], "tab:blue", "search seeds"),
                (f["fresh_mean"], f["fresh_ci_low"], f["fresh_ci_high"], "tab:green", "fresh seeds"))):
            if mean is None:
                continue
            err = [[mean - low if low is not None else 0.0], [high - mean if high is not None else 0.0]]
            ax.errorbar(i + (off - 0.5) * 0.3, mean, yerr=err, fmt="o", color=color, capsize=3, markersize=5,
                        label=label if i == 0 else None)
    ax.set_xticks(range(len(finals)), [f"#{f['rank']} trial {f['number']}\noptimism {_fmt(f['optimism'], 2)}"
                                       for f in finals], fontsize=8)
    ax.set_title("finalists: search vs fresh seeds (optimism)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    if finals:
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(str(data.get("verdict", ""))[:160], fontsize=8)
    fig.tight_layout()
    return fig


def write_files(out_dir: Path, data: Mapping[str, Any], png: bool = True) -> None:
    """trials.csv, finalists.csv, tuning.md and (``png``) tuning.png at ``out_dir``; tuning.json is the study's."""
    out_dir = Path(out_dir)
    write_text_atomic(out_dir / "trials.csv", _csv(trial_rows(data)))
    write_text_atomic(out_dir / "finalists.csv", _csv(finalist_rows(data)))
    write_text_atomic(out_dir / "tuning.md", to_markdown(data))
    if png:
        import matplotlib.pyplot as plt

        fig = figure(data)
        path = out_dir / "tuning.png"
        tmp = path.with_name(".tuning.png.tmp.png")
        fig.savefig(tmp, dpi=110, metadata={"Title": "seedexp tuning study", "Software": "seedexp"})
        plt.close(fig)
        os.replace(tmp, path)
        from ..report_html import refresh

        for phase in ("search", "fresh"):  # their summary.html shows the study's picture, now drawn
            refresh(out_dir / phase)
