"""The faults of a review and a fault-injection trial of the commands, by kind: bad input
refused in one line with exit status 2 and nothing written; valid input accepted; input
that was accepted and wrong now refused."""
import shlex

import numpy as np
import pytest

from gandyn import errors
from gandyn.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from gandyn import history
    from gandyn.experiments import gan1d
    from gandyn.experiments.gan1d import TRAINING, record_run

    d = tmp_path_factory.mktemp("runs")
    arrays, meta = record_run(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=TRAINING.replace(batch=16)), seed=0, steps=20,
                               record_every=10)
    history.save(d / "gan1d" / "history.npz", arrays, meta)
    (d / "trunc").mkdir()
    (d / "trunc" / "history.npz").write_bytes((d / "gan1d" / "history.npz").read_bytes()[:3000])
    return d


MOG = "mog --data ring8 --seeds 1 --steps 4 --checks 1 --hidden 4 --n-eval 20 --jobs 1 --quiet"
SWEEP = "gan1d --sweep --grid 2 --seeds 1 --steps 4 --hidden-g 4 --hidden-d 4 --quiet"
LS = "landscape --run {gan1d} --quiet --slq-steps 8 --slq-vectors 2"

BAD = [
    (f"{MOG} --lrs 1e-3 1e-3", "step sizes must be distinct"),
    (f"{MOG} --lrs 1e308", "is not a finite float32 number"),
    (f"{SWEEP} --ks 1 1", "--ks must be distinct"),
    (f"{SWEEP} --losses nonsat ls nonsat", "--losses must be distinct"),
    (f"{SWEEP} --losses wgan nonsat --clip 0.01", "weight clipping is not used with the 'nonsat' loss"),
    ("gan1d --data 'N(4, 1e-4)' --steps 40 --record-every 10 --quiet --no-animation", "does not resolve it"),
    (f"{LS} --n-eigs 100000", "--n-eigs 100,000 exceeds"),
    (f"{LS} --batch 1000000000", "of memory"),
    ("landscape --run {trunc} --quiet", "not a readable history file"),
]


@pytest.mark.parametrize("line,needle", BAD)
def test_bad_input_is_refused_in_one_line_with_exit_2(line, needle, runs, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a.format(gan1d=runs / "gan1d", trunc=runs / "trunc") for a in shlex.split(line)] + ["--out", str(out)]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == errors.EXIT_USAGE, (line, err)
    assert len(err.splitlines()) == 1 and needle in err, (line, err)
    assert not out.exists()


GOOD = [
    ("gan1d --data 'N(1e+1, 0.5)' --steps 20 --record-every 5 --hidden-g 4 --hidden-d 4 --quiet --no-animation",
     "history.npz"),
    (f"{SWEEP} --losses wgan --clip 0.01", "sweep.csv"),
    (f"{LS} --batch 1 --n-eigs 3", "eigenvalues.csv"),  # an H_GG that is exactly zero: its eigenvalues are 0
    (f"{LS} --batch 4", "eigenvalues.csv"),  # the default --n-eigs 10 on a G of 10 parameters: as many as it has
]


@pytest.mark.parametrize("line,written", GOOD)
def test_valid_input_is_accepted(line, written, runs, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a.format(gan1d=runs / "gan1d") for a in shlex.split(line)] + ["--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert (out / written).is_file() and (out / "manifest.json").is_file()


def test_a_zero_operator_has_zero_eigenvalues():
    from scipy.sparse.linalg import aslinearoperator

    from gandyn.games import spectra

    for symmetric, which in ((True, "SA"), (True, "LA"), (False, "SR")):
        pairs = spectra.eigenpairs(aslinearoperator(np.zeros((6, 6))), 2, which, symmetric=symmetric)
        assert np.all(pairs.values == 0) and pairs.converged.all()


def test_a_mog_rerun_with_more_seeds_into_a_stopped_folder_is_refused(tmp_path, capsys):
    """The fault of a killed rerun that left seed-1 results beside a seed-0 table.json."""
    out = tmp_path / "o"
    assert main([*shlex.split(MOG), "--lrs", "1e-3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*shlex.split(MOG), "--lrs", "1e-3", "--seed", "1", "--out", str(out)]) == 2
    assert "seed: 0 there, 1 here" in capsys.readouterr().err


def test_progress_lines_in_a_log(capsys):
    import io

    from tqdm import tqdm

    from gandyn.app.progress import ProgressLines

    log = io.StringIO()
    stream = ProgressLines(log)
    for _ in tqdm(range(1000), file=stream, desc="mog ring8", mininterval=0, miniters=1):
        pass
    print("done", file=stream)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and lines[-1] == "done"
    pct = [int(ln.split("%")[0].split()[-1]) for ln in lines[:-1]]
    assert pct[0] == 0 and pct[-1] == 100 and len(pct) <= 22 and all(b - a >= 5 for a, b in zip(pct, pct[1:]))


def test_kid_text_has_no_spread_when_every_subset_is_the_whole_set():
    from gandyn.experiments.evaluation import _kid_text

    assert _kid_text({"mean": 2.5e-4, "std": 0.0, "subset_size": 200}).startswith("0.00025 (one estimate on all 200")
    assert _kid_text({"mean": 2.5e-4, "std": 3e-5, "subset_size": 1000}) == "0.00025 +- 3e-05"
