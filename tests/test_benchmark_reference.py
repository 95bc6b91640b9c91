"""seedexp.stats.benchmark against the references: rliable (aggregates, P(X>Y), profiles, stratified bootstrap),
autorank, scipy.stats and scikit-posthocs (ranks, Friedman, Nemenyi, critical difference, Wilcoxon-Holm).

Equality criteria:
* point estimates equal to 1e-9;
* intervals: (1) given the SAME resamples (ours fed into rliable's bootstrap classes), equal to 1e-9;
  (2) with independent resamples, each endpoint within 4 * sqrt(2) * mc_se, mc_se being the Monte Carlo
  error of a percentile endpoint, sd * sqrt(a (1 - a) / B) / phi(z_a): two independent bootstraps of B
  resamples differ by about sqrt(2) mc_se, so 4 such standard errors fail by chance about once in 16,000
  endpoints. Profiles are step functions (steps of 1/N runs): 1/N is added to their tolerance.
* average ranks, Friedman statistic and p: equal to 1e-9 (autorank calls scipy); Nemenyi p-values equal to
  scikit-posthocs' to 1e-9; the critical difference equal to ours computed from scipy's studentized range,
  and to autorank's within 2e-4 relative (autorank takes q from statsmodels' qsturng table approximation,
  which differs from scipy's exact quantile by up to ~1e-4 relative).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import re

import numpy as np
import pytest

from seedexp.stats import benchmark as bm
from seedexp.errors import ConfigError

rly = pytest.importorskip("rliable.library")
rmetrics = pytest.importorskip("rliable.metrics")
autorank_mod = pytest.importorskip("autorank")
sp = pytest.importorskip("scikit_posthocs")
pd = pytest.importorskip("pandas")



def _matrices():
    """{name: {method: (runs x tasks) array}}: continuous, tied, and one with a missing run (NaN)."""
    rng = np.random.default_rng(7)
    cont = {m: rng.normal(mu, 0.15, size=(5, 6)) + np.linspace(0, 0.6, 6) for m, mu in
            (("a", 0.5), ("b", 0.6), ("c", 0.62))}
    ties = {m: np.round(rng.normal(mu, 0.2, size=(4, 7)), 1) for m, mu in (("a", 0.5), ("b", 0.5), ("c", 0.7), ("d", 0.6))}
    ties["d"][:, 0] = ties["c"][:, 0]  # a task where two methods are identical
    ties["b"][:, 2] = ties["a"][:, 2][::-1]  # same runs, another seed order: equal task means
    missing = {m: rng.normal(mu, 0.1, size=(6, 5)) for m, mu in (("a", 0.4), ("b", 0.55), ("c", 0.5))}
    missing["b"][3, 1] = np.nan  # method b lost seed 3 on task 1
    return {"continuous": cont, "ties": ties, "missing": missing}


MATRICES = _matrices()


def columns(mat):
    return [col[np.isfinite(col)] for col in mat.T]


def rectangular(mat):
    return bool(np.all(np.isfinite(mat)))


@pytest.mark.fast
@pytest.mark.parametrize("name", list(MATRICES))
def test_point_estimates_equal_rliable(name):
    for m, mat in MATRICES[name].items():
        ours = bm.aggregates(columns(mat))
        if rectangular(mat):
            ref = {"mean": rmetrics.aggregate_mean(mat), "median": rmetrics.aggregate_median(mat),
                   "iqm": rmetrics.aggregate_iqm(mat), "optimality_gap": rmetrics.aggregate_optimality_gap(mat)}
        else:  # rliable on the runs that exist: the task means, and the pooled runs
            task_means = np.array([[c.mean() for c in columns(mat)]])
            pooled = np.concatenate(columns(mat))[None, :]
            ref = {"mean": rmetrics.aggregate_mean(task_means), "median": rmetrics.aggregate_median(task_means),
                   "iqm": rmetrics.aggregate_iqm(pooled), "optimality_gap": rmetrics.aggregate_optimality_gap(pooled)}
        for k in bm.AGGREGATES:
            assert ours[k] == pytest.approx(float(ref[k]), abs=1e-9), (name, m, k)
    for a, b in itertools.combinations(MATRICES[name], 2):
        x, y = MATRICES[name][a], MATRICES[name][b]
        ours = bm.improvement(columns(x), columns(y))
        if rectangular(x) and rectangular(y):
            ref = rmetrics.probability_of_improvement(x, y)
        else:
            ref = np.mean([rmetrics.probability_of_improvement(cx[:, None], cy[:, None])
                           for cx, cy in zip(columns(x), columns(y))])
        assert ours == pytest.approx(float(ref), abs=1e-9), (name, a, b)


class _Replay:
    """Feeds our resamples into rliable's bootstrap classes, one resample per update_indices call."""

    def __init__(self, draws_list):
        self.draws_list = draws_list  # one list of per-task draws per positional array
        self.b = 0

    def indices(self, draws, strata):
        idx = np.stack([d[self.b] for d in draws], axis=1)  # (runs, tasks)
        return (idx, *strata)


