"""PyTorch: separate ``init`` / ``dropout`` / ``shuffle`` / ``split`` / ``gpu`` streams, determinism switches.

What each stream drives during a run (the README has the full table):

* ``init``: torch's global CPU generator from the start of the run, and again
  inside ``with init_scope(seeds, name):`` (from ``init/<name>``), so a model
  built there gets its own initial weights, whatever was drawn before.
* ``dropout``: the global CPU generator after ``init_scope`` exits (from
  ``dropout`` or ``dropout/<name>``): dropout masks and any training-time draw.
  A model built and trained without ``init_scope`` draws both its weights and
  its dropout masks from ``init``.
* ``split``: ``random_split`` called without ``generator=`` draws from a
  generator of its own (``split/torch``), never from the global one.
* ``shuffle``: a ``DataLoader`` or ``RandomSampler`` / ``SubsetRandomSampler``
  / ``WeightedRandomSampler`` built without ``generator=`` draws its order and
  its workers' base seed from ``shuffle/torch``; ``loader_kwargs(seeds)`` gives
  one its own generator from ``shuffle`` and a ``worker_init_fn`` that seeds
  NumPy and ``random`` in every worker.
* ``gpu``: every CUDA generator, seeded once at the start of the run;
  ``init_scope`` never touches them.

During a run (or after :func:`seedexp.frameworks.seed_everything`) seedexp sets
the *default* ``generator`` of those torch data APIs; the defaults go back to
torch's own when the run ends.

Example
-------
>>> import torch
>>> from seedexp import SeedPlan
>>> from seedexp.frameworks import torch as st
>>> seeds = SeedPlan(0)
>>> with st.init_scope(seeds, "member1"):
...     net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
>>> data = torch.utils.data.TensorDataset(torch.arange(10.0).reshape(5, 2))
>>> loader = torch.utils.data.DataLoader(data, batch_size=2, shuffle=True, **st.loader_kwargs(seeds))
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import random
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from ..seeds import SeedPlan
from . import reseeds

if TYPE_CHECKING:
    from . import Run

#: The cuBLAS workspace setting that makes cuBLAS deterministic, and its variable.
CUBLAS_WORKSPACE = ":4096:8"
CUBLAS_VAR = "CUBLAS_WORKSPACE_CONFIG"

#: torch data APIs whose ``generator`` defaults to the global generator (or to a
#: seed drawn from it), and the stream seedexp gives them during a run.
DATA_DEFAULTS: tuple[tuple[str, str, str | None, str], ...] = (
    ("torch.utils.data.dataset", "random_split", None, "split"),
    ("torch.utils.data.dataloader", "DataLoader", "__init__", "shuffle"),
    ("torch.utils.data.sampler", "RandomSampler", "__init__", "shuffle"),
    ("torch.utils.data.sampler", "SubsetRandomSampler", "__init__", "shuffle"),
    ("torch.utils.data.sampler", "WeightedRandomSampler", "__init__", "shuffle"),
)

#: torch's settings in this process before seedexp first changed them.
_PROCESS: dict[str, Any] | None = None


def _torch():
    import torch

    return torch


def _process_settings(torch) -> dict[str, Any]:
    global _PROCESS
    if _PROCESS is None:
        _PROCESS = {
            "threads": torch.get_num_threads(),
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
            "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        }
    return _PROCESS


def _apply(torch, strict: bool, threads: int | None, own: dict[str, Any]) -> None:
    if strict:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False  # benchmark=True picks kernels by timing: defeats determinism
    else:
        torch.use_deterministic_algorithms(own["deterministic"], warn_only=own["warn_only"])
        torch.backends.cudnn.deterministic = own["cudnn_deterministic"]
        torch.backends.cudnn.benchmark = own["cudnn_benchmark"]
    wanted = int(threads) if threads else own["threads"]
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def switches() -> dict[str, Any]:
    """The determinism switches and thread count in force now."""
    torch = _torch()
    return {
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        CUBLAS_VAR: os.environ.get(CUBLAS_VAR),
        "torch_threads": torch.get_num_threads(),
    }


def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Reset torch at the start of a run (or right after the run imported it).

    Switches: strict, or the process's own; threads: ``run.threads`` or the
    process's own count. Generators: CPU from ``init``, CUDA from ``gpu``; the data
    APIs' default generators from ``split/torch`` and ``shuffle/torch``.
    """
    torch = _torch()
    own = _process_settings(torch)
    if run.strict and CUBLAS_VAR not in os.environ:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            run.warnings.append(f"{CUBLAS_VAR} was set after CUDA started in this process: cuBLAS may not be "
                                f"deterministic; export {CUBLAS_VAR}={CUBLAS_WORKSPACE} in the job's environment")
        os.environ[CUBLAS_VAR] = CUBLAS_WORKSPACE
        run.on_end(lambda: os.environ.pop(CUBLAS_VAR, None) if os.environ.get(CUBLAS_VAR) == CUBLAS_WORKSPACE else None)
    run.on_end(lambda: _apply(torch, False, None, own))
    _apply(torch, run.strict, run.threads, own)
    torch.manual_seed(run.use("init"))  # the CPU generator (and every accelerator's)...
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(run.use("gpu"))  # ...then CUDA gets its own stream
    _route_data_apis(run, torch)
    return switches()


