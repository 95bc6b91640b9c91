"""PyTorch: separate ``init`` / ``dropout`` / ``shuffle`` / ``gpu`` streams and determinism switches.

Weight initialisation and dropout both draw from torch's global generators,
so the streams are separated in time: :func:`init_scope` seeds the global
CPU generator from ``init`` while the model is built, and on exit reseeds the
CPU and CUDA generators from ``dropout`` for everything drawn during
training. Data order never touches the global generators: :func:`loader_kwargs`
gives a ``DataLoader`` its own ``torch.Generator`` seeded from ``shuffle``, and
a ``worker_init_fn`` that seeds torch, NumPy and ``random`` in every worker.
The ``gpu`` stream seeds every CUDA device at the start of the run.

Example
-------
>>> import torch
>>> from seedexp import SeedPlan
>>> from seedexp.frameworks import torch as st
>>> seeds = SeedPlan(0)
>>> with st.init_scope(seeds):
...     net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
>>> data = torch.utils.data.TensorDataset(torch.arange(10.0).reshape(5, 2))
>>> loader = torch.utils.data.DataLoader(data, batch_size=2, shuffle=True, **st.loader_kwargs(seeds))
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
from typing import Any, Iterator, Mapping

import numpy as np

from ..seeds import SeedPlan

CUBLAS_WORKSPACE = ":4096:8"


def _torch():
    import torch

    return torch


def apply_determinism(strict: bool, threads: int | None = None) -> dict[str, Any]:
    """Set (or reset) torch's determinism switches; return what is in force.

    ``strict``: ``torch.use_deterministic_algorithms(True)``, cuDNN
    deterministic with benchmark off, and ``CUBLAS_WORKSPACE_CONFIG`` (which
    only counts if set before the CUDA context exists: seedexp sets it before
    its first CUDA call; set it in the environment of the job to be sure).
    Not strict: torch's defaults, restored, so a strict job does not leak
    into the next job of the same process.
    """
    torch = _torch()
    if strict and "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
    torch.use_deterministic_algorithms(bool(strict))
    torch.backends.cudnn.deterministic = bool(strict)
    torch.backends.cudnn.benchmark = False  # benchmark=True picks kernels by timing: defeats determinism
    if threads:
        torch.set_num_threads(int(threads))
    return {
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "torch_threads": torch.get_num_threads(),
    }


def seed_global(plan: SeedPlan, determinism: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reset torch at the start of a run: switches, CPU generator (``init``), CUDA (``gpu``)."""
    torch = _torch()
    determinism = dict(determinism or {})
    done = apply_determinism(bool(determinism.get("strict", False)), determinism.get("threads"))
    torch.manual_seed(plan.seed("init"))  # seeds CUDA too...
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(plan.seed("gpu"))  # ...which then gets its own stream
    return done


@contextlib.contextmanager
def init_scope(seeds: SeedPlan) -> Iterator[None]:
    """Build the model inside this block: its weights come from the ``init`` stream.

    On exit the global CPU generator is reseeded from ``dropout`` and the CUDA
    generators from ``dropout/cuda``: dropout masks and any other training-time
    draw come from there, so pinning ``init`` or ``dropout`` moves one and not
    the other.
    """
    torch = _torch()
    torch.manual_seed(seeds.seed("init"))
    try:
        yield
    finally:
        torch.manual_seed(seeds.seed("dropout"))
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seeds.child("dropout").seed("cuda"))


class WorkerInit:
    """``worker_init_fn`` that seeds torch, NumPy's global state and ``random`` in a worker.

    Each worker's seed comes from ``torch.initial_seed()`` (the loader's
    base seed, drawn from its ``shuffle`` generator, plus the worker id)
    mixed through a ``SeedSequence``, never ``base + worker_id`` reused raw.
    Picklable, so it works with the ``spawn`` start method.
    """

    def __call__(self, worker_id: int) -> None:
        torch = _torch()
        seq = np.random.SeedSequence(entropy=torch.initial_seed(), spawn_key=(worker_id,))
        a, b = (int(x) for x in seq.generate_state(2, np.uint32))
        np.random.seed(a)
        random.seed(b)


def loader_kwargs(seeds: SeedPlan, stream: str = "shuffle") -> dict[str, Any]:
    """``generator=`` and ``worker_init_fn=`` for a ``DataLoader``, from the ``shuffle`` stream."""
    torch = _torch()
    gen = torch.Generator()
    gen.manual_seed(seeds.seed(stream))
    return {"generator": gen, "worker_init_fn": WorkerInit()}


def weights_hash(model: Any) -> str:
    """SHA-256 of a module's parameters and buffers (names, dtypes, shapes, bytes)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(_torch().uint8).numpy().tobytes())  # raw bytes, any dtype
    return digest.hexdigest()


def device_facts() -> dict[str, Any]:
    """Device, CUDA/cuDNN versions and the determinism switches, for the run record."""
    torch = _torch()
    cuda = torch.cuda.is_available()
    return {
        "torch_version": torch.__version__,
        "torch_device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cuda_version": torch.version.cuda if cuda else None,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
