from __future__ import annotations

import itertools
import threading
import time

import pytest
import torch

from synthdb.parallel import ordered_map


def _slow_square(x: int) -> int:
    time.sleep(0.001 * (x % 3))  # finish out of order
    return x * x


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_results_arrive_in_input_order(workers: int) -> None:
    assert list(ordered_map(_slow_square, range(50), workers=workers)) == [x * x for x in range(50)]


def test_an_empty_input_yields_nothing() -> None:
    assert list(ordered_map(_slow_square, [], workers=2)) == []


def test_work_runs_on_worker_threads_with_one_torch_thread_each() -> None:
    seen: list[tuple[str, int]] = []

    def record(_: int) -> None:
        seen.append((threading.current_thread().name, torch.get_num_threads()))

    list(ordered_map(record, range(8), workers=2))

    assert all(name.startswith("synthdb-worker") for name, _ in seen)
    assert {threads for _, threads in seen} == {1}


def test_an_error_reaches_the_consumer_after_the_results_before_it() -> None:
    def fail_at_three(x: int) -> int:
        if x == 3:
            raise RuntimeError("disk on fire")
        return x

    received: list[int] = []
    with pytest.raises(RuntimeError, match="disk on fire"):
        for value in ordered_map(fail_at_three, range(10), workers=2):
            received.append(value)

    assert received == [0, 1, 2]


def test_stopping_early_stops_drawing_from_the_input() -> None:
    # Setup: an endless input
    counter = itertools.count()

    # Run: take three results, then stop reading
    results = ordered_map(_slow_square, counter, workers=2, ahead=2)
    assert [next(results) for _ in range(3)] == [0, 1, 4]
    results.close()

    # Assert: no more than the window was submitted beyond what was consumed
    assert next(counter) <= 3 + 2


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(ordered_map(_slow_square, [1], workers=0))
