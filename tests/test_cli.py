import subprocess
import sys

import pytest

from gandyn import cli


def _gandyn(*args, **kw):
    return subprocess.run([sys.executable, "-m", "gandyn", *args], capture_output=True, text=True, **kw)


def test_import_gandyn_does_not_import_matplotlib():
    code = "import sys, gandyn; gandyn.engine.nn; gandyn.engine.gan; gandyn.engine.optim; assert 'matplotlib' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_version():
    r = _gandyn("--version")
    assert r.returncode == 0 and r.stdout.startswith("gandyn ")


@pytest.mark.parametrize("command", [None, *cli.COMMANDS])
def test_help_of_each_command_exits_zero(command):
    r = _gandyn(*([command] if command else []), "--help")
    assert r.returncode == 0 and "usage:" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (["demo", "--steps", "abc"], "--steps"),
    (["demo", "--lr", "-1"], "--lr"),
    (["demo", "--lr", "nan"], "--lr"),
    (["demo", "--seed", "-3"], "--seed"),
    (["demo", "--batch", "0"], "--batch"),
    (["demo", "--bogus"], "--bogus"),
    (["nosuchcommand"], "nosuchcommand"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, needle):
    r = _gandyn(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_out_that_is_a_file_is_a_one_line_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = _gandyn("demo", "--out", str(f), "--steps", "2", "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not a directory" in r.stderr


@pytest.mark.parametrize("command", [["demo"], ["theory", "--quick"], ["nash"], ["mog", "--quick"], ["gan1d"]])
def test_out_that_cannot_be_made_is_refused_before_any_work(command, tmp_path, capsys, monkeypatch):
    def no_work(args):
        raise AssertionError("the command started before --out was checked")

    monkeypatch.setattr(f"gandyn.cli.{command[0]}.run", no_work)
    out = tmp_path / ("x" * 300) / "y"  # a name longer than file systems allow
    assert cli.main([*command, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the folder cannot be made" in err and str(out) in err
    assert list(tmp_path.iterdir()) == []


def test_demo_writes_png_and_pdf(tmp_path):
    r = _gandyn("demo", "--out", str(tmp_path), "--steps", "200", "--quiet")
    assert r.returncode == 0, r.stderr
    png, pdf = tmp_path / "demo.png", tmp_path / "demo.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:4] == b"%PDF"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize("argv,seed,out,quiet", [
    (["mnist", "--out", "X", "--seed", "5", "sample", "--checkpoint", "c"], 5, "X", False),
    (["mnist", "--quiet", "sample", "--checkpoint", "c"], 0, "gandyn-out/mnist-sample", True),
    (["mnist", "sample", "--checkpoint", "c", "--seed", "3", "--out", "Y"], 3, "Y", False),
    (["mnist", "--out", "X", "sample", "--checkpoint", "c", "--out", "Y"], 0, "Y", False),  # the later wins
    (["mnist", "sample", "--checkpoint", "c"], 0, "gandyn-out/mnist-sample", False),
])
def test_mnist_common_options_before_or_after_the_action_are_honoured(monkeypatch, argv, seed, out, quiet):
    from gandyn.cli import mnist as cli_mnist

    seen = {}
    monkeypatch.setattr(cli_mnist, "_sample", lambda args: seen.update(vars(args)) or 0)
    assert cli.main(argv) == 0
    assert (seen["seed"], seen["out"], seen["quiet"]) == (seed, out, quiet)


@pytest.mark.parametrize("args,needle", [
    (["gan1d", "--sweep", "--lr-min", "-1e-3"], "--lr-min"),
    (["mnist", "train", "--lr-d", "-inf"], "--lr-d"),
    (["mnist", "train", "--lr-g", "-2.5E-4"], "--lr-g"),
    (["mnist", "--seed", "-1", "sample", "--checkpoint", "c"], "--seed"),
    (["mnist", "train", "--d-dropout", "0.2", "-0.5"], "--d-dropout"),
])
def test_negative_numbers_reach_the_range_check(args, needle, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "must be" in err[0] and "expected one argument" not in err[0]


@pytest.mark.parametrize("argv,env,threads", [
    (["gan1d"], {}, 1),
    (["gan1d", "--threads", "2"], {}, 2),
    (["gan1d", "--threads", "2"], {"OMP_NUM_THREADS": "1"}, 2),
    (["gan1d"], {"OPENBLAS_NUM_THREADS": "2"}, None),
    (["mnist", "train"], {}, 1),
    (["mnist", "eval", "--checkpoint", "c.npz"], {}, "cores"),
])
def test_blas_threads_per_workload(argv, env, threads, monkeypatch):
    import os

    from gandyn.app.machine import THREAD_VARIABLES

    for k in THREAD_VARIABLES:
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    args, _ = cli.build_parser().parse_known_args(argv)
    assert cli.blas_threads(args) == ((os.cpu_count() or 1) if threads == "cores" else threads)


def test_threads_option_is_checked(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["gan1d", "--threads", "0"])
    assert e.value.code == 2 and "--threads" in capsys.readouterr().err
