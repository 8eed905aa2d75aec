from __future__ import annotations

import json

import numpy as np
import pandas as pd

from synthdb.encoding.table import TableEncoder
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed


def _mixed_frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2_000, rows), unit="D")
    return pd.DataFrame(
        {
            "person_id": [str(i) for i in range(rows)],
            "age": rng.integers(18, 80, rows).astype(str),
            "amount": rng.gamma(2.0, 50.0, rows).round(2).astype(str),
            "joined": days.strftime("%Y-%m-%d"),
            "member": rng.choice(["yes", "no"], rows),
            "city": rng.choice(["Oslo", "Rome", "Lima"], rows),
            "planet": ["Earth"] * rows,
        }
    )


def test_keys_and_constants_are_not_modelled() -> None:
    frame = _mixed_frame()
    schema = infer_schema(frame)

    encoder = TableEncoder.fit(to_typed(frame, schema), schema)

    assert encoder.columns == ["age", "amount", "joined", "member", "city"]
    assert [s.name for s in encoder.sub_columns] == [
        "age",
        "amount",
        "amount#fine",
        "joined",
        "joined#fine",
        "member",
        "city",
    ]


def test_tokens_fit_their_cardinalities_and_decode_to_the_source_values() -> None:
    # Setup
    frame = _mixed_frame()
    schema = infer_schema(frame)
    typed = to_typed(frame, schema)
    encoder = TableEncoder.fit(typed, schema)

    # Run
    tokens = encoder.encode(typed)
    decoded = encoder.decode(tokens, np.random.default_rng(0))

    # Assert
    cardinalities = np.array([s.cardinality for s in encoder.sub_columns])
    assert tokens.shape == (len(frame), len(cardinalities))
    assert ((tokens >= 0) & (tokens < cardinalities)).all()
    assert decoded["age"].tolist() == typed["age"].tolist()  # few values: exact tokens
    assert decoded["city"].tolist() == typed["city"].tolist()
    assert (decoded["joined"] % 1 == 0).all()  # whole seconds
    # binned columns land in the same fine cell: within 1/16 of a bin of the source value
    assert decoded["amount"].between(typed["amount"].min(), typed["amount"].max()).all()
    assert np.corrcoef(decoded["amount"], typed["amount"])[0, 1] > 0.999


def test_the_encoder_survives_a_json_round_trip_unchanged() -> None:
    frame = _mixed_frame()
    schema = infer_schema(frame)
    typed = to_typed(frame, schema)
    encoder = TableEncoder.fit(typed, schema)

    again = TableEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))

    assert np.array_equal(again.encode(typed), encoder.encode(typed))
    assert again.decode(encoder.encode(typed), np.random.default_rng(3)).equals(
        encoder.decode(encoder.encode(typed), np.random.default_rng(3))
    )
    assert [type(e) for e in again.encoders] == [type(e) for e in encoder.encoders]
    assert [getattr(e, "kind", None) for e in again.encoders] == [
        "numeric",
        "numeric",
        "datetime",
        "boolean",
        "categorical",
    ]