def _rliable_on_our_draws(mat, draws, func, confidence):
    class Replayed(rly.StratifiedBootstrap):
        def update_indices(self):
            out = replay.indices(draws, self._strata_indices)
            replay.b += 1
            return out

    replay = _Replay([draws])
    return Replayed(mat).conf_int(func, reps=draws[0].shape[0], size=confidence, method="percentile")


def _draws(mat, seed, b):
    return bm.stratified_draws([mat.shape[0]] * mat.shape[1], np.random.default_rng(seed), b)


@pytest.mark.fast
@pytest.mark.parametrize("name", ["continuous", "ties"])
def test_same_resamples_give_rliables_intervals(name):
    conf = 0.9
    funcs = {"mean": rmetrics.aggregate_mean, "median": rmetrics.aggregate_median, "iqm": rmetrics.aggregate_iqm,
             "optimality_gap": rmetrics.aggregate_optimality_gap}
    for i, (m, mat) in enumerate(MATRICES[name].items()):
        draws = _draws(mat, i, 400)
        boot = bm.aggregates_bootstrap(columns(mat), draws)
        ref = _rliable_on_our_draws(mat, draws, lambda x: np.array([funcs[k](x) for k in bm.AGGREGATES]), conf)
        for j, k in enumerate(bm.AGGREGATES):
            low, high, _ = bm.percentile_interval(boot[k], conf)
            assert (low, high) == (pytest.approx(ref[0, j], abs=1e-9), pytest.approx(ref[1, j], abs=1e-9)), (m, k)
    # P(X > Y): rliable's independent stratified bootstrap, on our draws of X and of Y
    (a, x), (b, y) = list(MATRICES[name].items())[:2]
    dx, dy = _draws(x, 10, 300), _draws(y, 11, 300)

    class Replayed(rly.StratifiedIndependentBootstrap):
        def update_indices(self):
            out = ([(np.stack([d[self.b] for d in dx], axis=1), *self._args_strata_indices[0]),
                    (np.stack([d[self.b] for d in dy], axis=1), *self._args_strata_indices[1])], {})
            self.b += 1
            return out

    bs = Replayed(x, y)
    bs.b = 0
    ref = bs.conf_int(lambda p, q: np.array([rmetrics.probability_of_improvement(p, q)]), reps=300, size=conf,
                      method="percentile")
    counts_x = [bm._counts(d, x.shape[0]).astype(float) for d in dx]
    counts_y = [bm._counts(d, y.shape[0]).astype(float) for d in dy]
    boot = bm.improvement_bootstrap(columns(x), columns(y), counts_x, counts_y)
    low, high, _ = bm.percentile_interval(boot, conf)
    assert (low, high) == (pytest.approx(ref[0, 0], abs=1e-9), pytest.approx(ref[1, 0], abs=1e-9))


