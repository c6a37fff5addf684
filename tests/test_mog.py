"""The N-D population trainer, the mode-collapse benchmark, its shards and its command."""
import numpy as np
import pytest

from gandyn.engine.methods import Extragradient, Lookahead
from gandyn.engine.training import TrainingConfig
from gandyn.app import backends
from gandyn.cli import main
from gandyn.distributions import Normal2D, ring2d
from gandyn.experiments import mog
from gandyn.engine.population import BLOCK, Networks, Population, Setup, plan_units
from gandyn.rng import stream


def small(dtype=np.float64, **kw):
    t = {k: kw.pop(k) for k in list(kw) if k in TrainingConfig.__dataclass_fields__}
    return Setup(ring2d(), training=Setup.training.replace(batch=8, **t),
                 networks=Networks(hidden_g=(8, 8), hidden_d=(8,), dtype=dtype, **kw))


def test_units_group_by_method_and_k_in_model_order():
    units = plan_units(["altgd", "simgd", "altgd", "altgd", "simgd"], [1, 1, 1, 2, 1], chunk=1)
    assert [(u.method, u.k, u.rows.tolist()) for u in units] == [
        ("altgd", 1, [0]), ("altgd", 1, [2]), ("simgd", 1, [1]), ("simgd", 1, [4]), ("altgd", 2, [3])]
    units = plan_units(["a", "a", "a"], [1, 1, 1], chunk=2)
    assert [u.rows.tolist() for u in units] == [[0, 1], [2]]


@pytest.mark.parametrize("method", ["altgd", "simgd", "extragradient", "optimistic", Lookahead(inner=Extragradient())],
                         ids=["altgd", "simgd", "extragradient", "optimistic", "lookahead:extragradient"])
