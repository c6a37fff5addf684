"""A table of bad inputs to every command (and to the library's entry points): each gives
a one-line error that names the problem, a non-zero exit, no traceback, no warning,
and no output folder. Run in process through ``gandyn.cli.main``."""
import json
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest

from gandyn import cli
from gandyn.experiments import mnist

from _mnist_dir import HAVE_MNIST, SHARED

SMALL = dict(z_dim=8, hidden_g=(16,), hidden_d=(16,), n_train=200)
BIG = "1000000000000"


@pytest.fixture(autouse=True)
def strict_floats():
    """The command line runs with NumPy's default error handling: overflow handled by
    the code must show neither a traceback nor a warning (checked below)."""
    yield


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small run (checkpoint, losses.csv, grids) and broken variants of its files."""
    from gandyn.plotting.mnist import save_grid

    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (200, 784)).astype(np.uint8)
    run = d / "run"
    tr = mnist.new_run(mnist.MnistConfig(training=mnist.MnistConfig.training.replace(batch=16), **SMALL), images)
    mnist.train(tr, 20, run, checkpoint_every=0, grid_every=10, save_grid=save_grid, progress=False)
    ck = run / "checkpoint.npz"
    with np.load(ck, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))

    def variant(name, **change):
        a, m = dict(arrays), json.loads(json.dumps(meta))
        for k, v in change.items():
            (a if isinstance(v, np.ndarray) else m)[k] = v
        with open(d / name, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(m)), **a)
        return d / name

    f = {"ckpt": ck, "run": run,
         "nan_ckpt": variant("nan.npz", theta_g=np.full_like(arrays["theta_g"], np.nan)),
         "inf_ckpt": variant("inf.npz", theta_d=np.full_like(arrays["theta_d"], np.inf)),
         "pos_ckpt": variant("pos.npz", sampler_pos=10**9),
         "perm_ckpt": variant("perm.npz", sampler_perm=np.zeros(200, np.int64)),
         "it_ckpt": variant("it.npz", iteration=-1),
         "fmt_ckpt": variant("fmt.npz", format="something/else"),
         "shape_ckpt": variant("shape.npz", theta_g=arrays["theta_g"][:10]),
         "cfg_ckpt": variant("cfg.npz", config={**meta["config"], "n_train": 58000}),
         "nometa": d / "nometa.npz", "png": d / "some.png", "text": d / "text.npz", "trunc": d / "trunc.npz",
         "empty": d / "empty.npz", "dir": d / "adir.npz", "missing": d / "missing.npz", "nodata": d / "nodata"}
    np.savez(f["nometa"], x=np.zeros(3))
    f["png"].write_bytes(sorted((run / "grids").glob("*.png"))[0].read_bytes())
    f["text"].write_text("not a checkpoint\n")
    f["trunc"].write_bytes(ck.read_bytes()[:300])
    f["empty"].write_bytes(b"")
    f["dir"].mkdir()
    f["nodata"].mkdir()
    for name, ck in (("mog_plain", None), ("mog_text", b"not a snapshot file\n"), ("mog_nometa", None)):
        (d / name).mkdir()
        (d / name / "results_ring8.npz").write_bytes(b"")
        f[name] = d / name
    (d / "mog_text" / "snapshots_ring8.npz").write_bytes(b"not a snapshot file\n")
    np.savez(d / "mog_nometa" / "snapshots_ring8.npz", it=np.zeros(2))

    def run_variant(name, csv=None, grids=None):
        r = d / name
        (r / "grids").mkdir(parents=True)
        if csv is not None:
            (r / "losses.csv").write_text(csv)
        for g in grids if grids is not None else ("iter_0000000.png", "iter_0000010.png"):
            (r / "grids" / g).write_bytes(f["png"].read_bytes())
        return r

    good_csv = (run / "losses.csv").read_text()
    f.update({
        "run_hdr": run_variant("run_hdr", "iteration,loss_d,loss_g\n"),
        "run_empty_csv": run_variant("run_empty_csv", ""),
        "run_text": run_variant("run_text", "iteration,loss_d,loss_g\n1,abc,0.5\n"),
        "run_cols": run_variant("run_cols", "iteration,loss_d,loss_g\n1,0.5\n2,0.4\n"),
        "run_nan": run_variant("run_nan", "iteration,loss_d,loss_g\n1,0.5,0.6\n2,nan,0.6\n"),
        "run_order": run_variant("run_order", "iteration,loss_d,loss_g\n1,0.5,0.6\n5,0.5,0.6\n"),
        "run_header": run_variant("run_header", "a,b,c\n1,0.5,0.6\n"),
        "run_binary": run_variant("run_binary", None),
        "run_nocsv": run_variant("run_nocsv", None),
        "run_abc": run_variant("run_abc", good_csv, ("iter_0000000.png", "iter_abc.png")),
        "run_nogrids": run_variant("run_nogrids", good_csv, ()),
        "run_badpng": run_variant("run_badpng", good_csv, ("iter_0000000.png",)),
        "evals_bad": d / "bad_eval.json",
    })
    (f["run_binary"] / "losses.csv").write_bytes(b"\xff\xfe\x00\x01" * 50)
    (f["run_badpng"] / "grids" / "iter_0000010.png").write_text("not a png")
    f["evals_bad"].write_text("{not json")
    return f


# (arguments, a word the one-line error must contain); {out} is a fresh folder that must
# not exist afterwards, other {names} are files of the fixture.
CASES = [
    # common options
    ("demo --seed -1", "--seed"), ("demo --seed abc", "--seed"), ("demo --seed 1.5", "--seed"),
    ("demo --seed 99999999999999999999999", "--seed"), ("demo --out ''", "--out"), ("demo --out '  '", "--out"),
    ("demo --bogus", "--bogus"), ("nosuchcommand", "nosuchcommand"), ("gan1d --seed nan", "--seed"),
    ("theory --out ''", "--out"), ("nash --out ''", "--out"), ("mnist train --out ''", "--out"),
    ("mnist sample --checkpoint {ckpt} --out ''", "--out"), ("mnist plot --run {run} --out ''", "--out"),
    ("mnist", "ACTION"), ("mnist fly", "fly"),
    # demo
    ("demo --steps 0", "--steps"), ("demo --steps -1", "--steps"), ("demo --steps abc", "--steps"),
    ("demo --steps 1.5", "--steps"), ("demo --steps nan", "--steps"), (f"demo --steps {BIG}000", "--steps"),
    ("demo --lr 0", "--lr"), ("demo --lr -1", "--lr"), ("demo --lr nan", "--lr"), ("demo --lr inf", "--lr"),
    ("demo --lr -inf", "--lr"), ("demo --lr abc", "--lr"), ("demo --lr 1e400", "--lr"),
    ("demo --lr 1e300 --steps 50 --quiet", "diverged at iteration"),
    ("demo --lr 1e200 --steps 50 --quiet", "diverged at iteration"),
    ("demo --batch 0", "--batch"), (f"demo --batch {BIG} --quiet", "memory"),
    ("demo --hidden 0", "--hidden"), (f"demo --hidden {BIG} --quiet", "memory"),
    ("demo --hidden -3", "--hidden"), ("demo --steps 4611686018427387905", "--steps"),
    # sizes that cannot fit, and arguments no command takes, named by the command
    ("mog --seeds 100000000 --steps 10 --quiet", "memory"),
    ("mog --seeds 2 --steps 10 --hidden 16 16 --n-eval 100000000 --quiet", "--n-eval 100,000,000"),
    ("gan1d --hidden-g 64 64", "gandyn gan1d: error: unrecognized arguments: 64"),
    ("gan1d --loss wgan --optimizer sgd --lr-g 100 --lr-d 100 --quiet", "larger than 1e+06"),
    ("theory --bogus", "gandyn theory: error: unrecognized arguments: --bogus"),
    # gan1d
    ("gan1d --data 'N(4,' --quiet", "N(4,"), ("gan1d --data 'N(4, -1)' --quiet", "N(4, -1)"),
    ("gan1d --data 'X(1, 2)' --quiet", "X(1, 2)"), ("gan1d --data '' --quiet", "data"),
    ("gan1d --data 'N(nan, 1)' --quiet", "nan"), ("gan1d --data 'U(2, 1)' --quiet", "U(2, 1)"),
    ("gan1d --latent cauchy", "--latent"), ("gan1d --hidden-g 0", "--hidden-g"), ("gan1d --hidden-d -1", "--hidden-d"),
    (f"gan1d --hidden-g {BIG} --quiet", "memory"), ("gan1d --act-g foo", "--act-g"), ("gan1d --act-d foo", "--act-d"),
    ("gan1d --loss foo", "--loss"), ("gan1d --optimizer foo", "--optimizer"), ("gan1d --mu 1", "--mu"),
    ("gan1d --mu -0.1", "--mu"), ("gan1d --mu nan", "--mu"),
    ("gan1d --lr-d 0", "--lr-d"), ("gan1d --lr-d nan", "--lr-d"), ("gan1d --lr-g inf", "--lr-g"),
    ("gan1d --lr-g -2", "--lr-g"),
    ("gan1d --lr-d 1e300 --steps 40 --record-every 10 --hidden-g 4 --hidden-d 4 --batch 8 --quiet",
     "training diverged at iteration"),
    ("gan1d --k 0", "--k"), ("gan1d --batch 0", "--batch"), (f"gan1d --batch {BIG} --quiet", "memory"),
    ("gan1d --steps 0", "--steps"), (f"gan1d --steps {BIG} --quiet", "memory"), ("gan1d --record-every 0", "--record-every"),
    ("gan1d --steps 10 --record-every 5 --quiet", "--steps"), ("gan1d --fps 0", "--fps"),
    ("gan1d --sweep --grid 1 --quiet", "--grid"), (f"gan1d --sweep --grid 10000000 --quiet", "memory"),
    ("gan1d --sweep --lr-min 0.1 --lr-max 0.01 --quiet", "--lr-min"), ("gan1d --sweep --lr-max 1e200 --quiet", "--lr-max"),
    ("gan1d --sweep --lr-min 0 --quiet", "--lr-min"), ("gan1d --sweep --lr-max nan", "--lr-max"),
    ("gan1d --sweep --seeds 0", "--seeds"), (f"gan1d --sweep --seeds {BIG} --quiet", "memory"),
    ("gan1d --sweep --ks 0", "--ks"), ("gan1d --sweep --ks", "--ks"), ("gan1d --sweep --losses foo", "--losses"),
    ("gan1d --sweep --threshold 0", "--threshold"), ("gan1d --sweep --threshold nan", "--threshold"),
    ("gan1d --sweep --threshold -1", "--threshold"), ("gan1d --grid abc", "--grid"),
    # theory
    ("theory --perturbations 0", "--perturbations"), (f"theory --perturbations {BIG} --quiet", "--perturbations"),
    ("theory --max-steps 0", "--max-steps"), (f"theory --max-steps {BIG} --quiet", "--max-steps"),
    ("theory --max-steps abc", "--max-steps"), ("theory --quick=1", "--quick"), ("theory --perturbations -1", "--perturbations"),
    # nash
    ("nash --h 0", "--h"), ("nash --h -1", "--h"), ("nash --h nan", "--h"), ("nash --h inf", "--h"),
    ("nash --steps 0", "--steps"), (f"nash --steps {BIG} --quiet", "--steps"), ("nash --disc-h 0", "--disc-h"),
    ("nash --disc-h nan", "--disc-h"), ("nash --gamma 0", "--gamma"), ("nash --gamma -1", "--gamma"),
    ("nash --sigma -1", "--sigma"), ("nash --sigma inf", "--sigma"), ("nash --train-steps 0", "--train-steps"),
    (f"nash --train-steps {BIG} --quiet", "--train-steps"), ("nash --field-grid 2 --quiet", "--field-grid"),
    ("nash --field-grid 1000000 --quiet", "--field-grid"), ("nash --map-points 2 --quiet", "--map-points"),
    ("nash --map-points 1000000 --quiet", "--map-points"), ("nash --large-hidden 1 --quiet", "--large-hidden"),
    ("nash --large-hidden 1000000 --quiet", "--large-hidden"), ("nash --large-hidden -1", "--large-hidden"),
    # mnist train: refused before the data are read
    (f"mnist train --iters {BIG} --quiet", "1,000,000,000,000 iterations"), ("mnist train --iters 0", "--iters"),
    ("mnist train --hidden-g 1000000 1000000 --quiet", "1,000,886,101,393 parameters"),
    ("mnist train --hidden-d 100000000 100000000 --quiet", "parameters"), ("mnist train --hidden-g 0", "--hidden-g"),
    ("mnist train --hidden-g abc", "--hidden-g"), ("mnist train --hidden-d 0", "--hidden-d"),
    ("mnist train --z-dim 0", "--z-dim"), (f"mnist train --z-dim {BIG} --quiet", "memory"),
    (f"mnist train --batch {BIG} --quiet", "batch"), ("mnist train --hidden-act sigmoid", "--hidden-act"),
    ("mnist train --init foo", "--init"), ("mnist train --latent foo", "--latent"), ("mnist train --g-loss foo", "--g-loss"),
    ("mnist train --k 0", "--k"), ("mnist train --batch 0", "--batch"), ("mnist train --batch 100000 --quiet", "batch"),
    ("mnist train --optimizer foo", "--optimizer"), ("mnist train --lr 0", "--lr"), ("mnist train --lr nan", "--lr"),
    ("mnist train --lr inf", "--lr"), ("mnist train --lr -1", "--lr"), ("mnist train --lr-g nan", "--lr-g"),
    ("mnist train --lr-d -1", "--lr-d"), ("mnist train --b1 1", "--b1"), ("mnist train --b1 -0.1", "--b1"),
    ("mnist train --b1 nan", "--b1"), ("mnist train --mu 1.5", "--mu"), ("mnist train --n-train 0", "--n-train"),
    ("mnist train --n-train 58000 --quiet", "55,000"), ("mnist train --n-train 60001 --quiet", "55,000"),
    ("mnist train --d-dropout 1.0", "--d-dropout"), ("mnist train --d-dropout -0.1", "--d-dropout"),
    ("mnist train --d-dropout 0.5 --quiet", "d_dropout"), ("mnist train --d-dropout 0.2 0.5 0.5 --quiet", "d_dropout"),
    ("mnist train --label-smooth 1", "--label-smooth"), ("mnist train --g-ema 1", "--g-ema"),
    ("mnist train --g-ema nan", "--g-ema"), ("mnist train --checkpoint-every -1", "--checkpoint-every"),
    ("mnist train --grid-every -1", "--grid-every"), ("mnist train --resume --quiet", "no checkpoint"),
    (f"mnist train --resume --iters {BIG} --quiet", "memory"),
    ("mnist train --quiet --out {run}", "exists: pass --resume"), ("mnist train --quiet --out {ckpt}", "not a directory"),
    ("mnist train --quiet --out {ckpt}/sub", "not a directory"), ("demo --quiet --out {ckpt}/sub", "not a directory"),
    # mnist sample
    ("mnist sample", "--checkpoint"), ("mnist sample --checkpoint {missing}", "no checkpoint"),
    ("mnist sample --checkpoint {png}", "not an .npz"), ("mnist sample --checkpoint {text}", "not an .npz"),
    ("mnist sample --checkpoint {trunc}", "trunc.npz"), ("mnist sample --checkpoint {empty}", "empty.npz"),
    ("mnist sample --checkpoint {dir}", "adir.npz"), ("mnist sample --checkpoint {nometa}", "nometa.npz"),
    ("mnist sample --checkpoint {nan_ckpt}", "theta_g holds NaN"), ("mnist sample --checkpoint {inf_ckpt}", "theta_d"),
    ("mnist sample --checkpoint {pos_ckpt}", "sampler position"), ("mnist sample --checkpoint {perm_ckpt}", "permutation"),
    ("mnist sample --checkpoint {it_ckpt}", "iteration"), ("mnist sample --checkpoint {fmt_ckpt}", "format"),
    ("mnist sample --checkpoint {shape_ckpt}", "shape"), ("mnist sample --checkpoint {cfg_ckpt}", "55,000"),
    ("mnist sample --checkpoint {ckpt} --n 0", "--n"), ("mnist sample --checkpoint {ckpt} --n -5", "--n"),
    (f"mnist sample --checkpoint {{ckpt}} --n {BIG}", "--n 1,000,000,000,000"),
    ("mnist sample --checkpoint {ckpt} --n abc", "--n"), ("mnist sample --checkpoint {ckpt} --n 1e3", "--n"),
    # mnist eval
    ("mnist eval --checkpoint {ckpt} --samples 5", "--samples"), ("mnist eval --checkpoint {ckpt} --samples 0", "--samples"),
    (f"mnist eval --checkpoint {{ckpt}} --samples {BIG}", "--samples"), ("mnist eval --checkpoint {png}", "not an .npz"),
    ("mnist eval --checkpoint {nan_ckpt}", "NaN"), ("mnist eval --checkpoint {missing}", "no checkpoint"),
    ("mnist eval --checkpoint {ckpt} --samples 100 --classifier {missing} --quiet", "missing.npz"),
    ("mnist eval --checkpoint {ckpt} --samples 100 --classifier {text} --quiet", "text.npz"),
    ("mnist eval --checkpoint {ckpt} --samples 100 --classifier {ckpt} --quiet", "checkpoint.npz"),
    # mnist classifier
    ("mnist classifier --epochs 0", "--epochs"), ("mnist classifier --lr 0", "--lr"),
    ("mnist classifier --lr-final nan", "--lr-final"), ("mnist classifier --hidden 0", "--hidden"),
    ("mnist classifier --hidden 1000000000 1000000000 --quiet", "memory"), ("mnist classifier --max-shift 28", "--max-shift"),
    ("mnist classifier --max-shift -1", "--max-shift"), ("mnist classifier --batch 0", "--batch"),
    # mog snapshots and the landscape of a mog run
    ("mog --keep-every -1", "--keep-every"), ("mog --keep-every abc", "--keep-every"),
    ("mog --steps 10 --checks 1 --keep-every 20", "--keep-every"),
    ("landscape --run {run} --model 0 --quiet", "gandyn mog"), ("landscape --run {nodata} --data ring8", "gandyn mog"),
    ("landscape --run {mog_plain} --quiet", "--keep-every"), ("landscape --run {mog_plain} --data grid25", "grid25"),
    ("landscape --run {mog_text} --quiet", "snapshots_ring8.npz"),
    ("landscape --run {mog_nometa} --quiet", "snapshots_ring8.npz"),
    # mnist plot
    ("mnist plot", "--run"), ("mnist plot --run {missing}", "missing.npz"), ("mnist plot --run {ckpt}", "checkpoint.npz"),
    ("mnist plot --run {run_nocsv}", "no losses.csv"), ("mnist plot --run {run_hdr}", "run_hdr/losses.csv"),
    ("mnist plot --run {run_empty_csv}", "run_empty_csv/losses.csv"), ("mnist plot --run {run_text}", "run_text/losses.csv"),
    ("mnist plot --run {run_cols}", "run_cols/losses.csv"), ("mnist plot --run {run_nan}", "iteration 2"),
    ("mnist plot --run {run_order}", "run_order/losses.csv"), ("mnist plot --run {run_header}", "run_header/losses.csv"),
    ("mnist plot --run {run_binary}", "run_binary/losses.csv"), ("mnist plot --run {run_abc}", "iter_abc.png"),
    ("mnist plot --run {run_nogrids}", "no sample grids"), ("mnist plot --run {run_badpng}", "iter_0000010.png"),
    ("mnist plot --run {run} --at 5", "--at"), ("mnist plot --run {run} --at -5", "--at"),
    ("mnist plot --run {run} --window 0", "--window"), ("mnist plot --run {run} --evals {missing}", "--evals"),
    ("mnist plot --run {run} --evals {evals_bad}", "bad_eval.json"),
]

DATA_CASES = [  # these read the MNIST files first
    ("mnist classifier --batch 70000 --quiet --data-dir {data}", "--batch 70,000"),
    ("mnist train --resume --iters 5 --quiet --data-dir {data} --out {resume_run}", "below the checkpoint's iteration"),
]


def _run(argv, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = cli.main(argv)
        except SystemExit as e:
            code = e.code
    out, err = capsys.readouterr()
    return code, out, err, [w for w in caught if not issubclass(w.category, (DeprecationWarning,
                                                                              PendingDeprecationWarning))]


def _check(line, needle, files, tmp_path, capsys, monkeypatch, data=False):
    if not data:
        def no_data(*a, **k):
            raise AssertionError("this input should be refused before the data are read")
        monkeypatch.setattr("gandyn.data.load_mnist", no_data)
    out = tmp_path / "out"
    names = {**{k: str(v) for k, v in files.items()}, "out": str(out), "data": str(SHARED)}
    argv = [a.format(**names) for a in shlex.split(line)]
    if "--out" not in argv and argv and argv[0] in cli.COMMANDS:
        argv += ["--out", str(out)]
    code, stdout, err, caught = _run(argv, capsys)
    assert code not in (0, None), (line, stdout)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, (line, err)
    assert needle.format(**names) in lines[0], (line, lines[0])
    assert not caught, (line, [str(w.message) for w in caught])
    assert not out.exists(), (line, sorted(p.name for p in out.iterdir()))


@pytest.mark.parametrize("line,needle", CASES)
def test_bad_cli_input_is_a_one_line_error(line, needle, files, tmp_path, capsys, monkeypatch):
    _check(line, needle, files, tmp_path, capsys, monkeypatch)


@pytest.mark.skipif(not HAVE_MNIST, reason="MNIST files not available")
@pytest.mark.parametrize("line,needle", DATA_CASES)
def test_bad_cli_input_found_after_reading_the_data(line, needle, files, tmp_path, capsys, monkeypatch):
    import shutil

    shutil.copytree(files["run"], tmp_path / "resume_run")
    _check(line, needle, {**files, "resume_run": tmp_path / "resume_run"}, tmp_path, capsys, monkeypatch, data=True)


def test_a_failed_plot_writes_nothing_into_an_existing_folder(files, tmp_path, capsys):
    out = tmp_path / "figs"
    out.mkdir()
    code, _, err, _ = _run(["mnist", "plot", "--run", str(files["run_abc"]), "--out", str(out)], capsys)
    assert code == 2 and "iter_abc.png" in err and list(out.iterdir()) == []


def test_good_plot_and_sample_still_work(files, tmp_path, capsys):
    code, _, err, _ = _run(["mnist", "plot", "--run", str(files["run"]), "--out", str(tmp_path / "p")], capsys)
    assert code == 0, err
    assert {"losses.png", "grids_over_time.png", "manifest.json"} <= {p.name for p in (tmp_path / "p").iterdir()}
    code, _, err, _ = _run(["mnist", "sample", "--checkpoint", str(files["ckpt"]), "--n", "4",
                            "--out", str(tmp_path / "s")], capsys)
    assert code == 0, err and (tmp_path / "s" / "samples.png").is_file()


def _api_cases():
    from gandyn.engine.nn import MLP
    from gandyn.experiments import gan1d
    from gandyn.experiments.demo import run_demo
    from gandyn.cli.mnist import check_run_memory
    from gandyn.experiments.mnist import MnistConfig
    from gandyn.games import dirac_gan, nash

    m = MLP((3, 4, 1), ("relu", "identity"))
    g = dirac_gan()
    return [
        ("MLP 3.5", lambda: MLP((3.5, 4, 1), ("relu", "identity")), "3.5"),
        ("MLP '3'", lambda: MLP(("3", 4, 1), ("relu", "identity")), "integers"),
        ("MLP nan", lambda: MLP((float("nan"), 4, 1), ("relu", "identity")), "integers"),
        ("MLP inf", lambda: MLP((float("inf"), 4, 1), ("relu", "identity")), "integers"),
        ("MLP True", lambda: MLP((True, 4, 1), ("relu", "identity")), "integers"),
        ("MLP None", lambda: MLP((None, 4, 1), ("relu", "identity")), "integers"),
        ("forward 1-D", lambda: m.forward(np.zeros(m.n_params), np.zeros(3)), "shape (3,)"),
        ("forward scalar", lambda: m.forward(np.zeros(m.n_params), 1.0), "shape ()"),
        ("forward wrong width", lambda: m.forward(np.zeros(m.n_params), np.zeros((2, 4))), "features"),
        ("classify nan", lambda: nash.classify(g, [np.nan, 0]), "finite"),
        ("classify inf", lambda: nash.classify(g, [0, np.inf]), "finite"),
        ("classify short", lambda: nash.classify(g, [0]), "entries"),
        ("classify h nan", lambda: nash.classify(g, [0, 0], h=np.nan), "h must"),
        ("classify h 0", lambda: nash.classify(g, [0, 0], h=0), "h must"),
        ("dirac noise nan", lambda: dirac_gan(noise_std=np.nan), "noise_std"),
        ("dirac noise -1", lambda: dirac_gan(noise_std=-1), "noise_std"),
        ("dirac r1 nan", lambda: dirac_gan(r1=np.nan), "r1"),
        ("dirac r2 inf", lambda: dirac_gan(r2=np.inf), "r2"),
        ("config n_train", lambda: MnistConfig(n_train=58_000), "55,000"),
        ("config n_train 1.5", lambda: MnistConfig(n_train=1.5), "n_train"),
        ("config b2 1", lambda: MnistConfig(training=MnistConfig.training.replace(b2=1.0)), "b2"),
        ("config eps nan", lambda: MnistConfig(training=MnistConfig.training.replace(eps=float("nan"))), "eps"),
        ("config mu nan", lambda: MnistConfig(training=MnistConfig.training.replace(mu=float("nan"))), "mu"),
        ("config seed -1", lambda: MnistConfig(seed=-1), "seed"),
        ("config lr inf", lambda: MnistConfig(lr_g=float("inf")), "lr_g"),
        ("config huge", lambda: check_run_memory(MnistConfig(hidden_g=(10**6, 10**6))), "parameters"),
        ("demo lr nan", lambda: run_demo(lr=float("nan"), progress=False), "lr"),
        ("demo lr 1e300", lambda: run_demo(lr=1e300, steps=5, hidden=2, batch=4, progress=False), "iteration 1"),
        ("gan1d mu nan", lambda: gan1d.Setup(training=gan1d.Setup.training.replace(mu=float("nan"))), "mu"),
        ("gan1d diverges", lambda: gan1d.record_run(gan1d.Setup(training=gan1d.Setup.training.replace(batch=4), hidden_g=2, hidden_d=2), lr_d=1e300,
                                                   steps=8, record_every=2, grid=21, n_samples=50), "diverged"),
    ]


API_CASES = _api_cases()


@pytest.mark.parametrize("name,call,needle", API_CASES, ids=[c[0] for c in API_CASES])
def test_bad_api_input_is_a_one_line_value_error(name, call, needle):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as e:
            call()
    msg = str(e.value)
    assert needle in msg and "\n" not in msg, (name, msg)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], name
