"""``seedexp variance [overrides] --seeds N``: which source of randomness moves the metric?

After Bouthillier et al., "Accounting for Variance in Machine Learning
Benchmarks" (MLSys 2021). For each stream the experiment uses, one series of
N runs varies only that stream (``pin.<stream>`` over N values, every other stream
derived from the fixed ``--base-seed``), plus one series that varies all of
them (``seed=0..N-1``). Each series is an ordinary seedexp multirun in
``<out>/<stream>/``, so it runs on any launcher (pass
``hydra/launcher=joblib``...) and resumes. Reported per metric and source:
the standard deviation and its share of the total variance,
``var(source) / var(all)`` (shares need not add to 100%: sources interact,
and each std is itself an estimate from N runs).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any, Sequence

from ._subprocess import absolute_overrides, run_seedexp
from .aggregate import load_records, summarize
from .errors import ConfigError
from .record import RECORD_NAME, read_record, write_json_atomic, write_text_atomic
from .seeds import STREAMS

#: Streams every run reseeds; not a source of the experiment's own unless asked for.
GLOBAL_STREAMS = ("python", "numpy")
#: Streams conf/config.yaml declares under `pin` (others need `+pin.NAME`).
CANONICAL_PINS = tuple(s for s in STREAMS if s not in GLOBAL_STREAMS)
ALL = "all"


def discover_streams(overrides: list[str], out: Path, base_seed: int) -> list[str]:
    """Run the experiment once and read which top-level streams it asked for."""
    probe = out / "_probe"
    proc = run_seedexp([*overrides, f"seed={base_seed}", f"hydra.run.dir={probe}"], Path.cwd(), quiet=True)
    path = probe / RECORD_NAME
    if proc.returncode != 0 or not path.is_file():
        lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
        raise ConfigError(f"the probe run failed ({lines[-1] if lines else 'exit ' + str(proc.returncode)}); "
                          "fix the experiment first, e.g. with a single `seedexp` run")
    streams = read_record(path)["streams"]
    return sorted({name.split("/")[0] for name in streams} - set(GLOBAL_STREAMS))


#: Pinned series take their seeds from here on: ``pin.init=i`` gives the init
#: stream the same SeedSequence as ``seed=i``, and the series must not share samples.
PIN_OFFSET = 1_000_000


def series_overrides(stream: str, n: int, base_seed: int) -> list[str]:
    if stream == ALL:
        return [f"seed=range({base_seed},{base_seed + n})"]
    pin = f"pin.{stream}" if stream in CANONICAL_PINS else f"+pin.{stream}"
    return [f"seed={base_seed}", f"{pin}=range({PIN_OFFSET},{PIN_OFFSET + n})"]


def decompose(out: Path, streams: Sequence[str]) -> dict[str, Any]:
    """Standard deviation and variance share per metric and source, from the series on disk."""
    series = {}
    for name in [*streams, ALL]:
        records, _ = load_records(out / name)
        for rec in records:  # one sample per series, one run per value of what varies
            rec["group"] = name
            rec["seed"] = rec["seed"] if name == ALL else rec.get("pins", {}).get(name, rec["seed"])
        series[name] = summarize(records)["groups"][0]
    metrics = sorted(series[ALL]["metrics"])
    table: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        total_std = series[ALL]["metrics"][metric]["std"] or 0.0
        rows = {}
        for name in [*streams, ALL]:
            st = series[name]["metrics"].get(metric, {})
            std = st.get("std") or 0.0
            rows[name] = {"n": st.get("n", 0), "std": std, "mean": st.get("mean"),
                          "share": (std**2 / total_std**2) if total_std > 0 else None}
        table[metric] = rows
    return {"streams": list(streams), "metrics": metrics, "table": table,
            "failed": {k: v["n_failed"] for k, v in series.items() if v["n_failed"]}}


def to_markdown(result: dict[str, Any]) -> str:
    lines = [f"# Variance by source (N={result['n']} runs per source, base seed {result['base_seed']})", ""]
    for metric in result["metrics"]:
        lines += [f"## {metric}", "", "| source | n | std | share of total variance |", "|---|---:|---:|---:|"]
        for name, row in result["table"][metric].items():
            share = "–" if row["share"] is None else f"{100 * row['share']:.1f}%"
            label = "all sources" if name == ALL else name
            lines.append(f"| {label} | {row['n']} | {row['std']:.4g} | {share} |")
        lines.append("")
    return "\n".join(lines)


def to_csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "source", "n", "std", "share"])
    for metric in result["metrics"]:
        for name, row in result["table"][metric].items():
            w.writerow([metric, name, row["n"], repr(row["std"]), "" if row["share"] is None else repr(row["share"])])
    return buf.getvalue()


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = result["metrics"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 1, 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = result["table"][metric]
        names = list(rows)
        ax.bar(range(len(names)), [rows[n]["std"] for n in names],
               color=["#888" if n == ALL else "#4878a8" for n in names])
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.set_ylabel("std across seeds", fontsize=8)
    fig.suptitle("Standard deviation when only one source varies (grey: all vary)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="seedexp variance", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="runs per source (default 10)")
    parser.add_argument("--streams", default=None, help="comma-separated sources (default: those the experiment uses)")
    parser.add_argument("--base-seed", type=int, default=0, help="master seed of the fixed streams (default 0)")
    parser.add_argument("--out", type=Path, default=None, help="directory of the study (default multirun/variance_<experiment>)")
    ns, overrides = parser.parse_known_args(argv)
    if ns.seeds < 2:
        raise ConfigError(f"--seeds {ns.seeds}: a standard deviation needs at least 2 runs per source; e.g. --seeds 10")
    if any(o.startswith(("seed=", "pin.", "+pin.", "-m", "--multirun", "hydra.sweep.dir")) for o in overrides):
        raise ConfigError("variance sets seed, pin.* and the sweep dir itself: drop them from the overrides "
                          "(use --base-seed and --out)")
    overrides = absolute_overrides(overrides)
    experiment = next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), "default")
    out = (ns.out or Path("multirun") / f"variance_{experiment}").absolute()
    out.mkdir(parents=True, exist_ok=True)
    streams = ns.streams.split(",") if ns.streams else discover_streams(overrides, out, ns.base_seed)
    print(f"variance: sources {', '.join(streams)} + all, {ns.seeds} runs each, in {out}", flush=True)
    code = 0
    for name in [*streams, ALL]:
        print(f"variance: series '{name}'", flush=True)
        proc = run_seedexp(["-m", *overrides, *series_overrides(name, ns.seeds, ns.base_seed),
                            f"hydra.sweep.dir={out / name}"], Path.cwd(), quiet=True)
        if proc.returncode not in (0, 1):
            lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
            raise ConfigError(f"series {name!r} could not run: {lines[-1] if lines else proc.returncode}")
        code = max(code, proc.returncode)
    result = decompose(out, streams) | {"n": ns.seeds, "base_seed": ns.base_seed, "overrides": overrides}
    write_json_atomic(out / "variance.json", result)
    write_text_atomic(out / "variance.csv", to_csv(result))
    md = to_markdown(result)
    write_text_atomic(out / "variance.md", md)
    plot(result, out / "variance.png")
    print(md)
    print(f"variance: {out / 'variance.md'} (also variance.json, variance.csv, variance.png)")
    if result["failed"]:
        print(f"variance: failed runs per series: {json.dumps(result['failed'])}; re-run to retry them")
    return code
