#!/usr/bin/env python3
"""A multi-node Ray cluster on one machine, to try seedexp's ``ray_cluster`` preset.

::

    python scripts/ray_cluster.py start /tmp/rc --workers 1     # prints the address, 127.0.0.2:PORT
    seedexp -m experiment=imbalanced_clf 'seed=range(0,4)' hydra/launcher=ray_cluster \\
        hydra.launcher.ray.init.address=127.0.0.2:PORT hydra.sweep.dir=$PWD/multirun/ray4
    python scripts/ray_cluster.py kill /tmp/rc w1                # lose a node (SIGKILL)
    python scripts/ray_cluster.py add /tmp/rc w1                 # and start it again
    python scripts/ray_cluster.py stop /tmp/rc

Run it with the Python that has Ray (the project's venv). ``start DIR`` starts a head
(``ray start --head``) and ``--workers`` more nodes (``ray start --address``), each a
separate process tree in its own session, with its own CPUs (``--cpus``, default 1),
its own temp dir (``DIR/head``, ``DIR/w1``, ...), its own ports and its own loopback
address (head 127.0.0.2, w1 127.0.0.3, ...: see :func:`node_ip`); no dashboard, no usage
stats, ``RAY_AUTH_MODE=disabled`` unless set. It waits until every node is alive and
writes ``DIR/cluster.json``: the address (``address``; ``client_address`` for Ray
Client, ``ray://...``) and, per node, its name, address, Ray node id and session id.
A node's workers inherit the environment of this command (``PYTHONPATH`` included) and
its working directory, as on a real cluster. (Some of Ray's servers listen on every
interface whatever the node's address; Ray has no switch for that.)

``stop DIR`` stops exactly the processes of this cluster: each node's session, found by
the session ids in ``DIR/cluster.json`` (``ray stop`` would stop every Ray process on
the machine, other users' included). ``kill DIR NODE`` kills one node's processes at
once, as when a machine is lost. ``add DIR NODE`` starts a worker node (again).

``DIR`` must be short (Ray's socket paths under it must fit in 107 bytes): /tmp/xyz.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from clusterlib import free_ports

#: Longest DIR: Ray's AF_UNIX sockets live in DIR/NODE/session_<date>_<pid>/sockets/<name>.
MAX_DIR_CHARS = 40
STATE = "cluster.json"
HEAD = "head"


class ClusterError(RuntimeError):
    """The cluster cannot be started or stopped; the message is one line."""


def _log(message: str) -> None:
    print(f"ray_cluster: {message}", file=sys.stderr, flush=True)


def _ray_command() -> str:
    found = shutil.which("ray", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        raise ClusterError(f"no `ray` next to {sys.executable} nor on PATH; pip install 'ray[default]'")
    return found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RAY_AUTH_MODE", "disabled")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env.pop("RAY_ADDRESS", None)  # the worker nodes get --address
    return env


def node_ip(index: int) -> str:
    """The loopback address of node ``index`` (0: the head): 127.0.0.2, 127.0.0.3, ...

    Not 127.0.0.1: Ray turns "127.0.0.1" and "localhost" into the host's outward
    address when a node starts or joins (``resolve_ip_for_localhost``), and a node
    could not join a head it no longer finds there. Every 127.x address is loopback.
    """
    return f"127.0.0.{index + 2}"


def _session_members(sid: int) -> list[int]:
    """Pids of the live processes in session ``sid`` (from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state, fields[3] the session id (man 5 proc)
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry))
    return members


def _signal_session(sid: int, sig: int) -> int:
    pids = _session_members(sid)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return len(pids)


