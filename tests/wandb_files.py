"""Read W&B's offline run files back (``wandb/offline-run-*/run-<id>.wandb``) for the tests.

The file is W&B's transaction log: a 7-byte header (``:W&B``, a 2-byte magic, a
version byte), then LevelDB-style 32 KiB blocks of chunks (CRC32, 2-byte length,
1-byte type: full, first, middle, last), each record a ``wandb_internal_pb2.Record``
protobuf. wandb 0.31 reads it in Go only, so the tests read it here.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Iterator

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> Iterator[Any]:
    """Every Record in a .wandb file, in order."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", path
    pos, pending = HEADER, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # the rest of a block is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0
            continue
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def _value(item: Any) -> Any:
    return json.loads(item.value_json)


def _key(item: Any) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


def read_run(run_dir: Path) -> dict[str, Any]:
    """One offline run: its id, name, group, job type, config, summary and history rows."""
    (path,) = Path(run_dir).glob("run-*.wandb")
    out: dict[str, Any] = {"config": {}, "summary": {}, "history": []}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            out.update(id=run.run_id, name=run.display_name, group=run.run_group, job_type=run.job_type,
                       project=run.project)
            for item in run.config.update:
                out["config"][_key(item)] = _value(item)
            for item in run.summary.update:
                out["summary"][_key(item)] = _value(item)
        elif kind == "config":
            for item in record.config.update:
                out["config"][_key(item)] = _value(item)
        elif kind == "summary":
            for item in record.summary.update:
                out["summary"][_key(item)] = _value(item)
            for item in record.summary.remove:
                out["summary"].pop(_key(item), None)
        elif kind == "history":
            out["history"].append({_key(item): _value(item) for item in record.history.item})
    return out


def read_all(wandb_dir: Path) -> list[dict[str, Any]]:
    """Every offline run under a W&B dir (``<dir>/wandb/offline-run-*``), oldest first.

    ``run.finish()`` returns before W&B's service process has written every record of
    the run's file (seen under load: a file with its header only), so the service is
    shut down first: that flushes every file.
    """
    import wandb

    wandb.teardown()
    return [read_run(d) | {"dir": d} for d in sorted(Path(wandb_dir).glob("wandb/offline-run-*"))]
