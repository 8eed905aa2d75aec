#!/usr/bin/env bash
# Create the benchmark virtual environment <repo>/.bench-venv, idempotently.
#
# The rivals (mostlyai-engine) and the referee (mostlyai-qa) live in their own venv, never in
# synthdb's .venv, so that their dependency pins cannot leak into the product's environment.
# Re-running the script is cheap: when every pin is already installed, pip is not called.
#
# Notes learned the hard way (DESIGN.md section 8):
#   * torch==2.13.0 must be installed FIRST: that version is served as a CPU wheel from local
#     disk; letting a resolver pick torch pulls a multi-GB CUDA build.
#   * mostlyai-engine requires torchvision/torchaudio, whose wheels come as CUDA builds that
#     break its import; the tabular model uses neither, so both are uninstalled afterwards.
#   * pandas stays below 3 for the sake of packages that have not caught up with it yet.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.bench-venv"
PY="${PYTHON:-python3.11}"

# Pinned to what the committed results were measured with: the referee's figures (and the
# scikit-learn model behind TSTR) must not drift under them.
TORCH_VERSION="2.13.0"
PINS=(
    "torch==$TORCH_VERSION"
    "mostlyai-engine==2.7.3"
    "mostlyai-qa==1.10.11"
    "psutil==5.9.8"
    "scikit-learn==1.9.1"
    "pandas==2.3.3"
)

say() { printf '[setup_env] %s\n' "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating virtual environment $VENV with $PY"
    "$PY" -m venv "$VENV"
else
    say "virtual environment $VENV already exists; reusing it"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# pip, minus the one-line-per-package notices about configured local index folders that do not
# hold a package (harmless, and they would bury what this script says).
run_pip() {
    local status=0
    "${PIP[@]}" "$@" 2> >(grep -v 'is neither a file nor a directory' >&2) || status=$?
    return "$status"
}

# Exit 0 when every pin is installed at its version (a local build suffix such as +cpu is fine).
pins_installed() {
    "$VENV/bin/python" - "${PINS[@]}" <<'PYCHECK'
import sys
from importlib.metadata import PackageNotFoundError, version

for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if have.split("+")[0] != wanted:
        sys.exit(1)
PYCHECK
}

if pins_installed; then
    say "already installed: ${PINS[*]}"
else
    say "installing torch==$TORCH_VERSION first (CPU wheel)"
    run_pip install --quiet "torch==$TORCH_VERSION"

    say "installing ${PINS[*]:1}"
    run_pip install --quiet "${PINS[@]}"

    for pkg in torchvision torchaudio; do
        if "$VENV/bin/python" -m pip show --quiet "$pkg" >/dev/null 2>&1; then
            say "uninstalling $pkg (CUDA build that breaks mostlyai-engine's import; unused by it)"
            run_pip uninstall --quiet --yes "$pkg"
        fi
    done
fi

say "checking the imports"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" - <<'PYCHECK'
from importlib.metadata import version

import mostlyai.engine  # noqa: F401
import mostlyai.qa  # noqa: F401
import psutil  # noqa: F401
import sklearn  # noqa: F401
import torch

for name in ("torch", "mostlyai-engine", "mostlyai-qa", "pandas", "scikit-learn", "psutil"):
    print(f"[setup_env]   {name} {version(name)}")
if torch.version.cuda is not None:
    print("[setup_env]   WARNING: torch is a CUDA build; install torch==2.13.0 (CPU) first")
PYCHECK
say "done: $VENV"