def test_independent_resamples_agree_with_rliable_within_bootstrap_noise():
    reps = 1000
    score_dict = MATRICES["continuous"]
    np.random.seed(2021)  # rliable draws from the global RNG whatever random_state says
    point, ref = rly.get_interval_estimates(
        score_dict, lambda x: np.array([rmetrics.aggregate_mean(x), rmetrics.aggregate_median(x),
                                        rmetrics.aggregate_iqm(x), rmetrics.aggregate_optimality_gap(x)]),
        reps=reps, confidence_interval_size=0.95)
    out = bm.analyze({m: dict(zip("uvwxyz", columns(mat))) for m, mat in score_dict.items()},
                     n_resamples=reps, seed=3)
    for m in score_dict:
        for j, k in enumerate(bm.AGGREGATES):
            mine = out["aggregates"][m][k]
            assert mine["estimate"] == pytest.approx(point[m][j], abs=1e-9)
            tol = 4 * math.sqrt(2) * mine["mc_se"]
            assert abs(mine["ci_low"] - ref[m][0, j]) < tol and abs(mine["ci_high"] - ref[m][1, j]) < tol, (m, k)
    # profiles: the same thresholds, point equal, bands within noise (+ one step of 1/N)
    every = slice(None, None, 10)  # 11 of the 101 thresholds: rliable's profile is slow
    taus = np.array(out["profiles"]["thresholds"])[every]
    np.random.seed(2022)
    prof, bands = rly.create_performance_profile(score_dict, taus, reps=reps)
    for m, mat in score_dict.items():
        mine = {k: np.array(v)[every] for k, v in out["profiles"]["methods"][m].items()}
        np.testing.assert_allclose(mine["fraction"], prof[m], atol=1e-12)
        tol = 1.0 / mat.size + 4 * math.sqrt(2) * 2.67 * 0.5 / math.sqrt(reps)  # sd of a fraction <= 1/2
        assert np.max(np.abs(mine["ci_low"] - bands[m][0])) < tol
        assert np.max(np.abs(mine["ci_high"] - bands[m][1])) < tol
    # P(X > Y)
    pairs = {(p["a"], p["b"]): p for p in out["improvement"]}
    np.random.seed(2023)
    pp, pci = rly.get_interval_estimates(
        {f"{a},{b}": (score_dict[a], score_dict[b]) for a, b in pairs},
        lambda x, y: np.array([rmetrics.probability_of_improvement(x, y)]), reps=reps)
    for (a, b), mine in pairs.items():
        assert mine["p"] == pytest.approx(float(pp[f"{a},{b}"][0]), abs=1e-9)
        tol = 4 * math.sqrt(2) * mine["mc_se"] + 1e-3  # P is discrete (steps of 1/(T n^2))
        assert abs(mine["ci_low"] - pci[f"{a},{b}"][0, 0]) < tol and abs(mine["ci_high"] - pci[f"{a},{b}"][1, 0]) < tol


def _task_means(mats):
    methods = list(mats)
    return methods, np.array([[np.nanmean(mats[m][:, t]) for m in methods] for t in range(mats[methods[0]].shape[1])])


def _autorank(matrix, methods, alpha=0.05):
    df = pd.DataFrame(matrix, columns=methods)
    with contextlib.redirect_stdout(io.StringIO()):  # autorank 1.3.0 prints even with verbose=False
        res = autorank_mod.autorank(df, alpha=alpha, verbose=False, force_mode="nonparametric")
        sorted_ranks, names, groups = autorank_mod._util.get_sorted_rank_groups(res, reverse=False)
    return res, [sorted(names[i:j + 1]) for i, j in groups]


