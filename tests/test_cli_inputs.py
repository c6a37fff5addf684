"""A table of bad inputs to every command (and to the library's entry points): each gives
a one-line error that names the problem, a non-zero exit, no traceback, no warning,
and no output folder. Run in process through ``gandyn.cli.main``."""
import json
import shlex
import warnings

import numpy as np
import pytest

from gandyn import cli
from gandyn.experiments import mnist
from gandyn.experiments.mnist import NETWORKS

from _mnist_dir import HAVE_MNIST, SHARED

SMALL = dict(networks=NETWORKS.replace(z_dim=8, hidden_g=16, hidden_d=16), n_train=200)
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


# Each case: arguments, and a word the one-line error must contain; {out} is a fresh folder that
# must not exist afterwards, other {names} are files of the fixture.

#: "command --option": its values, each refused with a one-line error naming the option.
BAD_VALUES = {
    "demo --seed": "-1 abc 1.5 99999999999999999999999", "gan1d --seed": "nan",
    "demo --steps": f"0 -1 abc 1.5 nan {BIG}000 4611686018427387905", "demo --lr": "0 -1 nan inf -inf abc 1e400",
    "demo --batch": "0", "demo --hidden": "0 -3",
    "gan1d --latent": "cauchy", "gan1d --hidden-g": "0", "gan1d --hidden-d": "-1", "gan1d --act-g": "foo",
    "gan1d --act-d": "foo", "gan1d --loss": "foo", "gan1d --optimizer": "foo", "gan1d --mu": "1 -0.1 nan",
    "gan1d --lr-d": "0 nan", "gan1d --lr-g": "inf -2", "gan1d --k": "0", "gan1d --batch": "0", "gan1d --steps": "0",
    "gan1d --record-every": "0", "gan1d --fps": "0", "gan1d --grid": "abc", "gan1d --sweep --lr-max": "nan",
    "gan1d --sweep --seeds": "0", "gan1d --sweep --ks": "0", "gan1d --sweep --losses": "foo",
    "gan1d --sweep --threshold": "0 nan -1",
    "theory --perturbations": "0 -1", "theory --max-steps": "0 abc",
    "nash --h": "0 -1 nan inf", "nash --steps": "0", "nash --disc-h": "0 nan", "nash --gamma": "0 -1",
    "nash --sigma": "-1 inf", "nash --train-steps": "0", "nash --large-hidden": "-1",
    "mnist train --iters": "0", "mnist train --hidden-g": "0 abc", "mnist train --hidden-d": "0",
    "mnist train --z-dim": "0", "mnist train --hidden-act": "sigmoid", "mnist train --init": "foo",
    "mnist train --latent": "foo", "mnist train --g-loss": "foo", "mnist train --k": "0", "mnist train --batch": "0",
    "mnist train --optimizer": "foo", "mnist train --lr": "0 nan inf -1", "mnist train --lr-g": "nan",
    "mnist train --lr-d": "-1", "mnist train --b1": "1 -0.1 nan", "mnist train --mu": "1.5",
    "mnist train --n-train": "0", "mnist train --d-dropout": "1.0 -0.1", "mnist train --label-smooth": "1",
    "mnist train --g-ema": "1 nan", "mnist train --checkpoint-every": "-1", "mnist train --grid-every": "-1",
    "mnist sample --checkpoint {ckpt} --n": "0 -5 abc 1e3", "mnist eval --checkpoint {ckpt} --samples": f"5 0 {BIG}",
    "mnist classifier --epochs": "0", "mnist classifier --lr": "0", "mnist classifier --lr-final": "nan",
    "mnist classifier --hidden": "0", "mnist classifier --max-shift": "28 -1", "mnist classifier --batch": "0",
    "mog --keep-every": "-1 abc", "mog --steps 10 --checks 1 --keep-every": "20",
    "mnist plot --run {run} --at": "5 -5", "mnist plot --run {run} --window": "0",
    "mnist plot --run {run} --evals": "{missing}",
}

