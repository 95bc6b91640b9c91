"""seedexp.sequential: the stopping rules of adaptive sweeps (``seed=auto``).

Two designs: the confidence sequence (open-ended sweeps, ``design="confidence_sequence"``)
and the group-sequential design (the default with a ``max_seeds``). The simulations are
vectorised (one array of sweeps x seeds), seeded, and use the same functions :func:`check`
uses (:func:`confidence_sequence`, :func:`seedexp.gsdesign.t_boundaries`,
:func:`fixed_width_halfwidth`); separate tests pin :func:`check` to them. A sweep "looks"
after min_seeds seeds, then after every batch, and at max_seeds.
"""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pytest
from scipy import optimize, stats

import seedexp.sequential as seq
from seedexp.errors import ConfigError, RecordError
from seedexp.sequential import StopRule, check, confidence_sequence, next_batch

pytestmark = pytest.mark.fast

ALPHA = 0.05
MIN_SEEDS = 5
CS = {"design": "confidence_sequence"}


def mc_slack(p: float, sweeps: int) -> float:
    """Three Monte Carlo standard errors of a proportion p estimated from ``sweeps`` sweeps."""
    return 3 * math.sqrt(p * (1 - p) / sweeps)


def look_mask(batches: np.ndarray, max_seeds: int) -> np.ndarray:
    """(sweeps, max_seeds) bool: True at the seed counts where each sweep looks (its own batch size)."""
    n = np.arange(1, max_seeds + 1)
    return (n >= MIN_SEEDS) & (((n - MIN_SEEDS) % batches[:, None] == 0) | (n == max_seeds))


