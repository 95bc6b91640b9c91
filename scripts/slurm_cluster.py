#!/usr/bin/env python3
"""A one-machine SLURM cluster from Debian's packages, to try seedexp's ``slurm`` preset.

::

    sudo python3 scripts/slurm_cluster.py install            # apt-get the daemons (once)
    sudo python3 scripts/slurm_cluster.py start /tmp/slurm   # prints: export SLURM_CONF=...
    export SLURM_CONF=/tmp/slurm/slurm.conf
    seedexp -m experiment=imbalanced_clf 'seed=range(0,4)' hydra/launcher=slurm \\
        hydra.launcher.cpus_per_task=1 hydra.launcher.mem_gb=1
    sudo python3 scripts/slurm_cluster.py stop /tmp/slurm

``start DIR`` keeps everything in DIR (configs, munge key and socket, state, spool,
database, logs, pid files) and touches nothing in ``/etc``: one node named after this
host with ``--cpus`` CPUs and one partition ``debug``, every daemon on 127.0.0.1 on
free ports, as root. It waits until ``sinfo`` shows the node idle. ``stop DIR`` cancels
the cluster's jobs and stops its daemons by the pids in DIR, nothing else.

Why a database: submitit (the ``slurm`` preset's engine) asks ``sacct`` for the state of
jobs that ended without a result - a cancelled, preempted or timed-out job. Without
accounting ``sacct`` fails, submitit keeps reading the state as UNKNOWN and waits for
such a job forever. So the cluster runs ``slurmdbd`` on a throw-away MariaDB, as a
real cluster would.

Made for containers without systemd or cgroup delegation: process tracking through
/proc (``proctrack/linuxproc``), no task or cgroup plugins. The exit code is 0 on
success; otherwise one line on stderr says why (not root, no apt, a daemon that would
not start, with the log to read) and whatever was started is stopped again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from clusterlib import free_ports

#: Debian packages: the daemons, the client commands, munge, and accounting (sacct).
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge", "slurmdbd", "mariadb-server")
#: Programs the cluster needs, from those packages.
PROGRAMS = ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "mariadb-install-db", "mariadb",
            "sinfo", "sbatch", "squeue", "scancel", "sacct")
#: Daemons in start order; stopped in reverse.
DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
PARTITION = "debug"
CLUSTER = "seedexp"
DB_USER, DB_NAME = "slurm", "slurm_acct_db"


class ClusterError(RuntimeError):
    """The cluster cannot be installed, started or stopped; the message is one line."""


def _log(message: str) -> None:
    print(f"slurm_cluster: {message}", file=sys.stderr, flush=True)


def _missing_programs() -> list[str]:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [p for p in PROGRAMS if shutil.which(p, path=path) is None]


def _which(program: str) -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(program, path=path)
    if found is None:
        raise ClusterError(f"{program} not found; run `{Path(sys.argv[0]).name} install` first (as root)")
    return found


def install() -> None:
    """``apt-get install`` the packages unless every program is there already."""
    if not _missing_programs():
        return
    if os.geteuid() != 0:
        raise ClusterError(f"not root: cannot apt-get install {' '.join(PACKAGES)}")
    if shutil.which("apt-get") is None:
        raise ClusterError(f"no apt-get: install {' '.join(PACKAGES)} with this system's package manager")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ClusterError(f"`{' '.join(cmd[:2])}` failed (rc={proc.returncode}): {tail}")
    if _missing_programs():
        raise ClusterError(f"installed {' '.join(PACKAGES)} but still missing: {' '.join(_missing_programs())}")


def _mem_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def _configs(root: Path, cpus: int, ports: dict[str, int], password: str) -> None:
    """slurm.conf and slurmdbd.conf for one node on 127.0.0.1, everything under ``root``."""
    host = socket.gethostname().split(".")[0]
    munge_socket = root / "munge" / "munge.socket"
    common = f"AuthType=auth/munge\nAuthInfo=socket={munge_socket}\n"
    _write(root / "slurm.conf", f"""\
