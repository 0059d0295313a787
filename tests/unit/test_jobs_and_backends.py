"""Job rules (exit classes, fallback choice, cost split) and the local backend, for real."""

from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.agent.backends.base import Phase, Submission
from suanli.agent.backends.local import LocalBackend
from suanli.agent.backends.ray import RayBackend, submission_id
from suanli.agent.backends.slurm import SlurmBackend, parse_elapsed_s, parse_scontrol
from suanli.domain.jobs import (
    ExitClass,
    JobSpec,
    OfferChoice,
    choose_fallback,
    classify_exit,
    hold_fen,
    split_cost,
    visibility_env,
)


def test_exit_classes():
    assert classify_exit(0, "", cancelled=False) is ExitClass.SUCCESS
    assert classify_exit(1, "Traceback", cancelled=False) is ExitClass.USER_ERROR
    assert classify_exit(86, "", cancelled=False) is ExitClass.STACK_ERROR
    assert classify_exit(1, "SUANLI-STACK-ERROR: HBM ECC", cancelled=False) is ExitClass.STACK_ERROR
    assert classify_exit(-15, "", cancelled=True) is ExitClass.CANCELLED


def test_visibility_by_vendor():
    assert visibility_env("Huawei", [0, 1]) == {"ASCEND_RT_VISIBLE_DEVICES": "0,1"}
    assert visibility_env("NVIDIA", [3]) == {"CUDA_VISIBLE_DEVICES": "3"}
    assert visibility_env("Kunlunxin (Baidu)", [0]) == {"XPU_VISIBLE_DEVICES": "0"}


def test_fallback_prefers_another_offer_of_the_model_then_cheapest_foreign():
    failed = OfferChoice("a-910b", "910b", "domestic", 900, 8)
    offers = [
        failed,
        OfferChoice("b-910b", "910b", "domestic", 950, 8),
        OfferChoice("c-h20", "h20", "foreign", 800, 8),
        OfferChoice("d-l20", "l20", "foreign", 500, 1),  # too small for 4 accelerators
    ]
    assert choose_fallback("same-model", failed, 4, offers).offer_id == "b-910b"
    assert choose_fallback("same-model", failed, 4, [failed]).offer_id == "a-910b"
    assert choose_fallback("foreign", failed, 4, offers).offer_id == "c-h20"
    assert choose_fallback("foreign", failed, 1, offers).offer_id == "d-l20"
    assert choose_fallback("foreign", failed, 16, offers) is None


@settings(derandomize=True, max_examples=300)
@given(
    total=st.integers(0, 10**9),
    rate=st.fractions(0, 1, max_denominator=100),
    voucher_cap=st.integers(0, 10**9),
    wallet_cap=st.integers(0, 10**9),
)
def test_split_never_pays_more_than_cost_or_holds(total, rate, voucher_cap, wallet_cap):
    split = split_cost(total, Fraction(rate), voucher_cap, wallet_cap)
    assert 0 <= split.voucher_fen <= min(voucher_cap, total * rate)
    assert 0 <= split.wallet_fen <= wallet_cap
    assert split.voucher_fen + split.wallet_fen <= total


def test_hold_covers_the_time_limit():
    spec = JobSpec(command=("x",), accelerators=8, time_limit_s=5400)
    assert hold_fen(900, spec) == 8 * 900 * 3 // 2


def test_slurm_parsers():
    assert parse_elapsed_s("1-02:03:04") == 93784
    assert parse_elapsed_s("00:07") == 7
    info = parse_scontrol("JobId=5 JobState=RUNNING TresPerNode=gres:gpu:2 NumCPUs=1")
    assert info["JobState"] == "RUNNING" and info["TresPerNode"] == "gres:gpu:2"
    script = SlurmBackend().script(
        Submission("r", JobSpec(command=("python", "-c", "print(1)")), "Huawei", "/tmp/o")
    )
    assert script.startswith('export ASCEND_RT_VISIBLE_DEVICES="$CUDA_VISIBLE_DEVICES"; exec ')