def test_population_equals_separate_runs(method):
    """Each model of a mixed population (its own seed, step sizes, method) equals the
    same model trained alone; float64, where stacking cannot change the sums."""
    s = small()
    seeds, lrg, lrd = [3, 5, 3], [1e-3, 2e-3, 3e-3], [2e-3, 1e-3, 1e-3]
    meths = [method, "altgd", method]
    pop = Population(s, seeds, lr_g=lrg, lr_d=lrd, method=meths)
    pop.advance(7)
    tg, td = pop.params()
    for p in range(3):
        one = Population(s, [seeds[p]], lr_g=lrg[p], lr_d=lrd[p], method=meths[p])
        one.advance(7)
        g1, d1 = one.params()
        np.testing.assert_allclose(tg[p], g1[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(td[p], d1[0], rtol=1e-12, atol=1e-14)


def test_minibatches_come_from_each_models_own_streams():
    s = small()
    pop = Population(s, [4, 9], lr_g=1e-3, lr_d=1e-3)
    src = pop._trainers[0][1].batches
    out = np.empty((2, 8, 2))
    src.real(out)
    for i, seed in enumerate([4, 9]):
        expect = s.draw_data(BLOCK * 8, stream(seed, "data"))[:8]
        np.testing.assert_array_equal(out[i], expect)
    z = np.empty((2, 8, 2))
    src.noise(z)
    np.testing.assert_array_equal(z[1], s.gan.latent.rvs((BLOCK * 8, 2), stream(9, "latent"), dtype=np.float64)[:8])


def test_initial_parameters_come_from_the_seed():
    s = small()
    pop = Population(s, [2, 2, 7], lr_g=1e-3, lr_d=1e-3)
    tg, td = pop.params()
    np.testing.assert_array_equal(tg[0], tg[1])
    np.testing.assert_array_equal(tg[2], s.gan.G.init(stream(7, "g_init"), scheme=s.networks.init))
    np.testing.assert_array_equal(td[0], s.gan.D.init(stream(2, "d_init"), scheme=s.networks.init))


def test_lr_factor_scales_steps_in_place():
    s = small(optimizer="sgd")
    a = Population(s, [1], lr_g=1e-2, lr_d=1e-2)
    b = Population(s, [1], lr_g=5e-3, lr_d=5e-3)
    a.set_lr_factor(0.5)
    a.advance(3)
    b.advance(3)
    for u, v in zip(a.params(), b.params()):
        np.testing.assert_array_equal(u, v)


def test_setup_any_dimension():
    d3 = Setup(ring2d(), training=Setup.training.replace(batch=4), networks=Networks(hidden_g=(4,), hidden_d=(4,), z_dim=5))
    assert d3.gan.G.sizes == (5, 4, 2)
    pop = Population(d3, [0, 1], lr_g=1e-3, lr_d=1e-3)
    pop.advance(2)
    assert pop.samples(6).shape == (2, 6, 2)
    one = Setup(Normal2D.isotropic((0, 0), 1.0), training=Setup.training.replace(batch=4),
                networks=Networks(hidden_g=(4,), hidden_d=(4,)))
    assert one.gan.D.sizes == (2, 4, 1)


@pytest.mark.parametrize("bad,match", [(dict(method="nope"), "method"), (dict(method="simgd:altgd"), "lookahead"),
                                       (dict(lr_g=[1e-3]), "one per model"), (dict(k=0), "k"),
                                       (dict(lr_d=-1.0), "lr_d")])
def test_population_rejects_bad_input(bad, match):
    kw = dict(lr_g=1e-3, lr_d=1e-3) | bad
    with pytest.raises(ValueError, match=match):
        Population(small(), [0, 1], **kw)


def tiny_cfg(**kw):
    """A small MogConfig; ``kw`` flat (fields of the config, its networks and its training choices)."""
    base = dict(methods=["altgd", "extragradient"], lrs=[1e-3, 3e-3], seeds=3, steps=6, checks=2, hidden_g=(8,),
                hidden_d=(8,), n_eval=64, chunk=2, n_show=1, ttur=1.0, decay=1.0)
    return mog.MogConfig(data="ring8", **mog.nested(base | kw, {"training": mog.MogConfig.training.replace(batch=8)}))


def test_shards_give_the_same_bits_as_one_process():
    cfg = tiny_cfg()
    whole = backends.run_mog(cfg)
    parts = [mog.run_shard(cfg, sh) for sh in backends.split(range(len(mog.units_of(cfg))), 3)]
    split = mog.merge(cfg, parts)
    assert whole["rows"].tolist() == list(range(12))
    for key in ("modes_checks", "high_quality_checks", "reverse_kl_checks", "counts_checks", "samples"):
        np.testing.assert_array_equal(whole[key], split[key])


def test_table_and_success_rule():
    cfg = tiny_cfg()
    res = backends.run_mog(cfg)
    rows = mog.success_table(cfg, res)
    assert [(r["method"], r["lr_g"]) for r in rows] == [("altgd", 1e-3), ("altgd", 3e-3), ("extragradient", 1e-3),
                                                        ("extragradient", 3e-3)]
    assert all(r["seeds"] == 3 for r in rows)
    expect = (res["modes"] == 8) & (res["high_quality"] >= 0.9)
    np.testing.assert_array_equal(res["success"], expect)
    # the show flags: seed 0 of each (method, lr)
    assert res["samples"].shape[:2] == (2, 4)


def _fail_shard(monkeypatch, bad: int):
    """Make the shard holding unit ``bad`` raise RuntimeError('boom')."""
    real = mog.run_shard

    def flaky(c, units, **kw):
        if bad in units:
            raise RuntimeError("boom")
        return real(c, units, **kw)

    monkeypatch.setattr(mog, "run_shard", flaky)


def test_failed_shard_is_named_and_finished_shards_kept(monkeypatch):
    cfg = tiny_cfg()
    _fail_shard(monkeypatch, 2)
    with pytest.raises(backends.ShardError, match="shard 2 failed: RuntimeError: boom") as e:
        backends.run_mog(cfg)
    assert e.value.shard == 2
    assert e.value.partial["rows"].tolist() == [0, 1, 2, 3]  # units 0 and 1 finished first


def test_lr_decay_config():
    cfg = tiny_cfg(decay=0.1)
    assert cfg.decay == 0.1
    with pytest.raises(ValueError, match="decay"):
        tiny_cfg(decay=0.0)


def test_training_choices_reach_every_model():
    """A penalty and G's moving average given to the benchmark train every model as a
    population built from the same Setup does, bit for bit; the config holds them all."""
    cfg = tiny_cfg(penalty="r1", penalty_weight=0.5, g_ema=0.9, methods=["altgd"], lrs=[1e-3])
    setup = cfg.setup()
    assert (setup.training.penalty, setup.training.penalty_weight, setup.training.g_ema) == ("r1", 0.5, 0.9)
    res = backends.run_mog(cfg)
    m = mog.models_of(cfg)
    pop = Population(setup, m["seed"], lr_g=m["lr_g"], lr_d=m["lr_d"], method=list(m["method"]), chunk=cfg.chunk)
    pop.advance(cfg.steps)
    plain = backends.run_mog(tiny_cfg(methods=["altgd"], lrs=[1e-3]))
    assert not np.array_equal(res["samples"], plain["samples"])  # the choices changed training
    np.testing.assert_array_equal(res["samples"][-1, 0, :8], pop.samples(cfg.n_eval)[0, :8])  # last check


def test_config_holds_the_setups_networks_and_json_nests_them():
    """The benchmark holds one :class:`Networks` (one default and one check per field, shared
    with its Setup); the JSON form nests it as it nests the training choices, with the dtype by
    name, and reads back as the same configuration; a flat layout is refused, naming its fields."""
    c = mog.MogConfig()
    assert c.networks == Networks() == c.setup().networks
    d = c.to_dict()
    assert list(d)[0] == "data" and d["networks"]["dtype"] == "float32" and d["networks"]["hidden_g"] == [64, 64]
    assert mog.MogConfig.from_dict(d) == c
    with pytest.raises(ValueError, match="has no field hidden_g"):
        mog.MogConfig.from_dict({k: v for k, v in d.items() if k != "networks"} | {"hidden_g": [64, 64]})
    for bad, match in ((dict(hidden_g=(0,)), "hidden_g"), (dict(dtype="float16"), "dtype"),
                       (dict(act_d="bogus"), "act_d"), (dict(g_batch_norm="yes"), "g_batch_norm")):
        with pytest.raises(ValueError, match=match):
            Networks(**bad)
    with pytest.raises(ValueError, match="multiple of pack"):
        mog.MogConfig(networks=Networks(pack=3))
    with pytest.raises(ValueError, match="networks must be a Networks"):
        mog.MogConfig(networks={"pack": 2})


@pytest.mark.parametrize("bad, match", [(dict(penalty="r1", loss="hinge"), "not used with the 'hinge' loss"),
                                        (dict(methods=["sga"], spectral_norm=True), "sga needs exact Jacobian"),
                                        (dict(b1=1.0), r"b1 must be in \[0, 1\)"),
                                        (dict(k=0), "k must be an integer >= 1")])
def test_config_refuses_bad_training_choices(bad, match):
    with pytest.raises(ValueError, match=match):
        tiny_cfg(**bad)


def test_snapshots_keep_the_parameters_and_change_nothing_else():
    """Keeping parameters stops training at the keep points but runs the same steps: every
    result equals that of the run without snapshots, bit for bit, and the kept last
    parameters are those the models end with; shards merge their snapshots in model order."""
    plain = backends.run_mog(tiny_cfg(decay=0.5))
    cfg = tiny_cfg(decay=0.5, keep_every=4)
    kept = backends.run_mog(cfg)
    assert tiny_cfg().keep_every == 0 and cfg.keep_every == 4
    for key in ("rows", "modes_checks", "high_quality_checks", "reverse_kl_checks", "counts_checks", "samples"):
        np.testing.assert_array_equal(plain[key], kept[key])
    assert kept["keep_it"].tolist() == [0, 4, 6] and "theta_g" not in plain
    assert kept["theta_g"].shape[:2] == kept["theta_d"].shape[:2] == (3, 12)
    m = mog.models_of(cfg)
    pop = Population(cfg.setup(), m["seed"], lr_g=m["lr_g"], lr_d=m["lr_d"], method=list(m["method"]),
                     chunk=cfg.chunk)
    np.testing.assert_array_equal(kept["theta_g"][0], pop.params()[0])
    split = mog.merge(cfg, [mog.run_shard(cfg, sh) for sh in backends.split(range(len(mog.units_of(cfg))), 3)])
    assert "stats_g" not in kept and "stats_g" not in split  # no batch norm, no running statistics
    for key in mog.SNAPSHOTS[:3]:
        np.testing.assert_array_equal(kept[key], split[key])
    with pytest.raises(ValueError, match="keep_every"):
        tiny_cfg(keep_every=-1)


def test_snapshots_of_a_batch_norm_generator_keep_its_running_statistics(tmp_path):
    """With a batch-norm G each snapshot keeps the model's running statistics: a kept model's
    samples ``G(theta_g, z, stats_g)`` (evaluation mode) are the run's own samples of it, which
    the batch statistics of the same points do not give; shards merge them in model order,
    the file holds them and a run record reads them."""
    from gandyn.experiments.runs import load_run
    from gandyn.rng import stream

    cfg = tiny_cfg(g_batch_norm=True, keep_every=3, hidden_g=(8, 8))
    res = backends.run_mog(cfg)
    setup = cfg.setup()
    G = setup.gan.G
    T, R = res["keep_it"].size, res["rows"].size
    assert res["keep_it"].tolist() == [0, 3, 6] and res["stats_g"].shape == (T, R, G.stats_layout.size)
    np.testing.assert_array_equal(res["stats_g"][0], np.broadcast_to(G.init_stats(), (R, G.stats_layout.size)))
    assert not np.array_equal(res["stats_g"][-1], res["stats_g"][0])
    for k, r in enumerate(res["samples_rows"]):  # the shown models' samples at the last check (iteration 6)
        z = setup.gan.latent.rvs((cfg.n_eval, cfg.networks.z_dim), stream(int(res["seed"][r]), "eval"),
                                 dtype=cfg.networks.dtype)
        x = G(res["theta_g"][-1, r], z, res["stats_g"][-1, r])
        np.testing.assert_allclose(x, res["samples"][-1, k], rtol=1e-5, atol=1e-6)
        assert np.abs(G(res["theta_g"][-1, r], z) - res["samples"][-1, k]).max() > 1e-3
    split = mog.merge(cfg, [mog.run_shard(cfg, sh) for sh in backends.split(range(len(mog.units_of(cfg))), 3)])
    np.testing.assert_array_equal(res["stats_g"], split["stats_g"])
    path = mog.save_snapshots(cfg, res, tmp_path)
    arrays, _ = mog.load_snapshots(path)
    np.testing.assert_array_equal(arrays["stats_g"], res["stats_g"])
    rec = load_run(tmp_path, model=4)
    np.testing.assert_array_equal(rec.stats_g, res["stats_g"][:, 4])
    from gandyn import history

    history.save(path, {k: v for k, v in arrays.items() if k != "stats_g"}, {"config": cfg.to_dict()})
    with pytest.raises(ValueError, match="no stats_g"):
        mog.load_snapshots(path)


def test_cli_snapshots_give_the_same_table(tmp_path, capsys):
    import csv

    argv = ["--data", "ring8", "--methods", "altgd", "simgd", "--lrs", "1e-3", "--seeds", "2", "--steps", "10",
            "--checks", "2", "--hidden", "8", "--n-eval", "100", "--jobs", "1", "--quiet"]
    assert run_cli(capsys, *argv, "--out", str(tmp_path / "a"))[0] == 0
    assert run_cli(capsys, *argv, "--keep-every", "4", "--out", str(tmp_path / "b"))[0] == 0

    def table(d):
        return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in csv.DictReader((d / "table.csv").open())]

    assert table(tmp_path / "a") == table(tmp_path / "b")
    assert (tmp_path / "a" / "models_ring8.csv").read_text() == (tmp_path / "b" / "models_ring8.csv").read_text()
    assert not (tmp_path / "a" / "snapshots_ring8.npz").exists()
    arrays, cfg = mog.load_snapshots(tmp_path / "b" / "snapshots_ring8.npz")
    assert arrays["it"].tolist() == [0, 4, 8, 10] and arrays["method"].tolist() == ["altgd"] * 2 + ["simgd"] * 2
    assert arrays["theta_g"].shape[:2] == (4, 4) and cfg.keep_every == 4
    with np.load(tmp_path / "b" / "results_ring8.npz") as f:
        assert "theta_g" not in f.files and "keep_it" not in f.files


# --- the command


def run_cli(capsys, *argv):
    code = main(["mog", *argv])
    return code, capsys.readouterr()


@pytest.mark.parametrize("argv,match", [
    (["--methods", "bogus"], "invalid _method value|unknown method"),
    (["--quick", "--steps", "5"], "--quick sets its own --steps"),
    (["--shards", "2", "--jobs", "1"], "--shards needs --scheduler"),
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"], "give one of them"),
    (["--data", "moons"], "invalid choice"),
    (["--steps", "2", "--checks", "5"], "--checks"),
    (["--steps", "2", "--checks", "1", "--keep-every", "5"], "--keep-every"),
    (["--keep-every", "-1"], "--keep-every"),
])
def test_cli_bad_input_one_line_exit_2_no_folder(tmp_path, capsys, argv, match):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as e:
        code = main(["mog", "--out", str(out), *argv])
        raise SystemExit(code)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    import re
    assert re.search(match, err), err
    assert not out.exists()


def test_cli_unreachable_scheduler(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT", "1s")  # the command's 10 s, shortened
    out = tmp_path / "o"
    code, cap = run_cli(capsys, "--scheduler", "tcp://127.0.0.1:9", "--quick", "--out", str(out), "--quiet")
    assert code == 2  # bad input (a wrong address), not a bug
    err = cap.err.strip()
    assert len(err.splitlines()) == 1 and "tcp://127.0.0.1:9" in err
    assert not out.exists()


def test_cli_small_run_writes_table_and_figures(tmp_path, capsys):
    out = tmp_path / "o"
    code, cap = run_cli(capsys, "--data", "ring8", "--methods", "altgd", "--lrs", "1e-3", "--seeds", "2", "--steps",
                        "10", "--checks", "2", "--hidden", "8", "--n-eval", "100", "--out", str(out), "--quiet")
    assert code == 0, cap.err
    names = {p.name for p in out.iterdir()}
    assert {"table.csv", "table.json", "models_ring8.csv", "results_ring8.npz", "samples_ring8_altgd.png",
            "samples_ring8_altgd.pdf", "success_ring8.png", "success_ring8.pdf"} <= names
    import json
    t = json.loads((out / "table.json").read_text())
    assert t["gandyn"][0]["seeds"] == 2 and any(r["method"] == "VEEGAN" for r in t["published"])
    assert "Srivastava et al. 2017" in cap.out


def test_cli_training_options_reach_the_config_and_are_named(tmp_path, capsys):
    out = tmp_path / "o"
    code, cap = run_cli(capsys, "--data", "ring8", "--methods", "altgd", "--lrs", "1e-3", "--seeds", "2", "--steps",
                        "4", "--checks", "1", "--hidden", "8", "--n-eval", "100", "--penalty", "r1",
                        "--penalty-weight", "0.1", "--optimizer", "momentum", "--out", str(out), "--quiet")
    assert code == 0, cap.err
    assert "(optimizer=momentum, penalty=r1, penalty_weight=0.1)" in cap.out  # the choices away from the defaults
    import json
    cfg = json.loads((out / "table.json").read_text())["config"][0]
    t = mog.MogConfig.from_dict(cfg).training
    assert (t.penalty, t.penalty_weight, t.optimizer) == ("r1", 0.1, "momentum")


# --- Dask


def test_local_cluster_bit_identical():
    dd = pytest.importorskip("dask.distributed")
    cfg = tiny_cfg()
    here = backends.run_mog(cfg)
    with dd.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster, dd.Client(cluster) as client:
        there = backends.run_mog(cfg, client=client, shards=2)
    for key in ("rows", "modes_checks", "high_quality_checks", "reverse_kl_checks", "counts_checks", "samples"):
        np.testing.assert_array_equal(here[key], there[key])


def test_local_processes_give_the_same_bits():
    cfg = tiny_cfg()
    np.testing.assert_array_equal(backends.run_mog(cfg)["samples"], backends.run_mog(cfg, jobs=2)["samples"])


def test_gan1d_sweep_on_local_cluster_is_bit_identical(tmp_path):
    dd = pytest.importorskip("dask.distributed")
    from gandyn import history

    argv = ["gan1d", "--sweep", "--grid", "2", "--seeds", "2", "--steps", "30", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "here")]) == 0
    with dd.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster:
        assert main([*argv, "--out", str(tmp_path / "there"), "--scheduler", cluster.scheduler_address]) == 0
    a, _ = history.load(tmp_path / "here" / "sweep.npz")
    b, _ = history.load(tmp_path / "there" / "sweep.npz")
    for key in ("jsd", "jsd_checks", "converged", "diverged_at", "seeds"):
        np.testing.assert_array_equal(a[key], b[key])


