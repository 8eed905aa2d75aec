"""``generate --ray`` of a database's twin (Chinook: parents, children, grandchildren, a table
of sequences, small tables drawn with candidates) and of a model of sequences, on a two-node
Ray cluster on this machine: the same bytes as one process, whatever the workers; a worker
killed mid-job is retried and changes nothing; a job that loses its workers writes nothing.

Draws are cut into batches of ``SMALL_BATCH`` rows here (for one process and for Ray alike),
so that Chinook's draws span several shards and both workers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthdb import pipeline
from synthdb.config import TrainingConfig
from synthdb.errors import ClusterError, UsageError
from synthdb.io import read_table
from synthdb.pipeline import EventLog
from synthdb.pipeline.cluster import ACTOR_PREFIX, shards
from synthdb.relational import model as relational
from synthdb.relational.sequence_table import CHUNK

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "end_to_end"))
from cli_harness import run_cli

try:
    import ray
except ImportError:
    ray = None

pytestmark = pytest.mark.slow

SMALL_BATCH = 4_096
SCALE = 2
SEQUENCES = 2 * CHUNK + 500  # three chunks


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draws in batches of ``SMALL_BATCH`` rows, in this process and (told by it) on Ray;
    a model of sequences' workers draw in batches of their own."""
    monkeypatch.setattr(relational, "DRAW_BATCH", SMALL_BATCH)


