"""Fault injection: kill `gandyn mnist train` with SIGKILL at random moments, resume it,
and count the runs that end bit for bit where an uninterrupted run ends.

Trials run until ``--kills`` runs were killed while running (a trial whose run had
already finished when its kill was due does not count as a kill). Each trial starts a fresh run (a small model on the first 500 MNIST training images,
a checkpoint after every iteration so that many kills land inside a checkpoint
write), sends SIGKILL after a random delay, then resumes it with ``--resume`` (or
starts it again when it was killed before its first checkpoint) until it finishes.
A trial counts as bit for bit when the final checkpoint holds exactly the arrays
and metadata of the reference run, and as clean when no temporary file is left in
the run's folder after the resumed run.

    python benchmarks/fault_injection.py [--kills 20] [--seed 0] [--data-dir DIR]

MNIST is found as ``gandyn mnist`` finds it (``--data-dir``, ``$GANDYN_DATA``, the
cache folder).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ITERS = 300
MODEL = ["--n-train", "500", "--batch", "16", "--z-dim", "8", "--hidden-g", "16", "--hidden-d", "16",
         "--grid-every", "25", "--quiet"]


def train_argv(out, data_dir, *extra):
    argv = [sys.executable, "-m", "gandyn", "mnist", "train", "--out", str(out), "--iters", str(ITERS), *MODEL, *extra]
    return argv + (["--data-dir", str(data_dir)] if data_dir else [])


def env():
    e = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    e["PYTHONPATH"] = root + os.pathsep + e.get("PYTHONPATH", "") if e.get("PYTHONPATH") else root
    return e


def read_checkpoint(path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def same(a, b) -> bool:
    (xa, ma), (xb, mb) = a, b
    return ma == mb and xa.keys() == xb.keys() and all(
        xa[k].dtype == xb[k].dtype and xa[k].shape == xb[k].shape and xa[k].tobytes() == xb[k].tobytes() for k in xa)


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()]


def kill_at(argv, delay: float, out: Path, at_write: bool = False) -> dict:
    """Start ``argv``, SIGKILL it after ``delay`` seconds (with ``at_write``: at the first
    moment after ``delay`` that a checkpoint is being written). Returns what was seen."""
    p = subprocess.Popen(argv, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.perf_counter()
    killed = False
    while p.poll() is None:
        if time.perf_counter() - t0 >= delay and (not at_write or any(out.glob(".checkpoint.*.npz"))):
            p.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.0005 if at_write else 0.002)
    p.wait()
    err = p.stderr.read().decode()
    p.stderr.close()
    return {"killed": killed, "returncode": p.returncode, "stderr": err,
            "temps_after_kill": len(temp_files(out)) if out.exists() else 0}


def finish(out: Path, data_dir) -> subprocess.CompletedProcess:
    """Resume the killed run (or start it again when it left no checkpoint)."""
    extra = ["--resume", "--checkpoint-every", "0"] if (out / "checkpoint.npz").exists() else ["--checkpoint-every", "0"]
    return subprocess.run(train_argv(out, data_dir, *extra), env=env(), capture_output=True, text=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref = tmp / "reference"
        t0 = time.perf_counter()
        r = subprocess.run(train_argv(ref, args.data_dir, "--checkpoint-every", "0"), env=env(),
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        reference = read_checkpoint(ref / "checkpoint.npz")
        # the time of a run with a checkpoint after every iteration: kills land anywhere in it
        timing = tmp / "timing"
        t1 = time.perf_counter()
        subprocess.run(train_argv(timing, args.data_dir, "--checkpoint-every", "1"), env=env(), capture_output=True)
        span = time.perf_counter() - t1
        print(f"reference run {t1 - t0:.1f} s; run with a checkpoint per iteration {span:.1f} s")
        counts = {"trials": 0, "killed": 0, "during_write": 0, "bit_for_bit": 0, "clean": 0, "restarted": 0}
        i = 0
        while counts["killed"] < args.kills and i < 3 * args.kills:
            out = tmp / f"trial{i}"
            i += 1
            delay = float(rng.uniform(0.0, span))
            seen = kill_at(train_argv(out, args.data_dir, "--checkpoint-every", "1"), delay, out)
            counts["trials"] += 1
            counts["killed"] += seen["killed"]
            counts["during_write"] += seen["temps_after_kill"] > 0
            restarted = not (out / "checkpoint.npz").exists()
            counts["restarted"] += restarted
            r = finish(out, args.data_dir)
            ok = r.returncode == 0 and same(read_checkpoint(out / "checkpoint.npz"), reference)
            clean = not temp_files(out)
            counts["bit_for_bit"] += ok
            counts["clean"] += clean
            print(f"trial {i - 1:2d}: kill after {delay:5.2f} s ({'killed' if seen['killed'] else 'had finished'}"
                  f"{', mid-write' if seen['temps_after_kill'] else ''}{', no checkpoint yet' if restarted else ''})"
                  f" -> {'bit for bit' if ok else 'DIFFERENT: ' + r.stderr.strip()[-200:]}"
                  f"{'' if clean else ', temp files left'}", flush=True)
        print(f"{counts['bit_for_bit']} of {counts['trials']} runs resumed bit for bit "
              f"({counts['killed']} killed while running, {counts['during_write']} during a checkpoint write, "
              f"{counts['restarted']} before their first checkpoint); {counts['clean']} left no temporary file")
        return 0 if counts["bit_for_bit"] == counts["trials"] == counts["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
