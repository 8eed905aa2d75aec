"""The token store on disk: a round trip, the removal of its folder, and shuffled windows."""

from __future__ import annotations

import numpy as np

from synthdb.training.store import BLOCK_ROWS, StoredBatches, TokenStore


def test_tokens_come_back_as_written_and_the_folder_goes() -> None:
    # Setup
    rng = np.random.default_rng(0)
    tokens = np.stack([rng.integers(0, 300, 10_000), rng.integers(0, 5, 10_000)], axis=1)

    # Run: written in uneven chunks, read back across chunk boundaries
    with TokenStore(len(tokens), [300, 5]) as store:
        for start, stop in [(0, 1), (1, 4_000), (4_000, 10_000)]:
            store.append(tokens[start:stop])
        store.finish()
        back = np.concatenate([store.read(0, 3_333), store.read(3_333, 20_000)])
        folder, dtype, counts = store.folder, store.dtype, store.counts

    # Assert
    assert dtype == np.uint16
    np.testing.assert_array_equal(back, tokens)
    np.testing.assert_array_equal(counts[0], np.bincount(tokens[:, 0], minlength=300))
    assert not folder.exists()


def test_an_epoch_of_stored_batches_reads_every_row_at_most_once() -> None:
    # Setup: rows numbered by their two tokens, over several blocks
    rows = 5 * BLOCK_ROWS + 123
    numbers = np.arange(rows)
    tokens = np.stack([numbers // 256, numbers % 256], axis=1)
    with TokenStore(rows, [rows // 256 + 1, 256]) as store:
        store.append(tokens)
        store.finish()
        steps = StoredBatches(store, 500, 1e-3, seed=0)

        # Run
        steps.start_epoch()
        batches = [steps.next_batch().numpy() for _ in range(steps.steps_per_epoch)]

    # Assert: no row twice, nearly all rows, and the first batch spans the table
    seen = np.concatenate(batches)
    read = seen[:, 0] * 256 + seen[:, 1]
    assert len(np.unique(read)) == len(read) == steps.steps_per_epoch * 500
    assert len(read) > rows - 500
    assert np.ptp(batches[0][:, 0] * 256 + batches[0][:, 1]) > rows / 2
