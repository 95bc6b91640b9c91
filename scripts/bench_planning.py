"""Plans that keep their promise (issue 30, part 3): how often a plan from a pilot sweep does what it says.

    .venv/bin/python scripts/bench_planning.py [--pilots 4000]

A pilot of m seeds (normal values, sd 1) gives an sd; :mod:`seedexp.planning`
says how many seeds; the sweep is then run with that many. Printed, per pilot
size and target, over ``--pilots`` pilots from one seeded generator:

1. Half-width: the share of sweeps whose 95% t interval meets the target, when
   the sweep re-uses the pilot's seeds (as ``seed=range(0,N)`` after a pilot of
   ``range(0,m)`` does) and when it runs N fresh seeds; seeds planned against
   the oracle (the plan for the true sd). "plug-in": the sd taken as the truth
   (what seedexp planned before); "80% assurance": :func:`seeds_for_halfwidth`
   with ``n_pilot``.
2. Power: the power the planned n actually has at the true sd (the paired
   t-test, two-sided 5%, effect 0.5 sd), its mean over pilots and the share of
   pilots where it reaches the promised 80%.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedexp.planning import halfwidth_at, sd_upper_bound, seeds_for_difference, seeds_for_halfwidth  # noqa: E402


def t_power(effect, n, alpha=0.05):
    crit = stats.t.isf(alpha / 2, n - 1)
    nc = effect * np.sqrt(n)
    with np.errstate(all="ignore"):  # scipy's nct returns nan far in a tail: ~0 there (the power is ~1)
        power = np.nan_to_num(stats.nct.sf(crit, n - 1, nc)) + np.nan_to_num(stats.nct.cdf(-crit, n - 1, nc))
    return np.where(nc > 37, 1.0, power)


def planned_for_power(sd, effect, power=0.8):
    """seeds_for_difference, vectorised over sds (the t plan is the z plan plus 0..5)."""
    z = stats.norm.isf(0.025) + stats.norm.isf(1 - power)
    start = np.maximum(2, np.ceil((z * sd / effect) ** 2) - 1)
    grid = start[:, None] + np.arange(7)[None, :]
    ok = t_power((effect / sd)[:, None], grid) >= power
    n = grid[np.arange(len(sd)), ok.argmax(axis=1)].astype(int)
    for i in np.flatnonzero(~ok[:, -1] | ok[:, 0]):  # outside the window (very small n): ask seedexp itself
        n[i] = seeds_for_difference(float(sd[i]), effect, power=power)
    return n


def halfwidth_table(rng, pilots):
    rows = ["| pilot seeds | target (x sd) | oracle n | plug-in: mean n | met, pilot re-used | met, fresh seeds "
            "| 80% assurance: mean n | met, pilot re-used | met, fresh seeds |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in (5, 10, 20):
        for h in (0.5, 0.4, 0.3):
            oracle = seeds_for_halfwidth(1.0, h)
            cells = []
            for assured in (False, True):
                ns, met, met_fresh = [], [], []
                for _ in range(pilots):
                    pilot = rng.standard_normal(m)
                    s = float(pilot.std(ddof=1))
                    n = seeds_for_halfwidth(s, h, n_pilot=m) if assured else seeds_for_halfwidth(s, h)
                    n = max(n, m)
                    ext = np.concatenate([pilot, rng.standard_normal(n - m)])
                    met.append(halfwidth_at(float(ext.std(ddof=1)), n) <= h)
                    met_fresh.append(halfwidth_at(float(rng.standard_normal(n).std(ddof=1)), n) <= h)
                    ns.append(n)
                cells.append(f"{np.mean(ns):.1f} | {np.mean(met):.3f} | {np.mean(met_fresh):.3f}")
            rows.append(f"| {m} | {h} | {oracle} | " + " | ".join(cells) + " |")
    return rows


def power_table(rng, pilots):
    rows = ["| pilot seeds | effect (x sd) | oracle n | plug-in: mean n | mean power | P(power >= 0.8) "
            "| 80% assurance: mean n | mean power | P(power >= 0.8) |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in (5, 10, 20):
        for effect in (0.5, 0.8):
            s = rng.standard_normal((pilots, m)).std(axis=1, ddof=1)
            oracle = seeds_for_difference(1.0, effect)
            cells = []
            for sd in (s, s * sd_upper_bound(1.0, m)):
                n = planned_for_power(sd, effect)
                p = t_power(effect, n)
                cells.append(f"{n.mean():.1f} | {p.mean():.3f} | {(p >= 0.8).mean():.3f}")
            assert planned_for_power(s[:3], effect).tolist() == [seeds_for_difference(v, effect) for v in s[:3]]
            rows.append(f"| {m} | {effect} | {oracle} | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args()
    rng = np.random.default_rng(ns.seed)
    t0 = time.perf_counter()
    print(f"{ns.pilots} pilots per row, seed {ns.seed}; values N(0, 1); 95% t intervals, paired t-test at 5%\n")
    print("### Half-width: share of sweeps that meet the target\n")
    print("\n".join(halfwidth_table(rng, ns.pilots)))
    print("\n### Power actually reached by a plan for 80% power\n")
    print("\n".join(power_table(rng, ns.pilots)))
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