#: "command --option": {a fixture file given to it: a word of the one-line error}.
BAD_FILES = {
    "mnist sample --checkpoint": {
        "missing": "no checkpoint", "png": "not an .npz", "text": "not an .npz", "trunc": "trunc.npz",
        "empty": "empty.npz", "dir": "adir.npz", "nometa": "nometa.npz", "nan_ckpt": "theta_g holds NaN",
        "inf_ckpt": "theta_d", "pos_ckpt": "sampler position", "perm_ckpt": "permutation", "it_ckpt": "iteration",
        "fmt_ckpt": "format", "shape_ckpt": "shape", "cfg_ckpt": "55,000"},
    "mnist eval --checkpoint": {"png": "not an .npz", "nan_ckpt": "NaN", "missing": "no checkpoint"},
    "mnist eval --checkpoint {ckpt} --samples 100 --quiet --classifier": {
        "missing": "missing.npz", "text": "text.npz", "ckpt": "checkpoint.npz"},
    "mnist plot --run": {
        "missing": "missing.npz", "ckpt": "checkpoint.npz", "run_nocsv": "no losses.csv",
        "run_hdr": "run_hdr/losses.csv", "run_empty_csv": "run_empty_csv/losses.csv",
        "run_text": "run_text/losses.csv", "run_cols": "run_cols/losses.csv", "run_nan": "iteration 2",
        "run_order": "run_order/losses.csv", "run_header": "run_header/losses.csv",
        "run_binary": "run_binary/losses.csv", "run_abc": "iter_abc.png", "run_nogrids": "no sample grids",
        "run_badpng": "iter_0000010.png"},
}

#: Other command lines: {arguments: a word of the one-line error}.
OTHER = {
    # common options
    "demo --out ''": "--out", "demo --out '  '": "--out", "demo --bogus": "--bogus",
    "nosuchcommand": "nosuchcommand", "theory --out ''": "--out", "nash --out ''": "--out",
    "mnist train --out ''": "--out", "mnist sample --checkpoint {ckpt} --out ''": "--out",
    "mnist plot --run {run} --out ''": "--out", "mnist": "ACTION", "mnist fly": "fly",
    # demo
    "demo --lr 1e300 --steps 50 --quiet": "diverged at iteration",
    "demo --lr 1e200 --steps 50 --quiet": "diverged at iteration",
    f"demo --batch {BIG} --quiet": "memory", f"demo --hidden {BIG} --quiet": "memory",
    # sizes that cannot fit, and arguments no command takes, named by the command
    "mog --seeds 100000000 --steps 10 --quiet": "memory",
    "mog --seeds 2 --steps 10 --hidden 16 16 --n-eval 100000000 --quiet": "--n-eval 100,000,000",
    "gan1d --bogus 64": "gandyn gan1d: error: unrecognized arguments: --bogus 64",
    "gan1d --hidden-g 100000 100000 --quiet": "memory",  # hidden widths: the parameters of every layer
    "gan1d --loss wgan --optimizer sgd --lr-g 100 --lr-d 100 --quiet": "larger than 1e+06",
    "theory --bogus": "gandyn theory: error: unrecognized arguments: --bogus",
    # gan1d
    "gan1d --data 'N(4,' --quiet": "N(4,", "gan1d --data 'N(4, -1)' --quiet": "N(4, -1)",
    "gan1d --data 'X(1, 2)' --quiet": "X(1, 2)", "gan1d --data '' --quiet": "data",
    "gan1d --data 'N(nan, 1)' --quiet": "nan", "gan1d --data 'U(2, 1)' --quiet": "U(2, 1)",
    f"gan1d --hidden-g {BIG} --quiet": "memory",
    "gan1d --lr-d 1e300 --steps 40 --record-every 10 --hidden-g 4 --hidden-d 4 --batch 8 --quiet":
        "training diverged at iteration",
    f"gan1d --batch {BIG} --quiet": "memory", f"gan1d --steps {BIG} --quiet": "memory",
    "gan1d --steps 10 --record-every 5 --quiet": "--steps", "gan1d --sweep --grid 1 --quiet": "--grid",
    "gan1d --sweep --grid 10000000 --quiet": "memory", "gan1d --sweep --lr-min 0.1 --lr-max 0.01 --quiet": "--lr-min",
    "gan1d --sweep --lr-max 1e200 --quiet": "--lr-max", "gan1d --sweep --lr-min 0 --quiet": "--lr-min",
    f"gan1d --sweep --seeds {BIG} --quiet": "memory", "gan1d --sweep --ks": "--ks",
    # theory and nash
    f"theory --perturbations {BIG} --quiet": "--perturbations", f"theory --max-steps {BIG} --quiet": "--max-steps",
    "theory --quick=1": "--quick", f"nash --steps {BIG} --quiet": "--steps",
    f"nash --train-steps {BIG} --quiet": "--train-steps", "nash --field-grid 2 --quiet": "--field-grid",
    "nash --field-grid 1000000 --quiet": "--field-grid", "nash --map-points 2 --quiet": "--map-points",
    "nash --map-points 1000000 --quiet": "--map-points", "nash --large-hidden 1 --quiet": "--large-hidden",
    "nash --large-hidden 1000000 --quiet": "--large-hidden",
    # mnist train: refused before the data are read
    f"mnist train --iters {BIG} --quiet": "1,000,000,000,000 iterations",
    "mnist train --hidden-g 1000000 1000000 --quiet": "1,000,886,101,393 parameters",
    "mnist train --hidden-d 100000000 100000000 --quiet": "parameters",
    f"mnist train --z-dim {BIG} --quiet": "memory", f"mnist train --batch {BIG} --quiet": "batch",
    "mnist train --batch 100000 --quiet": "batch", "mnist train --n-train 58000 --quiet": "55,000",
    "mnist train --n-train 60001 --quiet": "55,000", "mnist train --d-dropout 0.5 --quiet": "d_dropout",
    "mnist train --d-dropout 0.2 0.5 0.5 --quiet": "d_dropout", "mnist train --resume --quiet": "no checkpoint",
    f"mnist train --resume --iters {BIG} --quiet": "memory",
    "mnist train --quiet --out {run}": "exists: pass --resume", "mnist train --quiet --out {ckpt}": "not a directory",
    "mnist train --quiet --out {ckpt}/sub": "not a directory", "demo --quiet --out {ckpt}/sub": "not a directory",
    # mnist sample, eval and classifier
    "mnist sample": "--checkpoint", f"mnist sample --checkpoint {{ckpt}} --n {BIG}": "--n 1,000,000,000,000",
    "mnist classifier --hidden 1000000000 1000000000 --quiet": "memory",
    # the landscape of a mog run
    "landscape --run {run} --model 0 --quiet": "gandyn mog", "landscape --run {nodata} --data ring8": "gandyn mog",
    "landscape --run {mog_plain} --quiet": "--keep-every", "landscape --run {mog_plain} --data grid25": "grid25",
    "landscape --run {mog_text} --quiet": "snapshots_ring8.npz",
    "landscape --run {mog_nometa} --quiet": "snapshots_ring8.npz",
    # mnist plot
    "mnist plot": "--run", "mnist plot --run {run} --evals {evals_bad}": "bad_eval.json",
}

