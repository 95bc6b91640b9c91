"""The command explains itself, catches common slips, and lets the user's own files win."""

from __future__ import annotations

import os
import stat
import textwrap

import pytest

from conftest import TEST_CONF, read_json, run_seedexp


def one_line_error(proc, code=2):
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_help_shows_seedexp_usage_first_then_hydra_groups(tmp_path):
    for args in (["--help"], ["help"], ["-h"]):
        proc = run_seedexp(args, tmp_path, check_rc=0, env={"PYTHONHASHSEED": "random"})  # would restart
        assert proc.stdout.startswith("usage: seedexp"), args
        assert proc.stdout.count("usage: seedexp [-m]") == 1, args  # once: help does not restart the process
        assert "seed=range(0,30)" in proc.stdout and "summary.md" in proc.stdout and "report" in proc.stdout
        assert "experiment: digits_curves, imbalanced_clf, keras_sequence, sklearn_datasets, torch_digits" in proc.stdout


def test_version(tmp_path):
    import seedexp

    assert run_seedexp(["--version"], tmp_path, check_rc=0).stdout.strip() == f"seedexp {seedexp.__version__}"


def test_verify_help_lists_overrides_and_unknown_options_are_rejected_before_running(tmp_path):
    proc = run_seedexp(["verify", "--help"], tmp_path, check_rc=0)
    assert "[OVERRIDE ...]" in proc.stdout and "``" not in proc.stdout
    line = one_line_error(run_seedexp(["verify", "--rnus", "3", "experiment=imbalanced_clf"], tmp_path))
    assert "unknown option '--rnus'" in line
    assert not list(tmp_path.iterdir())  # nothing ran


@pytest.mark.parametrize("args,expected", [
    (["seeds=3"], "did you mean 'seed'"),
    (["+seeds=3"], "'seeds' is not a seedexp setting (did you mean 'seed'?)"),
    (["seed=0,1,2"], "add -m (--multirun)"),
    (["seed=0..5"], "-m 'seed=range(0,6)'"),
    (["seed=-1"], "seed=-1 cannot be used as a seed"),
    (["seed=auto"], "seed=auto is an adaptive sweep"),
    (["determinism.strict=maybe"], "determinism.strict='maybe' is not a boolean"),
    (["determinism.threads=-3"], "determinism.threads=-3: expected a positive integer or null"),
    (["resume=perhaps"], "resume='perhaps' is not a boolean"),
    (["experiment=does_not_exist"], "unknown experiment 'does_not_exist'; available:"),
    (["+experiment.nope=1"], "unexpected keyword argument 'nope'"),
])
def test_common_slips_get_one_line_with_a_hint(tmp_path, args, expected):
    line = one_line_error(run_seedexp(args, tmp_path))
    assert expected in line, line
    assert not (tmp_path / "outputs").exists() or not list((tmp_path / "outputs").rglob("result.json"))


def test_string_booleans_parse_as_booleans(tmp_path):
    run_seedexp(["--config-dir", str(TEST_CONF), "experiment=init_only", "determinism.strict=false",
                 "resume=false", "hydra.run.dir=r"], tmp_path, check_rc=0,
                env={"STRICT": "false"})
    assert read_json(tmp_path / "r" / "result.json")["determinism"]["strict"] is False


def test_users_own_config_yaml_wins_under_config_dir(tmp_path):
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "mine.yaml").write_text("_target_: planted.init_only\n")
    (conf / "config.yaml").write_text("defaults:\n  - seedexp\n  - experiment: mine\n  - _self_\nseed: 42\n")
    run_seedexp(["--config-dir", str(conf), "hydra.run.dir=r"], tmp_path, check_rc=0)
    rec = read_json(tmp_path / "r" / "result.json")
    assert rec["seed"] == 42 and rec["experiment"] == "planted.init_only"


def test_user_config_without_seedexp_settings_is_one_line(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text("experiment:\n  _target_: planted.init_only\n")
    line = one_line_error(run_seedexp(["--config-dir", str(conf), "hydra.run.dir=r"], tmp_path))
    assert "defaults: [seedexp, _self_]" in line


def test_yaml_syntax_error_names_the_line(tmp_path):
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "bad.yaml").write_text("_target_: planted.init_only\nnoise: [1, 2\n")
    line = one_line_error(run_seedexp(["--config-dir", str(conf), "experiment=bad"], tmp_path))
    assert "line" in line


def test_missing_extra_names_the_pip_command(tmp_path):
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])}
    line = one_line_error(run_seedexp(["experiment=torch_digits"], tmp_path, env=env))
    assert "pip install 'seedexp[torch]'" in line


def test_target_module_in_cwd_imports_the_same_with_or_without_reexec(tmp_path):
    (tmp_path / "my_local_exp.py").write_text("def run(seeds):\n    return {'x': 1.0}\n")
    conf = tmp_path / "conf" / "experiment"
    conf.mkdir(parents=True)
    (conf / "local.yaml").write_text("_target_: my_local_exp.run\n")
    outcomes = set()
    for hash_seed in ("0", "123"):
        proc = run_seedexp(["--config-dir", str(tmp_path / "conf"), "experiment=local", f"hydra.run.dir=r{hash_seed}"],
                           tmp_path, env={"PYTHONHASHSEED": hash_seed})
        outcomes.add(proc.returncode)
    assert len(outcomes) == 1


def test_records_honour_the_umask_and_code_changes_rerun(tmp_path):
    mod = tmp_path / "codechange_exp.py"
    mod.write_text("def run(seeds):\n    return {'v': 1.0}\n")
    conf = tmp_path / "conf" / "experiment"
    conf.mkdir(parents=True)
    (conf / "cc.yaml").write_text("_target_: codechange_exp.run\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    args = ["--config-dir", str(tmp_path / "conf"), "-m", "experiment=cc", "seed=range(0,2)", "hydra.sweep.dir=sw"]
    old = os.umask(0o022)
    try:
        run_seedexp(args, tmp_path, env=env, check_rc=0)
    finally:
        os.umask(old)
    for name in ("result.json",):
        for path in (tmp_path / "sw").rglob(name):
            assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "sw" / "summary.json").stat().st_mode) == 0o644
    mod.write_text("def run(seeds):\n    return {'v': 2.0}\n")
    run_seedexp(args, tmp_path, env=env, check_rc=0)
    values = {read_json(p)["metrics"]["v"] for p in (tmp_path / "sw").rglob("result.json")}
    assert values == {2.0}  # never the stale 1.0 of the old code
