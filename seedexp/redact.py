"""Secrets stay out of everything seedexp writes or prints; the run itself gets the real values.

What is a secret
----------------
* The value of a config key NAMED like a secret (:func:`is_secret_key`), at any
  depth, and everything below such a key. A key is split into words (at ``_``,
  ``-``, ``.``, a change from lower to upper case, and before digits; trailing
  digits are dropped) and it names a secret when its LAST word is one of
  :data:`SECRET_WORDS` (``password``, ``passwd``, ``secret``, ``secrets``,
  ``token``, ``apikey``, ``accesskey``, ``privatekey``, ``secretkey``,
  ``credentials``) or its last two words are one of :data:`SECRET_PAIRS`
  (``api key``, ``access key``, ``private key``, ``secret key``), in any case:
  ``db.password``, ``apiKey``, ``AWS_SECRET_ACCESS_KEY``, ``hf_token``,
  ``client_secret`` are secrets. Whole words only, and the last one: ``tokenizer``,
  ``max_tokens``, ``token_file``, ``password_file``, ``secret_name`` are not (a file
  or a name that points to a secret is not the secret). ``token`` after a tokenizer's
  word (:data:`TOKEN_NOT_SECRET`: ``pad_token``, ``eos_token``, ``max_token``...) is
  not one either. Booleans and nulls are never masked (``use_token: true``).
* The user-info of a URL, ``scheme://USER:PASSWORD@host`` (all of it, the user name
  included: a token is often passed as the user name), in any value or text.
* A URL query parameter named like a secret (``?token=...``, ``&api_key=...``).

What is written instead
-----------------------
In structured files (``result.json``, ``sweep.json``, the summary files,
``multirun.yaml``, the ``.hydra/*.yaml`` of Hydra's per-job path, tuning files),
group names and run directory names: ``redacted-`` and 12 hex digits, the start of
HMAC-SHA256(key, value) under a LOCAL key (:func:`tag`). Two different secrets get
different tags, so two configurations that differ only in a secret keep their own
group and run dir, and the config hash (SHA-256 of the recorded, masked config,
:func:`seedexp.record.config_hash`) changes with the secret: resume never reuses a
record made with another secret. Because the tag is keyed, neither it nor the hash
lets someone who holds the files test password guesses offline (a plain hash of
the config would).

In free text (log lines, the console, error messages, warnings, ``traceback.txt``):
``***``. Besides the patterns above, the values this process learnt are secret
(:func:`remember`: from the run's config and overrides) are replaced wherever they
appear (those of 4 characters or more), e.g. in an exception's message.

The key
-------
``SEEDEXP_SECRET_KEY`` when set (any string; the same on every machine), else the
file ``$XDG_CONFIG_HOME/seedexp/secret.key`` (``~/.config/seedexp/secret.key``),
created with 32 random bytes and mode 0600 the first time a secret is masked. It
is never written into a sweep. The trade-off: on a machine with another key the
tags differ, so the runs of a configuration with a secret get another group and
run dir there and are run again (never wrongly reused); to resume such a sweep on
another machine, or to run it on cluster nodes without a shared home directory,
give them the same ``SEEDEXP_SECRET_KEY``.

Nothing here imports Hydra. Environment variables are never recorded by seedexp
(pass credentials there: ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``
/ ``MLFLOW_TRACKING_TOKEN``, ``WANDB_API_KEY``...).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets as _random
import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ConfigError

__all__ = [
    "SECRET_WORDS", "SECRET_PAIRS", "TOKEN_NOT_SECRET", "MASK", "KEY_ENV", "DEFAULT_SUBDIR", "is_secret_key", "tag",
    "redact_config", "redact_override", "redact_overrides", "redact_dirname", "redact_text", "redact_url",
    "remember", "check_subdir", "is_default_subdir", "key_file",
]

#: A key whose last word is one of these names a secret.
SECRET_WORDS = frozenset({"password", "passwd", "secret", "secrets", "token", "apikey", "accesskey", "privatekey",
                          "secretkey", "credentials"})
#: A key whose last two words are one of these names a secret.
SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key")})
#: Words before ``token`` that make it a tokenizer's token, not a credential (``pad_token``, ``max_token``).
TOKEN_NOT_SECRET = frozenset({"pad", "bos", "eos", "unk", "sep", "cls", "mask", "special", "start", "end", "stop",
                              "max", "min", "num", "n"})

#: What replaces a secret in free text.
MASK = "***"
_TAG_PREFIX = "redacted-"
_TAG = re.compile(r"redacted-[0-9a-f]{12}\Z")
#: The environment variable that holds the key (else a local key file).
KEY_ENV = "SEEDEXP_SECRET_KEY"
#: Values shorter than this are not searched for in free text (they would match everywhere).
MIN_KNOWN = 4

#: The run-dir resolver, and seedexp's default ``hydra.sweep.subdir`` (Hydra's override
#: dirname with every secret masked by its tag).
RESOLVER = "seedexp.run_dirname"
DEFAULT_SUBDIR = "${" + RESOLVER + ":${hydra.job.override_dirname}}"
_PLAIN_DIRNAME = "${hydra.job.override_dirname}"


# --------------------------------------------------------------------------- which keys


def _words(name: Any) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])([0-9])", r"\1 \2", text)
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    while words and words[-1].isdigit():
        words.pop()
    return words


@lru_cache(maxsize=4096)
def _is_secret_word(name: str) -> bool:
    words = _words(name)
    if not words:
        return False
    if words[-1] in SECRET_WORDS:
        return not (words[-1] == "token" and len(words) > 1 and words[-2] in TOKEN_NOT_SECRET)
    return len(words) > 1 and (words[-2], words[-1]) in SECRET_PAIRS


def is_secret_key(name: Any) -> bool:
    """Does the config key ``name`` name a secret? (its last word, or last two; see the module's rule)

    Examples
    --------
    >>> [is_secret_key(k) for k in ("password", "db_password", "apiKey", "AWS_SECRET_ACCESS_KEY", "hf_token")]
    [True, True, True, True, True]
    >>> [is_secret_key(k) for k in ("tokenizer", "max_tokens", "pad_token", "token_file", "secret_name")]
    [False, False, False, False, False]
    """
    return _is_secret_word(str(name))


@lru_cache(maxsize=4096)
def _secret_path(key: str) -> bool:
    """An override key (``+db.password``, ``~x``, ``group@pkg``): is a part of its dotted path a secret?

    A text with a ``/`` or a space before its ``=`` is not an override of a value (a path, a sentence).
    """
    path = key.strip().lstrip("+~").split("@", 1)[0]
    if not path or any(c in path for c in "/ \t"):
        return False
    return any(is_secret_key(part) for part in path.split("."))


def _plain(value: str) -> str:
    """An override's value as the run gets it: Hydra's quotes and backslash escapes removed (one tag for both)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


# --------------------------------------------------------------------------- the key and the tag

_KEYS: dict[tuple[str | None, str], bytes] = {}


def key_file() -> Path:
    """Where the local key is kept when ``SEEDEXP_SECRET_KEY`` is not set."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "seedexp" / "secret.key"


def _key() -> bytes:
    given = os.environ.get(KEY_ENV) or None
    path = key_file()
    cache = (given, str(path))
    if cache in _KEYS:
        return _KEYS[cache]
    if given is not None:
        key = given.encode("utf-8")
    else:
        try:
            key = _read_or_make(path)
        except OSError as exc:
            raise ConfigError(f"cannot keep seedexp's key for masking secrets in {str(path)!r} "
                              f"({exc.strerror or exc}); set {KEY_ENV} to a long random string (the same on every "
                              "machine that runs or resumes these runs)") from None
    _KEYS[cache] = key
    return key


def _read_or_make(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
        if len(key) >= 16:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(_random.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # atomic, and the first of two processes creating it at once wins
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


def tag(value: Any) -> str:
    """``redacted-`` + the first 12 hex digits of HMAC-SHA256(local key, ``str(value)``); a tag stays as it is.

    Examples
    --------
    >>> import os; os.environ["SEEDEXP_SECRET_KEY"] = "doctest key"
    >>> tag("hunter2")
    'redacted-04461f7642a0'
    >>> tag(tag("hunter2")) == tag("hunter2") != tag("hunter3")
    True
    """
    text = str(value)
    if _TAG.match(text):
        return text
    return _TAG_PREFIX + hmac.new(_key(), text.encode("utf-8"), "sha256").hexdigest()[:12]


def _masked(value: Any) -> bool:
    return isinstance(value, str) and (value == MASK or bool(_TAG.match(value)))


def _maskable(value: Any) -> bool:
    """Is there something to hide in a value under a secret key? (not in booleans, nulls, "" or masks)"""
    return not (value is None or isinstance(value, bool) or value == "" or _masked(value))


def _leaf(value: Any) -> Any:
    """A value under a secret key: its tag (booleans, nulls, empty strings and masks stay)."""
    return tag(value) if _maskable(value) else value


# --------------------------------------------------------------------------- URLs

#: A URL in text; ``\\:`` too, as Hydra escapes ``:`` in the override lines it writes back.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*\\?://[^\s'\"<>`]+")
_QUERY = re.compile(r"([?&;])([^=&#;]+)=([^&#;]*)")


def _url(url: str, mask: Any) -> str:
    scheme, _, rest = url.partition("://")
    end = len(rest)
    for c in "/?#":
        i = rest.find(c)
        if i >= 0:
            end = min(end, i)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        if userinfo and not _masked(userinfo):
            authority = f"{mask(_plain(userinfo))}@{host}"
    if "=" in tail:
        tail = _QUERY.sub(lambda m: f"{m[1]}{m[2]}={mask(m[3])}" if m[3] and is_secret_key(m[2])
                          and not _masked(m[3]) else m[0], tail)
    return f"{scheme}://{authority}{tail}"


def redact_url(text: str, *, tagged: bool = True) -> str:
    """``text`` with the user-info and secret query values of every URL in it masked.

    ``tagged``: by their :func:`tag` (files, names), else by ``***`` (free text).

    Examples
    --------
    >>> redact_url("http://user:s3cret@127.0.0.1:5000/x?token=abc&n=1", tagged=False)
    'http://***@127.0.0.1:5000/x?token=***&n=1'
    """
    if "://" not in text:
        return text
    mask = tag if tagged else (lambda _: MASK)
    return _URL.sub(lambda m: _url(m[0], mask), text)


# --------------------------------------------------------------------------- configs and overrides


def redact_override(line: str) -> str:
    """One override line with its secret masked by its tag (``+db.password=redacted-...``); URLs too.

    Examples
    --------
    >>> import os; os.environ["SEEDEXP_SECRET_KEY"] = "doctest key"
    >>> redact_override("+db.password=hunter2"), redact_override("model.max_tokens=512")
    ('+db.password=redacted-04461f7642a0', 'model.max_tokens=512')
    """
    line = str(line)
    key, sep, value = line.partition("=")
    if sep and _secret_path(key):
        return f"{key}={_leaf(_plain(value)) if value.strip() not in ('', 'null') and not _masked(value) else value}"
    return redact_url(line)


def redact_overrides(lines: Iterable[str]) -> list[str]:
    """:func:`redact_override` of each line."""
    return [redact_override(line) for line in lines]


def redact_config(config: Any, _secret: bool = False) -> Any:
    """A copy of a (JSON-like) config with every secret masked by its tag; the structure is kept.

    Values under a secret key (at any depth, and all below it), URL user-info in any
    string, and override lines held as strings (``hydra.overrides.task``).

    Examples
    --------
    >>> import os; os.environ["SEEDEXP_SECRET_KEY"] = "doctest key"
    >>> redact_config({"db": {"password": "hunter2", "host": "db"}, "tokenizer": "bpe", "use_token": True})
    {'db': {'password': 'redacted-04461f7642a0', 'host': 'db'}, 'tokenizer': 'bpe', 'use_token': True}
    """
    if isinstance(config, Mapping):
        return {k: redact_config(v, _secret or is_secret_key(k)) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [redact_config(v, _secret) for v in config]
    if _secret:
        return _leaf(config)
    if isinstance(config, str):
        return redact_override(config)
    return config


def redact_dirname(dirname: str, lines: Iterable[str], kv_sep: str = "=") -> str:
    """Hydra's ``override_dirname`` (``KEY=VALUE,...`` of ``lines``) with each secret masked by its tag."""
    for line in lines:
        masked = redact_override(str(line))
        if masked != line:
            dirname = dirname.replace(str(line).replace("=", kv_sep), masked.replace("=", kv_sep))
    return dirname


def check_subdir(subdir: Any, overrides: Iterable[str]) -> None:
    """Refuse a ``hydra.sweep.subdir`` that would put a secret of ``overrides`` into a directory name.

    Hydra's ``${hydra.job.override_dirname}`` holds each override as given;
    seedexp's default (:data:`DEFAULT_SUBDIR`) masks the secrets in it.
    """
    text = str(subdir or "").replace(DEFAULT_SUBDIR, "")
    if "override_dirname" not in text:
        return
    for line in overrides:
        if redact_override(str(line)) != str(line):
            key = str(line).partition("=")[0]
            raise ConfigError(f"hydra.sweep.subdir={subdir} would put the secret value of {key} into a directory "
                              f"name; use seedexp's default hydra.sweep.subdir={DEFAULT_SUBDIR} (it masks secrets), "
                              "or pass the secret in an environment variable")


def is_default_subdir(subdir: Any) -> bool:
    """Is ``subdir`` (unresolved) the override dirname, seedexp's default or Hydra's plain one?"""
    return subdir in (DEFAULT_SUBDIR, _PLAIN_DIRNAME)


# --------------------------------------------------------------------------- free text and logs

_KNOWN: set[str] = set()
_KNOWN_SORTED: list[str] = []
_HOOKED = False
_PAIR = re.compile(r"(?P<key>[A-Za-z_+~][\w.+~@-]*)(?P<sep>['\"]?[ \t]*[:=][ \t]*['\"]?)"
                   r"(?P<value>[^\s'\",;)\]}]+)")


def _pair(m: re.Match) -> str:
    value = m["value"]
    if _masked(value) or value in ("null", "None") or value.startswith("//") or not _secret_path(m["key"]):
        return m[0]
    return f"{m['key']}{m['sep']}{MASK}"


def redact_text(text: Any) -> str:
    """Free text (a log line, an error message, a traceback) with secrets replaced by ``***``.

    The values :func:`remember` learnt, URL user-info and secret query values, and
    ``KEY=VALUE`` / ``KEY: VALUE`` pairs whose key names a secret.

    Examples
    --------
    >>> redact_text("#0 : seed=0 +db.password=hunter2 tracking.uri=http://u:t0k3n@host:5000")
    '#0 : seed=0 +db.password=*** tracking.uri=http://***@host:5000'
    """
    text = str(text)
    for value in _KNOWN_SORTED:
        if value in text:
            text = text.replace(value, MASK)
    text = redact_url(text, tagged=False)
    if "=" in text or ":" in text:
        text = _PAIR.sub(_pair, text)
    return text


def _learn(value: Any) -> None:
    text = str(value)
    if len(text) >= MIN_KNOWN and not _masked(text) and text not in _KNOWN:
        _KNOWN.add(text)
        _KNOWN_SORTED[:] = sorted(_KNOWN, key=len, reverse=True)


def _learn_urls(text: str) -> bool:
    found = False
    for m in _URL.finditer(text):
        before = m[0]
        if _url(before, lambda secret: _learn(secret) or MASK) != before:
            found = True
            scheme, _, rest = before.partition("://")
            userinfo = rest.split("/", 1)[0].rpartition("@")[0]
            if ":" in userinfo:
                _learn(userinfo.split(":", 1)[1])  # the password alone (not the user name: too common a word)
    return found


def remember(config: Any = None, overrides: Iterable[str] = ()) -> bool:
    """Learn the secrets of a config and its overrides, for :func:`redact_text` in this process.

    Once a secret is known, every log record this process makes is redacted too
    (a log record factory, installed once: Hydra's launch lines, the job's log
    file). Returns whether any secret was found.
    """
    found = False

    def walk(obj: Any, secret: bool) -> None:
        nonlocal found
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, secret or is_secret_key(k))
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v, secret)
        elif secret and _maskable(obj):
            found = True
            _learn(obj)
        elif isinstance(obj, str) and "://" in obj:
            found = _learn_urls(obj) or found

    walk(config, False)
    for line in overrides:
        key, sep, value = str(line).partition("=")
        if sep and _secret_path(key) and value.strip() not in ("", "null") and not _masked(value):
            found = True
            _learn(value)
            _learn(value.strip("'\""))
        elif "://" in str(line):
            found = _learn_urls(str(line)) or found
    if found:
        _hook_logging()
    return found


def _hook_logging() -> None:
    """Every log record made from now on in this process is redacted (survives Hydra's logging configs)."""
    global _HOOKED
    if _HOOKED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format: logging reports it itself
            return record
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact_text(text)
        return record

    logging.setLogRecordFactory(factory)
    _HOOKED = True


# --------------------------------------------------------------------------- Hydra's saved configs (pure data)


def redact_saved(data: Any) -> Any:
    """:func:`redact_config`, and Hydra's ``hydra.job.override_dirname`` masked item by item (not as one value)."""
    clean = redact_config(data)
    hydra = data.get("hydra") if isinstance(data, Mapping) else None
    job, overrides = (hydra.get("job"), hydra.get("overrides")) if isinstance(hydra, Mapping) else (None, None)
    if isinstance(job, Mapping) and isinstance(job.get("override_dirname"), str) and isinstance(overrides, Mapping):
        config = job.get("config") if isinstance(job.get("config"), Mapping) else {}
        dirname = config.get("override_dirname") if isinstance(config.get("override_dirname"), Mapping) else {}
        clean["hydra"]["job"]["override_dirname"] = redact_dirname(
            job["override_dirname"], [str(x) for x in overrides.get("task") or []], str(dirname.get("kv_sep", "=")))
    return clean