@pytest.mark.fast
@pytest.mark.parametrize("name", list(MATRICES))
def test_ranks_friedman_nemenyi_cd_equal_autorank_scipy_and_scikit_posthocs(name):
    from scipy import stats

    methods, matrix = _task_means(MATRICES[name])
    ours = bm.rank_analysis(matrix, methods, alpha=0.05)
    res, groups = _autorank(matrix, methods)
    for m in methods:
        assert ours["mean_ranks"][m] == pytest.approx(res.rankdf.loc[m, "meanrank"], abs=1e-9)
    assert ours["friedman"]["pvalue"] == pytest.approx(res.pvalue, abs=1e-9)
    assert ours["friedman"]["statistic"] == pytest.approx(stats.friedmanchisquare(*matrix.T).statistic, abs=1e-9)
    assert ours["cd"] == pytest.approx(res.cd, rel=2e-4)
    k, n = len(methods), len(matrix)
    assert ours["cd"] == pytest.approx(stats.studentized_range.ppf(0.95, k, np.inf) * math.sqrt(k * (k + 1) / (12 * n)),
                                       abs=1e-12)
    assert sorted(map(sorted, ours["cliques"])) == sorted(groups)
    nem = sp.posthoc_nemenyi_friedman(matrix)
    for row in ours["nemenyi"]:
        i, j = methods.index(row["a"]), methods.index(row["b"])
        assert row["pvalue"] == pytest.approx(nem.iloc[i, j], abs=1e-9)
    melted = pd.DataFrame([{"task": t, "method": m, "score": matrix[t, i]} for t in range(n) for i, m in enumerate(methods)])
    wil = sp.posthoc_wilcoxon(melted, val_col="score", group_col="method", p_adjust="holm")
    for row in ours["wilcoxon"]:
        assert row["p_adjusted"] == pytest.approx(wil.loc[row["a"], row["b"]], abs=1e-9)


@pytest.mark.fast
def test_analyze_on_a_missing_run_matches_the_references_on_the_runs_that_exist():
    mats = MATRICES["missing"]
    scores = {m: {f"t{t}": columns(mat)[t] for t in range(mat.shape[1])} for m, mat in mats.items()}
    out = bm.analyze(scores, n_resamples=200)
    assert out["n_seeds"]["b"]["t1"] == 5 and out["n_seeds"]["a"]["t1"] == 6
    methods, matrix = _task_means(mats)
    res, _ = _autorank(matrix, methods)
    for m in methods:
        assert out["ranks"]["mean_ranks"][m] == pytest.approx(res.rankdf.loc[m, "meanrank"], abs=1e-9)
        assert out["aggregates"][m]["iqm"]["estimate"] == pytest.approx(
            float(rmetrics.aggregate_iqm(np.concatenate(columns(mats[m]))[None, :])), abs=1e-9)
    assert out["ranks"]["friedman"]["pvalue"] == pytest.approx(res.pvalue, abs=1e-9)


def _scores(seed=0, methods=("a", "b", "c"), tasks=5, seeds=4):
    rng = np.random.default_rng(seed)
    return {m: {f"t{t}": rng.normal(0.5 + 0.1 * i, 0.1, seeds) for t in range(tasks)} for i, m in enumerate(methods)}


@pytest.mark.fast
def test_the_bootstrap_seed_controls_every_interval_and_nothing_else_does():
    s = _scores()
    dump = lambda out: json.dumps(out, sort_keys=True)  # noqa: E731
    first = dump(bm.analyze(s, seed=0, n_resamples=300))
    assert dump(bm.analyze(s, seed=0, n_resamples=300)) == first
    np.random.seed(99)  # the global RNG has no say
    assert dump(bm.analyze(s, seed=0, n_resamples=300)) == first
    assert dump(bm.analyze(dict(reversed(list(s.items()))), seed=0, n_resamples=300)) == first  # nor the order
    other = bm.analyze(s, seed=1, n_resamples=300)
    assert dump(other) != first
    assert other["aggregates"]["a"]["mean"]["ci_low"] != json.loads(first)["aggregates"]["a"]["mean"]["ci_low"]
    # one more method leaves the others' intervals as they were (a stream per method)
    more = bm.analyze({**s, "d": _scores(5)["a"]}, seed=0, n_resamples=300)
    assert more["aggregates"]["a"] == json.loads(first)["aggregates"]["a"]


