"""A search-space value written as Hydra writes a sweep, read by Hydra's own override grammar.

``interval(low, high)``, ``range(start, stop[, step])``, ``choice(a, b)``, each
optionally inside ``tag(log, ...)``: hydra-optuna-sweeper's ``params`` shape.
:mod:`seedexp.tuning.space` checks what the values mean; this module only
turns the text into plain values (so Hydra stays in :mod:`seedexp.hydra`).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

__all__ = ["read_sweep"]


def read_sweep(name: str, text: str, forms: str) -> dict[str, Any]:
    """The value ``text`` of parameter ``name``, as plain values.

    Returns one of ``{"kind": "fixed", "value": v}`` (not a sweep),
    ``{"kind": "choice", "values": [...]}``, ``{"kind": "interval", "low", "high"}``
    or ``{"kind": "range", "start", "stop", "step", "shuffle"}``, each with
    ``"tags"`` (a set of str). What the grammar refuses is one ConfigError line
    that names the forms accepted (``forms``).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from hydra.errors import HydraException

    try:
        override = OverridesParser.create().parse_override(f"{name}={text}")
        value = override.value()
    except (HydraException, ValueError) as exc:  # the grammar's own words are long: say what is accepted
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "empty choice" in message:
            raise ConfigError(f"space {name}={text!r} is an empty choice; give at least one value, e.g. choice(a, b)") from None
        if "Unknown function" in message:
            raise ConfigError(f"space {name}={text!r}: unknown distribution; use {forms}") from None
        raise ConfigError(f"space {name}={text!r} cannot be read ({message}); use {forms}") from None
    if not override.is_sweep_override():
        return {"kind": "fixed", "value": value}
    tags = set(getattr(value, "tags", ()) or ())
    if isinstance(value, ChoiceSweep):
        return {"kind": "choice", "values": value.list, "tags": tags}
    if isinstance(value, IntervalSweep):
        return {"kind": "interval", "low": value.start, "high": value.end, "tags": tags}
    if isinstance(value, RangeSweep):
        return {"kind": "range", "start": value.start, "stop": value.stop, "step": value.step,
                "shuffle": value.shuffle, "tags": tags}
    raise ConfigError(f"space {name}={text!r}: unknown distribution; use {forms}")  # pragma: no cover (glob, ...)
