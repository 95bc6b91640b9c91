"""What seedexp says to a person goes through logging: a library user sees nothing unless they ask."""

from __future__ import annotations

import logging
import os

import pytest

import seedexp
from seedexp import console

pytestmark = pytest.mark.fast


@pytest.fixture
def fresh_console():
    """The console logger as a library user's process has it (no handler of ours), restored afterwards."""
    log = logging.getLogger(console.LOGGER)
    saved = (list(log.handlers), log.level, log.propagate)
    log.handlers[:] = []
    log.setLevel(logging.NOTSET)
    log.propagate = True
    yield log
    log.handlers[:], log.level, log.propagate = saved


def test_a_library_user_sees_nothing_and_a_failed_run_is_in_its_record(fresh_console, capsys):
    def fails(seeds):
        raise RuntimeError("boom")

    record = seedexp.run(fails, seed=1)
    assert record["status"] == "failed" and record["error"]["message"] == "boom"
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_shown_lines_are_the_messages_info_on_stdout_the_rest_on_stderr(fresh_console, capsys):
    console.show()
    assert os.environ[console.ENV] == "1"  # worker processes show them too
    console.log.info("seedexp: seed=auto: a line")
    console.log.warning("seedexp: warning: careful")
    console.show()  # once is enough: no second handler
    console.log.error("seedexp: error: stop")
    out = capsys.readouterr()
    assert out.out == "seedexp: seed=auto: a line\n"
    assert out.err == "seedexp: warning: careful\nseedexp: error: stop\n"
