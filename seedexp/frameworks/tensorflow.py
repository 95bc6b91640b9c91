"""TensorFlow: the global seed (``shuffle`` stream), op determinism, thread counts.

With Keras 3 every weight and dropout mask is drawn by a *stateless* op from
an explicit seed (see :mod:`seedexp.frameworks.keras`), so TF's global seed
drives only what TF draws itself: ``fit(shuffle=True)`` on arrays
(``tf.random.shuffle`` in Keras' input pipeline), ``tf.data.Dataset.shuffle``
without ``seed=``, and ``tf.random.*`` ops without ``seed=``. The run seeds it
from the ``shuffle`` stream, before the experiment builds any pipeline.

TensorFlow fixes its thread counts when its runtime starts (its first op): a
later run of the same process that asks for other counts fails with one line
instead of recording counts that are not in force.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from . import Run

#: TensorFlow's settings in this process before seedexp first changed them.
_PROCESS: dict[str, Any] | None = None


def _tf():
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    return tf, tf_config


def _process_settings() -> dict[str, Any]:
    global _PROCESS
    tf, tf_config = _tf()
    if _PROCESS is None:
        _PROCESS = {
            "op_determinism": bool(tf_config.is_op_determinism_enabled()),
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        }
    return _PROCESS


def _set_op_determinism(on: bool) -> None:
    tf, tf_config = _tf()
    if on:
        tf.config.experimental.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()


def _set_threads(threads: int | None, own: dict[str, Any]) -> None:
    tf, _ = _tf()
    threading = tf.config.threading
    wanted = {"intra": int(threads) if threads else own["intra"], "inter": int(threads) if threads else own["inter"]}
    now = {"intra": threading.get_intra_op_parallelism_threads(), "inter": threading.get_inter_op_parallelism_threads()}
    if wanted == now:
        return
    try:
        threading.set_intra_op_parallelism_threads(wanted["intra"])
        threading.set_inter_op_parallelism_threads(wanted["inter"])
    except RuntimeError:
        shown = "null" if threads is None else threads
        raise ConfigError(
            f"determinism.threads={shown}: TensorFlow already runs with {now['intra']} intra-op / {now['inter']} "
            "inter-op threads in this process (0 = its default) and cannot change them once started; run each job "
            "in a fresh process (e.g. hydra/launcher=joblib) or give every job of this process the same "
            "determinism.threads"
        ) from None


def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Op determinism (strict or the process's own), thread counts, global seed from ``shuffle``."""
    tf, _ = _tf()
    own = _process_settings()
    _set_threads(run.threads, own)
    run.on_end(lambda: _set_op_determinism(own["op_determinism"]))
    _set_op_determinism(run.strict or own["op_determinism"])
    tf.random.set_seed(run.use("shuffle"))
    return switches()


def end(run: "Run") -> dict[str, Any]:
    """What was in force: op determinism, threads, devices."""
    return {**switches(), **device_facts()}


def switches() -> dict[str, Any]:
    """Op determinism and thread counts in force now."""
    tf, tf_config = _tf()
    return {
        "tf_op_determinism": bool(tf_config.is_op_determinism_enabled()),
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def device_facts() -> dict[str, Any]:
    """TF version and devices, for the run record."""
    tf, _ = _tf()
    gpus = tf.config.list_physical_devices("GPU")
    return {"tensorflow_version": tf.__version__, "tf_devices": [d.name for d in gpus] or ["cpu"]}
