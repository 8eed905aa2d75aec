"""SDV's HMASynthesizer on a database bundle: fit, sample, write the twin.

Runs in ``.bench-venv-sdv`` (``bash benchmarks/setup_env.sh sdv``); started by
benchmarks/rival_rules.py, which reads the bundle (see rival_tables.py) and scores the twin::

    .bench-venv-sdv/bin/python benchmarks/run_hma.py BUNDLE OUT --result R.json

Metadata: SDV's own detection (``Metadata.detect_from_dataframes``, sdtypes inferred, keys
not), then the bundle's keys: every primary and foreign key column set to sdtype ``id``, each
single-column primary key set, each single-column foreign key added as a relationship. SDV
Community takes no composite key, and its HMA no self-reference: those are left out and listed
in the result. Fit with defaults, ``sample_scale(scale=1.0)``. HMA refuses more than 5 tables or a
depth above 2 when it is built; the refusal is written as status ``refused`` with SDV's message.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rival_tables import Clock, read_bundle, single_key, write_twin


def build_metadata(schema: dict[str, Any], frames: dict) -> tuple[Any, list[str]]:
    """SDV metadata for the bundle and what of its keys SDV cannot take."""
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes(frames, infer_keys=None)
    left_out = []
    for name in schema["order"]:
        table = schema["tables"][name]
        key_columns = set(table["primary_key"])
        for key in table["foreign_keys"]:
            key_columns.update(key["columns"])
        for column in sorted(key_columns):
            metadata.update_column(column_name=column, table_name=name, sdtype="id")
        primary = single_key(table["primary_key"])
        if primary is not None:
            metadata.set_primary_key(column_name=primary, table_name=name)
        elif table["primary_key"]:
            left_out.append(f"{name}: composite primary key {table['primary_key']}")
    for name in schema["order"]:
        for key in schema["tables"][name]["foreign_keys"]:
            column = single_key(key["columns"])
            if column is None:
                left_out.append(f"{name}: composite foreign key {key['columns']}")
            elif key["parent"] == name:
                left_out.append(f"{name}({column}) -> {name}: self-reference")
            else:
                metadata.add_relationship(
                    parent_table_name=key["parent"],
                    child_table_name=name,
                    parent_primary_key=single_key(key["parent_columns"]),
                    child_foreign_key=column,
                )
    return metadata, left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("out", type=Path, help="folder for the twin's CSV files")
    parser.add_argument("--result", type=Path, required=True)
    options = parser.parse_args()
    result: dict[str, Any] = {
        "versions": {name: version(name) for name in ("sdv", "rdt", "copulas", "pandas")},
        "settings": "HMASynthesizer(metadata) defaults; sample_scale(scale=1.0)",
    }
    clock = Clock()
    try:
        from sdv.errors import SynthesizerInputError
        from sdv.multi_table import HMASynthesizer

        schema, frames = read_bundle(options.bundle)
        metadata, left_out = build_metadata(schema, frames)
        result["left_out"] = left_out
        result["metadata"] = metadata.to_dict()
        try:
            synthesizer = HMASynthesizer(metadata)
        except SynthesizerInputError as error:
            result["status"] = "refused"
            result["reason"] = str(error).split("\n")[0]
            result["message"] = str(error)
            raise SystemExit(0) from None
        clock.start()
        synthesizer.fit(frames)
        clock.stop("train")
        clock.start()
        synthetic = synthesizer.sample_scale(scale=1.0)
        clock.stop("generate")
        result["rows"] = write_twin({n: synthetic[n] for n in schema["order"]}, options.out)
        result["status"] = "ok"
    except SystemExit:
        pass
    except Exception as error:  # recorded, not raised: the driver reports it
        result["status"] = "failed"
        result["reason"] = f"{type(error).__name__}: {error}".strip()[:2000]
        result["traceback"] = traceback.format_exc()[-4000:]
    result["seconds"] = clock.seconds
    options.result.write_text(json.dumps(result, indent=1, default=str) + "\n")
    shown = {k: v for k, v in result.items() if k not in ("traceback", "metadata")}
    print(json.dumps(shown, default=str)[:3000])
    sys.exit(0 if result["status"] in ("ok", "refused") else 1)


if __name__ == "__main__":
    main()
