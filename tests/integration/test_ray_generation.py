"""``generate --ray`` on a two-node Ray cluster on this machine (one CPU per node): the same
bytes as one process, whatever the workers; a worker killed mid-job is retried and changes
nothing; a job that loses its workers for good writes nothing; bad usage is one line.

The cluster's tests are skipped where Ray is not installed (``pip install 'synthdb[ray]'``),
except under CI, where ``make test`` installs it and a skip would hide them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthdb import pipeline
from synthdb.config import TrainingConfig
from synthdb.errors import ClusterError, UsageError
from synthdb.io import read_table
from synthdb.pipeline import EventLog
from synthdb.pipeline.cluster import ACTOR_PREFIX, shards
from synthdb.synthesizer import SAMPLE_BATCH

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "end_to_end"))
from cli_harness import assert_one_line_error, run_cli

try:
    import ray
except ImportError:
    ray = None

pytestmark = pytest.mark.slow

#: three batches, three shards: the first and third go to worker 0, which is still drawing the
#: third when the first has been written (when the tests below kill it)
ROWS = 3 * SAMPLE_BATCH - 1_000


@pytest.fixture(scope="module")
def model(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch model of 400 Adult rows with an id column, so keys cross shard borders."""
    folder = tmp_path_factory.mktemp("ray-model")
    frame = adult.sample(400, random_state=5).reset_index(drop=True)
    frame.insert(0, "person_id", [f"P{i:05d}" for i in range(len(frame))])
    frame.to_csv(folder / "people.csv", index=False)
    config = TrainingConfig(max_epochs=1, hidden=16, embedding_dim=4, batch_size=64, seed=1)
    return pipeline.train(str(folder / "people.csv"), folder / "people.synthdb", config).model_path


@pytest.fixture(scope="module")
def single(model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What one process writes, per format."""
    folder = tmp_path_factory.mktemp("single")
    written = {}
    for suffix in ("csv", "parquet"):
        pipeline.generate(model, str(folder / f"out.{suffix}"), rows=ROWS, seed=9)
        written[suffix] = (folder / f"out.{suffix}").read_bytes()
    return written


def test_shards_are_runs_of_whole_batches_covering_every_batch_once() -> None:
    assert shards(ROWS, 2, SAMPLE_BATCH) == [range(0, 1), range(1, 2), range(2, 3)]
    plan = shards(100 * SAMPLE_BATCH, 1, SAMPLE_BATCH)
    assert [batch for shard in plan for batch in shard] == list(range(100))
    assert max(len(shard) for shard in plan) == 8


@pytest.mark.parametrize(("suffix", "workers"), [("csv", 1), ("parquet", 1), ("parquet", 2)])
def test_ray_writes_the_bytes_one_process_writes(
    model: Path,
    cluster: str,
    single: dict[str, bytes],
    tmp_path: Path,
    suffix: str,
    workers: int,
) -> None:
    log = EventLog()
    output = tmp_path / f"out.{suffix}"

    written = pipeline.generate(
        model, str(output), rows=ROWS, seed=9, ray=cluster, workers=workers, listener=log
    )

    assert written.rows == ROWS
    assert output.read_bytes() == single[suffix]
    assert [e["done"] for e in log.events if e["event"] == "rows"][-1] == ROWS
    assert not [name for name in ray.util.list_named_actors() if name.startswith(ACTOR_PREFIX)]


def test_ray_inserts_the_rows_one_process_inserts(
    model: Path, cluster: str, tmp_path: Path
) -> None:
    rows = SAMPLE_BATCH + 500  # two shards, one per node
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"

    pipeline.generate(model, one, rows=rows, seed=4)
    pipeline.generate(model, two, rows=rows, seed=4, ray=cluster, workers=2)

    pd.testing.assert_frame_equal(read_table(two), read_table(one))
    assert len(read_table(two)) == rows


def test_a_worker_killed_mid_job_is_retried_and_the_output_is_unchanged(
    model: Path, cluster: str, single: dict[str, bytes], tmp_path: Path
) -> None:
    killed: list[str] = []

    class Killer(EventLog):
        """Kills worker 0's process mid-shard (Ray restarts it) once the first shard is
        written."""

        def on_rows(self, done: int, total: int, unit: Any) -> None:
            super().on_rows(done, total, unit)
            if done and not killed:
                name = _worker(0)
                ray.kill(ray.get_actor(name), no_restart=False)
                killed.append(name)

    pipeline.generate(
        model, str(tmp_path / "out.csv"), rows=ROWS, seed=9, ray=cluster, workers=2,
        listener=Killer(),
    )  # fmt: skip

    assert killed
    assert (tmp_path / "out.csv").read_bytes() == single["csv"]


def test_a_job_that_loses_a_worker_for_good_writes_nothing(
    model: Path, cluster: str, tmp_path: Path, one_line: Any
) -> None:
    killed: list[str] = []

    class Killer(EventLog):
        def on_rows(self, done: int, total: int, unit: Any) -> None:
            if done and not killed:
                killed.append(_worker(0))
                ray.kill(ray.get_actor(killed[0]), no_restart=True)

    with pytest.raises(ClusterError) as caught:
        pipeline.generate(
            model, str(tmp_path / "out.csv"), rows=ROWS, seed=9, ray=cluster, workers=2,
            listener=Killer(),
        )  # fmt: skip

    one_line(caught.value, "lost a Ray worker", "nothing was written")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("through", ["address", "Ray Client"])
def test_the_command_line_draws_on_ray_with_the_same_output(
    model: Path,
    cluster_and_client: tuple[str, str],
    single: dict[str, bytes],
    tmp_path: Path,
    through: str,
) -> None:
    address = cluster_and_client[through == "Ray Client"]

    done = run_cli(
        "generate", model, "-o", tmp_path / "out.csv", "--rows", ROWS, "--seed", 9,
        "--ray", address, "--workers", 2,
    )  # fmt: skip

    assert done.code == 0, done
    assert "Traceback" not in done.stderr, done
    assert (tmp_path / "out.csv").read_bytes() == single["csv"]


def test_more_workers_than_the_clusters_cpus_is_refused(
    model: Path, cluster: str, tmp_path: Path, one_line: Any
) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.generate(model, str(tmp_path / "out.csv"), rows=10, ray=cluster, workers=3)

    one_line(caught.value, "`workers` is 3", "2 CPUs")
    assert list(tmp_path.iterdir()) == []


def _worker(index: int) -> str:
    """The name of worker ``index`` of the job running now."""
    (name,) = [n for n in ray.util.list_named_actors() if n.endswith(f"-{index}")]
    return str(name)


# ------------------------------------------------------------------ bad usage, no cluster
def test_workers_without_ray_is_one_line_naming_both(
    model: Path, tmp_path: Path, one_line: Any
) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.generate(model, str(tmp_path / "out.csv"), workers=2)

    one_line(caught.value, "`workers`", "`ray`")
    assert list(tmp_path.iterdir()) == []


def test_ray_without_the_extra_names_the_install_command(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_line: Any
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails

    with pytest.raises(UsageError) as caught:
        pipeline.generate(model, str(tmp_path / "out.csv"), ray="auto")

    one_line(caught.value, "`ray`", "pip install 'synthdb[ray]'")


def test_bad_usage_on_the_command_line_is_one_line(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"

    no_ray = run_cli("generate", model, "-o", out, "--workers", 2)
    no_workers = run_cli("generate", model, "-o", out, "--ray", "auto", "--workers", 0)

    assert_one_line_error(no_ray, 2, "--workers", "--ray")
    assert_one_line_error(no_workers, 2, "--workers", "at least 1")
    assert not out.exists()