def naive_t(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-n t interval after every prefix: what naive re-testing recomputes."""
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    mean = np.cumsum(x, axis=-1) / n
    var = np.maximum(np.cumsum(x * x, axis=-1) - n * mean * mean, 0) / np.maximum(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(n >= 2, stats.t.ppf(1 - ALPHA / 2, n - 1) * np.sqrt(var / n), np.inf)
    return mean - half, mean + half


def stop_index(hit: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Seed count - 1 at each sweep's first look where ``hit`` holds, else its last look."""
    at = hit & mask
    return np.where(at.any(axis=1), at.argmax(axis=1), mask.shape[1] - 1)


# --------------------------------------------------------------------------- the interval itself

def test_closed_form_inverts_the_bayes_factor():
    # The interval's ends are exactly where the mixture Bayes factor crosses 1/alpha.
    x = np.random.default_rng(3).normal(0.3, 2.0, 20)
    low, high = confidence_sequence(x)
    threshold = math.log(1 / ALPHA)
    crossing = lambda mu0: seq._log_bf_zero(x - mu0)[-1] - threshold  # noqa: E731
    assert optimize.brentq(crossing, x.mean() - 50, x.mean()) == pytest.approx(low[-1], rel=1e-9)
    assert optimize.brentq(crossing, x.mean(), x.mean() + 50) == pytest.approx(high[-1], rel=1e-9)


def test_interval_is_unbounded_below_five_values_then_shrinks_like_one_over_root_n():
    x = np.random.default_rng(4).standard_normal(400)
    low, high = confidence_sequence(x)
    half = (high - low) / 2
    assert np.all(np.isinf(half[:4])) and np.all(np.isfinite(half[4:]))
    t_low, t_high = naive_t(x)
    ratio = half[[9, 49, 199]] / ((t_high - t_low) / 2)[[9, 49, 199]]
    assert np.all((1.4 < ratio) & (ratio < 2.0))  # ~1.7x the fixed-n t interval


def test_interval_is_equivariant_under_shift_and_scale():
    x = np.random.default_rng(5).standard_normal(30)
    low, high = confidence_sequence(x)
    low2, high2 = confidence_sequence(3.0 * x + 100.0)
    np.testing.assert_allclose(low2[4:], 3.0 * low[4:] + 100.0, rtol=1e-10)
    np.testing.assert_allclose(high2[4:], 3.0 * high[4:] + 100.0, rtol=1e-10)


# --------------------------------------------------------------------------- (a) type-I error

def test_type_one_error_holds_under_monitoring_where_naive_retesting_fails():
    sweeps, max_seeds = 4000, 100
    rng = np.random.default_rng(20261123)
    diff = rng.standard_normal((sweeps, max_seeds))  # paired differences, no true difference
    mask = look_mask(rng.integers(2, 6, sweeps), max_seeds)  # each sweep: batches of 2-5 seeds

    low, high = confidence_sequence(diff, confidence=1 - ALPHA)
    anytime = (((low > 0) | (high < 0)) & mask).any(axis=1).mean()
    t_low, t_high = naive_t(diff)
    naive = (((t_low > 0) | (t_high < 0)) & mask).any(axis=1).mean()
    one_look = ((t_low > 0) | (t_high < 0))[:, -1].mean()

    assert anytime <= ALPHA + mc_slack(ALPHA, sweeps), anytime  # measured: 0.02
    assert naive >= 0.15, naive  # measured: 0.27 -- more than five times the level
    assert abs(one_look - ALPHA) <= mc_slack(ALPHA, sweeps)  # the t-test itself is fine at ONE look


def test_check_is_the_vectorised_interval():
    # check() says "decided" exactly where the simulated interval excludes 0, at every look.
    rng = np.random.default_rng(7)
    lr = 0.8 + 0.02 * rng.standard_normal((20, 40))
    rf = lr + 0.004 + 0.02 * rng.standard_normal((20, 40))
    rule = StopRule(decide=True, baseline="lr", max_seeds=40, **CS)
    low, high = confidence_sequence(rf - lr)
    for i in range(20):
        for n in (5, 12, 27, 40):
            c = check(rule, {"lr": lr[i, :n], "rf": rf[i, :n]}).comparisons[0]
            assert (c.low, c.high) == pytest.approx((low[i, n - 1], high[i, n - 1]), rel=1e-12)
            assert (c.state != "undecided") == bool(low[i, n - 1] > 0 or high[i, n - 1] < 0)
            assert (c.p_value <= ALPHA) == (c.state != "undecided")


# --------------------------------------------------------------------------- (b) coverage at the stop

@pytest.mark.parametrize("log_sd", [0.0, 0.5], ids=["normal", "lognormal"])
def test_halfwidth_rule_reports_an_interval_that_covers(log_sd):
    sweeps, max_seeds, halfwidth = 3000, 200, 0.5  # in units of the values' sd
    rng = np.random.default_rng(11)
    if log_sd == 0:
        x, mu = rng.standard_normal((sweeps, max_seeds)), 0.0
    else:  # skewness 1.75: the guarantee is for normal values; this shows the margin it leaves
        x, mu = rng.lognormal(0.0, log_sd, (sweeps, max_seeds)), math.exp(log_sd ** 2 / 2)
        sd = math.sqrt((math.exp(log_sd ** 2) - 1) * math.exp(log_sd ** 2))
        x, mu = x / sd, mu / sd
    mask = look_mask(np.full(sweeps, 4), max_seeds)
    rows = np.arange(sweeps)

    def at_stop(low, high):
        k = stop_index((high - low) / 2 <= halfwidth, mask)
        covered = (low[rows, k] <= mu) & (mu <= high[rows, k])
        return covered.mean(), k + 1

    coverage, n_stop = at_stop(*confidence_sequence(x))
    naive, naive_n = at_stop(*naive_t(x))
    assert coverage >= 0.95 - mc_slack(0.95, sweeps), coverage  # measured: 0.996 normal, 0.974 lognormal
    assert naive < 0.945, naive  # stop on the fixed-n t half-width: 0.93 normal, 0.89 lognormal
    assert np.all(n_stop < max_seeds)  # the target is met, at ~2.5x the seeds of the naive rule
    assert 1.8 < n_stop.mean() / naive_n.mean() < 3.2


def test_check_stops_on_halfwidth_with_the_interval_it_reports():
    rng = np.random.default_rng(12)
    values = {"a": 0.9 + 0.01 * rng.standard_normal(200), "b": 0.7 + 0.02 * rng.standard_normal(200)}
    rule = StopRule(halfwidth=0.01, max_seeds=200, batch=4, **CS)
    done, decision = 0, None
    while (k := next_batch(rule, done, parallelism=2)) > 0:
        done += k
        decision = check(rule, {g: v[:done] for g, v in values.items()})
        if decision.stop:
            break
    assert decision.cause == "halfwidth" and decision.n_seeds == done < 200
    assert all(g.halfwidth <= 0.01 for g in decision.groups)
    assert decision.reason == f"every group's 95% half-width <= 0.01 after {done} seeds"
    previous = check(rule, {g: v[:done - 4] for g, v in values.items()})
    assert not previous.stop and previous.reason.startswith(f"continue after {done - 4} seeds: b's 95% half-width")


# --------------------------------------------------------------------------- (c) power

def test_a_true_difference_is_decided_well_before_max_seeds():
    sweeps, max_seeds = 2000, 200
    rng = np.random.default_rng(13)
    diff = 0.8 + rng.standard_normal((sweeps, max_seeds))  # 0.8 sd of the paired difference
    low, high = confidence_sequence(diff)
    k = stop_index((low > 0) | (high < 0), look_mask(np.full(sweeps, 4), max_seeds))
    right = low[np.arange(sweeps), k] > 0
    assert right.mean() >= 0.99
    assert (k + 1).mean() < 30  # measured: ~21; a fixed-n t-test needs 19 for 90% power at a known effect


def test_check_decides_and_names_the_winner_for_lower_is_better():
    rng = np.random.default_rng(14)
    base = 0.5 + 0.05 * rng.standard_normal(60)
    new = base - 0.05 + 0.02 * rng.standard_normal(60)  # a lower loss
    rule = StopRule(decide=True, baseline="old", higher_is_better=False, max_seeds=200, **CS)
    d = check(rule, {"old": base, "new": new})
    assert d.stop and d.cause == "decided"
    assert d.comparisons[0].state == "better" and d.comparisons[0].high < 0
    assert d.reason == "new vs old decided: new better (anytime-valid p<0.05) after 60 seeds"


def test_familywise_splits_the_level_among_comparisons():
    rng = np.random.default_rng(15)
    series = {name: 0.8 + 0.02 * rng.standard_normal(30) for name in ("lr", "a", "b", "c")}
    shared = dict(decide=True, baseline="lr", max_seeds=200)
    fam = check(StopRule(**shared), series).comparisons
    each = check(StopRule(**shared, familywise=False), series).comparisons
    assert [c.confidence for c in fam] == pytest.approx([1 - ALPHA / 3] * 3)
    assert all(f.low < e.low and e.high < f.high for f, e in zip(fam, each))


# --------------------------------------------------------------------------- (d) equivalence

def test_equivalence_stops_when_no_difference_and_rarely_claims_it_at_the_margin():
    sweeps, max_seeds, margin = 2000, 200, 0.5
    rng = np.random.default_rng(16)
    mask = look_mask(np.full(sweeps, 4), max_seeds)
    rows = np.arange(sweeps)
    for effect, expect in ((0.0, "mostly"), (margin, "rarely")):
        diff = effect + rng.standard_normal((sweeps, max_seeds))
        low, high = confidence_sequence(diff)
        nonzero = (low > 0) | (high < 0)
        inside = (-margin < low) & (high < margin) & ~nonzero
        k = stop_index(nonzero | inside, mask)
        equivalent = inside[rows, k].mean()
        if expect == "mostly":
            assert equivalent >= 0.9 and (k + 1).mean() < 100, equivalent  # measured: 0.98 after ~65 seeds
        else:  # a true difference AT the margin declared "smaller than the margin": an error
            assert equivalent <= ALPHA + mc_slack(ALPHA, sweeps), equivalent  # measured: 0.004


def test_check_reports_equivalence():
    rng = np.random.default_rng(17)
    lr = 0.8 + 0.02 * rng.standard_normal(80)
    rf = lr + 0.001 * rng.standard_normal(80)
    rule = StopRule(decide=True, baseline="lr", equivalence=0.01, max_seeds=200)
    d = check(rule, {"lr": lr, "rf": rf})
    assert d.stop and d.comparisons[0].state == "equivalent"
    assert d.reason == "rf vs lr equivalent (|difference| < 0.01) after 80 seeds"
    assert not check(StopRule(decide=True, baseline="lr", max_seeds=200), {"lr": lr, "rf": rf}).stop


# --------------------------------------------------------------------------- min/max seeds, batches

def test_never_stops_before_min_seeds_and_always_at_max_seeds():
    constant = {"a": [0.5] * 6, "b": [0.7] * 6}
    rule = StopRule(halfwidth=0.01, min_seeds=6, max_seeds=10)
    early = check(rule, {k: v[:5] for k, v in constant.items()})
    assert not early.stop and early.reason == "continue: 5 seeds < stop.min_seeds=6"
    assert check(rule, constant).stop  # zero spread: zero width once the interval is finite
    noisy = {"a": np.random.default_rng(18).standard_normal(10)}
    last = check(rule, noisy)
    assert last.stop and last.cause == "max_seeds"
    assert last.reason.startswith("stop.max_seeds=10 reached before the target: a's 95% half-width ")


def test_failed_runs_are_left_out_but_keep_their_seed():
    rng = np.random.default_rng(19)
    a, b = 0.8 + 0.01 * rng.standard_normal(30), 0.8 + 0.01 * rng.standard_normal(30)
    a_failed = list(a)
    a_failed[3] = None
    a_failed[10] = float("nan")
    rule = StopRule(decide=True, baseline="b", max_seeds=100, **CS)
    d = check(rule, {"a": a_failed, "b": b})
    assert d.n_seeds == 30 and d.groups[0].n == 28 and d.comparisons[0].n == 28
    keep = np.ones(30, bool)
    keep[[3, 10]] = False
    low, high = confidence_sequence((a - b)[keep])
    assert (d.comparisons[0].low, d.comparisons[0].high) == pytest.approx((low[-1], high[-1]))


@pytest.mark.parametrize("done, parallelism, batch, expected", [
    (0, 2, None, 5),     # first batch reaches min_seeds
    (0, 8, None, 8),     # ... or the launcher's parallelism if larger
    (5, 4, None, 4),
    (5, 4, 3, 3),        # stop.batch wins over the parallelism
    (18, 4, None, 2),    # never past max_seeds
    (20, 4, None, 0),
    (25, 4, None, 0),
])
def test_next_batch(done, parallelism, batch, expected):
    rule = StopRule(halfwidth=0.1, max_seeds=20, batch=batch)
    assert next_batch(rule, done, parallelism) == expected


def test_next_batch_rejects_nonsense():
    rule = StopRule(halfwidth=0.1)
    with pytest.raises(ValueError, match=r"^done=-1 is not accepted"):
        next_batch(rule, -1, 2)
    with pytest.raises(ValueError, match=r"^parallelism=0 is not accepted"):
        next_batch(rule, 0, 0)


# --------------------------------------------------------------------------- (e) validation

@pytest.mark.parametrize("config, message", [
    ({"halfwidth": -1}, "stop.halfwidth=-1 is not accepted: a positive number (the half-width you need, "
                        "in the metric's units), or null"),
    ({"halfwidth": float("nan")}, "stop.halfwidth=nan is not accepted: a positive number (the half-width you "
                                  "need, in the metric's units), or null"),
    ({"halfwidth": "0.01"}, "stop.halfwidth='0.01' is not accepted: a positive number (the half-width you need, "
                            "in the metric's units), or null"),
    ({"halfwidth": 0.1, "min_seeds": 1}, "stop.min_seeds=1 is not accepted: an integer >= 2"),
    ({"halfwidth": 0.1, "max_seeds": 3}, "stop.max_seeds=3 is not accepted: an integer >= stop.min_seeds (5), "
                                         "or null for an open-ended sweep"),
    ({"halfwidth": 0.1, "max_seeds": 20.5}, "stop.max_seeds=20.5 is not accepted: an integer >= stop.min_seeds (5), "
                                            "or null for an open-ended sweep"),
    ({"halfwidth": 0.1, "design": "fast"}, "stop.design='fast' is not accepted: one of auto, group_sequential, "
                                           "confidence_sequence"),
    ({"halfwidth": 0.1, "spending": "linear"}, "stop.spending='linear' is not accepted: one of pocock, "
                                               "obrien_fleming"),
    ({"halfwidth": 0.1, "max_seeds": None, "design": "group_sequential"},
     "stop.design=group_sequential needs stop.max_seeds=<N>: the maximum its error rate is spent over (or "
     "stop.design=confidence_sequence for an open-ended sweep)"),
    ({"halfwidth": 0.1, "batch": 0}, "stop.batch=0 is not accepted: an integer >= 1, or null to run as many seeds "
                                     "as the launcher runs at once"),
    ({"halfwidth": 0.1, "decide": "yes"}, "stop.decide='yes' is not accepted: true or false"),
    ({"halfwidth": 0.1, "confidence": 95}, "stop.confidence=95 is not accepted: a number strictly between 0 and 1, "
                                           "e.g. 0.95"),
    ({"decide": True, "baseline": "lr", "equivalence": 0},
     "stop.equivalence=0 is not accepted: a positive number (the difference too small to matter, in the metric's "
     "units), or null"),
    ({"halfwidth": 0.1, "baseline": ""}, "stop.baseline='' is not accepted: a non-empty name, or null"),
    ({}, "seed=auto needs something to stop on: set stop.halfwidth=<half-width you need> or stop.decide=true "
         "with stop.baseline=<group>"),
    ({"decide": True}, "stop.decide=true needs stop.baseline=<group>: the group every other group is compared "
                       "with, named as in the summary"),
    ({"halfwidth": 0.1, "equivalence": 0.01}, "stop.equivalence=0.01 has no effect without stop.decide=true: "
                                              "set stop.decide=true or drop stop.equivalence"),
    ({"halfwidth": 0.1, "max_seed": 50}, "stop.max_seed is not a stop option; accepted: halfwidth, max_seeds, "
                                         "min_seeds, batch, decide, baseline, equivalence, higher_is_better, "
                                         "confidence, familywise, metric, design, spending"),
])
def test_stop_rule_validation(config, message):
    with pytest.raises(ConfigError) as info:
        StopRule.from_config(config)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_from_config_takes_an_omegaconf_block_and_fills_defaults():
    omegaconf = pytest.importorskip("omegaconf")
    block = omegaconf.OmegaConf.create({"halfwidth": 0.01, "max_seeds": 200, "baseline": None})
    rule = StopRule.from_config(block)
    assert rule == StopRule(halfwidth=0.01, max_seeds=200)
    assert rule.to_dict()["min_seeds"] == 5 and set(rule.to_dict()) == set(seq.CONFIG_KEYS)


def test_check_rejects_inconsistent_input():
    rule = StopRule(decide=True, baseline="lr")
    with pytest.raises(ConfigError, match=r"^stop.baseline='lr' is not a group of this sweep; groups: 'a', 'b'$"):
        check(rule, {"a": [1.0] * 5, "b": [2.0] * 5})
    with pytest.raises(ConfigError, match=r"^stop.decide=true needs two or more groups"):
        check(rule, {"lr": [1.0] * 5})
    with pytest.raises(RecordError, match=r"^groups have different numbers of seeds \('a': 5, 'b': 4\)"):
        check(StopRule(halfwidth=0.1), {"a": [1.0] * 5, "b": [2.0] * 4})
    with pytest.raises(RecordError, match=r"^series\['a'\] has a non-numeric value"):
        check(StopRule(halfwidth=0.1), {"a": [1.0, "x"]})
    with pytest.raises(RecordError, match=r"^series=\{\} is not accepted"):
        check(StopRule(halfwidth=0.1), {})


# --------------------------------------------------------------------------- (f) determinism, JSON

def test_check_is_deterministic_and_its_dict_is_json():
    rng = np.random.default_rng(21)
    series = {"lr": list(0.8 + 0.02 * rng.standard_normal(12)), "rf": list(0.82 + 0.02 * rng.standard_normal(12))}
    rule = StopRule(halfwidth=0.005, decide=True, baseline="lr", equivalence=0.05, max_seeds=50, **CS)
    first = check(rule, series)
    assert check(rule, {k: list(v) for k, v in series.items()}) == first
    text = json.dumps(first.to_dict(), allow_nan=False)  # inf/nan would not be JSON
    again = json.loads(text)
    assert again["method"] == seq.METHOD and again["n_seeds"] == 12 and again["rule"]["baseline"] == "lr"
    assert again["comparisons"][0]["state"] in seq.STATES
    early = check(rule, {k: v[:4] for k, v in series.items()}).to_dict()
    assert early["groups"][0]["halfwidth"] is None and early["groups"][0]["low"] is None  # unbounded
    json.dumps(early, allow_nan=False)


def test_docstring_examples_run():
    result = doctest.testmod(seq, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
