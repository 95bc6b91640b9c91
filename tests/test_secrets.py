"""Secrets stay out of records, logs and summaries (issue 32); the run itself gets the real values.

One user app sweep through each Hydra path (seedexp's fast path, Hydra's per-job path) and a
``seedexp report``, with a token in a tracking URI, in ``+db.password``, in ``+service.api_key``
and in environment variables: the token is in no file and no line they wrote. The rules
themselves (which keys, what replaces a value, the keyed tag) are tested in-process.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, TESTS, read_json
from mlflow_server import free_port
from seedexp import redact
from seedexp.errors import ConfigError
from seedexp.record import config_hash, run_config

APP = TESTS / "secrets_app" / "app.py"
TOKEN = "tK9-sEcReT-4e1f7c2a"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(redact.KEY_ENV, "the test's key")


@pytest.mark.fast
@pytest.mark.parametrize("name, secret", [
    ("password", True), ("db_password", True), ("Passwd", True), ("password2", True), ("client_secret", True),
    ("SECRET_KEY", True), ("token", True), ("hf_token", True), ("accessToken", True), ("api_key", True),
    ("apiKey", True), ("APIKey", True), ("apikey", True), ("AWS_SECRET_ACCESS_KEY", True), ("private-key", True),
    ("WANDB_API_KEY", True), ("MLFLOW_TRACKING_PASSWORD", True), ("credentials", True),
    # counts, tokenizers and pointers to a secret are not secrets
    ("tokenizer", False), ("max_tokens", False), ("num_tokens", False), ("pad_token", False),
    ("eos_token_id", False), ("token_file", False), ("password_file", False), ("secret_name", False),
    ("api_key_id", False), ("keyboard", False), ("monkey", False), ("passage", False),
])
def test_a_key_names_a_secret_by_its_last_whole_words(name, secret):
    assert redact.is_secret_key(name) is secret


@pytest.mark.fast
def test_configs_and_overrides_keep_their_shape_and_hide_only_secrets(key):
    config = {"db": {"password": "hunter22", "host": "db.local", "port": 5432},
              "service": {"api_key": 12345678, "secret": {"a": "x1y2z3w4", "b": [None, True, ""]}},
              "model": {"max_tokens": 512, "tokenizer": "bpe", "use_token": True},
              "data": "https://user:pw-in-url@example.org/x.csv?token=q-token-1&n=3",
              "hydra_task": ["+db.password=hunter22", "seed=0"]}
    out = redact.redact_config(config)
    t = redact.tag
    assert out == {"db": {"password": t("hunter22"), "host": "db.local", "port": 5432},
                   "service": {"api_key": t(12345678), "secret": {"a": t("x1y2z3w4"), "b": [None, True, ""]}},
                   "model": {"max_tokens": 512, "tokenizer": "bpe", "use_token": True},
                   "data": f"https://{t('user:pw-in-url')}@example.org/x.csv?token={t('q-token-1')}&n=3",
                   "hydra_task": [f"+db.password={t('hunter22')}", "seed=0"]}
    assert redact.redact_config(out) == out  # masking a mask changes nothing
    assert t("hunter22").startswith("redacted-") and len({t("hunter22"), t("hunter23"), t("hunter22 ")}) == 3
    # an override, quoted or escaped as Hydra writes it back, gets the tag of the value the run receives
    assert redact.redact_override("+db.password='hunter22'") == redact.redact_override("+db.password=hunter22")
    assert redact.redact_override(r"tracking.uri=http\://u\:pw-in-url@h\:1") == \
        f"tracking.uri=http\\://{t('u:pw-in-url')}@h\\:1"
    assert redact.redact_override("+db.password=null") == "+db.password=null"
    # the run dir's name: Hydra's override dirname, secrets masked item by item
    dirname = "+db.password=hunter22,model.lr=0.1,seed=3"
    assert redact.redact_dirname(dirname, ["seed=3", "model.lr=0.1", "+db.password=hunter22"]) == \
        f"+db.password={t('hunter22')},model.lr=0.1,seed=3"


@pytest.mark.fast
def test_the_config_hash_changes_with_a_secret_and_is_no_guessing_oracle(monkeypatch):
    from seedexp.hydra.task import spec_from_config

    def spec(password, key):
        monkeypatch.setenv(redact.KEY_ENV, key)
        config = {"seed": 0, "pin": {}, "db": {"password": password}, "model": {"lr": 0.1}}
        return spec_from_config(config, ["seed=0", f"+db.password={password}"], "m.f", {})[0]

    a, again, other = spec("hunter22", "key A"), spec("hunter22", "key A"), spec("hunter23", "key A")
    assert a.config_hash == again.config_hash and a.group == again.group  # resume finds the record again
    assert other.config_hash != a.config_hash and other.group != a.group  # another secret: another run and group
    assert "hunter22" not in repr((a.config, a.overrides, a.group, a.config_hash))
    assert a.config_hash == config_hash(run_config(a.config))  # the hash is that of the recorded (masked) config
    # someone holding the record but not the key cannot test a guess: the right guess under another key misses
    guess = spec("hunter22", "an attacker's key")
    assert guess.config_hash != a.config_hash and guess.config["db"]["password"] != a.config["db"]["password"]


@pytest.mark.fast
def test_the_local_key_is_made_once_private_and_a_place_that_cannot_hold_it_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(redact.KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    first = redact.tag("hunter22")
    path = tmp_path / "config" / "seedexp" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) == 64
    redact._KEYS.clear()  # another process: reads the same key
    assert redact.tag("hunter22") == first
    monkeypatch.setenv(redact.KEY_ENV, "set on every node")
    assert redact.tag("hunter22") != first
    monkeypatch.delenv(redact.KEY_ENV)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "file"))  # not a directory
    with pytest.raises(ConfigError, match=r"cannot keep seedexp's key .* set SEEDEXP_SECRET_KEY"):
        redact.tag("hunter22")


@pytest.mark.fast
def test_free_text_and_every_log_record_lose_the_secrets(key):
    line = "#0 : seed=0 +db.password=hunter22 tracking.uri=http\\://u\\:pw-x-9@127.0.0.1\\:5000"
    assert redact.redact_text(line) == "#0 : seed=0 +db.password=*** tracking.uri=http\\://***@127.0.0.1\\:5000"
    assert redact.redact_text("{'api_key': 'abc', 'max_tokens': 512}") == "{'api_key': '***', 'max_tokens': 512}"
    assert redact.remember({"service": {"token": "tok-from-config-77"}}, ["+x.password=pw-from-override-77"])
    assert not redact.remember({"model": {"max_tokens": 512}}, ["seed=1"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("seedexp.test_secrets")
    logger.addHandler(handler)
    try:
        logger.warning("connecting with %s and %s", "tok-from-config-77", "pw-from-override-77")
        try:
            raise RuntimeError("login failed for tok-from-config-77")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert "-77" not in stream.getvalue() and stream.getvalue().startswith("connecting with *** and ***")
    assert "RuntimeError: login failed for ***" in stream.getvalue()


@pytest.mark.fast
def test_the_default_run_dir_masks_secrets_and_a_plain_override_dirname_is_refused(key):
    from omegaconf import OmegaConf

    from seedexp.hydra.secrets import redacted_yaml, register_resolver

    register_resolver()
    cfg = OmegaConf.create({"hydra": {"job": {"override_dirname": "+db.password=hunter22,seed=1",
                                              "config": {"override_dirname": {"kv_sep": "="}}},
                                      "overrides": {"task": ["seed=1", "+db.password=hunter22"]},
                                      "sweep": {"subdir": redact.DEFAULT_SUBDIR}}})
    assert cfg.hydra.sweep.subdir == f"+db.password={redact.tag('hunter22')},seed=1"
    assert "hunter22" not in redacted_yaml(cfg)
    redact.check_subdir(redact.DEFAULT_SUBDIR, ["+db.password=hunter22"])
    redact.check_subdir("${hydra.job.override_dirname}", ["seed=1"])  # nothing to hide: the user's choice stands
    with pytest.raises(ConfigError, match=r"would put the secret value of \+db.password into a directory name"):
        redact.check_subdir("${hydra.job.override_dirname}", ["seed=0", "+db.password=hunter22"])


def _grep(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` (hidden ones, logs and binaries included) that holds ``needle``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found


def test_a_sweep_and_its_report_write_and_print_no_secret_while_the_runs_get_them(tmp_path):
    """The issue's "done when": a token in a tracking URI, +db.password, +service.api_key and env vars."""
    uri = f"http://user:{TOKEN}@127.0.0.1:{free_port()}"  # nothing listens there: a stopped server
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "home_config"),
           "SECRETS_APP_TOKEN": TOKEN, "MLFLOW_TRACKING_PASSWORD": TOKEN, "WANDB_API_KEY": TOKEN}
    env.pop("HYDRA_FULL_ERROR", None)
    env.pop(redact.KEY_ENV, None)
    args = ["-m", "seed=range(0,2)", f"+db.password={TOKEN}", f"+service.api_key={TOKEN}", f"tracking.uri={uri}"]

    def run(cmd, **more):
        proc = subprocess.run(cmd, cwd=tmp_path, env={**env, **more}, capture_output=True, text=True, timeout=600)
        return proc, proc.stdout + proc.stderr

    fast, fast_out = run([sys.executable, str(APP), *args, "tracking.backend=mlflow", "hydra.sweep.dir=fast"])
    full, full_out = run([sys.executable, str(APP), *args, "hydra.sweeper.fast=false", "hydra.sweep.dir=full"])
    report, report_out = run([sys.executable, "-m", "seedexp", "report", "fast", "--tracking", "mlflow"],
                             MLFLOW_TRACKING_URI=uri)
    assert fast.returncode == full.returncode == report.returncode == 0, (fast_out, full_out, report_out)
    # the token is nowhere: no file under the sweep dirs (records, plans, summaries, logs, multirun.yaml,
    # Hydra's .hydra/*.yaml), no directory name, and no line of the three commands
    assert _grep(tmp_path, TOKEN) == [] and not [p for p in tmp_path.rglob(f"*{TOKEN}*")]
    assert TOKEN not in fast_out + full_out + report_out
    # ... while each run received the real values (the app fails a run that did not: saw_real_values)
    records = {(p.parts[-3], read_json(p)["seed"]): read_json(p) for p in tmp_path.glob("*/*/result.json")}
    assert len(records) == 4 and all(r["status"] == "ok" and r["metrics"]["saw_real_values"] == 1 for r in
                                     records.values())
    tag = records[("fast", 0)]["config"]["db"]["password"]
    assert tag.startswith("redacted-") and records[("fast", 0)]["config"]["service"]["api_key"] == tag
    assert records[("fast", 0)]["config"]["model"] == {"max_tokens": 512, "tokenizer": "bpe"}  # not secrets
    assert records[("fast", 0)]["group"] == f"db.password={tag},service.api_key={tag}"  # Hydra's + dropped
    # both Hydra paths make the same records and run dirs (so resume and the summary find them)
    for seed in (0, 1):
        a, b = records[("fast", seed)], records[("full", seed)]
        assert (a["group"], a["config_hash"], a["overrides"][:3]) == (b["group"], b["config_hash"], b["overrides"][:3])
    assert sorted(p.parent.name for p in (tmp_path / "fast").glob("*/result.json")) == \
        sorted(p.parent.name for p in (tmp_path / "full").glob("*/result.json")) == \
        [f"+db.password={tag},+service.api_key={tag},seed={s}" for s in (0, 1)]
    assert any((tmp_path / "full").glob("*/.hydra/overrides.yaml"))  # Hydra's own files were written, masked
    # what was masked is still said: the tracker's warning, the careless log line of the app
    assert "the MLflow server at http://***@127.0.0.1" in fast_out and "http://***@127.0.0.1" in report_out
    assert any("connecting with ***" in p.read_text() for p in (tmp_path / "fast").glob("*seed=1/*.log"))