def _wait_session_gone(sid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _session_members(sid):
            return True
        time.sleep(0.2)
    return not _session_members(sid)


def _start_node(root: Path, name: str, index: int, cpus: int, head_port: int | None) -> dict:
    """``ray start ... --block`` in a new session; returns once the node says it started."""
    temp = root / name
    temp.mkdir(parents=True, exist_ok=True)
    ports = dict(zip(("node_manager", "object_manager", "agent_listen", "agent_grpc", "metrics", "runtime_env",
                      "gcs", "client"), free_ports(8)))
    cmd = [_ray_command(), "start", "--block", f"--node-ip-address={node_ip(index)}", f"--num-cpus={cpus}",
           "--num-gpus=0", f"--temp-dir={temp}", "--object-store-memory=100000000", "--disable-usage-stats",
           "--min-worker-port=0", "--max-worker-port=0",  # 0: workers take ports the OS picks
           f"--node-manager-port={ports['node_manager']}", f"--object-manager-port={ports['object_manager']}",
           f"--dashboard-agent-listen-port={ports['agent_listen']}",
           f"--dashboard-agent-grpc-port={ports['agent_grpc']}",
           f"--metrics-export-port={ports['metrics']}", f"--runtime-env-agent-port={ports['runtime_env']}"]
    if head_port is None:
        cmd += ["--head", f"--port={ports['gcs']}", f"--ray-client-server-port={ports['client']}",
                "--include-dashboard=false"]
    else:
        cmd += [f"--address={node_ip(0)}:{head_port}"]
    log = root / f"{name}.log"
    with open(log, "wb") as out, open(os.devnull, "rb") as null:
        proc = subprocess.Popen(cmd, stdin=null, stdout=out, stderr=subprocess.STDOUT, env=_env(),
                                start_new_session=True)
    node = {"name": name, "ip": node_ip(index), "sid": proc.pid, "cpus": cpus, "temp_dir": str(temp),
            "log": str(log), "node_manager_port": ports["node_manager"]}
    if head_port is None:
        node.update(gcs_port=ports["gcs"], client_port=ports["client"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ray runtime started" in text:
            return node
        if proc.poll() is not None:
            _signal_session(proc.pid, signal.SIGKILL)
            raise ClusterError(f"`ray start` for node {name} exited (rc={proc.returncode}); see {log}")
        time.sleep(0.3)
    _signal_session(proc.pid, signal.SIGKILL)
    raise ClusterError(f"node {name} not started after 90 s; see {log}")


def _node_ids(address: str, expected: int, timeout: float = 60.0) -> dict[int, str]:
    """``{node manager port: node id}`` of the alive nodes, once ``expected`` are alive."""
    code = (
        "import json, ray\n"
        f"ray.init(address={address!r}, logging_level='ERROR', log_to_driver=False)\n"
        "print(json.dumps({n['NodeManagerPort']: n['NodeID'] for n in ray.nodes() if n['Alive']}))\n"
        "ray.shutdown()\n"
    )
    deadline = time.monotonic() + timeout
    found: dict[int, str] = {}
    while time.monotonic() < deadline:
        proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            found = {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
            if len(found) >= expected:
                return found
        time.sleep(1)
    raise ClusterError(f"{len(found)} of {expected} nodes alive after {timeout:.0f} s")


def _load(root: Path) -> dict:
    try:
        return json.loads((Path(root) / STATE).read_text())
    except (OSError, ValueError):
        raise ClusterError(f"no cluster in {root} ({STATE} missing)") from None


def _save(root: Path, state: dict) -> None:
    tmp = Path(root) / f".{STATE}.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, Path(root) / STATE)


def start(root: Path, workers: int = 1, cpus: int = 1) -> dict:
    """Start a head and ``workers`` worker nodes; return the cluster state (also in DIR/cluster.json)."""
    root = Path(root).absolute()
    if len(str(root)) > MAX_DIR_CHARS:
        raise ClusterError(f"{root} is too long for Ray's socket paths (107 bytes); use at most "
                           f"{MAX_DIR_CHARS} characters, e.g. /tmp/rc")
    if (root / STATE).exists() and any(_session_members(n["sid"]) for n in _load(root)["nodes"]):
        raise ClusterError(f"a cluster is already running in {root}; stop it first")
    root.mkdir(parents=True, exist_ok=True)
    state: dict = {"nodes": []}
    try:
        head = _start_node(root, HEAD, 0, cpus, None)
        state["nodes"].append(head)
        state["address"] = f"{head['ip']}:{head['gcs_port']}"
        state["client_address"] = f"ray://{head['ip']}:{head['client_port']}"
        _save(root, state)
        for i in range(1, workers + 1):
            state["nodes"].append(_start_node(root, f"w{i}", i, cpus, head["gcs_port"]))
            _save(root, state)
        _fill_node_ids(state)
        _save(root, state)
    except BaseException:
        stop(root)
        raise
    return state


def _fill_node_ids(state: dict) -> None:
    alive = [n for n in state["nodes"] if n.get("alive", True)]
    ids = _node_ids(state["address"], len(alive))
    for node in alive:
        node["node_id"] = ids.get(node["node_manager_port"])
        node["alive"] = True


def add(root: Path, name: str, cpus: int | None = None) -> dict:
    """Start worker node ``name`` (again); return the cluster state."""
    root = Path(root).absolute()
    state = _load(root)
    old = next((n for n in state["nodes"] if n["name"] == name), None)
    if name == HEAD:
        raise ClusterError("the head cannot be re-added; stop and start the cluster")
    if old is not None and _session_members(old["sid"]):
        raise ClusterError(f"node {name} is running")
    head = next(n for n in state["nodes"] if n["name"] == HEAD)
    index = int(name[1:]) if name[:1] == "w" and name[1:].isdigit() else len(state["nodes"])
    node = _start_node(root, name, index, cpus or (old or head)["cpus"], head["gcs_port"])
    state["nodes"] = [n for n in state["nodes"] if n["name"] != name] + [node]
    _save(root, state)
    _fill_node_ids(state)
    _save(root, state)
    return state


def kill(root: Path, name: str) -> int:
    """SIGKILL every process of node ``name`` at once (a lost machine); returns how many."""
    root = Path(root).absolute()
    state = _load(root)
    node = next((n for n in state["nodes"] if n["name"] == name), None)
    if node is None:
        raise ClusterError(f"no node {name!r} in {root}; nodes: {', '.join(n['name'] for n in state['nodes'])}")
    count = _signal_session(node["sid"], signal.SIGKILL)
    _wait_session_gone(node["sid"], 10)
    node["alive"] = False
    _save(root, state)
    return count


def stop(root: Path, grace: float = 15.0) -> list[str]:
    """Stop every node of the cluster in ``root``: workers first, then the head."""
    root = Path(root).absolute()
    try:
        state = _load(root)
    except ClusterError:
        return []
    stopped = []
    for node in sorted(state["nodes"], key=lambda n: n["name"] == HEAD):
        sid = node["sid"]
        if not _session_members(sid):
            continue
        try:
            os.kill(sid, signal.SIGTERM)  # `ray start --block` stops its node's processes
        except ProcessLookupError:
            pass
        if not _wait_session_gone(sid, grace):
            _signal_session(sid, signal.SIGKILL)
            _wait_session_gone(sid, 5)
        stopped.append(node["name"])
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ray_cluster.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start a head and worker nodes; print the address")
    p_start.add_argument("dir", type=Path)
    p_start.add_argument("--workers", type=int, default=1, help="worker nodes besides the head (default 1)")
    p_start.add_argument("--cpus", type=int, default=1, help="CPUs of each node (default 1)")
    for name, text in (("stop", "stop every node of the cluster in DIR"),
                       ("kill", "SIGKILL one node's processes (a lost machine)"),
                       ("add", "start a worker node (again)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("dir", type=Path)
        if name != "stop":
            p.add_argument("node", help="node name: w1, w2, ...")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            t0 = time.monotonic()
            state = start(args.dir, workers=args.workers, cpus=args.cpus)
            _log(f"{len(state['nodes'])} nodes alive after {time.monotonic() - t0:.1f} s; "
                 f"stop with: {sys.argv[0]} stop {args.dir}")
            print(state["address"])
        elif args.command == "stop":
            _log(f"stopped {', '.join(stop(args.dir)) or 'nothing (no node was running)'}")
        elif args.command == "kill":
            _log(f"killed node {args.node} ({kill(args.dir, args.node)} processes)")
        else:
            add(args.dir, args.node)
            _log(f"node {args.node} started")
    except ClusterError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
