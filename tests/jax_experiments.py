"""JAX / Flax NNX experiments written as users write them (importable via PYTHONPATH=tests).

JAX and Flax are imported inside the functions, so a run that does not call them
never imports them. A tiny MLP with dropout, a few full-batch-free SGD steps on
synthetic data: each runs in well under a second once JAX has compiled it.
"""

from __future__ import annotations

import hashlib


def _digest(*arrays) -> str:
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        h.update(np.asarray(a).tobytes())
    return h.hexdigest()


def _params(model) -> str:
    import jax
    from flax import nnx

    return _digest(*jax.tree.leaves(nnx.state(model, nnx.Param)))


def flax_mlp(seeds, steps: int = 4, by_hand: bool = False, batch: int = 8):
    """A Flax NNX MLP (Linear -> Dropout -> Linear) trained with SGD on mini-batches.

    Weights from ``rngs(seeds)`` (or ``nnx.Rngs(params=seeds.seed("init"), ...)`` written
    by hand), the batch order from ``key(seeds, "shuffle")``. Fingerprints: the initial
    parameters, a probe of the dropout masks, the order, the trained parameters.
    """
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from seedexp.frameworks import jax as sj

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.hidden = nnx.Linear(4, 16, rngs=rngs)
            self.drop = nnx.Dropout(0.5, rngs=rngs)
            self.out = nnx.Linear(16, 2, rngs=rngs)

        def __call__(self, x):
            return self.out(self.drop(nnx.relu(self.hidden(x))))

    rngs = nnx.Rngs(params=seeds.seed("init"), dropout=seeds.seed("dropout")) if by_hand else sj.rngs(seeds)
    model = MLP(rngs)
    init = _params(model)
    masks = _digest(model.drop(jnp.ones((4, 16))))  # a probe: 4 masks from the `dropout` stream

    x = jnp.linspace(-1.0, 1.0, 32 * 4).reshape(32, 4)
    y = (x.sum(axis=1) > 0).astype(jnp.int32)
    order = jax.random.permutation(sj.key(seeds, "shuffle"), 32)

    @nnx.jit
    def step(model, xb, yb):
        def loss_fn(model):
            logits = model(xb)
            picked = jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1)
            return -picked.mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        params = nnx.state(model, nnx.Param)
        nnx.update(model, jax.tree.map(lambda p, g: p - 0.1 * g, params, grads))
        return loss

    loss = jnp.nan
    for i in range(steps):
        idx = order[(i * batch) % 32:(i * batch) % 32 + batch]
        loss = step(model, x[idx], y[idx])
    return {"loss": float(loss),
            "fingerprints": {"init": init, "masks": masks, "order": _digest(order), "trained": _params(model)}}
