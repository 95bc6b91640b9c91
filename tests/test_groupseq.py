"""The group-sequential design of ``seed=auto`` (seedexp.gsdesign, and check() under it).

Boundaries against published constants and against scipy's multivariate normal;
error rates, coverage and seeds used by seeded, vectorised Monte Carlo that uses
the functions check() uses, with the naive alternatives falling below level where
that is the point. In process, a few seconds in all.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestPower

import seedexp.gsdesign as gs
from seedexp.planning import seeds_for_halfwidth
from seedexp.sequential import StopRule, check, confidence_sequence, fixed_width_halfwidth

pytestmark = pytest.mark.fast

ALPHA = 0.05
K5 = [0.2, 0.4, 0.6, 0.8, 1.0]


def mc_slack(p: float, sweeps: int) -> float:
    """Three Monte Carlo standard errors of a proportion p estimated from ``sweeps`` sweeps."""
    return 3 * math.sqrt(p * (1 - p) / sweeps)


def prefix_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sd and t statistic after every prefix of the last axis (n = 1, 2, ...)."""
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    mean = np.cumsum(x, axis=-1) / n
    var = np.maximum(np.cumsum(x * x, axis=-1) - n * mean * mean, 0) / np.maximum(n - 1, 1)
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
    return mean, sd, t


def looks(max_seeds: int, batch: int, first: int = 5) -> np.ndarray:
    return np.array(sorted(set(range(first, max_seeds + 1, batch)) | {max_seeds}))


def first_look(hit: np.ndarray) -> np.ndarray:
    """Index of each row's first True, else its last column."""
    return np.where(hit.any(axis=1), hit.argmax(axis=1), hit.shape[1] - 1)


# --------------------------------------------------------------------------- boundaries: published and scipy


def test_spending_functions_are_the_lan_demets_forms():
    t = np.array([0.1, 0.3, 0.5, 0.9, 1.0])
    per_side = 2 * stats.norm.sf(stats.norm.isf(ALPHA / 4) / np.sqrt(t))  # one-sided OBF at alpha/2
    np.testing.assert_allclose(gs.spent(t, ALPHA, gs.OBRIEN_FLEMING), 2 * per_side, rtol=1e-12)
    np.testing.assert_allclose(gs.spent(t, ALPHA, gs.POCOCK), ALPHA * np.log(1 + (math.e - 1) * t), rtol=1e-12)
    assert float(gs.spent(1.0, ALPHA, gs.POCOCK)) == pytest.approx(ALPHA)


@pytest.mark.parametrize("spending, published", [
    # Lan-DeMets boundaries, 5 equally spaced looks, two-sided 0.05 (ldbounds / gsDesign / rpact)
    (gs.OBRIEN_FLEMING, [4.877, 3.357, 2.680, 2.290, 2.031]),
    (gs.POCOCK, [2.438, 2.427, 2.410, 2.397, 2.386]),
])
def test_lan_demets_boundaries_match_published_values(spending, published):
    assert gs.boundaries(K5, ALPHA, spending) == pytest.approx(published, abs=6e-4)


@pytest.mark.parametrize("k, pocock, obf", [(2, 2.178, 1.977), (3, 2.289, 2.004), (5, 2.413, 2.040)])
def test_classic_constants_match_jennison_and_turnbull(k, pocock, obf):
    # Jennison & Turnbull (2000), tables 2.1 and 2.3: C_P(K, 0.05) and C_B(K, 0.05)
    times = [i / k for i in range(1, k + 1)]
    assert gs.boundary_constant(times, ALPHA, gs.POCOCK) == pytest.approx(pocock, abs=6e-4)
    assert gs.boundary_constant(times, ALPHA, gs.OBRIEN_FLEMING) == pytest.approx(obf, abs=6e-4)