CASES = [(f"{start} {v}", start.split()[-1]) for start, values in BAD_VALUES.items() for v in values.split()] + [
    (f"{start} {{{name}}}", needle) for start, files in BAD_FILES.items() for name, needle in files.items()] + [
    *OTHER.items()]

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


@pytest.mark.parametrize("line,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_cli_input_is_a_one_line_error(line, needle, files, tmp_path, capsys, monkeypatch):
    _check(line, needle, files, tmp_path, capsys, monkeypatch)


@pytest.mark.skipif(not HAVE_MNIST, reason="MNIST files not available")
@pytest.mark.parametrize("line,needle", DATA_CASES, ids=[c[0] for c in DATA_CASES])
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
        ("config huge", lambda: check_run_memory(MnistConfig(networks=NETWORKS.replace(hidden_g=(10**6, 10**6)))),
         "parameters"),
        ("demo lr nan", lambda: run_demo(lr=float("nan"), progress=False), "lr"),
        ("demo lr 1e300", lambda: run_demo(lr=1e300, steps=5, hidden=2, batch=4, progress=False), "iteration 1"),
        ("gan1d mu nan", lambda: gan1d.setup(training=gan1d.TRAINING.replace(mu=float("nan"))), "mu"),
        ("gan1d diverges", lambda: gan1d.record_run(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=2, hidden_d=2), training=gan1d.TRAINING.replace(batch=4)), lr_d=1e300,
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