def test_ray_entrypoint_sets_the_environment_and_the_vendors_devices():
    spec = JobSpec(command=("python", "-c", "print('a b')"), env={"X": "1 2"}, workdir="/w d")
    line = RayBackend("http://127.0.0.1:1").entrypoint(Submission("r-a1", spec, "Huawei", "/o"))
    assert "export X='1 2'" in line and "export SUANLI_RUN_ID=r-a1" in line
    assert 'export ASCEND_RT_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-}"' in line
    assert line.endswith("cd '/w d'; exec python -c 'print('\"'\"'a b'\"'\"')' >> /o 2>&1")
    assert submission_id("r-a1", 2) == "suanli-r-a1-2"


def _wait(backend: LocalBackend, handle: str, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while (poll := backend.poll(handle)).phase is not Phase.DONE:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return poll


def _submit(backend, tmp_path: Path, code: str, **spec_kw):
    spec = JobSpec(command=(sys.executable, "-c", code), workdir=str(tmp_path), **spec_kw)
    return backend.submit(Submission("r1", spec, "Huawei", str(tmp_path / "out.txt")))


def test_local_backend_env_devices_and_exit_class(tmp_path):
    backend = LocalBackend(devices=4)
    code = "import os; print(os.environ['ASCEND_RT_VISIBLE_DEVICES'], os.environ['X'], os.getcwd())"
    poll = _wait(backend, _submit(backend, tmp_path, code, accelerators=2, env={"X": "y"}))
    assert poll.exit_class is ExitClass.SUCCESS and poll.accelerators == 2
    assert (tmp_path / "out.txt").read_text().split() == ["0,1", "y", str(tmp_path)]
    poll = _wait(backend, _submit(backend, tmp_path, "raise SystemExit(86)", accelerators=4))
    assert poll.exit_class is ExitClass.STACK_ERROR  # and all four devices were free again


def test_local_backend_time_limit_and_cancel(tmp_path):
    backend = LocalBackend()
    poll = _wait(backend, _submit(backend, tmp_path, "import time; time.sleep(30)", time_limit_s=1))
    assert poll.exit_class is ExitClass.USER_ERROR and poll.detail == "time limit reached"
    assert poll.wall_s < 5
    handle = _submit(backend, tmp_path, "import time; time.sleep(30)")
    backend.cancel(handle)
    assert _wait(backend, handle).exit_class is ExitClass.CANCELLED


def test_a_local_job_dies_with_its_agent_and_a_missing_program_is_a_backend_error(tmp_path):
    import os
    import signal
    import subprocess

    import pytest

    from suanli.errors import BackendError

    agent = (
        "import sys, time; from pathlib import Path\n"
        "from suanli.agent.backends.base import Submission\n"
        "from suanli.agent.backends.local import LocalBackend\n"
        "from suanli.domain.jobs import JobSpec\n"
        "spec = JobSpec(command=('sleep', '60'), accelerators=0)\n"
        "print(LocalBackend().submit(Submission('r', spec, 'NVIDIA', sys.argv[1])), flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", agent, str(tmp_path / "o")], stdout=subprocess.PIPE, text=True
    )
    job_pid = int(proc.stdout.readline())
    deadline = time.monotonic() + 10
    # Wait for setpriv to exec the job: by then it has set the death signal.
    while Path(f"/proc/{job_pid}/comm").read_text().strip() != "sleep":
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{job_pid}") and "Z" not in _state(job_pid):
        assert time.monotonic() < deadline, "the job outlived its agent"
        time.sleep(0.05)
    spec = JobSpec(command=("no-such-program-x",), accelerators=0)
    with pytest.raises(BackendError):
        LocalBackend().submit(Submission("r2", spec, "NVIDIA", str(tmp_path / "o2")))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