def test_crossing_probabilities_match_scipys_multivariate_normal():
    times = np.array([0.15, 0.4, 0.55, 1.0])  # unequal spacing, as batches and failures make it
    c = gs.boundaries(times, ALPHA, gs.POCOCK)
    cov = np.sqrt(np.minimum.outer(times, times) / np.maximum.outer(times, times))
    mvn = stats.multivariate_normal(np.zeros(4), cov, seed=1)
    inside = mvn.cdf(c, lower_limit=-c)
    assert float(gs.crossing_probabilities(times, c).sum()) == pytest.approx(1 - inside, abs=2e-4)
    assert float(gs.crossing_probabilities(times, c).sum()) == pytest.approx(ALPHA, abs=1e-9)
    # spent look by look, as the spending function says
    np.testing.assert_allclose(np.cumsum(gs.crossing_probabilities(times, c)),
                               gs.spent(times, ALPHA, gs.POCOCK), atol=1e-9)
    drift = 2.5  # and the power under a drift, against the same box probability
    shifted = stats.multivariate_normal(drift * np.sqrt(times), cov, seed=1)
    power = 1 - shifted.cdf(c, lower_limit=-c)
    assert float(gs.crossing_probabilities(times, c, drift).sum()) == pytest.approx(power, abs=2e-4)


def test_one_look_is_the_fixed_n_test_statsmodels_computes():
    (c,) = gs.boundaries([1.0], ALPHA)
    assert c == pytest.approx(stats.norm.isf(ALPHA / 2))
    n, effect = 30, 0.4
    power = gs.crossing_probabilities([1.0], [c], drift=effect * math.sqrt(n)).sum()
    assert power == pytest.approx(NormalIndPower().power(effect, nobs1=n, alpha=ALPHA, ratio=0), rel=1e-9)
    # on the t scale: the tail of t with n - 2 df (see to_t)
    assert float(gs.to_t(c, n)) == pytest.approx(stats.t.ppf(1 - ALPHA / 2, n - 2))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^times=\[0.5, 0.4\] is not accepted"):
        gs.boundaries([0.5, 0.4])
    with pytest.raises(ValueError, match=r"^alpha=1.5 is not accepted"):
        gs.boundaries([1.0], 1.5)
    with pytest.raises(ValueError, match=r"^spending='linear' is not accepted"):
        gs.spent(0.5, ALPHA, "linear")


# --------------------------------------------------------------------------- (1) error rate of decisions


@pytest.mark.parametrize("spending, max_seeds, batch", [
    (gs.POCOCK, 20, 1), (gs.POCOCK, 60, 3), (gs.OBRIEN_FLEMING, 20, 1), (gs.OBRIEN_FLEMING, 60, 3)])
def test_group_sequential_t_test_holds_its_level_at_small_n(spending, max_seeds, batch):
    sweeps = 6000
    rng = np.random.default_rng(300 + max_seeds + batch)
    ns = looks(max_seeds, batch)
    _, _, t = prefix_stats(rng.standard_normal((sweeps, max_seeds)))
    rejected = (np.abs(t[:, ns - 1]) >= gs.t_boundaries(ns, max_seeds, ALPHA, spending)).any(axis=1).mean()
    assert rejected <= ALPHA + mc_slack(ALPHA, sweeps), rejected  # measured 0.045-0.051
    # the same boundaries matched with the t statistic's own n - 1 df: the overshoot to_t removes
    z = gs.boundaries(ns / max_seeds, ALPHA, spending)
    plain = stats.t.isf(stats.norm.sf(z), ns - 1)
    assert (np.abs(t[:, ns - 1]) >= plain).any(axis=1).mean() > rejected


def test_check_decides_exactly_where_the_boundary_is_reached():
    rng = np.random.default_rng(8)
    base = 0.8 + 0.02 * rng.standard_normal((6, 40))
    new = base + 0.01 + 0.02 * rng.standard_normal((6, 40))
    rule = StopRule(decide=True, baseline="base", max_seeds=40)
    seen = list(range(5, 41, 5))
    for i in range(6):
        for k, n in enumerate(seen):
            c = check(rule, {"base": base[i, :n], "new": new[i, :n]}, looks=seen[:k + 1]).comparisons[0]
            d = new[i, :n] - base[i, :n]
            t = d.mean() / (d.std(ddof=1) / math.sqrt(n))
            b = float(gs.t_boundaries(seen[:k + 1], 40, ALPHA, gs.POCOCK)[-1])
            assert (c.state != "undecided") == (abs(t) >= b)
            assert (c.low, c.high) == pytest.approx((d.mean() - b * d.std(ddof=1) / math.sqrt(n),
                                                     d.mean() + b * d.std(ddof=1) / math.sqrt(n)), rel=1e-9)
            assert (c.p_value <= ALPHA) == (c.state != "undecided") and c.method == "repeated"


