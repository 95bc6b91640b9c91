"""The statistics, tested as statistics: coverage and error rates by seeded, vectorised Monte Carlo,
and values against scipy / statsmodels where they compute the same thing."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from seedexp.stats.estimators import (
    headline_interval,
    adjust_pvalues,
    bootstrap_interval,
    difference_interval,
    effect_size_dz,
    mean_interval,
    median_interval,
    paired_pvalue,
    win_rate,
)
from seedexp.stats.summary import summarize
from seedexp.planning import halfwidth_at, seeds_for_difference, seeds_for_halfwidth
from seedexp.record import SCHEMA
from seedexp.sweepdir import write_record
from seedexp.report import _fmt_noisy, figure, to_markdown
from seedexp.summary_files import write_summary
from seedexp.variance import paired_share

pytestmark = pytest.mark.fast

# --------------------------------------------------------------------------- Monte Carlo: the levels hold


@pytest.mark.parametrize("n", [3, 5])
def test_headline_interval_covers_the_true_mean_at_small_n(n):
    rng = np.random.default_rng(20261123)
    x = rng.normal(10.0, 2.0, size=(20_000, n))
    low, high = mean_interval(x, 0.95)
    coverage = np.mean((low <= 10.0) & (10.0 <= high))
    assert coverage >= 0.93, coverage  # 0.95 in theory; a percentile bootstrap gets 0.76 (n=3) / 0.83 (n=5)


def headline_vectorised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """headline_interval over the rows of x: (low, high, lognormal-mean chosen)."""
    n = x.shape[1]
    q = stats.t.ppf(0.975, n - 1)
    positive = (x > 0).all(axis=1)
    y = np.log(np.where(x > 0, x, 1.0))
    better = -0.5 * n * np.log(y.var(axis=1)) - y.sum(axis=1) > -0.5 * n * np.log(x.var(axis=1))
    chosen = positive & (y.std(axis=1, ddof=1) >= 0.25) & better
    m, sd = x.mean(axis=1), x.std(axis=1, ddof=1)
    s2 = y.var(axis=1, ddof=1)
    centre, half = y.mean(axis=1) + s2 / 2, q * np.sqrt(s2 / n + s2 * s2 / (2 * (n - 1)))
    low = np.where(chosen, np.exp(centre - half), m - q * sd / math.sqrt(n))
    high = np.where(chosen, np.exp(centre + half), m + q * sd / math.sqrt(n))
    return low, high, chosen


@pytest.mark.fast
@pytest.mark.parametrize("n", [5, 10])
def test_headline_interval_holds_on_strongly_skewed_metrics(n):
    """lognormal(sigma=1): the t interval of the mean covers 0.82-0.84; the switch to the lognormal mean 0.89-0.92."""
    rng = np.random.default_rng(40 + n)
    x = rng.lognormal(0.0, 1.0, size=(20_000, n))
    truth = math.exp(0.5)
    low, high, chosen = headline_vectorised(x)
    for i in range(100):  # the vectorised form is seedexp's function
        got = headline_interval(x[i])
        assert got[:2] == pytest.approx((low[i], high[i])) and (got[2] == "lognormal-mean") == chosen[i]
    coverage = np.mean((low <= truth) & (truth <= high))
    t_low, t_high = mean_interval(x)
    assert coverage >= 0.88, coverage  # measured 0.891 (n=5), 0.918 (n=10)
    assert np.mean((t_low <= truth) & (truth <= t_high)) < 0.86  # the t interval alone: 0.82, 0.84


@pytest.mark.fast
def test_the_skew_switch_leaves_normal_metrics_alone():
    rng = np.random.default_rng(44)
    x = rng.normal(0.7, 0.05, size=(20_000, 5))
    low, high, chosen = headline_vectorised(x)
    assert not chosen.any() and np.mean((low <= 0.7) & (0.7 <= high)) >= 0.94
    wide = np.abs(rng.normal(1.0, 0.3, size=(20_000, 5)))  # a positive normal metric with a large spread
    low, high, chosen = headline_vectorised(wide)
    truth = 0.3 * math.sqrt(2 / math.pi) * math.exp(-1 / 0.18) + (1 - 2 * stats.norm.cdf(-1 / 0.3))
    assert np.mean((low <= truth) & (truth <= high)) >= 0.94  # switched in 25%, coverage 0.953
    assert headline_interval([-1.0, -0.9, -1.1, -0.95, 9.0])[2] == "t, skewed"  # flagged where the log cannot go


def test_percentile_bootstrap_would_not_have_held_it():
    """The old headline, for contrast: at n=3 it cannot reach past [min, max], so it covers < 75%."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 3))
    idx = rng.integers(0, 3, size=(4000, 500, 3))
    means = np.take_along_axis(x[:, None, :], idx, axis=2).mean(axis=2)
    low, high = np.quantile(means, [0.025, 0.975], axis=1)
    assert np.mean((low <= 0) & (0 <= high)) < 0.8


