"""``train --ray`` on a two-node Ray cluster on this machine (one CPU per node): two DDP
workers step on the single process's gradient, and train a model as good as one process's;
bad usage is one line, before anything slow.

The cluster's tests are skipped where Ray is not installed (``pip install 'synthdb[ray]'``),
except under CI, where ``make test`` installs it and a skip would hide them."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load, save

from synthdb import Synthesizer, pipeline, streaming
from synthdb.config import Privacy, TrainingConfig
from synthdb.errors import ClusterError, UsageError
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.pipeline import EventLog
from synthdb.pipeline import cluster as cluster_module
from synthdb.training.loop import ShuffledBatches

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "end_to_end"))
from cli_harness import assert_one_line_error, run_cli

try:
    import ray
except ImportError:
    ray = None

pytestmark = pytest.mark.slow

#: small layers, few epochs: the comparison needs the same training, not a good one
CONFIG = TrainingConfig(max_epochs=3, hidden=16, embedding_dim=4, seed=1)


@pytest.fixture(scope="module")
def table(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 Adult rows: enough for a held-out validation slice (200 rows)."""
    path = tmp_path_factory.mktemp("ray-train") / "adult.csv"
    adult.sample(2_000, random_state=3).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def single(table: Path) -> Synthesizer:
    """The model one process trains."""
    path = table.with_name("single.synthdb")
    pipeline.train(str(table), path, CONFIG)
    return Synthesizer.load(path)


def test_two_ranks_step_on_the_gradient_of_the_whole_batch(cluster: str) -> None:
    # Setup: a network without dropout (each rank would draw its own masks), random rows,
    # and an odd batch (63 rows: 32 on rank 0, 31 on rank 1, so a mean of the ranks' means
    # would be off)
    from ray.train import ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.util.queue import Queue

    shape = NetworkShape(cardinalities=(5, 3, 7, 4), embedding_dim=4, hidden=8, dropout=0.0)
    rng = np.random.default_rng(2)
    tokens = np.stack([rng.integers(0, c, 500) for c in shape.cardinalities], axis=1)
    torch.manual_seed(4)
    weights = save(AutoregressiveNet(shape).state_dict())
    out = Queue(actor_options={"num_cpus": 0})

    def rank_step(config: dict[str, Any]) -> None:
        import ray.train
        from safetensors.torch import load

        from synthdb.model.network import AutoregressiveNet, NetworkShape
        from synthdb.training.distributed import ShardedBatches

        context = ray.train.get_context()
        net = AutoregressiveNet(NetworkShape.from_dict(config["shape"]))
        net.load_state_dict(load(config["weights"]))
        steps = ShardedBatches(
            config["tokens"], 63, 1e-3, 5,
            rank=context.get_world_rank(), world=context.get_world_size(),
        )  # fmt: skip
        steps.start(net)
        steps.start_epoch()
        loss = steps.step(net)
        gradients = {name: p.grad for name, p in net.named_parameters()}
        config["out"].put((context.get_world_rank(), loss, gradients))

    # Run: one step on two ranks, and the same step in this process
    TorchTrainer(
        rank_step,
        train_loop_config={"shape": shape.to_dict(), "weights": weights, "tokens": tokens,
                           "out": out},
        torch_config=TorchConfig(backend="gloo"),
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
    ).fit()  # fmt: skip
    ranks = sorted([out.get(timeout=10), out.get(timeout=10)], key=lambda r: r[0])
    net = AutoregressiveNet(shape)
    net.load_state_dict(load(weights))
    steps = ShuffledBatches(tokens, 63, 1e-3, 5)
    steps.start(net)
    steps.start_epoch()
    loss = steps.step(net)

    # Assert: every rank holds the whole batch's mean gradient, and records its mean loss
    for _, rank_loss, gradients in ranks:
        assert rank_loss == pytest.approx(loss, rel=1e-6)
        for name, parameter in net.named_parameters():
            if parameter.grad is None:  # an embedding no block sees: no gradient on a rank
                assert gradients[name] is None or not gradients[name].any(), name
                continue
            assert torch.allclose(gradients[name], parameter.grad, atol=1e-6, rtol=0), name
        assert net.w1.grad is not None  # the weight whose bucket DDP once left unreduced


@pytest.fixture(scope="module")
def on_ray(table: Path, cluster: str) -> tuple[Path, EventLog, Any]:
    """The model two Ray workers train, uninterrupted: its file, its events, the outcome."""
    log = EventLog()
    path = table.with_name("ray.synthdb")
    done = pipeline.train(str(table), path, CONFIG, ray=cluster, workers=2, listener=log)
    return path, log, done