def test_a_verdict_from_the_design_that_was_run_holds_where_the_fixed_n_verdict_does_not():
    """Part 2: after a data-dependent stop, the fixed-n paired t-test's verdict is wrong too often."""
    sweeps, max_seeds = 6000, 100
    rng = np.random.default_rng(21)
    ns = looks(max_seeds, 1)
    mean, sd, t = prefix_stats(rng.standard_normal((sweeps, max_seeds)))  # no true difference
    b = gs.t_boundaries(ns, max_seeds, ALPHA, gs.POCOCK)
    hit = np.abs(t[:, ns - 1]) >= b
    k = first_look(hit)
    n = ns[k]
    rows = np.arange(sweeps)
    sequential = hit.any(axis=1).mean()
    fixed_p = 2 * stats.t.sf(np.abs(t[rows, n - 1]), n - 1)  # what the fixed-n table says at that stop
    naive = (fixed_p < ALPHA).mean()
    assert sequential <= ALPHA + mc_slack(ALPHA, sweeps), sequential  # measured 0.047
    assert naive > ALPHA + mc_slack(ALPHA, sweeps), naive  # measured 0.08: "better" where nothing differs


def test_repeated_interval_covers_at_every_look_and_equivalence_errs_rarely_at_the_margin():
    sweeps, max_seeds, margin = 4000, 80, 0.5
    rng = np.random.default_rng(22)
    ns = looks(max_seeds, 4)
    x = margin + rng.standard_normal((sweeps, max_seeds))
    mean, sd, _ = prefix_stats(x)
    half = gs.t_boundaries(ns, max_seeds, ALPHA, gs.POCOCK) * sd[:, ns - 1] / np.sqrt(ns)
    low, high = mean[:, ns - 1] - half, mean[:, ns - 1] + half
    ever_missed = ((low > margin) | (high < margin)).any(axis=1).mean()
    assert ever_missed <= ALPHA + mc_slack(ALPHA, sweeps), ever_missed
    equivalent = ((low > -margin) & (high < margin)).any(axis=1).mean()  # a true difference AT the margin
    assert equivalent <= ALPHA / 2 + mc_slack(ALPHA / 2, sweeps), equivalent


def test_deciding_costs_no_more_than_the_oracle_fixed_n_test():
    """Expected seeds to decide <= 1.3x the fixed-n paired t-test with the same power, effect known in advance."""
    sweeps, max_seeds = 3000, 100
    rng = np.random.default_rng(23)
    ns = looks(max_seeds, 4)
    b = gs.t_boundaries(ns, max_seeds, ALPHA, gs.POCOCK)
    for effect in (0.5, 0.8):
        _, _, t = prefix_stats(effect + rng.standard_normal((sweeps, max_seeds)))
        hit = t[:, ns - 1] >= b  # decided, right sign
        power = hit.any(axis=1).mean()
        n_stop = ns[first_look(np.abs(t[:, ns - 1]) >= b)]
        oracle = TTestPower().solve_power(effect_size=effect, power=min(power, 0.9), alpha=ALPHA)
        assert power >= 0.9 and n_stop.mean() <= 1.3 * oracle, (effect, power, n_stop.mean(), oracle)


# --------------------------------------------------------------------------- (2) the half-width target


def fixed_width_stop(x: np.ndarray, halfwidth: float, ns: np.ndarray, q_factor: bool = True):
    """Seed count at the stop and the half-width of the rule, vectorised as check() computes it."""
    mean, sd, _ = prefix_stats(x)
    n = ns.astype(float)
    q = stats.t.ppf(1 - ALPHA / 2, n - 1) * (np.sqrt(1 + 4 / (n - 1)) if q_factor else 1.0)
    rule = q * sd[:, ns - 1] / np.sqrt(n)
    k = first_look(rule <= halfwidth)
    return ns[k], mean, sd