# Written by scripts/slurm_cluster.py: a one-machine cluster, everything in {root}
ClusterName={CLUSTER}
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ports['slurmctld']}
SlurmdPort={ports['slurmd']}
{common}CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'slurmctld.pid'}
SlurmdPidFile={root / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
# No systemd, no cgroup delegation: track processes through /proc, bind nothing
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# sacct: submitit reads the state of jobs that ended without a result from it
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={ports['slurmdbd']}
AccountingStoragePass={munge_socket}
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# A cancelled job is killed 5 s after SIGTERM (submitit's jobs ignore SIGTERM)
KillWait=5
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={int(_mem_mb() * 0.9)} State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    _write(root / "slurmdbd.conf", f"""\
{common}DbdHost={host}
DbdAddr=127.0.0.1
DbdPort={ports['slurmdbd']}
SlurmUser=root
PidFile={root / 'slurmdbd.pid'}
LogFile={root / 'log' / 'slurmdbd.log'}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports['mariadb']}
StorageUser={DB_USER}
StoragePass={password}
StorageLoc={DB_NAME}
""", mode=0o600)  # slurmdbd refuses a config others can read (it holds the password)


def _wait(what: str, ready, timeout: float, log: Path | None, pid_file: Path | None = None) -> None:
    """Poll ``ready()``; fail at once when the daemon's pid file names a dead process."""
    hint = f"; see {log}" if log is not None else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        pid = _read_pid(pid_file) if pid_file is not None else None
        if pid is not None and not _pid_alive(pid):
            raise ClusterError(f"{what} exited at start{hint}")
        time.sleep(0.3)
    raise ClusterError(f"{what} not ready after {timeout:.0f} s{hint}")


def _run(cmd: list[str], what: str, log: Path | None = None, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip() or "(no output)").splitlines()[-1]
        hint = f"; see {log}" if log is not None else ""
        raise ClusterError(f"{what} failed (rc={proc.returncode}): {detail}{hint}")
    return proc.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _pid_files(root: Path) -> dict[str, Path]:
    return {"munged": root / "munge" / "munged.pid", "mariadbd": root / "db" / "mariadbd.pid",
            "slurmdbd": root / "slurmdbd.pid", "slurmctld": root / "slurmctld.pid",
            "slurmd": root / "slurmd.pid"}


def cluster_env(root: Path) -> dict[str, str]:
    """What a shell needs to use the cluster: ``SLURM_CONF``."""
    return {"SLURM_CONF": str(Path(root).absolute() / "slurm.conf")}


def _node_state(env: dict[str, str]) -> str:
    proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=env, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def start(root: Path, cpus: int = 2, timeout: float = 60.0) -> dict[str, str]:
    """Start munged, MariaDB, slurmdbd, slurmctld and slurmd with everything in ``root``.

    Returns the environment to use the cluster with (:func:`cluster_env`). On failure
    stops what it started and raises :class:`ClusterError`.
    """
    if os.geteuid() != 0:
        raise ClusterError("not root: the daemons run as root here (SlurmUser=root)")
    root = Path(root).absolute()
    if any(_read_pid(p) and _pid_alive(_read_pid(p)) for p in _pid_files(root).values()):
        raise ClusterError(f"a cluster is already running in {root}; stop it first")
    if len(str(root / "munge" / "munge.socket")) > 100:
        raise ClusterError(f"{root} is too long a path for the munge socket (AF_UNIX: 107 bytes); use a short one")
    for sub in ("munge", "state", "spool", "log", "db"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    root.chmod(0o711)
    (root / "munge").chmod(0o711)
    ports = dict(zip(("slurmctld", "slurmd", "slurmdbd", "mariadb"), free_ports(4)))
    password = os.urandom(12).hex()  # of the database user slurmdbd logs in as
    _configs(root, cpus, ports, password)
    env = dict(os.environ, **cluster_env(root))
    try:
        _start_munge(root)
        _start_mariadb(root, ports["mariadb"], password)
        dbd_log = root / "log" / "slurmdbd.log"
        _run([_which("slurmdbd")], "slurmdbd", dbd_log, env)  # reads slurmdbd.conf next to $SLURM_CONF
        _wait("slurmdbd", lambda: _port_open(ports["slurmdbd"]), timeout, dbd_log, root / "slurmdbd.pid")
        ctld_log = root / "log" / "slurmctld.log"
        _run([_which("slurmctld"), "-f", str(root / "slurm.conf")], "slurmctld", ctld_log, env)
        _wait("slurmctld", lambda: _port_open(ports["slurmctld"]), timeout, ctld_log, root / "slurmctld.pid")
        d_log = root / "log" / "slurmd.log"
        _run([_which("slurmd"), "-f", str(root / "slurm.conf")], "slurmd", d_log, env)
        _wait("the node (sinfo: idle)", lambda: _node_state(env) == "idle", timeout, d_log, root / "slurmd.pid")
        _wait("accounting (sacct)", lambda: subprocess.run(["sacct", "-n", "-X"], env=env, capture_output=True,
                                                            timeout=30).returncode == 0, timeout, dbd_log)
    except BaseException:
        stop(root)
        raise
    return cluster_env(root)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start_munge(root: Path) -> None:
    key = root / "munge" / "munge.key"
    if not key.exists():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(1024))
    sock = root / "munge" / "munge.socket"
    _run([_which("munged"), "--force", f"--key-file={key}", f"--socket={sock}",
          f"--pid-file={root / 'munge' / 'munged.pid'}", f"--log-file={root / 'log' / 'munged.log'}",
          f"--seed-file={root / 'munge' / 'munged.seed'}"], "munged", root / "log" / "munged.log")
    _wait("munged", sock.exists, 20, root / "log" / "munged.log")


def _start_mariadb(root: Path, port: int, password: str) -> None:
    data, log = root / "db" / "data", root / "log" / "mariadb.log"
    sock = root / "db" / "mariadb.sock"
    if not (data / "mysql").is_dir():
        _run([_which("mariadb-install-db"), "--no-defaults", f"--datadir={data}", "--user=root",
              "--auth-root-authentication-method=socket", "--skip-test-db"], "mariadb-install-db", log)
    cmd = [_which("mariadbd"), "--no-defaults", f"--datadir={data}", "--user=root", f"--socket={sock}",
           f"--port={port}", "--bind-address=127.0.0.1", f"--pid-file={root / 'db' / 'mariadbd.pid'}",
           f"--log-error={log}", "--innodb-buffer-pool-size=32M", "--innodb-use-native-aio=0",
           "--innodb-lock-wait-timeout=900", "--skip-log-bin"]
    with open(os.devnull, "rb") as null:
        subprocess.Popen(cmd, stdin=null, stdout=null, stderr=null, start_new_session=True)
    _wait("mariadbd", lambda: sock.exists() and _port_open(port), 60, log, root / "db" / "mariadbd.pid")
    sql = (f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{password}';"
           f"ALTER USER '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{password}';"
           f"GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'127.0.0.1';")
    _run([_which("mariadb"), "--no-defaults", f"--socket={sock}", "-u", "root", "-e", sql], "creating the db user", log)


def stop(root: Path, timeout: float = 30.0) -> list[str]:
    """Cancel the cluster's jobs, then stop its daemons (by their pid files). Returns what was stopped."""
    root = Path(root).absolute()
    pids = {name: _read_pid(path) for name, path in _pid_files(root).items()}
    env = dict(os.environ, **cluster_env(root))
    if pids["slurmctld"] and _pid_alive(pids["slurmctld"]) and (root / "slurm.conf").exists():
        # The jobs first, while slurmd can still kill their processes.
        subprocess.run(["scancel", "--full", f"--partition={PARTITION}"], env=env, capture_output=True, timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            queue = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True, timeout=30)
            if queue.returncode != 0 or not queue.stdout.strip():
                break
            time.sleep(0.5)
    stopped = []
    for name in reversed(DAEMONS):
        pid = pids[name]
        if pid is None or not _pid_alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped.append(name)
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slurm_cluster.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="apt-get install the daemons when missing (root)")
    p_start = sub.add_parser("start", help="start a one-node cluster in DIR, wait until the node is idle")
    p_start.add_argument("dir", type=Path)
    p_start.add_argument("--cpus", type=int, default=2, help="CPUs of the node (default 2)")
    p_start.add_argument("--install", action="store_true", help="apt-get install the daemons first when missing")
    p_start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each daemon (default 60)")
    p_stop = sub.add_parser("stop", help="cancel the jobs and stop the daemons of the cluster in DIR")
    p_stop.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install()
        elif args.command == "start":
            if args.install:
                install()
            t0 = time.monotonic()
            env = start(args.dir, cpus=args.cpus, timeout=args.timeout)
            _log(f"node idle after {time.monotonic() - t0:.1f} s; stop with: {sys.argv[0]} stop {args.dir}")
            for key, value in env.items():
                print(f"export {key}={value}")
        else:
            stopped = stop(args.dir)
            _log(f"stopped {', '.join(stopped) or 'nothing (no daemon was running)'}")
    except ClusterError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
