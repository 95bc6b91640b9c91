"""random_state injection: every estimator, nested objects, splitters, policy, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, LeaveOneOut, StratifiedKFold

from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from seedexp import InjectionError, SeedError, SeedexpWarning, SeedPlan
from seedexp.sklearn import SeededCV, inject_random_state, kfold, resampler, train_test_split

from conftest import ROOT, TEST_CONF, TESTS, read_json, run_seedexp


def probe(master, hash_seed, *extra):
    """Start the probe in a fresh process; ``.result()`` waits and returns its JSON."""
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    proc = subprocess.Popen([sys.executable, str(TESTS / "sklearn_probe.py"), str(master), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    class Pending:
        def result(self):
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-2000:]
            return json.loads(out)

    return Pending()


@pytest.fixture(scope="module")
def probes():
    # --advance: each process puts the global RNGs elsewhere before every fit; the probes run side by side
    pending = {
        "a": probe(0, "1", "--advance", "1"), "a_again": probe(0, "2", "--advance", "2"),
        "b": probe(1, "3", "--advance", "3"),
        "fixed1": probe(0, "4", "--fixed-state", "1", "--no-search", "--fit-only"),
        "fixed2": probe(0, "5", "--fixed-state", "2", "--no-search", "--fit-only"),
    }
    return {name: p.result() for name, p in pending.items()}


# Left out of the sweep because they cannot be built with defaults (a required
# argument) or do not take a feature matrix; each is covered by a nested test or
# has no randomness of its own beyond what it wraps.
EXPECTED_LEFT_OUT = {
    "ClassifierChain", "OutputCodeClassifier", "RandomizedSearchCV", "RegressorChain",
    "TunedThresholdClassifierCV", "imblearn.SMOTENC", "PatchExtractor",
}


def test_every_estimator_with_random_state_is_covered(probes):
    a = probes["a"]
    left_out = {k for k, v in a.items() if "hash" not in v}
    assert left_out == EXPECTED_LEFT_OUT, {k: a[k] for k in left_out ^ EXPECTED_LEFT_OUT if k in a}
    fitted = [k for k, v in a.items() if "hash" in v and not k.startswith("search.")]
    assert len(fitted) >= 90 and any(k.startswith("imblearn.") for k in fitted)
    for name in fitted:
        assert a[name]["none_left"] == [], f"{name}: random_state left None at {a[name]['none_left']}"
        assert a[name]["path_errors"] == {}, f"{name}: {a[name]['path_errors']}"
    # every way of fitting is exercised, not only fit().transform()
    paths = {p for name in fitted for p in a[name]["paths"]}
    assert paths == {"fit", "fit_transform", "fit_predict", "fit_resample"}
    assert "fit_transform" in a["TargetEncoder"]["paths"] and "fit_predict" in a["KMeans"]["paths"]


def test_searches_listing_estimators_are_reproducible_with_joblib_workers(probes):
    a, again, b = probes["a"], probes["a_again"], probes["b"]
    for kind in ("grid", "randomized"):
        two, one = f"search.{kind}.n_jobs=2", f"search.{kind}.n_jobs=1"
        assert a[two]["hash"] == again[two]["hash"]  # other process, other global RNG states, same scores
        assert a[two]["hash"] == a[one]["hash"]  # joblib workers change nothing
        assert a[two]["hash"] != b[two]["hash"]  # the master seed controls them


def test_two_processes_give_identical_outputs(probes):
    a, again = probes["a"], probes["a_again"]
    diff = [k for k in a if a[k].get("hash") != again[k].get("hash")]
    assert diff == []


def test_another_master_seed_changes_every_stochastic_estimator(probes):
    f1, f2, a, b = probes["fixed1"], probes["fixed2"], probes["a"], probes["b"]
    stochastic = [k for k in f1 if "hash" in f1[k] and f1[k]["hash"] != f2[k]["hash"]]
    assert len(stochastic) >= 40  # forests, boosting, SGD, KMeans, samplers, projections...
    unchanged = [k for k in stochastic if a[k]["hash"] == b[k]["hash"]]
    assert unchanged == [], f"the master seed does not control: {unchanged}"


def _states(obj):
    return {k: v for k, v in obj.get_params(deep=True).items() if k.endswith("random_state")}


@pytest.mark.fast
def test_pipeline_with_sampler_gets_distinct_stable_seeds():
    pipe = Pipeline([("smote", SMOTE()), ("under", RandomUnderSampler()), ("rf", RandomForestClassifier())])
    states = _states(inject_random_state(pipe, SeedPlan(5)))
    assert set(states) == {"smote__random_state", "under__random_state", "rf__random_state"}
    assert len(set(states.values())) == 3
    assert states == _states(inject_random_state(
        Pipeline([("smote", SMOTE()), ("under", RandomUnderSampler()), ("rf", RandomForestClassifier())]), SeedPlan(5)))
    # an unrelated step added and the steps reordered: no existing seed changes
    other = Pipeline([("scale", StandardScaler()), ("pca", PCA()), ("under", RandomUnderSampler()),
                      ("smote", SMOTE()), ("rf", RandomForestClassifier())])
    states2 = _states(inject_random_state(other, SeedPlan(5)))
    assert {k: states2[k] for k in states} == states
    assert states2["pca__random_state"] not in states.values()


@pytest.mark.fast
def test_stacking_of_forests_and_bagging_nesting():
    stack = StackingClassifier([("rf1", RandomForestClassifier()), ("rf2", RandomForestClassifier())],
                               final_estimator=BaggingClassifier(RandomForestClassifier()))
    states = _states(inject_random_state(stack, SeedPlan(11)))
    assert {"rf1__random_state", "rf2__random_state", "final_estimator__random_state",
            "final_estimator__estimator__random_state"} <= set(states)
    assert None not in states.values() and len(set(states.values())) == len(states)
    assert stack.named_estimators["rf1"].random_state == SeedPlan(11).child("model").seed("rf1__random_state")


@pytest.mark.fast
def test_grid_search_over_shuffled_kfold():
    cv = KFold(5, shuffle=True)
    search = GridSearchCV(Pipeline([("smote", SMOTE()), ("rf", RandomForestClassifier())]),
                          {"rf__n_estimators": [5, 10]}, cv=cv)
    inject_random_state(search, SeedPlan(3))
    seeds = {cv.random_state, search.estimator.named_steps["smote"].random_state,
             search.estimator.named_steps["rf"].random_state}
    assert None not in seeds and len(seeds) == 3
    assert cv.random_state == SeedPlan(3).child("model").seed("cv__random_state")
    X = np.random.default_rng(0).normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    assert search.fit(X, y).best_params_ == inject_random_state(
        GridSearchCV(Pipeline([("smote", SMOTE()), ("rf", RandomForestClassifier())]),
                     {"rf__n_estimators": [5, 10]}, cv=KFold(5, shuffle=True)), SeedPlan(3)).fit(X, y).best_params_


@pytest.mark.fast
def test_splitters_themselves():
    skf = inject_random_state(StratifiedKFold(3, shuffle=True), SeedPlan(1), stream="cv")
    assert skf.random_state == SeedPlan(1).child("cv").seed("random_state")
    plain = inject_random_state(KFold(3), SeedPlan(1))  # shuffle=False: no randomness, left alone
    assert plain.random_state is None
    assert inject_random_state(LeaveOneOut(), SeedPlan(1)) is not None
    search = GridSearchCV(LogisticRegression(), {"C": [1, 2]}, cv=KFold(3))
    inject_random_state(search, SeedPlan(1))
    assert search.cv.random_state is None


@pytest.mark.fast
def test_values_you_set_are_kept_with_a_warning_or_overwritten():
    rf = RandomForestClassifier(random_state=42)
    with pytest.warns(SeedexpWarning, match=r"kept random_state=42 .* overwrite=True"):
        inject_random_state(rf, SeedPlan(0))
    assert rf.random_state == 42
    inject_random_state(rf, SeedPlan(0), overwrite=True)
    assert rf.random_state == SeedPlan(0).child("model").seed("random_state")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inject_random_state(RandomForestClassifier(), SeedPlan(0))  # None: silently set


@pytest.mark.fast
def test_errors_name_the_parameter_path():
    bagged = BaggingClassifier(RandomForestClassifier(random_state=np.random.default_rng(0)))
    with pytest.raises(SeedError, match=r"estimator__random_state=Generator.*numpy Generator"):
        inject_random_state(bagged, SeedPlan(0))
    with pytest.raises(SeedError, match=r"random_state='abc'"):
        inject_random_state(RandomForestClassifier(random_state="abc"), SeedPlan(0))
    with pytest.raises(InjectionError, match=r"model: dict object .* not a scikit-learn estimator or CV splitter"):
        inject_random_state({"not": "an estimator"}, SeedPlan(0))


@pytest.mark.fast
def test_seeded_helpers():
    X, y = np.arange(100).reshape(50, 2), np.arange(50) % 2
    a = train_test_split(X, y, seeds=SeedPlan(1), stratify=y)
    b = train_test_split(X, y, seeds=SeedPlan(1), stratify=y)
    c = train_test_split(X, y, seeds=SeedPlan(2), stratify=y)
    assert all(np.array_equal(u, v) for u, v in zip(a, b)) and not np.array_equal(a[0], c[0])
    assert kfold(SeedPlan(1)).random_state == SeedPlan(1).seed("cv") and kfold(SeedPlan(1)).shuffle
    assert resampler(SeedPlan(1), "smote").random_state == SeedPlan(1).seed("resample")
    with pytest.raises(SeedError, match="method='nope' is unknown"):
        resampler(SeedPlan(1), "nope")
    with pytest.raises(SeedError, match="drop it"):
        train_test_split(X, y, seeds=SeedPlan(1), random_state=3)


def test_objects_declared_in_yaml_are_injected_by_the_app(tmp_path):
    run_seedexp(["--config-dir", str(TEST_CONF), "experiment=yaml_objects", "seed=4", "hydra.run.dir=r"], tmp_path,
                check_rc=0)
    rec = read_json(tmp_path / "r/result.json")
    plan = SeedPlan(4)
    m = rec["metrics"]
    assert m["estimator_rs"] == plan.child("model").child("estimator").seed("random_state")
    assert m["cv_rs"] == plan.child("cv").child("cv").seed("random_state")
    assert m["sampler_rs"] == plan.child("resample").child("sampler").seed("random_state")
    assert m["stack_final_rs"] == plan.child("model").child("stack").seed("final_estimator__random_state")
    assert "model/estimator/random_state" in rec["streams"]
    run_seedexp(["--config-dir", str(TEST_CONF), "experiment=yaml_objects", "seed=4", "hydra.run.dir=r2"], tmp_path,
                check_rc=0)
    assert read_json(tmp_path / "r2/result.json")["metrics"] == m


@pytest.mark.fast
def test_a_class_default_of_zero_counts_as_unset():
    # FactorAnalysis and Perceptron default to random_state=0, not None
    from sklearn.decomposition import FactorAnalysis
    from sklearn.linear_model import Perceptron

    for cls in (FactorAnalysis, Perceptron):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            est = inject_random_state(cls(), SeedPlan(9))
        assert est.random_state == SeedPlan(9).child("model").seed("random_state")
    nested = inject_random_state(BaggingClassifier(Perceptron()), SeedPlan(9))
    assert nested.estimator.random_state == SeedPlan(9).child("model").seed("estimator__random_state")


def _global_states_elsewhere(k):
    import random

    random.seed(k)
    np.random.seed(k)


@pytest.mark.fast
def test_target_encoder_is_seeded_through_its_cv():
    from sklearn.preprocessing import TargetEncoder

    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 5, (120, 2)), rng.integers(0, 2, 120)

    def encoded(master, k):
        enc = inject_random_state(TargetEncoder(), SeedPlan(master))
        _global_states_elsewhere(k)
        return enc.fit_transform(X, y), enc

    a, enc = encoded(0, 1)
    assert np.array_equal(a, encoded(0, 2)[0]) and not np.array_equal(a, encoded(1, 1)[0])
    if enc.random_state == "deprecated":  # scikit-learn >= 1.9: a seeded splitter as cv
        assert isinstance(enc.cv, SeededCV) and enc.cv.random_state == SeedPlan(0).child("model").seed("cv__random_state")
        # the same folds as scikit-learn's own StratifiedKFold(shuffle=True) with that seed
        own = StratifiedKFold(5, shuffle=True, random_state=enc.cv.random_state)
        assert all(np.array_equal(p[1], q[1]) for p, q in zip(enc.cv.split(X, y), own.split(X, y)))
        regression = inject_random_state(TargetEncoder(target_type="continuous"), SeedPlan(0))
        assert regression.cv.classifier is False
    else:
        assert isinstance(enc.random_state, int)


@pytest.mark.fast
def test_estimators_listed_in_search_grids_are_injected():
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.model_selection import RandomizedSearchCV

    pipe = Pipeline([("smote", SMOTE()), ("clf", RandomForestClassifier())])
    search = GridSearchCV(pipe, [{"clf": [RandomForestClassifier(), ExtraTreesClassifier()]},
                                 {"clf": [BaggingClassifier(RandomForestClassifier())], "smote": [RandomUnderSampler()]}])
    inject_random_state(search, SeedPlan(2))
    first, second = search.param_grid
    model = SeedPlan(2).child("model")
    assert first["clf"][0].random_state == model.seed("param_grid__0__clf__0__random_state")
    assert first["clf"][1].random_state == model.seed("param_grid__0__clf__1__random_state")
    assert second["clf"][0].estimator.random_state == model.seed("param_grid__1__clf__0__estimator__random_state")
    assert second["smote"][0].random_state == model.seed("param_grid__1__smote__0__random_state")
    pipe = Pipeline([("smote", SMOTE()), ("clf", RandomForestClassifier())])
    randomized = RandomizedSearchCV(pipe, {"clf": [ExtraTreesClassifier()], "clf__n_estimators": [5, 10]})
    inject_random_state(randomized, SeedPlan(2))
    assert randomized.param_distributions["clf"][0].random_state == \
        model.seed("param_distributions__clf__0__random_state")
    assert randomized.random_state == model.seed("random_state")


@pytest.mark.fast
@pytest.mark.parametrize("bad", [-1, 2**32])
def test_out_of_range_seeds_you_set_are_rejected_with_their_path(bad):
    with pytest.raises(SeedError, match=rf"rf__random_state={bad} cannot be used as a seed.*\[0, 4294967295\]"):
        inject_random_state(Pipeline([("rf", RandomForestClassifier(random_state=bad))]), SeedPlan(0))
    fixed = inject_random_state(RandomForestClassifier(random_state=bad), SeedPlan(0), overwrite=True)
    assert fixed.random_state == SeedPlan(0).child("model").seed("random_state")
