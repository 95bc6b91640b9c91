"""Stands in for a heavy library (Lightning: seconds to import): notes each import in a file."""

import os

with open(os.environ["SEEDEXP_TEST_MARKER"], "a") as handle:
    handle.write(f"{os.getpid()} PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED')}\n")
