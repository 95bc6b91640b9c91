"""TensorFlow/Keras 3: ``init`` / ``dropout`` / ``shuffle`` streams, op determinism, threads.

Three Keras habits the adapter handles:

* Keras wants Python ``int`` seeds (a NumPy int raises): every seed here is one.
* A layer without ``seed=`` draws its seed from Python ``random``: the run
  reseeds ``random`` from the ``python`` stream, and the helpers below give
  every layer an explicit seed anyway.
* An initializer instance seeded with an int returns the same values on
  every call, so sharing one across layers gives them identical weights:
  :func:`initializer` builds a fresh instance per layer, seeded from
  ``init/<layer name>``.

Data order: Keras shuffles ``fit``'s arrays with ``tf.random.shuffle``, which
follows TensorFlow's global seed; :func:`before_fit` sets it from the
``shuffle`` stream right before ``fit`` (dropout layers with ``seed=`` keep
their own generators and do not follow it).

Example
-------
>>> import keras
>>> from seedexp import SeedPlan
>>> from seedexp.frameworks import keras as sk
>>> seeds = SeedPlan(0)
>>> model = keras.Sequential([
...     keras.Input((1,)),
...     keras.layers.Dense(10, kernel_initializer=sk.initializer(seeds, "hidden")),
...     keras.layers.Dropout(0.1, seed=sk.dropout_seed(seeds, "drop")),
...     keras.layers.Dense(1, kernel_initializer=sk.initializer(seeds, "out")),
... ])
>>> sk.before_fit(seeds)  # then model.fit(..., shuffle=True)
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Mapping

import numpy as np

from ..seeds import SeedPlan


def apply_determinism(strict: bool, threads: int | None = None) -> dict[str, Any]:
    """Enable (strict) or disable TF op determinism; set thread counts if asked."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    if strict:
        tf.config.experimental.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()
    done: dict[str, Any] = {"tf_op_determinism": bool(tf_config.is_op_determinism_enabled())}
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        except RuntimeError as exc:  # TF's runtime already started in this process
            done["tf_threads_error"] = str(exc)
    done["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
    done["tf_inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
    return done


def seed_global(plan: SeedPlan, determinism: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reset Keras/TF at the start of a run: global seeds from ``init``, switches."""
    import keras

    determinism = dict(determinism or {})
    keras.backend.clear_session()  # the previous job's models, name counters and graph state
    done = apply_determinism(bool(determinism.get("strict", False)), determinism.get("threads"))
    keras.utils.set_random_seed(plan.seed("init"))  # TF global seed + Keras' global SeedGenerator
    random.seed(plan.seed("python"))  # set_random_seed also overwrote these: back to their streams
    np.random.seed(plan.seed("numpy"))
    return done


def initializer(seeds: SeedPlan, name: str, kind: str = "glorot_uniform", **kwargs: Any) -> Any:
    """A fresh Keras initializer for layer ``name``, seeded from ``init/<name>``."""
    import keras

    cls = type(keras.initializers.get(kind))
    return cls(seed=int(seeds.child("init").seed(name)), **kwargs)


def dropout_seed(seeds: SeedPlan, name: str) -> int:
    """The ``seed=`` of dropout (or noise) layer ``name``, from ``dropout/<name>``."""
    return int(seeds.child("dropout").seed(name))


def before_fit(seeds: SeedPlan, stream: str = "shuffle") -> None:
    """Seed the data order of the next ``fit(shuffle=True)`` from the ``shuffle`` stream."""
    import tensorflow as tf

    tf.random.set_seed(int(seeds.seed(stream)))


def weights_hash(model: Any) -> str:
    """SHA-256 of a model's weights (position, dtype, shape, bytes).

    Not the weights' names: Keras numbers layers with a process-wide counter
    (``dense_3``), so the same model built twice in one process has other names.
    """
    digest = hashlib.sha256()
    for index, weight in enumerate(model.weights):
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{index}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def device_facts() -> dict[str, Any]:
    """TF version, devices and op determinism, for the run record."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "tensorflow_version": tf.__version__,
        "tf_devices": [d.name for d in gpus] or ["cpu"],
        "tf_op_determinism": bool(tf_config.is_op_determinism_enabled()),
    }