@pytest.mark.parametrize("test, n", [("t", 5), ("permutation", 5), ("t", 10), ("permutation", 10)])
def test_paired_test_type_one_error(test, n):
    rng = np.random.default_rng(7)
    sweeps = 4000 if test == "t" else 2000
    seed_effect = rng.normal(0.7, 0.05, size=(sweeps, 1))  # shared by both configurations
    a = seed_effect + rng.normal(0, 0.01, size=(sweeps, n))
    b = seed_effect + rng.normal(0, 0.01, size=(sweeps, n))
    p = paired_pvalue(a - b, test=test, n_resamples=2000, seed=3)
    assert np.mean(p < 0.05) <= 0.06


def _null_sweep_pvalues(rng, sweeps=2000, configs=5, seeds=5, metrics=4):
    """p-values of every pair x metric of null sweeps: (sweeps, pairs * metrics)."""
    seed_effect = rng.normal(size=(sweeps, 1, seeds, metrics))
    y = seed_effect + rng.normal(size=(sweeps, configs, seeds, metrics))
    pairs = list(itertools.combinations(range(configs), 2))
    d = np.stack([y[:, i] - y[:, j] for i, j in pairs], axis=1)  # (sweeps, pairs, seeds, metrics)
    return paired_pvalue(np.moveaxis(d, 2, -1), test="t").reshape(sweeps, -1)


def test_holm_keeps_the_family_wise_error_of_a_null_sweep(monkeypatch):
    import gc

    monkeypatch.setattr(gc, "collect", lambda *a: 0)  # statsmodels' Holm collects garbage on every call: 2000 calls
    p = _null_sweep_pvalues(np.random.default_rng(11))  # 5 configs x 4 metrics: 40 tests per sweep
    assert p.shape == (2000, 40)
    uncorrected = np.mean((p < 0.05).any(axis=1))
    holm = np.mean([(adjust_pvalues(row, "holm") < 0.05).any() for row in p])
    bh = np.mean([(adjust_pvalues(row, "bh") < 0.05).any() for row in p])  # all nulls true: FDR = FWER
    assert uncorrected > 0.5  # the problem is real...
    assert holm <= 0.06 and bh <= 0.06  # ...and corrected


def test_difference_and_effect_size_intervals_cover():
    rng = np.random.default_rng(5)
    hits_t = hits_dz = 0
    runs = 300
    for _ in range(runs):
        d = rng.normal(0.3, 1.0, size=8)
        low, high = difference_interval(d)
        hits_t += low <= 0.3 <= high
        _, dz_low, dz_high = effect_size_dz(d)
        hits_dz += dz_low <= 0.3 <= dz_high
    assert hits_t / runs >= 0.92 and hits_dz / runs >= 0.92


@pytest.mark.fast
@pytest.mark.parametrize("interaction", [0.0, 0.5])
def test_variance_share_interval_holds_when_sources_interact(interaction):
    """metric = s + o + interaction * s * o: s the studied source, o the others. N = 30 pairs."""
    rng = np.random.default_rng(9)
    runs, n = 2000, 30
    truth = (1 + interaction ** 2) / (2 + interaction ** 2)  # E[Var(metric | o)] / Var(metric)
    hits = 0
    for _ in range(runs):
        s, s_new, o = rng.standard_normal((3, n))
        total, varied = s + o + interaction * s * o, s_new + o + interaction * s_new * o
        r = paired_share(total, varied)
        hits += r["share_ci_low"] <= truth <= r["share_ci_high"]
    assert hits / runs >= 0.93, hits / runs  # measured 0.94


@pytest.mark.fast
def test_the_earlier_design_with_an_f_interval_fails_under_interaction():
    """5 base seeds x 6 values, the pooled within-base variance and an F interval: what seedexp variance did before."""
    rng = np.random.default_rng(10)
    runs, k, m, g = 2000, 5, 6, 0.5
    o = rng.standard_normal((runs, k, 1))
    s = rng.standard_normal((runs, k, m))
    within = (s + o + g * s * o).var(axis=2, ddof=1).mean(axis=1)
    so, oo = rng.standard_normal((2, runs, k * m))
    share = within / (so + oo + g * so * oo).var(axis=1, ddof=1)
    f = stats.f.ppf([0.975, 0.025], k * (m - 1), k * m - 1)
    truth = (1 + g * g) / (2 + g * g)
    assert np.mean((share / f[0] <= truth) & (truth <= share / f[1])) < 0.85  # measured 0.78


# --------------------------------------------------------------------------- values: the same as scipy / statsmodels