@pytest.mark.parametrize("sd_over_h", [1.5, 2.0, 2.5, 3.5])
def test_fixed_width_interval_covers_at_the_stop_for_about_the_oracle_fixed_n(sd_over_h):
    sweeps, max_seeds = 5000, 150
    rng = np.random.default_rng(int(40 * sd_over_h))
    x = sd_over_h * rng.standard_normal((sweeps, max_seeds))  # halfwidth 1, true mean 0
    ns = looks(max_seeds, 1)
    n, mean, sd = fixed_width_stop(x, 1.0, ns)
    rows = np.arange(sweeps)
    assert np.all(n < max_seeds)
    coverage = (np.abs(mean[rows, n - 1]) <= 1.0).mean()
    assert coverage >= 0.95 - mc_slack(0.95, sweeps), coverage  # measured 0.95-0.96
    oracle = seeds_for_halfwidth(sd_over_h, 1.0)  # the fixed-n design that knew the sd
    assert n.mean() <= 1.3 * oracle, (n.mean(), oracle)  # measured 1.0-1.1x
    # the naive rule: stop when the t interval is narrow enough, report it
    n0, _, _ = fixed_width_stop(x, 1.0, ns, q_factor=False)
    t_half = stats.t.ppf(1 - ALPHA / 2, n0 - 1) * sd[rows, n0 - 1] / np.sqrt(n0)
    naive = (np.abs(mean[rows, n0 - 1]) <= t_half).mean()
    if sd_over_h >= 2:
        assert naive < 0.95 - mc_slack(0.95, sweeps), naive  # measured 0.92-0.93
    # the confidence sequence: valid too, at 2.4-2.8x the seeds
    low, high = confidence_sequence(x[:2000])
    k = first_look(((high - low) / 2 <= 1.0)[:, ns - 1])
    assert ns[k].mean() > 2 * oracle


def test_check_reports_the_fixed_width_interval_and_the_rule_it_used():
    rng = np.random.default_rng(24)
    values = {"a": 0.9 + 0.01 * rng.standard_normal(200), "b": 0.7 + 0.02 * rng.standard_normal(200)}
    rule = StopRule(halfwidth=0.01, max_seeds=200, batch=4)
    done, seen, decision = 0, [], None
    while True:
        done += 5 if done == 0 else 4
        seen.append(done)
        decision = check(rule, {g: v[:done] for g, v in values.items()}, looks=seen)
        if decision.stop:
            break
    assert decision.cause == "halfwidth" and decision.looks == tuple(seen)
    for g in decision.groups:
        x = values[g.group][:done]
        assert g.method == "fixed-width" and g.halfwidth == pytest.approx(0.01)
        assert (g.low, g.high) == pytest.approx((x.mean() - 0.01, x.mean() + 0.01))
        assert g.rule_halfwidth == pytest.approx(fixed_width_halfwidth(x.std(ddof=1), done)) and g.rule_halfwidth <= 0.01
    before = check(rule, {g: v[:done - 4] for g, v in values.items()}, looks=seen[:-1])
    (b,) = [g for g in before.groups if g.rule_halfwidth > 0.01]
    assert b.group == "b" and b.method == "repeated" and b.halfwidth > b.rule_halfwidth  # the repeated CI: wider
    assert decision.to_dict()["design"] == "group_sequential" and decision.to_dict()["looks"] == seen


def test_open_ended_sweeps_keep_the_confidence_sequence():
    rule = StopRule(halfwidth=0.5, max_seeds=None)
    assert rule.resolved_design == "confidence_sequence"
    x = np.random.default_rng(25).standard_normal(60)
    g = check(rule, {"a": x}).groups[0]
    low, high = confidence_sequence(x)
    assert (g.low, g.high) == pytest.approx((low[-1], high[-1])) and g.method == "anytime-valid"
    from seedexp.sequential import next_batch

    assert next_batch(rule, 1000, 4) == 4  # no maximum


def test_docstring_examples_run():
    result = doctest.testmod(gs, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