@pytest.fixture(scope="module")
def model(chinook_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch model of Chinook (11 tables; Invoice drawn as sequences under Customer)."""
    path = tmp_path_factory.mktemp("ray-twin") / "chinook.synthdb"
    config = TrainingConfig(max_epochs=1, hidden=16, embedding_dim=4, seed=1)
    return pipeline.train(f"sqlite:///{chinook_file}", path, config).model_path


@pytest.fixture(scope="module")
def single(model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What one process writes: each file of the twin's folder."""
    folder = tmp_path_factory.mktemp("single") / "twin"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(relational, "DRAW_BATCH", SMALL_BATCH)
        pipeline.generate(model, folder, scale=SCALE, seed=3)
    return _files(folder)


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_chinooks_draws_span_several_shards(model: Path) -> None:
    pool_rows = relational.DRAWN_ROWS  # a small table's candidates
    assert len(shards(pool_rows, 2, SMALL_BATCH)) > 2


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.usefixtures("small_batches")
def test_ray_writes_the_twin_one_process_writes(
    model: Path, cluster: str, single: dict[str, bytes], tmp_path: Path, workers: int
) -> None:
    log = EventLog()

    written = pipeline.generate(
        model, tmp_path / "twin", scale=SCALE, seed=3, ray=cluster, workers=workers, listener=log
    )

    assert _files(tmp_path / "twin") == single
    assert written.kind == "database" and len(written.tables) == 11
    progress = [e for e in log.events if e["event"] == "rows"]
    assert {e["unit"] for e in progress} == {"tables"}
    assert [e["done"] for e in progress] == list(range(12))
    assert not [name for name in ray.util.list_named_actors() if name.startswith(ACTOR_PREFIX)]


@pytest.mark.usefixtures("small_batches")
def test_ray_inserts_the_twin_one_process_inserts(
    model: Path, cluster: str, tmp_path: Path
) -> None:
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"

    pipeline.generate(model, one, scale=SCALE, seed=4)
    pipeline.generate(model, two, scale=SCALE, seed=4, ray=cluster, workers=2)

    for table in ("Customer", "Invoice", "InvoiceLine", "PlaylistTrack"):
        pd.testing.assert_frame_equal(read_table(two, table), read_table(one, table))


@pytest.mark.usefixtures("small_batches")
def test_a_worker_killed_mid_twin_is_retried_and_the_twin_is_unchanged(
    model: Path, cluster: str, single: dict[str, bytes], tmp_path: Path
) -> None:
    killed: list[str] = []

    class Killer(EventLog):
        """Kills worker 0's process (Ray restarts it) once the first table is done, while
        it holds shards of the other tables' draws."""

        def on_rows(self, done: int, total: int, unit: Any) -> None:
            super().on_rows(done, total, unit)
            if done and not killed:
                name = _worker(0)
                ray.kill(ray.get_actor(name), no_restart=False)
                killed.append(name)

    pipeline.generate(
        model, tmp_path / "twin", scale=SCALE, seed=3, ray=cluster, workers=2, listener=Killer()
    )

    assert killed
    assert _files(tmp_path / "twin") == single


@pytest.mark.usefixtures("small_batches")
def test_a_twin_that_loses_a_worker_for_good_writes_nothing(
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
            model, tmp_path / "twin", scale=SCALE, seed=3, ray=cluster, workers=2,
            listener=Killer(),
        )  # fmt: skip

    one_line(caught.value, "lost a Ray worker", "nothing was written")
    assert list(tmp_path.iterdir()) == []
    assert not [name for name in ray.util.list_named_actors() if name.startswith(ACTOR_PREFIX)]


def test_the_command_line_draws_a_twin_on_ray_with_the_same_output(
    model: Path, cluster: str, single: dict[str, bytes], tmp_path: Path
) -> None:
    done = run_cli(
        "generate", model, "-o", tmp_path / "twin", "--scale", SCALE, "--seed", 3,
        "--ray", cluster, "--workers", 2,
    )  # fmt: skip

    # the child process draws in batches of the default size: its twin is its own
    assert done.code == 0, done
    assert "Traceback" not in done.stderr, done
    alone = run_cli("generate", model, "-o", tmp_path / "alone", "--scale", SCALE, "--seed", 3)
    assert alone.code == 0, alone
    assert _files(tmp_path / "twin") == _files(tmp_path / "alone")


# ------------------------------------------------------------------ sequences
@pytest.fixture(scope="module")
def sequences_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch model of 300 sequences of 1 to 5 events."""
    folder = tmp_path_factory.mktemp("ray-sequences")
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 6, 300)
    frame = pd.DataFrame(
        {
            "entity": np.repeat([f"E{i:04d}" for i in range(300)], lengths),
            "day": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 300, lengths.sum()), unit="D"),
            "kind": rng.choice(list("abc"), lengths.sum()),
            "amount": rng.integers(1, 100, lengths.sum()),
        }
    )
    frame.to_csv(folder / "events.csv", index=False)
    config = TrainingConfig(max_epochs=1, hidden=16, embedding_dim=4, batch_size=64, seed=1)
    return pipeline.train(
        str(folder / "events.csv"),
        folder / "events.synthdb",
        config,
        sequence_key="entity",
        order_by="day",
    ).model_path


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_writes_the_sequences_one_process_writes(
    sequences_model: Path, cluster: str, tmp_path: Path, workers: int
) -> None:
    one, log = tmp_path / "one.csv", EventLog()
    pipeline.generate(sequences_model, one, sequences=SEQUENCES, seed=2)

    written = pipeline.generate(
        sequences_model, tmp_path / "ray.csv", sequences=SEQUENCES, seed=2, ray=cluster,
        workers=workers, listener=log,
    )  # fmt: skip

    assert (tmp_path / "ray.csv").read_bytes() == one.read_bytes()
    assert written.sequences == SEQUENCES
    assert [e["done"] for e in log.events if e["event"] == "rows"][-1] == SEQUENCES


def _worker(index: int) -> str:
    """The name of worker ``index`` of the job running now."""
    (name,) = [n for n in ray.util.list_named_actors() if n.endswith(f"-{index}")]
    return str(name)


def test_given_rows_with_ray_are_refused_before_anything_loads(
    model: Path, tmp_path: Path, one_line: Any
) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.generate(model, tmp_path / "twin", given=tmp_path / "Customer.csv", ray="auto")

    one_line(caught.value, "`given`", "not on Ray")
    assert list(tmp_path.iterdir()) == []
