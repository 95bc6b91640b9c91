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
from seedexp.report import _fmt_noisy, figure, to_markdown, write_summary
from seedexp.variance import source_share

pytestmark = pytest.mark.fast

# --------------------------------------------------------------------------- Monte Carlo: the levels hold


@pytest.mark.parametrize("n", [3, 5])
def test_headline_interval_covers_the_true_mean_at_small_n(n):
    rng = np.random.default_rng(20261123)
    x = rng.normal(10.0, 2.0, size=(20_000, n))
    low, high = mean_interval(x, 0.95)
    coverage = np.mean((low <= 10.0) & (10.0 <= high))
    assert coverage >= 0.93, coverage  # 0.95 in theory; a percentile bootstrap gets 0.76 (n=3) / 0.83 (n=5)


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


def test_variance_share_interval_covers():
    rng = np.random.default_rng(9)
    sigma_source, sigma_all = 0.6, 1.0  # true share 36%
    hits = 0
    runs = 800
    for _ in range(runs):
        by_base = rng.normal(rng.normal(size=(5, 1)), sigma_source, size=(5, 6))
        total = rng.normal(0, sigma_all, size=30)
        r = source_share(by_base, total)
        hits += r["share_ci_low"] <= 0.36 <= r["share_ci_high"]
    assert hits / runs >= 0.93


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
    ci = stats.binomtest(w["wins"], 8).proportion_ci(0.95, method="exact")
    assert (w["wins"], w["losses"], w["ties"]) == (5, 2, 1)
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


def test_variance_share_is_the_anova_residual_mean_square():
    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    rng = np.random.default_rng(3)
    by_base = rng.normal(rng.normal(size=(4, 1)), 0.5, size=(4, 5))
    total = rng.normal(0, 1, 20)
    frame = pd.DataFrame({"y": by_base.ravel(), "base": np.repeat(range(4), 5)})
    table = anova_lm(smf.ols("y ~ C(base)", frame).fit())
    r = source_share(by_base, total)
    assert r["var"] == pytest.approx(table.loc["Residual", "mean_sq"]) and r["df"] == 16
    share = r["var"] / total.var(ddof=1)
    assert r["share"] == pytest.approx(share)
    assert r["share_ci_low"] == pytest.approx(share / stats.f.ppf(0.975, 16, 19))
    assert r["share_ci_high"] == pytest.approx(share / stats.f.ppf(0.025, 16, 19))


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