@pytest.mark.fast
def test_split_group_and_score_table_errors_are_one_line():
    runs = [{"group": f"experiment.dataset={t},experiment.model={m}", "seed": s, "status": "ok", "metrics": {"acc": 0.5}}
            for t in ("wine", "digits") for m in ("rf", "lr") for s in range(3)]
    scores, seeds, missing = bm.score_table(runs, "experiment.dataset", "acc")
    assert sorted(scores) == ["experiment.model=lr", "experiment.model=rf"] and missing == []
    with pytest.raises(ConfigError) as err:
        bm.score_table(runs, "dataset", "acc")
    assert "\n" not in str(err.value) and "'dataset'" in str(err.value) and "experiment.dataset" in str(err.value)
    lonely = runs + [{"group": "experiment.dataset=iris,experiment.model=rf", "seed": 0, "status": "ok",
                      "metrics": {"acc": 0.5}}]
    with pytest.raises(ConfigError, match=r"^task experiment.dataset=iris was run with one method only "
                                          r"\(experiment.model=rf\)") as err:
        bm.score_table(lonely, "experiment.dataset", "acc")
    assert "\n" not in str(err.value)
    for bad, text in (({"wine": [0, 1], "iris": [0, 1]}, "names task(s) iris that the benchmark does not have"),
                      ({"wine": [0, 1]}, "has no reference scores for task(s) digits"),
                      ({"wine": [0, 1], "digits": [1, 1]}, "worst and best are equal"),
                      ("zscore", "expected null (raw scores), minmax, or a mapping")):
        with pytest.raises(ConfigError, match=re.escape(text)) as err:
            bm.normalize(scores, bad)
        assert "\n" not in str(err.value)


@pytest.mark.fast
def test_missing_runs_are_named_and_a_task_without_a_method_is_dropped_and_named():
    runs = [{"group": f"d={t},m={m}", "seed": s, "status": "ok", "metrics": {"acc": 0.1 * s}}
            for t in ("t1", "t2", "t3") for m in ("x", "y") for s in range(3)]
    runs[1] = {**runs[1], "status": "failed", "metrics": {}}  # t1, x, seed 1
    for r in runs:
        if r["group"] == "d=t3,m=y":
            r["status"] = "missing"
    scores, seeds, missing = bm.score_table(runs, "d", "acc")
    assert {"method": "m=x", "task": "t1", "seeds": [1], "statuses": ["failed"]} in missing
    out = bm.analyze(scores, seeds=seeds, missing=missing, n_resamples=100)
    assert out["tasks"] == ["t1", "t2"] and out["tasks_dropped"][0]["task"] == "t3"
    assert any("task t3 is left out" in w for w in out["warnings"])


@pytest.mark.fast
def test_normalisation_by_references_and_minmax():
    s = {"a": {"t": np.array([0.2, 0.4])}, "b": {"t": np.array([0.6])}}
    n, refs, _ = bm.normalize(s, {"t": [0.0, 0.8]})
    np.testing.assert_allclose(n["a"]["t"], [0.25, 0.5])
    loss = {"a": {"t": np.array([2.0, 1.0])}, "b": {"t": np.array([0.0])}}
    n, refs, _ = bm.normalize(loss, "minmax", higher_is_better=False)
    assert refs == {"t": (2.0, 0.0)} and n["b"]["t"].tolist() == [1.0] and n["a"]["t"].tolist() == [0.0, 0.5]





@pytest.mark.fast
def test_monte_carlo_coverage_reproduces_the_table_and_the_caveat_fires_at_three_seeds():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "bench_benchmark_coverage.py"
    spec = importlib.util.spec_from_file_location("bench_benchmark_coverage", path)
    mc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mc)
    reps = 300
    cell = mc.coverage_cell(3, 5, "normal", reps=reps, resamples=300, seed=1)
    for k in bm.AGGREGATES:
        table = bm.COVERAGE[k][(3, 5)][0] / 100
        se = math.sqrt(table * (1 - table) / reps)
        assert abs(cell[k] - table) < 4 * se + 0.02, (k, cell[k], table)  # + the noise of 300 vs 1000 resamples
        assert cell[k] < 0.95 - bm.COVERAGE_SLACK  # at 3 seeds the interval is too narrow...
        assert bm.coverage_caveat(k, 3, 5) is not None  # ...and the report says so
    fine = {"mean": {(3, 5): (95.1, 94.0), (10, 5): (95.0, 95.2)}}
    assert bm.coverage_caveat("mean", 12, 6, table=fine) is None
    line = bm.coverage_caveat("mean", 2, 6, table={"mean": {(3, 5): (80.0, 90.0)}})
    assert line.startswith("mean: with 2 seed(s) x 6 task(s)") and "near 3 seeds x 5 tasks" in line and "80%" in line
