"""MOSTLY AI SDK in local mode on a whole database bundle: train, generate, write the twin.

Runs in ``.bench-venv-mostly`` (``bash benchmarks/setup_env.sh mostly``); started by
benchmarks/rival_rules.py, which reads the bundle (see rival_tables.py) and scores the twin::

    .bench-venv-mostly/bin/python benchmarks/run_mostly_rules.py BUNDLE OUT --result R.json

The generator gets every table with its primary key and foreign keys. A table's context
foreign key (MOSTLY AI allows one) is the one synthdb generates it under; every other foreign
key is a non-context one (MOSTLY AI trains a matching model for it). Settings are the SDK's
defaults except ``value_protection: False`` on every table (with it on, rare categories such as
most customer cities come out as ``_RARE_``, DESIGN.md section 9) and the model and data
reports turned off (they cost time and change neither the model nor the twin).
``--max-training-minutes M`` sets every table's ``max_training_time`` (default: the SDK's,
14,400 minutes). Generation uses the default size: as many subject rows as the source, child
rows as the model draws them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rival_tables import Clock, read_bundle, single_key, write_twin


def generator_config(
    schema: dict[str, Any], frames: dict, max_minutes: float | None
) -> tuple[dict[str, Any], list[str]]:
    """The SDK's generator config for the bundle, and what of the schema it cannot take."""
    left_out: list[str] = []
    tables = []
    for name in schema["order"]:
        table = schema["tables"][name]
        model: dict[str, Any] = {"value_protection": False, "enable_model_report": False}
        if max_minutes is not None:
            model["max_training_time"] = max_minutes
        config: dict[str, Any] = {
            "name": name,
            "data": frames[name],
            "tabular_model_configuration": model,
        }
        fk_columns = {c for key in table["foreign_keys"] for c in key["columns"]}
        primary = single_key(table["primary_key"])
        if primary is not None and primary not in fk_columns:
            config["primary_key"] = primary
        elif table["primary_key"]:
            left_out.append(
                f"{name}: primary key ({', '.join(table['primary_key'])}) not declared "
                "(MOSTLY AI takes one column that is no foreign key)"
            )
        keys = []
        for index, key in enumerate(table["foreign_keys"]):
            column = single_key(key["columns"])
            if column is None:
                left_out.append(f"{name}: composite foreign key {key['columns']} left out")
                continue
            keys.append(
                {
                    "column": column,
                    "referenced_table": key["parent"],
                    "is_context": index == table["context"],
                }
            )
        if keys:
            config["foreign_keys"] = keys
        tables.append(config)
    return {"name": "rival-rules", "tables": tables}, left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("out", type=Path, help="folder for the twin's CSV files")
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--max-training-minutes", type=float)
    parser.add_argument(
        "--home", type=Path, help="the SDK's local folder (default: a temporary one)"
    )
    options = parser.parse_args()
    result: dict[str, Any] = {
        "versions": {
            name: version(name) for name in ("mostlyai", "mostlyai-engine", "torch", "pandas")
        },
        "settings": {
            "value_protection": False,
            "enable_model_report": False,
            "enable_data_report": False,
            "max_training_time_minutes": options.max_training_minutes or "SDK default (14400)",
            "other": "SDK defaults (MOSTLY_AI/Medium, max 100 epochs, flexible generation on)",
        },
    }
    clock = Clock()
    try:
        from mostlyai.sdk import MostlyAI

        schema, frames = read_bundle(options.bundle)
        config, left_out = generator_config(schema, frames, options.max_training_minutes)
        result["left_out"] = left_out
        result["foreign_keys"] = {
            t["name"]: [
                f"{k['column']} -> {k['referenced_table']}"
                + (" (context)" if k["is_context"] else "")
                for k in t.get("foreign_keys", [])
            ]
            for t in config["tables"]
        }
        with tempfile.TemporaryDirectory(prefix="mostly-home-") as temporary:
            home = options.home or Path(temporary)
            mostly = MostlyAI(local=True, local_dir=home, quiet=True)
            clock.start()
            generator = mostly.train(config=config, progress_bar=False)
            clock.stop("train")
            generator = mostly.generators.get(generator.id)
            status = str(generator.training_status)
            result["training_status"] = status
            if "DONE" not in status.upper():
                raise RuntimeError(f"training ended with status {status}")
            clock.start()
            dataset = mostly.generate(
                generator,
                config={
                    "tables": [
                        {"name": n, "configuration": {"enable_data_report": False}}
                        for n in schema["order"]
                    ]
                },
                progress_bar=False,
            )
            synthetic = dataset.data()
            clock.stop("generate")
            result["generation_status"] = str(
                mostly.synthetic_datasets.get(dataset.id).generation_status
            )
        if not isinstance(synthetic, dict):
            synthetic = {schema["order"][0]: synthetic}
        result["rows"] = write_twin({n: synthetic[n] for n in schema["order"]}, options.out)
        result["status"] = "ok"
    except Exception as error:  # recorded, not raised: the driver reports it
        result["status"] = "failed"
        result["reason"] = f"{type(error).__name__}: {error}".strip()[:2000]
        result["traceback"] = traceback.format_exc()[-4000:]
    result["seconds"] = clock.seconds
    options.result.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "traceback"}, default=str)[:3000])
    sys.exit(0 if result["status"] == "ok" else 1)


if __name__ == "__main__":
    main()