def keyed(seeds, api_key):
    """A notebook's experiment that needs a credential: it gets the real one (noted where the test reads it)."""
    with open(os.environ["SEEDEXP_TEST_CALLS"], "a") as calls:  # the run is in a worker process: a file, not a list
        calls.write(api_key + "\n")
    return {"value": float(seeds.generator("init").random())}


def test_the_python_api_masks_a_secret_param_and_a_changed_one_is_a_new_configuration(tmp_path, tmp_path_factory,
                                                                                        monkeypatch, key):
    import seedexp

    calls = tmp_path_factory.mktemp("calls") / "calls.txt"  # outside tmp_path, which must hold no secret
    monkeypatch.setenv("SEEDEXP_TEST_CALLS", str(calls))

    def called() -> list[str]:
        said = calls.read_text().split() if calls.exists() else []
        calls.unlink(missing_ok=True)
        return said

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = seedexp.sweep(keyed, seeds=2, params={"api_key": ["K1-api-secret"]}, out=tmp_path / "s",
                              progress=False, tracking={"backend": "mlflow", "uri":
                                                        f"http://u:K1-api-secret@127.0.0.1:{free_port()}"})
    assert called() == ["K1-api-secret"] * 2 and first.ok
    assert [str(w.message) for w in caught if "K1-api-secret" in str(w.message)] == []
    assert any("http://***@127.0.0.1" in str(w.message) for w in caught)
    second = seedexp.sweep(keyed, seeds=2, params={"api_key": ["K1-api-secret", "K2-api-secret"]},
                           out=tmp_path / "s", progress=False)
    assert called() == ["K2-api-secret"] * 2  # K1's runs resumed; K2's are new runs...
    groups = [g["group"] for g in second.groups]
    assert len(set(groups)) == 2 and groups[0] == first.groups[0]["group"]  # ... in a group of their own
    assert len(list((tmp_path / "s").glob("*/result.json"))) == 4
    assert _grep(tmp_path, "api-secret") == []