def test_gan1d_failed_shard_on_cluster_exit_1_names_it_and_writes_finished(tmp_path, capsys, monkeypatch):
    """A shard (seed) that fails on the cluster: one error line naming it, the bar counted
    the shards, the finished seeds' sweep is written whole and the folder stays marked
    incomplete (no manifest)."""
    import functools

    dd = pytest.importorskip("dask.distributed")
    from gandyn import history
    from gandyn.experiments import gan1d
    from gandyn.app.folders import INCOMPLETE, MANIFEST

    real = gan1d.sweep

    @functools.wraps(real)  # the command reads its defaults from the function's signature
    def flaky(setup, *, seeds, **kw):
        if list(seeds) == [1]:
            raise RuntimeError("boom")
        return real(setup, seeds=seeds, **kw)

    monkeypatch.setattr(gan1d, "sweep", flaky)  # workers are threads of this process
    out = tmp_path / "o"
    argv = ["gan1d", "--sweep", "--grid", "2", "--seeds", "3", "--steps", "10", "--hidden-g", "4", "--hidden-d", "4",
            "--batch", "8", "--out", str(out)]
    with dd.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                         dashboard_address=None) as cluster:
        code = main([*argv, "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 1 and "Traceback" not in err
    assert len(errors) == 1 and "shard 1 failed: RuntimeError: boom (seed 1)" in errors[0], err
    assert "gan1d sweep shards" in err  # the progress bar
    a, meta = history.load(out / "sweep.npz")
    assert a["seeds"].tolist() == [0, 2] and a["jsd"].shape[2] == 2 and a["diverged_at"].shape[2] == 2
    assert "shard 1 failed" in meta["failed"]
    assert len((out / "sweep.csv").read_text().splitlines()) == 1 + 2 * 4
    assert (out / "convergence_map.png").stat().st_size > 0
    assert (out / INCOMPLETE).exists() and not (out / MANIFEST).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files


def test_gan1d_scheduler_needs_sweep(tmp_path, capsys):
    assert main(["gan1d", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")]) == 2
    assert "--scheduler needs --sweep" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_failed_shard_exit_1_names_it_and_writes_finished(tmp_path, capsys, monkeypatch):
    _fail_shard(monkeypatch, 1)
    out = tmp_path / "o"
    code, cap = run_cli(capsys, "--data", "ring8", "--methods", "altgd", "simgd", "--lrs", "1e-3", "--seeds", "2",
                        "--steps", "4", "--checks", "1", "--hidden", "8", "--n-eval", "50", "--jobs", "1",
                        "--out", str(out), "--quiet")
    assert code == 1
    assert "shard 1 failed: RuntimeError: boom" in cap.err and len(cap.err.strip().splitlines()) == 1
    import csv
    rows = list(csv.DictReader((out / "models_ring8.csv").open()))
    assert [r["method"] for r in rows] == ["altgd", "altgd"]


def test_cli_run_whose_first_shard_fails_leaves_no_folder(tmp_path, capsys, monkeypatch):
    """No shard finished: the message says so and no empty output folder is left."""
    _fail_shard(monkeypatch, 0)
    out = tmp_path / "o"
    code, cap = run_cli(capsys, "--data", "ring8", "--methods", "altgd", "--lrs", "1e-3", "--seeds", "1",
                        "--steps", "2", "--checks", "1", "--hidden", "4", "--n-eval", "20", "--jobs", "1",
                        "--out", str(out), "--quiet")
    assert code == 1 and "no shard finished" in cap.err and len(cap.err.strip().splitlines()) == 1
    assert not out.exists()


def test_training_changes_name_the_step_size_schedule():
    # figure titles and the summary line say how the step sizes were scheduled when it is not the default
    from gandyn.experiments.mog import MogConfig, training_changes

    assert training_changes(MogConfig()) == ""
    assert training_changes(MogConfig(decay=0.03, ttur=1.0)) == "ttur=1, decay=0.03"