X = np.array([0.71, 0.64, 0.69, 0.75, 0.70, 0.66, 0.73, 0.68])
Y = np.array([0.69, 0.65, 0.66, 0.72, 0.70, 0.62, 0.70, 0.69])


def test_values_match_scipy():
    assert mean_interval(X) == pytest.approx(stats.t.interval(0.95, 7, loc=X.mean(), scale=stats.sem(X)))
    assert paired_pvalue(X - Y) == pytest.approx(stats.ttest_rel(X, Y).pvalue)
    assert difference_interval(X - Y) == pytest.approx(tuple(stats.ttest_rel(X, Y).confidence_interval(0.95)))
    perm = stats.permutation_test((X - Y,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                  vectorized=True, n_resamples=2000)  # 2^8 <= 2000: exact, no randomness
    assert paired_pvalue(X - Y, test="permutation") == pytest.approx(perm.pvalue)
    w = win_rate(X, Y)
    ci = stats.binomtest(w["wins"], 7).proportion_ci(0.95, method="exact")  # the tie is out of the count
    assert (w["wins"], w["losses"], w["ties"]) == (5, 2, 1) and w["win_rate"] == 5 / 7
    assert (w["win_rate_ci_low"], w["win_rate_ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    x6 = np.arange(6.0)
    ci = stats.quantile_test(x6, q=2.5, p=0.5).confidence_interval(0.95)
    assert median_interval(x6) == (ci.low, ci.high) and median_interval(x6[:5]) == (None, None)
    low, high, mc_se = bootstrap_interval(X * 1.0, np.random.default_rng(4))
    ref = stats.bootstrap((X,), np.mean, method="BCa", batch=200, rng=np.random.default_rng(4))
    assert (low, high) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert 0 < mc_se < 0.01


def test_effect_size_interval_inverts_the_noncentral_t():
    d = X - Y
    dz, low, high = effect_size_dz(d)
    assert dz == pytest.approx(d.mean() / d.std(ddof=1))
    t_obs = dz * math.sqrt(8)
    assert stats.nct.cdf(t_obs, 7, low * math.sqrt(8)) == pytest.approx(0.975)
    assert stats.nct.cdf(t_obs, 7, high * math.sqrt(8)) == pytest.approx(0.025)


def test_permutation_interval_is_the_set_the_test_does_not_reject():
    d = np.random.default_rng(2).normal(0.5, 1.0, 9)
    low, high = difference_interval(d, test="permutation")
    eps = 1e-4 * (d.max() - d.min())
    assert paired_pvalue(d - (low + eps), test="permutation") > 0.05
    assert paired_pvalue(d - (low - eps), test="permutation") <= 0.05
    assert paired_pvalue(d - (high - eps), test="permutation") > 0.05
    assert difference_interval(d[:5], test="permutation") == (None, None)  # 2/2^5 > 0.05: it cannot reject


@pytest.mark.parametrize("method, name", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjustment_matches_statsmodels(method, name):
    p = np.random.default_rng(0).uniform(0, 0.1, 12)
    assert adjust_pvalues(p, method) == pytest.approx(multipletests(p, method=name)[1])


def test_planning_matches_its_definitions_and_statsmodels():
    n = seeds_for_halfwidth(0.03, 0.01)
    assert halfwidth_at(0.03, n) <= 0.01 < halfwidth_at(0.03, n - 1)
    n = seeds_for_difference(0.02, 0.01, power=0.8, alpha=0.05)
    power = lambda k: TTestPower().power(effect_size=0.5, nobs=k, alpha=0.05)  # noqa: E731
    assert power(n) >= 0.8 > power(n - 1)


def test_variance_share_is_the_paired_estimate_with_a_jackknife_interval():
    rng = np.random.default_rng(3)
    total, varied = rng.normal(0, 1, 25), rng.normal(0, 1, 25)
    r = paired_share(total, varied)
    d2 = (total - varied) ** 2 / 2
    assert r["var"] == pytest.approx(d2.mean()) and r["share"] == pytest.approx(d2.mean() / total.var(ddof=1))
    loo = [np.log(np.delete(d2, i).mean() / np.delete(total, i).var(ddof=1)) for i in range(25)]  # by hand
    se = math.sqrt(24 / 25 * np.sum((np.array(loo) - np.mean(loo)) ** 2))
    q = stats.t.ppf(0.975, 24)
    assert (r["share_ci_low"], r["share_ci_high"]) == pytest.approx((r["share"] * math.exp(-q * se),
                                                                     r["share"] * math.exp(q * se)))
    assert r["kurtosis_pvalue"] == pytest.approx(stats.kurtosistest(total - varied, alternative="greater").pvalue)
    nan = paired_share([*total, 1.0], [*varied, float("nan")])  # a failed run drops its pair
    assert nan["n"] == 25 and nan["share"] == pytest.approx(r["share"])


def test_summary_adjusts_across_all_pairs_and_metrics():
    rng = np.random.default_rng(8)
    recs = [{"group": f"m={g}", "seed": s, "status": "ok", "metrics": {"acc": float(rng.normal()), "f1": float(rng.normal())}}
            for g in "abcd" for s in range(6)]
    comps = summarize(recs)["comparisons"]
    assert len(comps) == 12 and {c["family_size"] for c in comps} == {12}
    assert [c["p_adjusted"] for c in comps] == pytest.approx(multipletests([c["pvalue"] for c in comps], method="holm")[1])


# --------------------------------------------------------------------------- what the reader sees


def _write(tmp_path, n_by_group):
    rng = np.random.default_rng(0)
    for g, n in n_by_group.items():
        for s in range(n):
            write_record(tmp_path / g / str(s), {"schema": SCHEMA, "status": "ok", "seed": s, "group": f"m={g}",
                                                 "overrides": [f"m={g}", f"seed={s}"],
                                                 "metrics": {"acc": float(rng.normal(0.7, 0.02))}})
    return tmp_path


def test_summary_md_png_and_json_name_the_method_level_and_n(tmp_path):
    from PIL import Image

    summary = write_summary(_write(tmp_path, {"a": 6, "b": 6}))
    md = (tmp_path / "summary.md").read_text()
    assert "95% Student t interval" in md and "| group | n | mean | 95% CI (t) |" in md
    assert "| m=a | 6 |" in md and "paired t-test" in md and "Holm" in md
    text = Image.open(tmp_path / "summary.png").text["Description"]
    assert "95% Student t CI" in text and "n = 6" in text
    fig = figure(summary)
    assert "n = 6" in fig._suptitle.get_text() and "n=6" in fig.axes[0].get_xticklabels()[0].get_text()
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["methods"]["interval"].startswith("Student t interval of the mean, 95%")
    assert saved["groups"][0]["metrics"]["acc"]["n"] == 6 and saved["options"]["confidence"] == 0.95
    assert {"numpy", "scipy", "statsmodels"} <= set(saved["versions"])
    assert saved["sweep_dir"] == str(tmp_path.absolute())


def test_small_n_is_warned_about_and_n1_has_no_interval(tmp_path):
    summary = write_summary(_write(tmp_path, {"a": 3, "b": 1}), png=False)
    md = to_markdown(summary)
    assert "n=3 < 5" in md and "| m=a | 3 ⚠ |" in md
    assert "n=1: no interval" in md
    b = summary["groups"][1]["metrics"]["acc"]
    assert b["ci_low"] is None and b["ci_high"] is None


def test_bootstrap_column_only_from_min_n_and_digits_follow_the_noise(tmp_path):
    md = to_markdown(write_summary(_write(tmp_path, {"a": 25}), png=False))
    assert "95% CI (BCa bootstrap, n ≥ 20)" in md
    assert _fmt_noisy(0.712345, 0.0004) == "0.712" and _fmt_noisy(0.712345, None) == "0.7123"


@pytest.mark.parametrize("name", ["seedexp.stats.estimators", "seedexp.stats.options", "seedexp.stats.summary",
                                  "seedexp.sweepdir", "seedexp.planning", "seedexp.variance"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_every_output_says_which_interval_a_skewed_metric_got(tmp_path):
    loss = [0.2, 0.5, 0.3, 2.9, 0.8, 0.4]
    for s, v in enumerate(loss):
        write_record(tmp_path / str(s), {"schema": SCHEMA, "status": "ok", "seed": s, "group": "m=a",
                                         "overrides": ["m=a", f"seed={s}"], "metrics": {"loss": v, "acc": 0.7 + 0.01 * s}})
    summary = write_summary(tmp_path, png=False)
    st = summary["groups"][0]["metrics"]
    assert st["loss"]["ci_method"] == "lognormal-mean" and st["acc"]["ci_method"] == "t"
    low, high, _ = headline_interval(loss)
    assert (st["loss"]["ci_low"], st["loss"]["ci_high"]) == pytest.approx((low, high))
    md = (tmp_path / "summary.md").read_text()
    assert "(lognormal mean)" in md and "modified-Cox interval of a lognormal mean" in md
    assert "95% CI of the mean" in md and "| 95% CI (t) |" in md  # loss's table says it; acc's keeps t
    header, row = (tmp_path / "summary.csv").read_text().splitlines()[:2]
    assert header.endswith(",ci_method") and row.endswith(",t")  # acc first, alphabetically
    assert "lognormal-mean" in (tmp_path / "summary.csv").read_text()
    assert "lognormal mean" in json.loads((tmp_path / "summary.json").read_text())["methods"]["interval"]
