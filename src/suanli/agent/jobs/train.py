"""A small, seeded NumPy training job: logistic regression by gradient descent.

It checkpoints every ``--checkpoint-every`` steps into ``--checkpoint-dir`` (default
$SUANLI_CHECKPOINT_DIR) and resumes from the newest checkpoint there, so a run moved to other
hardware continues where it stopped. ``--fail-at-step N --fail-on VENDOR`` makes it die with the
hardware/stack exit class at step N when the accelerator visibility variable of VENDOR is set,
which is how a broken domestic stack looks to the platform.

    python -m suanli.agent.jobs.train --steps 200 --checkpoint-every 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from suanli.domain.jobs import STACK_ERROR_EXIT_CODE, STACK_ERROR_MARKER, VISIBILITY_VARS


def make_data(seed: int, rows: int = 2000, features: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    true_w = rng.normal(size=features)
    y = (x @ true_w + 0.3 * rng.normal(size=rows) > 0).astype(np.float64)
    return x, y


def loss_and_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    eps = 1e-12
    loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    return loss, x.T @ (p - y) / len(y)


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("step-*.npz"))
    return found[-1] if found else None


def save_checkpoint(folder: Path, step: int, w: np.ndarray) -> Path:
    # Write then rename, so a job killed mid-write never leaves a torn checkpoint behind.
    path = folder / f"step-{step:08d}.npz"
    tmp = folder / f".step-{step:08d}.tmp.npz"
    np.savez(tmp, w=w, step=step)
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--checkpoint-every", type=int, default=20)
    ap.add_argument("--checkpoint-dir", default=os.environ.get("SUANLI_CHECKPOINT_DIR") or "ckpt")
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--step-s", type=float, default=0.0, help="sleep per step, to last longer")
    ap.add_argument("--fail-at-step", type=int, default=-1)
    ap.add_argument("--fail-on", default="", help="vendor whose stack 'breaks', e.g. huawei")
    args = ap.parse_args(argv)
    print(f"started {time.time():.6f}", flush=True)  # read by bench/agent.py

    folder = Path(args.checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    x, y = make_data(args.seed)
    w, start = np.zeros(x.shape[1]), 0
    if (ckpt := latest_checkpoint(folder)) is not None:
        with np.load(ckpt) as saved:
            w, start = saved["w"], int(saved["step"])
        print(f"resumed from {ckpt.name} at step {start}", flush=True)
    broken = bool(args.fail_on) and VISIBILITY_VARS.get(args.fail_on, "") in os.environ

    loss = float("nan")
    for step in range(start, args.steps):
        if broken and step == args.fail_at_step:
            print(f"{STACK_ERROR_MARKER}: device lost at step {step}", flush=True)
            return STACK_ERROR_EXIT_CODE
        loss, grad = loss_and_grad(w, x, y)
        w = w - args.lr * grad
        if args.step_s:
            time.sleep(args.step_s)
        if (step + 1) % args.checkpoint_every == 0 or step + 1 == args.steps:
            save_checkpoint(folder, step + 1, w)
            print(f"step {step + 1} loss {loss:.4f}", flush=True)
    accuracy = float(np.mean(((x @ w) > 0) == (y > 0.5)))
    print(f"done steps={args.steps} loss={loss:.4f} accuracy={accuracy:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
