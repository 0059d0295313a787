"""A real single-node Slurm for the tests: munged, slurmctld and slurmd in a temp folder.

Everything (config, keys, sockets, state, logs, jobs) lives under one scratch folder; the daemons
run in the foreground as children of the test process and are stopped in reverse order. GPUs are
fake GRES devices (symlinks to /dev/null), so ``--gres=gpu:N`` and CUDA_VISIBLE_DEVICES work on a
machine without GPUs. Accounting is Slurm's jobcomp/filetxt record, read with ``sacct -c``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sacct", "sinfo")

CONF = """\
ClusterName=suanlitest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={b}/munge/munge.socket
SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={b}/slurmctld.pid
SlurmdPidFile={b}/slurmd.pid
SlurmctldLogFile={b}/log/slurmctld.log
SlurmdLogFile={b}/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/filetxt
JobCompLoc={b}/jobcomp.txt
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
ReturnToService=2
MinJobAge=300
KillWait=2
{node}
PartitionName=debug Nodes=node1 Default=YES MaxTime=INFINITE State=UP
"""
NODE = (
    "NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000"
    " Gres=gpu:{gpus} State=UNKNOWN"
)


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None and not _sbin(name)]


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SlurmCluster:
    def __init__(self, gpus: int = 4, cpus: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="suanli-slurm-"))
        self.gpus = gpus
        self.cpus = cpus or max(os.cpu_count() or 2, 2)
        self.conf = self.root / "etc" / "slurm.conf"
        self.jobs = self.root / "jobs"
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def _bin(self, name: str) -> str:
        return shutil.which(name) or _sbin(name) or name

    def _write_config(self) -> None:
        b = self.root
        os.chmod(b, 0o711)  # munged insists that every folder above its socket is searchable
        for sub in ("etc", "munge", "log", "state", "spool", "jobs", "dev"):
            (b / sub).mkdir()
        os.chmod(b / "munge", 0o711)
        os.chmod(self.jobs, 0o1777)
        for i in range(self.gpus):
            os.symlink("/dev/null", b / "dev" / f"gpu{i}")
        self.conf.write_text(
            CONF.format(
                b=b,
                user=getpass.getuser(),
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                node=NODE.format(cpus=self.cpus, gpus=self.gpus),
            )
        )
        last = f"[0-{self.gpus - 1}]" if self.gpus > 1 else "0"
        (b / "etc" / "gres.conf").write_text(
            f"AutoDetect=off\nNodeName=node1 Name=gpu File={b}/dev/gpu{last}\n"
        )

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.root / "log" / f"{Path(args[0]).name}.out", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [self._bin(args[0]), *args[1:]], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self._procs.append(proc)
        return proc

    def _probe(self, *args: str) -> str:
        # Every probe is time-boxed: a slurmd that cannot reach slurmctld hangs clients.
        done = subprocess.run(
            ["timeout", "2", self._bin(args[0]), *args[1:]],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return done.stdout if done.returncode == 0 else ""

    def _wait(self, what: str, ready: object, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():  # type: ignore[operator]
                return
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited early; logs in {self.root}/log")
            time.sleep(0.05)
        raise RuntimeError(f"{what} not ready after {timeout_s} s; logs in {self.root}/log")

    def start(self) -> SlurmCluster:
        self._write_config()
        m = self.root / "munge"
        subprocess.run([self._bin("mungekey"), "--create", f"--keyfile={m}/munge.key"], check=True)
        os.chmod(m / "munge.key", 0o400)
        self._spawn(
            "munged", "-F", f"--key-file={m}/munge.key", f"--socket={m}/munge.socket",
            f"--pid-file={m}/munged.pid", f"--log-file={self.root}/log/munged.log",
            f"--seed-file={m}/munged.seed",
        )  # fmt: skip
        self._wait("munged", lambda: (m / "munge.socket").exists())
        self._spawn("slurmctld", "-D", "-i")
        self._wait("slurmctld", lambda: "UP" in self._probe("scontrol", "ping"))
        self._spawn("slurmd", "-D", "-N", "node1")
        self._wait(
            "slurmd",
            lambda: self._probe("sinfo", "-h", "-N", "-n", "node1", "-o", "%T").strip() == "idle",
        )
        return self

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()  # slurmd may ignore SIGTERM while it retries its controller
                    proc.wait()
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)