def test_ray_training_matches_one_process_within_noise(
    single: Synthesizer, on_ray: tuple[Path, EventLog, Any]
) -> None:
    path, log, done = on_ray

    model = Synthesizer.load(path)
    assert done.stop_reason == single.training.stop_reason == "max epochs"
    assert len(model.training.epochs) == len(single.training.epochs) == 3
    assert abs(model.training.best_accuracy - single.training.best_accuracy) < 0.02
    # the first epoch's loss: the same batches from the same weights; dropout differs
    first, one = model.training.epochs[0], single.training.epochs[0]
    assert first.loss == pytest.approx(one.loss, rel=0.01)
    assert [e["event"] for e in log.events].count("epoch") == 3
    assert model.sample(50, seed=2).shape == (50, 15)


def test_the_command_line_trains_on_ray(table: Path, cluster: str, tmp_path: Path) -> None:
    out = tmp_path / "cli.synthdb"

    done = run_cli(
        "train", table, "-o", out, "--ray", cluster, "--workers", 2, "--max-epochs", 1,
        "--seed", 1,
    )  # fmt: skip

    assert done.code == 0, done
    assert "Traceback" not in done.stderr, done
    assert "epoch   1" in done.stdout + done.stderr, done
    assert Synthesizer.load(out).sample(10, seed=1).shape == (10, 15)


def test_a_listener_that_stops_the_training_leaves_nothing(
    table: Path, cluster: str, tmp_path: Path
) -> None:
    class Stop(EventLog):
        """Stops the training at its first epoch, as ``synthdb serve`` cancels a job."""

        def on_epoch(self, record: Any) -> None:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        pipeline.train(str(table), tmp_path / "m.synthdb", CONFIG, ray=cluster, listener=Stop())

    assert list(tmp_path.iterdir()) == []


class Killer(EventLog):
    """Kills a Ray Train worker's process (this machine's) after each of the first ``times``
    epochs the listeners hear of (a resumed training's included)."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times
        self.killed: list[int] = []

    def on_epoch(self, record: Any) -> None:
        super().on_epoch(record)
        if len(self.killed) < self.times:
            self.killed.append(_train_worker())
            os.kill(self.killed[-1], signal.SIGKILL)


def test_a_worker_lost_mid_training_is_retried_and_the_model_is_the_same(
    table: Path, cluster: str, tmp_path: Path, on_ray: tuple[Path, EventLog, Any]
) -> None:
    # Setup: a worker killed in epoch 2 (or, were that epoch done first, later)
    killer = Killer(times=1)
    path = tmp_path / "m.synthdb"

    # Run
    done = pipeline.train(str(table), path, CONFIG, ray=cluster, workers=2, listener=killer)

    # Assert: one line says so, and the model is the uninterrupted training's, bit for bit
    assert len(killer.killed) == 1
    said = [e["text"] for e in killer.events if e["event"] == "message"]
    retried = [line for line in said if line.startswith("lost a Ray worker")]
    assert len(retried) == 1, said
    where = re.fullmatch(
        r"lost a Ray worker at epoch (\d); resuming from the end of epoch (\d) \(retry 1 of 3\)",
        retried[0],
    )
    assert where and int(where[1]) == int(where[2]) + 1 >= 2, retried
    epochs = [e["epoch"] for e in killer.events if e["event"] == "epoch"]
    assert epochs == [1, 2, 3]  # each epoch told once
    uninterrupted, resumed = Synthesizer.load(on_ray[0]), Synthesizer.load(path)
    assert done.stop_reason == on_ray[2].stop_reason
    assert [(e.epoch, e.loss, e.val_accuracy, e.best) for e in resumed.training.epochs] == [
        (e.epoch, e.loss, e.val_accuracy, e.best) for e in uninterrupted.training.epochs
    ]
    expected, got = uninterrupted.state.net.state_dict(), resumed.state.net.state_dict()
    assert expected.keys() == got.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensor, got[name]), name


def test_a_worker_lost_more_times_than_retried_fails_in_one_line_and_writes_nothing(
    table: Path, cluster: str, tmp_path: Path, one_line: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Setup: one retry allowed, a worker killed after each of the first two epochs (of
    # six: the training never ends before the second kill)
    monkeypatch.setattr(cluster_module, "RETRIES", 1)
    killer = Killer(times=2)
    config = CONFIG.model_copy(update={"max_epochs": 6})

    # Run
    with pytest.raises(ClusterError) as caught:
        pipeline.train(str(table), tmp_path / "m.synthdb", config, ray=cluster, listener=killer)

    # Assert
    assert len(killer.killed) == 2
    one_line(
        caught.value, "lost a Ray worker more than 1 times while training", "nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


def _train_worker() -> int:
    """The process id of one of Ray Train's workers running now."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(
                b"ray::RayTrainWorker"
            ):
                return int(entry.name)
    raise AssertionError("no Ray Train worker found")


