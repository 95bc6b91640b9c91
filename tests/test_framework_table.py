"""docs/frameworks.md: every test its tables name exists, and the rows of Python ``random``,
NumPy and scikit-learn hold (each pin moves exactly what the table says, and nothing else).

The torch, Keras/TensorFlow, JAX and joblib-worker rows are backed by the tests each row names
(test_frameworks.py, test_streams_user_code.py, test_jax.py, test_joblib_workers.py).
"""

from __future__ import annotations

import ast
import hashlib
import random
import re

import numpy as np
import pytest

from conftest import ROOT, TESTS

TABLE = ROOT / "docs" / "frameworks.md"


@pytest.mark.fast
def test_every_test_the_tables_name_exists():
    text = TABLE.read_text()
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", text)
    assert len(named) >= 25
    missing = []
    for module, function in sorted(set(named)):
        path = TESTS / module
        tree = ast.parse(path.read_text()) if path.is_file() else ast.Module(body=[], type_ignores=[])
        if function not in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}:
            missing.append(f"{module}::{function}")
    assert missing == []
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings == ["Python `random` and string hashing", "NumPy", "scikit-learn, including its worker processes",
                        "PyTorch", "Keras 3 and TensorFlow", "JAX and Flax", "PyTorch Lightning"]


def _digest(*values) -> str:
    h = hashlib.sha256()
    for v in values:
        h.update(np.asarray(v).tobytes())
    return h.hexdigest()


def globals_only(seeds):
    return {"random": random.random(), "np_random": float(np.random.rand())}


def nothing_drawn(seeds):
    return {"x": 1.0}


@pytest.mark.fast
def test_python_and_numpy_pins_move_their_global_only():
    import seedexp

    base, again = seedexp.run(globals_only, seed=1), seedexp.run(globals_only, seed=1)
    py = seedexp.run(globals_only, seed=1, pins={"python": 7})
    npy = seedexp.run(globals_only, seed=1, pins={"numpy": 7})
    assert base["metrics"] == again["metrics"]
    (b_py, b_np), (p_py, p_np), (n_py, n_np) = ((r["metrics"]["random"], r["metrics"]["np_random"])
                                                for r in (base, py, npy))
    assert p_py != b_py and p_np == b_np  # pin.python: random.* only
    assert n_np != b_np and n_py == b_py  # pin.numpy: np.random.* only
    assert base["global_draws"] == ["numpy", "python"]  # what `seedexp variance` studies
    assert seedexp.run(nothing_drawn, seed=1)["global_draws"] == []


def sklearn_streams(seeds):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import KFold

    from seedexp.sklearn import inject_random_state, kfold, resampler, train_test_split

    X, y = make_classification(n_samples=60, n_features=4, weights=[0.8], random_state=0)
    _, X_test, _, _ = train_test_split(X, y, seeds=seeds)                               # split
    folds = [test for _, test in kfold(seeds, 3).split(X, y)]                            # cv
    model = inject_random_state(RandomForestClassifier(n_estimators=3), seeds).fit(X, y)  # model
    X_res, _ = resampler(seeds, "random_over").fit_resample(X, y)                        # resample
    plain = RandomForestClassifier(n_estimators=3).fit(X, y)                             # numpy (global)
    unseeded_folds = [test for _, test in KFold(3, shuffle=True).split(X)]               # numpy (global)
    return {"x": 1.0, "fingerprints": {
        "split": _digest(X_test), "cv": _digest(*folds), "model": _digest(model.predict_proba(X)),
        "resample": _digest(X_res), "numpy": _digest(plain.predict_proba(X), *unseeded_folds)}}


@pytest.mark.fast
def test_sklearn_pins_move_their_stream_only():
    import seedexp

    base = seedexp.run(sklearn_streams, seed=2)["fingerprints"]
    assert seedexp.run(sklearn_streams, seed=2)["fingerprints"] == base
    for stream in ("split", "cv", "model", "resample", "numpy"):
        pinned = seedexp.run(sklearn_streams, seed=2, pins={stream: 9})["fingerprints"]
        assert [k for k in base if pinned[k] != base[k]] == [stream], stream


def keras_reseeded(seeds):
    import keras

    keras.utils.set_random_seed(42)
    return {"x": 1.0}


def test_keras_set_random_seed_in_the_experiment_is_warned():
    pytest.importorskip("keras")
    import seedexp

    with pytest.warns(UserWarning, match=r"keras.utils.set_random_seed at test_framework_table.py:\d+ \(keras_reseeded\)"):
        rec = seedexp.run(keras_reseeded, seed=0)
    assert [(r["call"], r["seed"]) for r in rec["reseeds"]] == [("keras.utils.set_random_seed", 42)]
    assert {"python", "numpy"} <= set(rec["void_streams"])


def test_keras_set_random_seed_bound_before_the_run_is_warned_with_its_seed():
    pytest.importorskip("keras")
    from keras.utils import set_random_seed  # bound before the run: the call is not seen, its effect is
    import seedexp

    def reseeded(seeds):
        set_random_seed(42)
        return {"x": 1.0}

    with pytest.warns(UserWarning, match=r"set_random_seed\(42\)"):
        rec = seedexp.run(reseeded, seed=0)
    assert any("set_random_seed(42)" in w for w in rec["warnings"])
