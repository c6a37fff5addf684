"""Plugins (gandyn.plugins): ``gandyn --plugin MODULE``, installed plugins (entry points), and
the same plugins in mog's process pool and on Dask workers.

The plugin of these tests, tests/plugins/gandyn_testplugin.py, registers ``plugin-nonsat`` (the
non-saturating loss written as a user-defined loss), ``plugin-simgd`` (simultaneous gradient
descent under another name) and ``plugin-ring4`` (a ring of 4 Gaussians). Runs that load it
happen in separate processes, so that this one's registries stay as they are; each checks its
numbers against the built-in loss or method it copies."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gandyn import history, plugins
from gandyn.cli import main, plugin_args

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "plugins"
PLUGIN = HERE / "gandyn_testplugin.py"
BROKEN = HERE / "gandyn_brokenplugin.py"


def _env(*paths, **extra):
    env = {k: v for k, v in os.environ.items() if k != plugins.NO_AUTOLOAD}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (ROOT, *paths))
    return {**env, **extra}


def _gandyn(*args, paths=(HERE,), **extra):
    """``python -m gandyn ARGS`` in a new process that can import the test plugin by name."""
    return subprocess.run([sys.executable, "-m", "gandyn", *args], capture_output=True, text=True,
                          env=_env(*paths, **extra), cwd=ROOT, timeout=120)


def _one_error_line(r):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


# --- the option and the loader


def test_plugin_args_are_the_global_options_before_the_command():
    assert plugin_args(["--plugin", "a", "--plugin=b.c:f", "gan1d", "--plugin", "x"]) == ["a", "b.c:f"]
    assert plugin_args(["--version"]) == [] and plugin_args(["--plugin"]) == []
    assert plugin_args(["mog", "--plugin", "a"]) == []


@pytest.mark.parametrize("spec, message", [
    ("not a module", "not a module name"),
    ("pkg..mod", "not a module name"),
    ("json:", "not a module name"),
    ("no_such/file.py", "no such .py file"),
    ("json:dumps.__doc__", "is not a function"),
    ("gandyn_no_such_plugin", "failed to import: ModuleNotFoundError: No module named 'gandyn_no_such_plugin'"),
])
def test_a_bad_plugin_is_one_line_naming_it(spec, message):
    with pytest.raises(plugins.PluginError, match=f"^plugin '{spec}'") as e:
        plugins.load([spec])
    assert message in str(e.value) and "\n" not in str(e.value)
    assert spec not in plugins.loaded()


def test_a_module_not_found_but_in_the_current_folder_is_hinted(tmp_path, monkeypatch):
    """The `gandyn` command does not import from the current folder: the error says how to."""
    (tmp_path / "gandyn_cwd_plugin.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    with pytest.raises(plugins.PluginError, match=r"No module named 'gandyn_cwd_plugin' \(a file gandyn_cwd_plugin.py "
                                                  r"is in the current folder: give it as ./gandyn_cwd_plugin.py"):
        plugins.load(["gandyn_cwd_plugin"])


def test_a_file_whose_module_name_is_taken_is_refused(tmp_path):
    f = tmp_path / "json.py"
    f.write_text("raise AssertionError('never imported')\n")
    with pytest.raises(plugins.PluginError, match="a module named 'json' is already imported; rename the file"):
        plugins.load([str(f)])


def test_a_plugin_loads_once_and_is_recorded_by_its_absolute_path(tmp_path, monkeypatch):
    f = tmp_path / "gandyn_counting_plugin.py"
    f.write_text("with open(__file__ + '.log', 'a') as log:\n    log.write('imported\\n')\n")
    monkeypatch.chdir(tmp_path)
    try:
        plugins.load(["gandyn_counting_plugin.py"])
        plugins.load([str(f), "./gandyn_counting_plugin.py"])
        assert (tmp_path / "gandyn_counting_plugin.py.log").read_text() == "imported\n"
        assert plugins.loaded().count(str(f)) == 1
    finally:
        if str(f) in plugins.loaded():
            plugins._forget(str(f))
        sys.modules.pop("gandyn_counting_plugin", None)


def test_installed_plugins_load_unless_switched_off(tmp_path, monkeypatch):
    """An entry point of the group gandyn.plugins (``module:function``): the function is called
    once; with GANDYN_DISABLE_PLUGIN_AUTOLOAD set nothing is loaded."""
    import importlib.metadata as md

    (tmp_path / "gandyn_ep_plugin.py").write_text("CALLS = []\ndef register():\n    CALLS.append(1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = md.EntryPoint(name="demo", value="gandyn_ep_plugin:register", group=plugins.GROUP)
    monkeypatch.setattr(md, "entry_points", lambda group=None, **kw: [ep] if group == plugins.GROUP else [])
    assert plugins.installed() == ("gandyn_ep_plugin:register",)
    try:
        monkeypatch.setenv(plugins.NO_AUTOLOAD, "1")
        assert "gandyn_ep_plugin:register" not in plugins.load(autoload=True)
        monkeypatch.delenv(plugins.NO_AUTOLOAD)
        assert "gandyn_ep_plugin:register" in plugins.load(autoload=True)
        plugins.load(["gandyn_ep_plugin:register"], autoload=True)
        assert sys.modules["gandyn_ep_plugin"].CALLS == [1]
    finally:
        if "gandyn_ep_plugin:register" in plugins.loaded():
            plugins._forget("gandyn_ep_plugin:register")
        sys.modules.pop("gandyn_ep_plugin", None)


# --- the command line


@pytest.mark.parametrize("spec", [str(BROKEN), "gandyn_brokenplugin"])
def test_a_plugin_that_fails_to_import_exits_2_with_one_line(spec, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    out = tmp_path / "o"
    assert main(["--plugin", spec, "gan1d", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"gandyn: error: plugin '{spec}' failed to import: RuntimeError: broken on purpose\n"
    assert not out.exists() and "gandyn_brokenplugin" not in sys.modules


def test_plugin_after_the_command_is_refused_with_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["gan1d", "--plugin", "x"])
    assert e.value.code == 2
    assert capsys.readouterr().err == ("gandyn gan1d: error: --plugin is a global option: give it before the "
                                       "command (gandyn --plugin MODULE COMMAND ...)\n")


@pytest.mark.parametrize("command, names", [
    (["gan1d"], ["plugin-nonsat", "plugin-simgd"]),
    (["mog"], ["plugin-nonsat", "plugin-simgd", "plugin-ring4"]),
    (["mnist", "train"], ["plugin-nonsat", "plugin-simgd"]),
])
def test_help_lists_the_plugins_names(command, names):
    r = _gandyn("--plugin", "gandyn_testplugin", *command, "--help")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())  # argparse wraps the help
    assert all(n in text for n in names), r.stdout
    assert "plugin-simgd" not in _gandyn(*command, "--help").stdout  # only with the plugin


@pytest.mark.parametrize("args, choices", [
    (["gan1d", "--loss", "nope"], "'rahinge', 'plugin-nonsat')"),
    (["mog", "--methods", "nope"], "unknown method 'nope'; choose from altgd, simgd,"),
    (["mog", "--data", "nope"], "(choose from 'ring8', 'grid25', 'ring8_unit', 'plugin-ring4')"),
])
def test_an_unknown_name_lists_the_plugins_names_in_one_line(args, choices, tmp_path):
    r = _gandyn("--plugin", "gandyn_testplugin", *args, "--out", str(tmp_path / "o"))
    line = _one_error_line(r)
    assert choices in line and ("plugin-simgd" in line or args[1] != "--methods"), line


def test_installed_plugin_is_loaded_by_the_command(tmp_path):
    """A distribution on the path whose entry point of gandyn.plugins names the test plugin."""
    info = tmp_path / "gandyn_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gandyn-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gandyn.plugins]\ndemo = gandyn_testplugin\n")
    r = _gandyn("gan1d", "--help", paths=(HERE, tmp_path))
    assert r.returncode == 0 and "plugin-simgd" in r.stdout, r.stderr
    off = _gandyn("gan1d", "--help", paths=(HERE, tmp_path), **{plugins.NO_AUTOLOAD: "1"})
    assert off.returncode == 0 and "plugin-simgd" not in off.stdout


# --- runs: in this process, in a process pool, on Dask

SWEEP = ["gan1d", "--sweep", "--grid", "2", "--seeds", "2", "--steps", "20", "--hidden-g", "4", "--hidden-d", "4",
         "--batch", "16", "--float64", "--quiet"]


def test_gan1d_with_the_plugins_loss_and_method_equals_the_builtins(tmp_path):
    """plugin-nonsat and plugin-simgd train as nonsat and simgd do (to 1e-10 in float64)."""
    r = _gandyn("--plugin", "gandyn_testplugin", *SWEEP, "--loss", "plugin-nonsat", "--method", "plugin-simgd",
                "--out", str(tmp_path / "plugin"))
    assert r.returncode == 0, r.stderr
    assert main([*SWEEP, "--loss", "nonsat", "--method", "simgd", "--out", str(tmp_path / "builtin")]) == 0
    a, meta = history.load(tmp_path / "plugin" / "sweep.npz")
    b, _ = history.load(tmp_path / "builtin" / "sweep.npz")
    assert a["losses"].tolist() == ["plugin-nonsat"] and meta["setup"]["training"]["method"] == {"name": "plugin-simgd"}
    assert np.ptp(b["jsd"]) > 0.1  # the runs differ from one another, so equal results say something
    np.testing.assert_allclose(a["jsd_checks"], b["jsd_checks"], rtol=0, atol=1e-10)


def test_mog_process_pool_loads_the_plugin(tmp_path):
    """--jobs 2 runs the two methods' shards in two spawned processes: each loads the plugin
    (its data set and method), and plugin-simgd's samples are simgd's."""
    out = tmp_path / "o"
    r = _gandyn("--plugin", "gandyn_testplugin", "mog", "--data", "plugin-ring4", "--methods", "simgd",
                "plugin-simgd", "--lrs", "1e-3", "--seeds", "2", "--steps", "4", "--checks", "1", "--hidden", "8",
                "--n-eval", "100", "--jobs", "2", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    res, _ = history.load(out / "results_plugin-ring4.npz")
    assert res["method"].tolist() == ["simgd", "simgd", "plugin-simgd", "plugin-simgd"]
    assert int(res["n_modes"]) == 4
    s = res["samples"]
    assert s.shape[1] == 4 and np.ptp(s) > 0.1
    np.testing.assert_allclose(s[:, 2:], s[:, :2], rtol=0, atol=1e-5)


def test_dask_workers_load_the_plugin(tmp_path):
    """The plugin given as a .py file loads on the workers of a local cluster, and the sweep
    equals the built-ins'; given by a module name the workers cannot import, one line and exit 2."""
    dd = pytest.importorskip("dask.distributed")
    args = [*SWEEP, "--loss", "plugin-nonsat", "--method", "plugin-simgd"]
    with dd.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster:
        where = ["--scheduler", cluster.scheduler_address]
        bad = _gandyn("--plugin", "gandyn_testplugin", *args, *where, "--out", str(tmp_path / "bad"))
        good = _gandyn("--plugin", str(PLUGIN), *args, *where, "--out", str(tmp_path / "good"))
    line = _one_error_line(bad)
    assert line.startswith("gandyn gan1d: error: on a Dask worker: plugin 'gandyn_testplugin' failed to import: "
                           "ModuleNotFoundError"), line
    assert good.returncode == 0, good.stderr
    assert main([*SWEEP, "--loss", "nonsat", "--method", "simgd", "--out", str(tmp_path / "builtin")]) == 0
    a, _ = history.load(tmp_path / "good" / "sweep.npz")
    b, _ = history.load(tmp_path / "builtin" / "sweep.npz")
    np.testing.assert_allclose(a["jsd_checks"], b["jsd_checks"], rtol=0, atol=1e-10)