@pytest.fixture(scope="module")
def parquet(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 Adult rows in a Parquet file, streamed when the threshold is lowered to 1,000."""
    path = tmp_path_factory.mktemp("ray-streamed") / "adult.parquet"
    adult.sample(3_000, random_state=4).to_parquet(path, index=False)
    return path


def test_a_streamed_table_trains_on_ray_as_in_one_process(
    parquet: Path, cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Setup: the single process's streamed model; the pipeline's threshold lowered to 1,000
    # rows, so that `train --ray` streams the file (as it does above a million rows)
    single = Synthesizer(CONFIG).fit(parquet, stream_above=1_000)
    monkeypatch.setattr(streaming, "STREAM_ROWS", 1_000)
    log = EventLog()
    path = tmp_path / "streamed.synthdb"

    # Run
    done = pipeline.train(str(parquet), path, CONFIG, ray=cluster, workers=2, listener=log)

    # Assert: streamed on both sides, the same epochs, accuracy within noise, and it samples
    said = [e["text"] for e in log.events if e["event"] == "message"]
    assert any(line.startswith("streaming ") for line in said), said
    assert single.training_sample is not None
    model = Synthesizer.load(path)
    assert done.stop_reason == single.training.stop_reason == "max epochs"
    assert len(model.training.epochs) == len(single.training.epochs) == 3
    assert abs(model.training.best_accuracy - single.training.best_accuracy) < 0.02
    # the first epoch's loss: the same windows and batches from the same weights
    assert model.training.epochs[0].loss == pytest.approx(single.training.epochs[0].loss, rel=0.01)
    assert model.sample(50, seed=2).shape == (50, 15)


def test_more_workers_than_the_clusters_cpus_is_refused(
    table: Path, cluster: str, tmp_path: Path, one_line: Any
) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.train(str(table), tmp_path / "m.synthdb", CONFIG, ray=cluster, workers=3)

    one_line(caught.value, "`workers` is 3", "2 CPUs")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ bad usage, no cluster
def test_workers_without_ray_is_one_line_naming_both(
    table: Path, tmp_path: Path, one_line: Any
) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.train(str(table), tmp_path / "m.synthdb", CONFIG, workers=2)

    one_line(caught.value, "`workers`", "`ray`")
    assert list(tmp_path.iterdir()) == []


def test_ray_under_differential_privacy_is_refused(
    table: Path, tmp_path: Path, one_line: Any
) -> None:
    config = CONFIG.model_copy(update={"privacy": Privacy(epsilon=1.0)})

    with pytest.raises(UsageError) as caught:
        pipeline.train(str(table), tmp_path / "m.synthdb", config, ray="auto")

    one_line(caught.value, "`ray`", "differential privacy", "train without `ray`")
    assert list(tmp_path.iterdir()) == []


def test_ray_for_a_database_is_refused(tmp_path: Path, one_line: Any) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    pd.DataFrame({"id": [1, 2]}).to_csv(folder / "a.csv", index=False)
    pd.DataFrame({"id": [1], "a_id": [1]}).to_csv(folder / "b.csv", index=False)

    with pytest.raises(UsageError) as caught:
        pipeline.train(str(folder), tmp_path / "m.synthdb", CONFIG, ray="auto")

    one_line(caught.value, "`ray`", "database")
    assert not (tmp_path / "m.synthdb").exists()


def test_ray_without_the_extra_names_the_install_command(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_line: Any
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails

    with pytest.raises(UsageError) as caught:
        pipeline.train(str(table), tmp_path / "m.synthdb", CONFIG, ray="auto")

    one_line(caught.value, "`ray`", "pip install 'synthdb[ray]'")


def test_bad_usage_on_the_command_line_is_one_line(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.synthdb"

    no_ray = run_cli("train", table, "-o", out, "--workers", 2)
    private = run_cli("train", table, "-o", out, "--ray", "auto", "--epsilon", 1)

    assert_one_line_error(no_ray, 2, "--workers", "--ray")
    assert_one_line_error(private, 2, "--ray", "differential privacy")
    assert not out.exists()