def end(run: "Run") -> dict[str, Any]:
    """Switches, threads and device in force; record the data generators the run drew from."""
    torch = _torch()
    for stream, (gen, start) in run.state.get("torch_generators", {}).items():
        if not torch.equal(gen.get_state(), start):
            run.use(stream, "torch")
    unnamed = run.state.get("torch_unnamed_scopes", 0)
    if unnamed > 1:
        run.warnings.append(f"init_scope(seeds) was entered {unnamed} times without a name: every model built in "
                            "it got the same initial weights and dropout stream; name them, "
                            "e.g. init_scope(seeds, 'member1')")
    return {**switches(), **device_facts()}


def _route_data_apis(run: "Run", torch) -> None:
    """Point the ``generator`` defaults of the data APIs at seedexp's generators until the run ends."""
    import importlib

    generators: dict[str, tuple[Any, Any]] = {}  # stream -> (generator, its state when seeded)
    for module_name, owner, method, stream in DATA_DEFAULTS:
        if stream not in generators:
            gen = torch.Generator()
            gen.manual_seed(run.derive(stream, "torch"))
            generators[stream] = (gen, gen.get_state())
        try:
            target = getattr(importlib.import_module(module_name), owner)
            func = getattr(target, method) if method else target
            run.on_end(_set_default(func, "generator", generators[stream][0]))
        except (ImportError, AttributeError, LookupError) as exc:
            run.warnings.append(f"torch {owner}: cannot give it a seeded default generator ({exc}); without "
                                "generator= it draws from torch's global generator (`init`/`dropout` streams)")
    run.state["torch_generators"] = generators
    _fetch_as_a_worker(run)


def _fetch_as_a_worker(run: "Run") -> None:
    """``num_workers=0``: fetch items under the global states a single worker would have.

    A worker seeds ``random`` and torch with the loader's base seed (drawn from
    its generator, so from ``shuffle``), NumPy from torch's mix of it, then calls
    ``worker_init_fn(0)``. Without workers, ``__getitem__`` would draw from the
    process's global generators (``init``/``dropout``, ``python``, ``numpy``);
    seedexp swaps the same worker states in around each fetch and back out, so an
    augmentation draws the same values with ``num_workers=0`` as with one worker,
    and training draws are not shifted by it.
    """
    try:
        from torch.utils.data import dataloader
        from torch.utils.data._utils.worker import _generate_state

        cls = dataloader._SingleProcessDataLoaderIter
        init, fetch = cls.__dict__["__init__"], cls.__dict__["_next_data"]
    except (ImportError, AttributeError, KeyError) as exc:
        run.warnings.append(f"torch DataLoader(num_workers=0): cannot fetch as a worker would ({exc}); "
                            "__getitem__ draws from the global generators (`init`/`dropout`, `python`, `numpy`)")
        return
    torch = _torch()
    generator = torch.default_generator

    def __init__(self, loader, *args, **kwargs):  # noqa: N807 - replaces the method
        init(self, loader, *args, **kwargs)
        self._seedexp_worker_init = loader.worker_init_fn
        self._seedexp_states = None

    def _next_data(self):
        outer = (generator.get_state(), random.getstate(), np.random.get_state(legacy=False))
        states = getattr(self, "_seedexp_states", None)
        quiet = reseeds.quiet(run)  # what the worker's seeding (and its worker_init_fn) does is not a reseed
        quiet.__enter__()
        try:
            if states is None:
                base = self._base_seed
                random.seed(base)
                generator.manual_seed(base)
                np.random.seed(_generate_state(base, 0))
                if getattr(self, "_seedexp_worker_init", None) is not None:
                    self._seedexp_worker_init(0)
            else:
                generator.set_state(states[0])
                random.setstate(states[1])
                np.random.set_state(states[2])
            return fetch(self)
        finally:
            self._seedexp_states = (generator.get_state(), random.getstate(), np.random.get_state(legacy=False))
            generator.set_state(outer[0])
            random.setstate(outer[1])
            np.random.set_state(outer[2])
            quiet.__exit__(None, None, None)

    cls.__init__, cls._next_data = __init__, _next_data

    def undo() -> None:
        cls.__init__, cls._next_data = init, fetch

    run.on_end(undo)


