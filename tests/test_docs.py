"""The documentation site: every code block is run or checked, the generated pages are current, it builds strictly.

What happens to a block (``tests/docs_pages.py`` finds them, with their markers):

* ``python``: run in a fresh interpreter in an empty directory (``test_python_blocks_run``);
* ``console`` (the commands after ``$``) and ``bash``: each command checked against the command
  line: ``seedexp`` overrides composed with Hydra (a key or a config group that does not exist, or
  an override Hydra cannot parse, fails), subcommand flags looked up in their ``--help``, scripts
  and their flags, pip extras, pytest markers;
* ``yaml``: parsed, and every ``report``/``stop``/``tracking``/``determinism``/``pin`` key looked up
  in ``seedexp/conf/seedexp.yaml``;
* marked ``tested by tests/x.py::test_y``: that test reads the block (it calls ``claimed``) and runs or
  compares it; marked ``illustrative: WHY``: shown as it is (at most ``MAX_ILLUSTRATIVE``, each with a
  reason); blocks of the pages ``scripts/gen_reference.py`` writes are checked by regenerating them.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, TESTS
from docs_pages import all_blocks, claimed

sys.path.insert(0, str(ROOT / "scripts"))
import gen_reference  # noqa: E402  (scripts/: the generator of the reference pages)

#: Blocks shown without a check. Each needs a reason; keep the list short.
MAX_ILLUSTRATIVE = 8
#: The page of measurements: a bare block right after a bash block is that command's output as measured
#: (timings and Monte Carlo figures of one run of a benchmark script), shown as it was.
MEASURED = "BENCHMARKS.md"
GENERATED = {f"docs/reference/{name}" for name in gen_reference.PAGES}
LANGS = {"python", "console", "bash", "yaml", "text", "markdown", ""}
#: Programs a bash block may name besides seedexp, python and pip: plumbing around the commands checked.
SHELL = {"export", "ray", "for", "do", "done", "grep", "cd", "mkdir", "tmux", "squeue", "sacct", "wandb", "mlflow"}
#: Top-level keys of seedexp.yaml whose sub-keys a YAML block must spell as seedexp does.
CHECKED_SECTIONS = ("report", "stop", "tracking", "determinism")
SUBCOMMANDS = ("report", "compare", "plan", "verify", "variance")


def _blocks():
    return all_blocks()


def _id(block) -> str:
    return block.where


# --------------------------------------------------------------------------- markers


@pytest.mark.fast
def test_every_block_is_run_checked_or_marked():
    problems, illustrative, previous = [], [], None
    for b in _blocks():
        measured = b.page == MEASURED and previous is not None and previous.page == b.page and previous.lang == "bash"
        previous = b
        if measured and b.lang == "" and not b.marker:  # a benchmark script's output, as measured: not repeatable
            continue
        if b.lang not in LANGS:
            problems.append(f"{b.where}: ```{b.lang}: a language the docs test does not check")
        if b.page in GENERATED:
            continue
        marker = b.marker or ""
        if marker.startswith("illustrative"):
            reason = marker.partition(":")[2].strip()
            if not reason:
                problems.append(f"{b.where}: an illustrative block needs a reason: <!-- docs: illustrative: WHY -->")
            illustrative.append(b.where)
        elif marker.startswith("tested by "):
            problems += _claim_problems(b)
        elif marker:
            problems.append(f"{b.where}: unknown marker {marker!r} (tested by tests/x.py::test_y, or illustrative: WHY)")
        elif b.lang in ("text", "markdown", ""):
            problems.append(f"{b.where}: a ```{b.lang} block is output: mark it tested by a test that compares it, "
                            "or illustrative: WHY")
    assert problems == []
    assert len(illustrative) <= MAX_ILLUSTRATIVE, illustrative


def _claim_problems(b) -> list[str]:
    found = re.fullmatch(r"tested by (tests/\w+\.py)::(\w+)", b.marker)
    if not found:
        return [f"{b.where}: write the claim as: tested by tests/test_x.py::test_name"]
    path, name = ROOT / found.group(1), found.group(2)
    if not path.is_file():
        return [f"{b.where}: {found.group(1)} does not exist"]
    tree = ast.parse(path.read_text())
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if func is None:
        return [f"{b.where}: {found.group(1)} has no test {name}"]
    if "claimed(" not in ast.get_source_segment(path.read_text(), func):
        return [f"{b.where}: {found.group(1)}::{name} does not read its block (claimed({name!r}))"]
    return []


# --------------------------------------------------------------------------- python


def _python_blocks():
    return [b for b in _blocks() if b.lang == "python" and not b.marker and b.page not in GENERATED]


@pytest.mark.parametrize("block", _python_blocks(), ids=_id)
def test_python_blocks_run(block, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "HYDRA_FULL_ERROR")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", block.code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, f"{block.where}\n{proc.stderr[-3000:]}"


# --------------------------------------------------------------------------- yaml


def _seedexp_keys() -> dict:
    return yaml.safe_load((ROOT / "seedexp" / "conf" / "seedexp.yaml").read_text())


@pytest.mark.fast
def test_yaml_blocks_parse_and_spell_seedexps_keys():
    known, problems = _seedexp_keys(), []
    for b in _blocks():
        if b.lang != "yaml" or b.marker:
            continue
        try:
            data = yaml.safe_load(b.code)
        except yaml.YAMLError as exc:
            problems.append(f"{b.where}: {exc}".splitlines()[0])
            continue
        for section in CHECKED_SECTIONS:
            given = (data or {}).get(section) if isinstance(data, dict) else None
            if isinstance(given, dict):
                problems += [f"{b.where}: {section}.{k} is not a seedexp key" for k in given if k not in known[section]]
    assert problems == []


# --------------------------------------------------------------------------- commands


def commands(block) -> list[str]:
    """The commands of a console block (after ``$``) or a bash block (every line), continuations joined."""
    lines, out, heredoc = block.code.splitlines(), [], None
    pending = ""
    for line in lines:
        if heredoc is not None:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        if block.lang == "console" and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        text = pending + line
        if text.rstrip().endswith("\\"):
            pending = text.rstrip()[:-1] + " "
            continue
        pending = ""
        found = re.search(r"<<-?\s*'?(\w+)'?", text)
        if found:
            heredoc = found.group(1)
        if text.strip() and not text.strip().startswith("#"):
            out.append(text.strip())
    return out


def _simple(command: str) -> list[list[str]]:
    """``a && b; c`` -> [[a...], [b...], [c...]], shell variables replaced by a placeholder."""
    command = re.sub(r"\$\{?\w+\}?", "VAR", command)
    tokens = shlex.split(command, comments=True)
    out, current = [], []
    for t in tokens:
        if t in ("&&", "||", ";", "|"):
            out.append(current)
            current = []
        elif t.endswith(";") and len(t) > 1:
            current.append(t[:-1])
            out.append(current)
            current = []
        else:
            current.append(t)
    return [c for c in out + [current] if c]


@lru_cache(maxsize=None)
def _help(sub: str) -> str:
    return gen_reference._help([sub, "--help"])


@lru_cache(maxsize=None)
def _extras() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def check_command(command: str) -> list[str]:
    """What is wrong with ``command`` (empty when it is one the project's command line accepts)."""
    problems = []
    for words in _simple(command):
        while words and re.match(r"^\w+=", words[0]):  # VAR=value before a command
            words = words[1:]
        if words[:1] == ["sudo"]:
            words = words[1:]
        if words[:1] == ["/usr/bin/time"]:
            words = words[3:] if words[1:2] == ["-f"] else words[1:]
        if not words:
            continue
        program, args = Path(words[0]).name, words[1:]
        if program == "seedexp":
            problems += check_seedexp(args)
        elif program in ("python", "python3"):
            problems += _check_python(args)
        elif program == "pip":
            problems += _check_pip(args)
        elif program not in SHELL:
            problems.append(f"{words[0]!r}: not a command the docs test knows how to check")
    return [f"`{command}`: {p}" for p in problems]


def _check_python(args: list[str]) -> list[str]:
    if args[:2] == ["-m", "seedexp"]:
        return check_seedexp(args[2:])
    if args[:2] == ["-m", "venv"] or args[:1] == ["-"]:
        return []
    if args[:2] == ["-m", "pip"]:
        return _check_pip(args[2:])
    if args[:2] == ["-m", "pytest"]:
        import tomllib

        markers = {m.split(":")[0] for m in tomllib.loads((ROOT / "pyproject.toml").read_text())
                   ["tool"]["pytest"]["ini_options"]["markers"]}
        out = [f"no file {a}" for a in args[2:] if a.endswith(".py") and not (ROOT / a).is_file()]
        out += [f"marker {args[i + 1]!r} is not registered" for i, a in enumerate(args[:-1])
                if a == "-m" and i > 1 and args[i + 1] not in markers]
        return out
    if args and args[0].endswith(".py"):
        script = ROOT / args[0]
        if not script.is_file():
            return [f"{args[0]} is not a file of this repository (a user's script: mark the block tested by a test)"]
        text = script.read_text()
        return [f"{args[0]} has no option {a.split('=')[0]}" for a in args[1:]
                if a.startswith("--") and f'"{a.split("=")[0]}"' not in text]
    return [f"python {' '.join(args[:2])}: not a command the docs test knows how to check"]


def _check_pip(args: list[str]) -> list[str]:
    if args[:1] != ["install"]:
        return [f"pip {' '.join(args[:1])}: only pip install is checked"]
    out = []
    for i, a in enumerate(args):
        if args[i - 1] == "-c" and not (ROOT / a).is_file():
            out.append(f"no constraints file {a}")
        for extra in re.findall(r"\[([\w,-]+)\]", a):
            out += [f"no extra [{e}] in pyproject.toml" for e in extra.split(",") if e not in _extras()]
    return out


#: Options of seedexp verify / variance that take a value (the rest are Hydra's options and overrides).
_OWN_VALUES = ("--runs", "--seeds", "--base-seed", "--confidence", "--streams", "--out")
#: Hydra's options that take a value, and what this check calls them.
_HYDRA_OPTIONS = {"--config-dir": "dir", "-cd": "dir", "--config-name": "name", "-cn": "name", "--cfg": "cfg",
                  "-c": "cfg"}


def check_seedexp(args: list[str]) -> list[str]:
    if not args or args[0] in ("--version", "-V", "--help", "-h", "help"):
        return []
    if args[0] not in SUBCOMMANDS:
        return _check_overrides(*_hydra_args(args))
    text, rest, out = _help(args[0]), [], []
    words = iter(args[1:])
    for a in words:
        flag = a.split("=")[0]
        if flag in _HYDRA_OPTIONS or not a.startswith("-"):
            rest.append(a)
        elif flag not in text:
            out.append(f"seedexp {args[0]} has no option {flag}")
        elif flag in _OWN_VALUES and "=" not in a:
            next(words, None)
    if args[0] in ("verify", "variance"):  # the rest is the configuration to run
        out += _check_overrides(*_hydra_args(rest))
    return out


def _hydra_args(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Hydra's options (config dir and name) and the overrides of a ``seedexp`` command line."""
    opts, rest = {}, []
    words = iter(args)
    for a in words:
        key, eq, value = a.partition("=")
        if a in _HYDRA_OPTIONS:
            opts[_HYDRA_OPTIONS[a]] = next(words, "")
        elif eq and key in _HYDRA_OPTIONS:
            opts[_HYDRA_OPTIONS[key]] = value
        elif a not in ("-m", "--multirun"):
            rest.append(a)
    return opts, rest


def _check_overrides(opts: dict[str, str], overrides: list[str]) -> list[str]:
    """Compose seedexp's config (or the user's) with the overrides, as the command would."""
    from hydra import compose, initialize_config_dir, initialize_config_module
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    bad = [o for o in overrides if o.startswith("-")]
    if bad:
        return [f"unknown option {bad[0]}"]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        return [f"Hydra cannot parse the overrides: {str(exc).splitlines()[0]}"]
    plain, keys_only = [], []
    for o in parsed:
        if o.is_sweep_override():
            try:
                first = next(iter(o.sweep_string_iterator()))
            except HydraException:  # interval(...): a search dimension, no first value; the key must exist
                keys_only.append(o.key_or_group)
                continue
            plain.append(f"{o.get_key_element()}={first}")
        else:
            plain.append(o.input_line)
    config_dir = opts.get("dir")
    name = opts.get("name") or ("config" if config_dir and (ROOT / config_dir / "config.yaml").is_file() else "seedexp_cli")
    if config_dir and not (ROOT / config_dir).is_dir():
        return [f"--config-dir {config_dir} is not a directory of this repository"]
    init = (initialize_config_dir(config_dir=str(ROOT / config_dir), version_base=None) if config_dir
            else initialize_config_module("seedexp.conf", version_base=None))
    try:
        with init:
            cfg = compose(config_name=name, overrides=plain, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as exc:
        return [f"Hydra refuses it: {str(exc).splitlines()[0]}"]
    return [f"{k} is not a key of the composed config" for k in keys_only
            if OmegaConf.select(cfg, k, default="__missing__") == "__missing__"]


def _command_blocks():
    return [b for b in _blocks() if b.lang in ("console", "bash") and not b.marker and b.page not in GENERATED]


def test_console_and_bash_commands_are_ones_the_command_line_accepts():
    problems, checked = [], 0
    for b in _command_blocks():
        for command in commands(b):
            checked += 1
            problems += [f"{b.where}: {p}" for p in check_command(command)]
    assert checked >= 40 and problems == []


@pytest.mark.fast
@pytest.mark.parametrize("command, wrong", [
    ("seedexp -m experiment=imbalanced_clf 'seed=range(0,3)' experiment.modle=rf,lr", "experiment.modle"),
    ("seedexp experiment=no_such_experiment", "no_such_experiment"),
    ("seedexp -m hydra/launcher=nope 'seed=range(0,3)'", "nope"),
    ("seedexp report multirun/x --metrc acc", "--metrc"),
    ("seedexp -m seed=range(0,3", "cannot parse"),
    (".venv/bin/python scripts/bench_coverage.py --no-such-flag", "--no-such-flag"),
    ("pip install -e '.[torch,cuda]'", "[cuda]"),
    ("rm -rf /", "'rm'"),
])
def test_the_command_check_catches_what_users_would_hit(command, wrong):
    problems = check_command(command)
    assert len(problems) == 1 and wrong in problems[0], problems


# --------------------------------------------------------------------------- the errors page


@pytest.mark.integration
def test_the_errors_page_shows_what_the_command_prints(tmp_path):
    from conftest import run_seedexp

    (block,) = claimed("test_the_errors_page_shows_what_the_command_prints")
    shown = re.split(r"^\$ ", block.code, flags=re.M)[1:]
    assert len(shown) == 2
    for part in shown:
        command, _, expected = part.partition("\n")
        proc = run_seedexp(shlex.split(command)[1:], tmp_path, env={"PYTHONHASHSEED": "0"})
        assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
        pattern = ".*".join(re.escape(piece) for piece in expected.strip().split("..."))
        assert re.fullmatch(pattern, proc.stderr.strip()), (expected, proc.stderr)
    assert not list(tmp_path.rglob("result.json"))  # no run was recorded


@pytest.mark.integration
def test_one_run_prints_what_the_pages_show(tmp_path):
    """The one-run example (README and getting started): its command, and the metrics it prints, bit for bit."""
    from conftest import run_seedexp

    claims = claimed("test_one_run_prints_what_the_pages_show")
    assert len({b.code for b in claims}) == 1 and len(claims) >= 2  # the same on every page
    command, metrics, record = claims[0].code.strip().splitlines()
    proc = run_seedexp(shlex.split(command[2:], comments=True)[1:], tmp_path, env={"PYTHONHASHSEED": "0"}, check_rc=0)
    printed = proc.stdout.strip().splitlines()
    assert metrics in printed
    assert record.startswith("record: ") and any(re.fullmatch(r"record: .*outputs/[\d-]+/[\d-]+/result\.json", ln)
                                                 for ln in printed), printed


# --------------------------------------------------------------------------- generated pages, schema, links


@pytest.mark.fast
def test_the_generated_reference_pages_are_current():
    assert gen_reference.stale() == [], "run: .venv/bin/python scripts/gen_reference.py"
    config = (ROOT / "docs" / "reference" / "config.md").read_text()
    shipped = yaml.safe_load((ROOT / "seedexp" / "conf" / "seedexp.yaml").read_text())
    for section in ("report", "stop", "tracking", "determinism", "pin"):
        for key in shipped[section]:
            assert f"| `{section}.{key}` |" in config, f"{section}.{key}"
    cli = (ROOT / "docs" / "reference" / "cli.md").read_text()
    assert all(f"## `seedexp {sub}`" in cli for sub in SUBCOMMANDS)


@pytest.mark.fast
def test_the_summary_page_names_every_key_a_summary_has():
    import json

    from seedexp.stats.estimators import STAT_NAMES

    page = (ROOT / "docs" / "reference" / "summary.md").read_text()
    data = json.loads((TESTS / "data" / "golden" / "declared" / "summary.json").read_text())
    keys = {*data, "versions", *data["groups"][0], *STAT_NAMES, *data["comparisons"][0], *data["planning"][0],
            *data["survivorship"][0], *data["not_ok"][0], *data["runs"][0], *data["stopping"],
            *data["stopping"]["groups"][0], *data["stopping"]["comparisons"][0], *data["bootstrap"],
            *data["methods"]}
    assert sorted(k for k in keys if f"`{k}`" not in page) == []


@pytest.mark.fast
def test_the_readmes_links_lead_somewhere():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()] == []


def test_mkdocs_build_strict(tmp_path):
    """The site builds with no warning (broken links and anchors, pages left out of the nav, bad docstrings)."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-4000:]
    page = (tmp_path / "site" / "reference" / "api" / "index.html").read_text()
    assert 'id="seedexp.api.sweep"' in page and 'id="seedexp.seeds.SeedPlan"' in page  # from the docstrings
    assert (tmp_path / "site" / "images" / "summary_html.png").is_file()
