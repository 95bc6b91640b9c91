"""The tuning study: trials on common seeds, adaptive seeds, finalists on fresh seeds, exact resume.

:class:`Search` is the engine both front-ends share (the Python API
:func:`seedexp.tune` and the Hydra sweeper ``hydra/sweeper=seedexp_tune``). It
does not run anything itself: a *runner* (:class:`~seedexp.tuning.settings.Runner`) turns a list of
``(params, seed)`` jobs into ordinary seedexp records, in a phase's own sweep
directory (``<out>/search`` or ``<out>/fresh``), so ``seedexp report``, resume
and ``seedexp verify`` work on every run of a study.

The loop, in a fixed order that does not depend on which run finishes first:

1. ask Optuna for trial ``t`` (the sampler seeded from the study's seed,
   stream ``tune.sampler``); its parameters are a configuration;
2. run the configuration on the SAME search seeds as every other trial
   (common random numbers: the differences between trials are not drowned in
   seed noise, and pairs of trials are compared seed by seed); with adaptive
   seeds, a batch at a time (:class:`~seedexp.tuning.settings.Adaptive`);
3. tell Optuna the declared statistic of the per-seed metric: its mean, or the
   pessimistic end of its t interval (``statistic="bound"``);
4. after the last trial, re-run the top ``finalists`` configurations on FRESH
   seeds (never used in the search) and compare them seed by seed with the
   search's winner, with the declared paired test and Holm across the
   finalists (:func:`seedexp.summary_files.write_summary` on ``<out>/fresh``): the
   search score minus the fresh score of each finalist is its optimism (the
   winner's curse).

Resume is replay: the study's state is not kept in an Optuna storage (Optuna
2.10, which hydra-optuna-sweeper needs, has no journal storage, and its
SQLite storage fails under SQLAlchemy 2). A re-run of the same command asks
the same seeded sampler again, trial by trial; every run it asks for is found
complete on disk (:func:`seedexp.core.execute`'s resume) and told the same
value, so the sampler walks the same path and only runs that never finished
run. ``tuning.json`` keeps what each trial asked, to check the replay: a
trial whose parameters differ on replay (another Optuna version) is named in
a warning.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, SeedexpWarning
from ..sweepdir import write_json_atomic
from .settings import Runner, Settings, import_optuna

__all__ = ["Search", "TUNING_FILE", "TUNING_SCHEMA"]

log = logging.getLogger("seedexp.tune")

TUNING_SCHEMA = "seedexp.tuning/1"
#: The study's own file, at the root of its directory.
TUNING_FILE = "tuning.json"
def _value(record: Mapping[str, Any] | None, metric: str) -> float | None:
    if not record or record.get("status") != "ok":
        return None
    v = (record.get("metrics") or {}).get(metric)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        return None
    return float(v)


def _why_failed(record: Mapping[str, Any] | None, metric: str) -> str:
    if record is None:
        return "no readable record"
    if record.get("status") != "ok":
        err = record.get("error") or {}
        return f"{record.get('status')}: {err.get('type', '')}: {err.get('message', '')}".strip(": ")
    return f"{metric} is missing or not finite"


class Search:
    """One tuning study over a runner. :meth:`run` does the search and the finalists' re-check."""

    def __init__(self, settings: Settings, runner: Runner, out_dir: Path, make_sampler: Callable[[], Any],
                 *, progress: bool = False, png: bool = True) -> None:
        self.s, self.runner, self.out = settings, runner, Path(out_dir)
        self.png = png
        self.make_sampler, self.progress = make_sampler, progress
        self.metrics: list[str] | None = list(settings.metrics) if settings.metrics else None
        self.trials: list[dict[str, Any]] = []
        self.planned: dict[str, list[dict[str, Any]]] = {"search": [], "fresh": []}
        self._planned_keys: set[tuple[str, str, int]] = set()
        self.study: Any = None
        self._probe: Any = None
        self._sampler_obj: Any = None
        self._journal = self._read_journal()

    # ------------------------------------------------------------------ state on disk

    def _read_journal(self) -> list[dict[str, Any]]:
        """The trials an earlier run of this study asked (to check the replay); refuse another study's dir."""
        from ..sweepdir import read_json

        path = self.out / TUNING_FILE
        if not path.exists():
            return []
        data, problem = read_json(path)
        if problem or not isinstance(data, dict) or data.get("schema") != TUNING_SCHEMA:
            warnings.warn(f"{path} is unreadable ({problem or 'not a seedexp tuning file'}); it is rewritten, "
                          "the runs on disk are reused", SeedexpWarning, stacklevel=3)
            return []
        old, new = data.get("identity") or {}, self.s.identity()
        changed = [k for k in new if old.get(k) != new[k]]
        if changed:
            raise ConfigError(f"{self.out} holds a tuning study with another {changed[0]} "
                              f"({old.get(changed[0])!r}, now {new[changed[0]]!r}); give this study another "
                              "directory (out= / hydra.sweep.dir), or remove the old one")
        return list(data.get("trials") or [])

    def _plan(self, phase: str, params: Mapping[str, Any], seeds: Sequence[int]) -> None:
        from ..sweepdir import write_plan

        added = False
        for seed in seeds:
            entry = self.runner.plan(params, seed)
            key = (phase, entry["group"], entry["seed"])
            if key not in self._planned_keys:
                self._planned_keys.add(key)
                self.planned[phase].append(entry)
                added = True
        if added:
            where = self.out / phase
            where.mkdir(parents=True, exist_ok=True)
            write_plan(where, self.planned[phase])

    def write_state(self, stage: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``tuning.json``: the settings, every trial so far, and (at the end) the finalists."""
        s = self.s
        data = {
            "schema": TUNING_SCHEMA, "stage": stage, "identity": s.identity(),
            "metric": self.metrics[0] if self.metrics else None, "metrics": self.metrics,
            "directions": self._direction_names() if self.metrics else None,
            "statistic": s.statistic, "n_trials": s.n_trials, "finalists_asked": s.finalists,
            "seeds": s.seeds, "fresh_seeds": s.fresh_seeds, "out_dir": str(self.out),
            "trials": self.trials, **dict(extra or {}),
        }
        write_json_atomic(self.out / TUNING_FILE, data)
        return data

    # ------------------------------------------------------------------ metric and direction

    def _higher(self, metric: str) -> bool:
        from ..stats.options import higher_is_better_default

        return self.s.directions.get(metric, higher_is_better_default(metric))

    def _direction_names(self) -> list[str]:
        return ["maximize" if self._higher(m) else "minimize" for m in self.metrics or []]

    def _choose_metrics(self, records: Sequence[Mapping[str, Any] | None]) -> None:
        if self.metrics is not None:
            return
        names = sorted({m for r in records if r and r.get("status") == "ok" for m in (r.get("metrics") or {})})
        if not names:
            return
        primary = self.s.report.get("primary_metric")
        if primary:
            if primary not in names:
                raise ConfigError(f"report.primary_metric={primary!r} is not a metric of these runs; they report: "
                                  f"{', '.join(names)}")
            self.metrics = [primary]
        elif len(names) == 1:
            self.metrics = names
        else:
            raise ConfigError(f"the runs report several metrics ({', '.join(names)}); say which one to tune: "
                              f"metric={names[0]!r} (hydra.sweeper.metric) or report.primary_metric")

    def _check_metrics(self, records: Sequence[Mapping[str, Any] | None]) -> None:
        names = sorted({m for r in records if r and r.get("status") == "ok" for m in (r.get("metrics") or {})})
        if names and self.metrics:
            unknown = [m for m in self.metrics if m not in names]
            if unknown:
                raise ConfigError(f"metric {unknown[0]!r} is not a metric of these runs; they report: {', '.join(names)}")

    # ------------------------------------------------------------------ Optuna

    def _ask_study(self) -> Any:
        """The study trials are asked from: the real one once the metric (so the direction) is known."""
        optuna = import_optuna()
        if self.study is None and self.metrics is not None:
            self.study = optuna.create_study(directions=self._direction_names(), sampler=self._sampler())
            if self._probe is not None:  # trials asked before the metric was known
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # create_trial / add_trial are "experimental" in Optuna 2
                    for ft in self._probe.trials:
                        self.study.add_trial(optuna.trial.create_trial(
                            params=ft.params, distributions=ft.distributions, state=ft.state,
                            **({"values": ft.values} if ft.values is not None else {}),
                            intermediate_values=dict(ft.intermediate_values)))
                self._probe = None
        if self.study is not None:
            return self.study
        if self._probe is None:
            self._probe = optuna.create_study(direction="maximize", sampler=self._sampler())
        return self._probe

    def _sampler(self) -> Any:
        if self._sampler_obj is None:
            self._sampler_obj = self.make_sampler()  # one sampler for the probe and the study: one RNG path
        return self._sampler_obj

    # ------------------------------------------------------------------ one trial

    def _stats(self, values: Sequence[float], metric: str) -> dict[str, Any]:
        from ..stats.estimators import mean_interval

        x = np.asarray(values, dtype=float)
        conf = self.s.report.get("confidence", 0.95)
        low, high = mean_interval(x, conf) if len(x) >= 2 else (math.nan, math.nan)
        mean = float(x.mean()) if len(x) else math.nan
        bound = low if self._higher(metric) else high
        objective = mean if self.s.statistic == "mean" else bound
        clean = (lambda v: float(v) if v is not None and math.isfinite(v) else None)
        return {"mean": clean(mean), "ci_low": clean(low), "ci_high": clean(high), "objective": clean(objective)}

    def _incumbent(self) -> dict[str, Any] | None:
        best = None
        for t in self.trials:
            if t["state"] != "complete" or t["objective"] is None:
                continue
            if best is None or self._better(t["objective"], best["objective"], self.metrics[0]):
                best = t
        return best

    def _better(self, a: float, b: float, metric: str) -> bool:
        return a > b if self._higher(metric) else a < b

    def _clearly_worse(self, values: dict[int, float], incumbent: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stop decision against the incumbent, or None: the paired difference's confidence sequence
        (trial minus incumbent, signed so that > 0 is better) lies below 0."""
        from ..sequential import confidence_sequence

        metric = self.metrics[0]
        inc = {int(k): v for k, v in incumbent["values"][metric].items()}
        common = [s for s in self.s.seeds if s in values and s in inc]
        if len(common) < 2:
            return None
        sign = 1.0 if self._higher(metric) else -1.0
        d = sign * (np.array([values[s] for s in common]) - np.array([inc[s] for s in common]))
        low, high = confidence_sequence(d, confidence=self.s.adaptive.confidence)
        if not high[-1] < 0:
            return None
        bounds = sorted((sign * float(low[-1]), sign * float(high[-1])))  # trial - incumbent, in metric units
        return {"incumbent": incumbent["number"], "n_pairs": len(common), "mean_diff": sign * float(d.mean()),
                "cs_low": bounds[0] if math.isfinite(bounds[0]) else None,
                "cs_high": bounds[1] if math.isfinite(bounds[1]) else None,
                "confidence": self.s.adaptive.confidence}

    def _evaluate(self, number: int, params: dict[str, Any]) -> dict[str, Any]:
        """Run one configuration on the search seeds (a batch at a time when adaptive); its trial row."""
        seeds, ad = self.s.seeds, self.s.adaptive
        incumbent = self._incumbent() if ad is not None else None
        done: list[int] = []
        records: dict[int, Any] = {}
        stopped = None
        full = self.s.space.full(params)
        while len(done) < len(seeds):
            n = len(seeds) if ad is None else (ad.min_seeds if not done else ad.batch)
            batch = seeds[len(done):len(done) + n]
            self._plan("search", full, batch)
            for seed, rec in zip(batch, self.runner.run("search", [(full, s) for s in batch])):
                records[seed] = rec
            done.extend(batch)
            self._choose_metrics(list(records.values()))
            self._check_metrics(list(records.values()))
            if self.metrics is None or any(_value(records[s], m) is None for s in done for m in self.metrics):
                break
            if incumbent is not None and len(done) < len(seeds):
                stopped = self._clearly_worse({s: _value(records[s], self.metrics[0]) for s in done}, incumbent)
                if stopped is not None:
                    break
        group = self.runner.plan(full, seeds[0])["group"]
        row: dict[str, Any] = {"number": number, "params": params, "group": group, "seeds": done,
                               "n_seeds": len(done)}
        metrics = self.metrics or []
        bad = [(s, m) for s in done for m in (metrics or ["?"]) if _value(records[s], m) is None]
        if bad or not metrics:
            s, m = bad[0] if bad else (done[0], "metric")
            row.update(state="failed", error=f"seed {s}: {_why_failed(records[s], m)}", objective=None,
                       objectives=None, values=None, stats=None)
            return row
        row["values"] = {m: {str(s): _value(records[s], m) for s in done} for m in metrics}
        row["stats"] = {m: self._stats([_value(records[s], m) for s in done], m) for m in metrics}
        row["objectives"] = [row["stats"][m]["objective"] for m in metrics]
        row["objective"] = row["objectives"][0]
        if stopped is not None:
            # told to Optuna as pruned, at the mean it would have had: the incumbent's plus the paired difference
            inc = next(t for t in self.trials if t["number"] == stopped["incumbent"])
            row.update(state="stopped", stopped=stopped, estimate=inc["stats"][metrics[0]]["mean"] + stopped["mean_diff"])
        else:
            row["state"] = "complete"
        if any(o is None for o in row["objectives"]):
            row.update(state="failed", error=f"the {self.s.statistic} of {len(done)} seed(s) is undefined")
        return row

    def _tell(self, study: Any, trial: Any, row: dict[str, Any]) -> None:
        optuna = import_optuna()
        state = optuna.trial.TrialState
        if row["state"] == "complete":
            study.tell(trial, row["objectives"] if len(row["objectives"]) > 1 else row["objectives"][0])
        elif row["state"] == "stopped":
            trial.report(row["estimate"], row["n_seeds"])
            study.tell(trial, state=state.PRUNED)
        else:
            study.tell(trial, state=state.FAIL)

    # ------------------------------------------------------------------ the study

    def search(self) -> None:
        """Every trial, in order: ask, run (or find on disk), tell."""
        from ..supervise import progress_bar as tqdm  # no monitor thread: the runs' workers are forked

        bar = tqdm(total=self.s.n_trials, unit="trial", desc="tune", disable=not self.progress, leave=False)
        try:
            for number in range(self.s.n_trials):
                study = self._ask_study()
                trial = study.ask()
                params = self.s.space.suggest(trial)
                self._check_replay(number, params)
                row = self._evaluate(number, params)
                self._tell(study, trial, row)
                self.trials.append(row)
                self._ask_study()  # the metric may be known now: the real study takes over the probe's trials
                self.write_state("search")
                bar.update(1)
                log.info("trial %d: %s -> %s (%s)", number, params, row.get("objective"), row["state"])
        finally:
            bar.close()

    def _check_replay(self, number: int, params: Mapping[str, Any]) -> None:
        if number < len(self._journal):
            before = self._journal[number].get("params")
            if before is not None and before != _jsonable(params):
                warnings.warn(f"trial {number} asks {params} on replay, where the first run of this study asked "
                              f"{before} (another Optuna version?): the search goes on from here with new runs",
                              SeedexpWarning, stacklevel=4)
                self._journal = []

    # ------------------------------------------------------------------ finalists

    def finalists(self) -> list[dict[str, Any]]:
        """The top configurations of the search (distinct groups, complete trials), best first."""
        metric = self.metrics[0] if self.metrics else None
        done = [t for t in self.trials if t["state"] == "complete"]
        if metric is None or not done:
            return []
        if len(self.metrics) > 1:
            done = self._pareto(done)
        sign = 1.0 if self._higher(metric) else -1.0
        ranked = sorted(done, key=lambda t: (-sign * t["objective"], t["number"]))
        out, groups = [], set()
        for t in ranked:
            if t["group"] not in groups:
                groups.add(t["group"])
                out.append(t)
            if len(out) == self.s.finalists:
                break
        return out

    def _pareto(self, trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
        signs = [1.0 if self._higher(m) else -1.0 for m in self.metrics]

        def dominates(a: dict, b: dict) -> bool:
            va = [s * v for s, v in zip(signs, a["objectives"])]
            vb = [s * v for s, v in zip(signs, b["objectives"])]
            return all(x >= y for x, y in zip(va, vb)) and any(x > y for x, y in zip(va, vb))

        return [t for t in trials if not any(dominates(o, t) for o in trials if o is not t)]

    def recheck(self, finalists: list[dict[str, Any]]) -> dict[str, Any]:
        """Re-run the finalists on the fresh seeds; compare each with the search's winner (paired, Holm)."""
        from ..summary_files import write_summary

        if not finalists:
            return {"finalists": [], "comparisons": [], "verdict": "no trial completed: nothing to re-check",
                    "best": None, "fresh_summary": None}
        metric, fresh = self.metrics[0], self.s.fresh_seeds
        jobs = []
        for t in finalists:
            full = self.s.space.full(t["params"])
            self._plan("fresh", full, fresh)
            jobs.extend((full, s) for s in fresh)
        records = self.runner.run("fresh", jobs)
        winner = finalists[0]
        options = {**self.s.report, "primary_metric": metric,
                   "baseline": winner["group"] if len(finalists) > 1 else None}
        summary = write_summary(self.out / "fresh", png=self.png, **options)
        comparisons = {c["a"]: c for c in summary["comparisons"] if c["metric"] == metric and c["family"] == "primary"}
        conf = self.s.report.get("confidence", 0.95)
        rows = []
        per = len(fresh)
        for rank, t in enumerate(finalists):
            mine = records[rank * per:(rank + 1) * per]
            values = [_value(r, metric) for r in mine]
            ok = [v for v in values if v is not None]
            st = self._stats(ok, metric) if len(ok) == len(values) else {"mean": None, "ci_low": None,
                                                                            "ci_high": None, "objective": None}
            sign = 1.0 if self._higher(metric) else -1.0
            search_obj, fresh_obj = t["objective"], st["objective"]
            optimism = None if fresh_obj is None else sign * (search_obj - fresh_obj)
            row = {"rank": rank + 1, "number": t["number"], "group": t["group"], "params": t["params"],
                   "search_objective": search_obj, "search_mean": t["stats"][metric]["mean"],
                   "search_ci_low": t["stats"][metric]["ci_low"], "search_ci_high": t["stats"][metric]["ci_high"],
                   "fresh_objective": fresh_obj, "fresh_mean": st["mean"], "fresh_ci_low": st["ci_low"],
                   "fresh_ci_high": st["ci_high"], "fresh_n": len(ok), "optimism": optimism,
                   "fresh_values": {str(s): v for s, v in zip(fresh, values)}}
            c = comparisons.get(t["group"])
            if rank == 0:
                row.update(vs_winner="winner of the search")
            elif c is None:
                row.update(vs_winner="not compared (too few shared fresh seeds)")
            else:
                verdict = ("better than the winner" if c["better"] == t["group"] else
                           "worse than the winner" if c["better"] == winner["group"] else "not distinguishable")
                row.update(vs_winner=verdict, diff=c["mean_diff"], diff_ci_low=c["ci_low"], diff_ci_high=c["ci_high"],
                           pvalue=c["pvalue"], p_adjusted=c["p_adjusted"], test=c["test"])
            rows.append(row)
        better = [r for r in rows[1:] if r["vs_winner"] == "better than the winner"]
        sign = 1.0 if self._higher(metric) else -1.0
        if better:
            best_row = max(better, key=lambda r: sign * r["fresh_mean"])
            verdict = (f"finalist {best_row['rank']} (trial {best_row['number']}) beats the search's winner on "
                       f"{per} fresh seeds ({summary['options']['test']} test, {summary['options']['correction']} "
                       f"across {_plural(len(rows) - 1, 'comparison')}); it is the best configuration. Its fresh score was "
                       "picked after seeing the fresh seeds: re-check it on more seeds before quoting it")
        else:
            best_row = rows[0]
            n_cmp = len(rows) - 1
            verdict = (f"the search's winner (trial {rows[0]['number']}) holds on {per} fresh seeds: "
                       + (f"no other finalist is better ({summary['options']['test']} test, "
                          f"{summary['options']['correction']} across {_plural(n_cmp, 'comparison')} at "
                          f"{100 * conf:g}%)" if n_cmp else "it was the only finalist"))
        return {"finalists": rows, "verdict": verdict, "best": {"rank": best_row["rank"], "number": best_row["number"],
                                                                "params": best_row["params"],
                                                                "group": best_row["group"]},
                "fresh_summary": summary}

    def run(self) -> dict[str, Any]:
        """The search, then the finalists' re-check; returns what ``tuning.json`` holds.

        Each phase holds its sweep dir's lock while it writes there, so ``seedexp
        report <out>/search`` during the study says a sweep is running.
        """
        from ..summary_files import write_summary
        from ..sweepdir import sweep_lock

        with sweep_lock(self.out / "search"):
            self.search()
            finals = self.finalists()
            search_summary = None
            if self.metrics and any(t["state"] != "failed" for t in self.trials):
                several = len({t["group"] for t in self.trials}) > 1
                options = {**self.s.report, "primary_metric": self.metrics[0],
                           "baseline": finals[0]["group"] if finals and several else None}  # every trial vs the winner
                search_summary = write_summary(self.out / "search", png=self.png, **options)
        with sweep_lock(self.out / "fresh"):
            check = self.recheck(finals)
        extra = {"finalists": check["finalists"], "verdict": check["verdict"], "best": check["best"],
                 "optimism_mean": _mean([r["optimism"] for r in check["finalists"] if r["optimism"] is not None]),
                 "confidence": self.s.report.get("confidence", 0.95),
                 "test": (check["fresh_summary"] or {}).get("options", {}).get("test"),
                 "correction": (check["fresh_summary"] or {}).get("options", {}).get("correction")}
        data = self.write_state("done", extra)
        data["_summaries"] = {"search": search_summary, "fresh": check["fresh_summary"]}
        return data


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(dict(params)))