def _set_default(func: Callable[..., Any], name: str, value: Any) -> Callable[[], None]:
    """Make ``value`` the default of parameter ``name`` of ``func``; return the undo."""
    code = func.__code__
    positional = code.co_varnames[: code.co_argcount]
    defaults = func.__defaults__ or ()
    with_default = positional[len(positional) - len(defaults):]
    if name in with_default:
        old = defaults
        i = with_default.index(name)
        func.__defaults__ = defaults[:i] + (value,) + defaults[i + 1:]

        def undo() -> None:
            func.__defaults__ = old
    elif func.__kwdefaults__ and name in func.__kwdefaults__:
        old_kw = dict(func.__kwdefaults__)
        func.__kwdefaults__ = {**old_kw, name: value}

        def undo() -> None:
            func.__kwdefaults__ = old_kw
    else:
        raise LookupError(f"{func.__qualname__} has no default for {name!r}")
    if inspect.signature(func).parameters[name].default is not value:
        undo()
        raise LookupError(f"{func.__qualname__}: setting the default of {name!r} had no effect")
    return undo


@contextlib.contextmanager
def init_scope(seeds: SeedPlan, name: str | int | None = None) -> Iterator[None]:
    """Build a model inside this block: its weights come from the ``init`` stream.

    Parameters
    ----------
    seeds : SeedPlan
        The run's plan; see the "stream" entry of :mod:`seedexp.seeds`.
    name : {None, str, int}, optional
        The model's name in an ensemble, a fold...: ``init_scope(seeds, "member3")``
        draws the weights from ``init/member3`` and, after the block, training
        draws from ``dropout/member3``, so every member is distinct and
        ``pin.init`` / ``pin.dropout`` still fix all of them.

    Notes
    -----
    On entry the global CPU generator is seeded from ``init`` (or
    ``init/<name>``); on exit from ``dropout`` (or ``dropout/<name>``): dropout
    masks and every other draw during training come from there, so pinning
    ``init`` or ``dropout`` moves one and not the other. CUDA generators are
    left alone (they follow the ``gpu`` stream).
    """
    torch = _torch()
    from . import active_run

    run = active_run()
    if run is not None and name is None:
        run.state["torch_unnamed_scopes"] = run.state.get("torch_unnamed_scopes", 0) + 1
    init = seeds.seed("init") if name is None else seeds.child("init").seed(name)
    torch.default_generator.manual_seed(init)
    watch = reseeds.of(run)
    if watch is not None:
        watch.establish("init")
    try:
        yield
    finally:
        dropout = seeds.seed("dropout") if name is None else seeds.child("dropout").seed(name)
        torch.default_generator.manual_seed(dropout)
        if watch is not None:  # the model is built: a later reseed voids dropout, not its weights
            watch.settle("init")
            watch.establish("dropout")


class WorkerInit:
    """``worker_init_fn`` that seeds NumPy's global state and ``random`` in a DataLoader worker.

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


def loader_kwargs(seeds: SeedPlan, stream: str = "shuffle", name: str | int | None = None) -> dict[str, Any]:
    """``generator=`` and ``worker_init_fn=`` for a ``DataLoader``, from the ``shuffle`` stream.

    ``name`` gives one loader of several its own substream (``shuffle/<name>``).
    """
    torch = _torch()
    gen = torch.Generator()
    gen.manual_seed(seeds.seed(stream) if name is None else seeds.child(stream).seed(name))
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
    """Device, CUDA/cuDNN versions, for the run record."""
    torch = _torch()
    cuda = torch.cuda.is_available()
    return {
        "torch_version": torch.__version__,
        "torch_device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cuda_version": torch.version.cuda if cuda else None,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
    }


def log_step(step: int | None = None, **values: Any) -> None:
    """Record per-step values in a plain PyTorch loop: ``log_step(epoch, loss=loss, val_acc=acc)``.

    Like :func:`seedexp.log`, but a tensor value is detached, averaged when it
    holds more than one element (per-sample losses), and moved to the CPU; plain
    numbers pass as they are.
    """
    from ..series import log

    out = {}
    for name, value in values.items():
        if hasattr(value, "detach") and hasattr(value, "numel"):
            value = value.detach()
            value = (value.float().mean() if value.numel() != 1 else value).item()
        out[name] = value
    log(step, **out)
