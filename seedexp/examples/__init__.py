"""Example experiments: plain functions a user could have written.

The contract (see README): ``def name(seeds, **params) -> dict`` where
``seeds`` is a :class:`seedexp.SeedPlan` and the dict maps metric names to
numbers, plus optionally ``"fingerprints": {name: str}``.
"""
