#!/usr/bin/env bash
# Create the benchmark virtual environments, idempotently:
#
#   bash benchmarks/setup_env.sh                  # the three rival venvs
#   bash benchmarks/setup_env.sh bench sdv        # only these (bench | sdv | smartnoise | mostly |
#                                                 # syntherela)
#
#   bench      <repo>/.bench-venv             mostlyai-engine (rival), mostlyai-qa and SDMetrics
#                                             (referees), psutil (measure.py), scikit-learn
#   sdv        <repo>/.bench-venv-sdv         SDV 2.x: GaussianCopula, TVAE, CTGAN
#   smartnoise <repo>/.bench-venv-smartnoise  smartnoise-synth: MST, AIM
#   mostly     <repo>/.bench-venv-mostly      MOSTLY AI SDK with its local extra (mostlyai[local]):
#                                             the multi-table rival of rival_rules.py; built only
#                                             when named
#   syntherela <repo>/.bench-venv-syntherela  SyntheRela 0.0.4 (referee for database twins: DDA,
#                                             k-hop trends); built only when named
#
# Every rival lives in its own venv, never in synthdb's .venv nor in each other's, so that their
# dependency pins (opacus 0.14 for smartnoise, its own rdt/copulas for SDV) cannot collide.
# Re-running is cheap: when every pin of a venv is installed, pip is not called for it. One venv
# failing to build does not stop the others; the exit status is then 1 and the last line per
# venv says which failed (the side-by-side driver records the reason in the results JSON).
#
# Notes learned the hard way (DESIGN.md section 8):
#   * torch==2.13.0 must be installed FIRST in every venv: that version is served as a CPU wheel
#     from local disk; letting a resolver pick torch pulls a multi-GB CUDA build.
#   * the MOSTLY AI SDK's `local` extra (mostlyai[local]) brings mostlyai-engine and so the same
#     torchvision/torchaudio; they are removed from .bench-venv-mostly too.
#   * mostlyai-engine requires torchvision/torchaudio, whose wheels come as CUDA builds that
#     break its import; the tabular model uses neither, so both are uninstalled afterwards.
#   * pandas stays below 3: sdmetrics 0.32 and SDV 2.0 have not caught up with it.
#   * smartnoise-synth needs `packaging` installed by hand first; it pulls `mbi` (private-pgm)
#     from the package index.
#   * syntherela 0.0.4 breaks with sdmetrics 0.32 (pinned 0.31.1) and wants numpy below 2.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3.11}"
VENV_ROOT="${BENCH_VENV_ROOT:-$REPO}"

# Pinned to what the committed results were measured with: neither the rivals nor the referees'
# figures (nor the scikit-learn model behind TSTR) may drift under them.
TORCH_VERSION="2.13.0"
PANDAS_PIN="pandas==2.3.3"
BENCH_PINS=(
    "mostlyai-engine==2.7.3"
    "mostlyai-qa==1.10.11"
    "sdmetrics==0.32.0"
    "psutil==5.9.8"
    "scikit-learn==1.9.1"
    "$PANDAS_PIN"
)
SDV_PINS=(
    "sdv==2.0.0"
    "psutil==5.9.8"
    "$PANDAS_PIN"
)
SMARTNOISE_PINS=(
    "smartnoise-synth==1.0.8"
    "cloudpickle==3.1.1"
    "$PANDAS_PIN"
)
MOSTLY_PINS=(
    "mostlyai[local]==6.2.0"
    "$PANDAS_PIN"
)
# Ranges where a pin is not needed: what the resolver picks inside them is printed on every run
# (and benchmarks/syntherela_dda.py records every version beside its figures).
SYNTHERELA_PINS=(
    "syntherela==0.0.4"
    "sdmetrics==0.31.1"
    "numpy<2"
    "pandas>=2,<3"
    "sdv>=1.9,<2"
)
# Imports that prove a venv works (checked after every build, and cheaply on every re-run).
BENCH_IMPORTS="mostlyai.engine mostlyai.qa sdmetrics.reports.single_table psutil sklearn"
SDV_IMPORTS="sdv.single_table"
SMARTNOISE_IMPORTS="snsynth snsynth.mst snsynth.aim cloudpickle"
MOSTLY_IMPORTS="mostlyai.sdk mostlyai.engine"
SYNTHERELA_IMPORTS="syntherela.metrics.multi_table.detection syntherela.metadata xgboost sdv"

say() { printf '[setup_env] %s\n' "$*"; }

# pip, minus the one-line-per-package notices about configured local index folders that do not
# hold a package (harmless, and they would bury what this script says).
run_pip() {
    local venv="$1"
    shift
    local status=0
    "$venv/bin/python" -m pip --disable-pip-version-check "$@" \
        2> >(grep -v 'is neither a file nor a directory' >&2) || status=$?
    return "$status"
}

# Exit 0 when every requirement is installed at a version it allows: a pin `name==X` (a local
# build suffix such as +cpu is fine) or a range such as `numpy<2` (pip's own vendored parser).
pins_installed() {
    local venv="$1"
    shift
    "$venv/bin/python" - "$@" <<'PYCHECK'
import sys
from importlib.metadata import PackageNotFoundError, version

from pip._vendor.packaging.requirements import Requirement

for pin in sys.argv[1:]:
    wanted = Requirement(pin)
    try:
        have = version(wanted.name)
    except PackageNotFoundError:
        sys.exit(1)
    if not wanted.specifier.contains(have.split("+")[0], prereleases=True):
        sys.exit(1)
PYCHECK
}

# Import the given modules offline; print the versions of the pinned packages and torch's build.
check_imports() {
    local venv="$1" modules="$2"
    shift 2
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$venv/bin/python" - "$modules" "$@" <<'PYCHECK'
import importlib
import re
import sys
from importlib.metadata import version

for module in sys.argv[1].split():
    importlib.import_module(module)
for pin in sys.argv[2:]:
    name = re.split(r"[\[<>=!~ ]", pin, maxsplit=1)[0]
    print(f"[setup_env]   {name} {version(name)}")
import torch

print(f"[setup_env]   torch {torch.__version__}")
if torch.version.cuda is not None:
    print("[setup_env]   WARNING: torch is a CUDA build; install torch==2.13.0 (CPU) first")
PYCHECK
}

remove_cuda_extras() {
    local venv="$1" pkg
    for pkg in torchvision torchaudio; do
        if "$venv/bin/python" -m pip show --quiet "$pkg" >/dev/null 2>&1; then
            say "uninstalling $pkg from $venv (CUDA build that breaks imports; unused)"
            run_pip "$venv" uninstall --quiet --yes "$pkg"
        fi
    done
}

# build_venv DIR "IMPORTS" "PRE-PINS" PIN... : create DIR, torch first, then the pre-pins
# (packages another package's build needs but does not declare), then the pins.
build_venv() {
    local venv="$1" imports="$2" pre="$3"
    shift 3
    local pins=("torch==$TORCH_VERSION" "$@")
    if [[ ! -x "$venv/bin/python" ]]; then
        say "creating virtual environment $venv with $PY"
        "$PY" -m venv "$venv" || return 1
    fi
    if pins_installed "$venv" "${pins[@]}"; then
        say "already installed in $venv: ${pins[*]}"
    else
        say "$venv: installing torch==$TORCH_VERSION first (CPU wheel)"
        run_pip "$venv" install --quiet "torch==$TORCH_VERSION" || return 1
        if [[ -n "$pre" ]]; then
            say "$venv: installing $pre by hand first"
            # shellcheck disable=SC2086
            run_pip "$venv" install --quiet $pre || return 1
        fi
        say "$venv: installing ${pins[*]:1}"
        run_pip "$venv" install --quiet "${pins[@]}" || return 1
        remove_cuda_extras "$venv"
    fi
    say "$venv: checking the imports"
    check_imports "$venv" "$imports" "${pins[@]:1}"
}

build_one() {
    case "$1" in
    bench) build_venv "$VENV_ROOT/.bench-venv" "$BENCH_IMPORTS" "" "${BENCH_PINS[@]}" ;;
    sdv) build_venv "$VENV_ROOT/.bench-venv-sdv" "$SDV_IMPORTS" "" "${SDV_PINS[@]}" ;;
    smartnoise)
        build_venv "$VENV_ROOT/.bench-venv-smartnoise" "$SMARTNOISE_IMPORTS" \
            "packaging==24.2" "${SMARTNOISE_PINS[@]}"
        ;;
    mostly) build_venv "$VENV_ROOT/.bench-venv-mostly" "$MOSTLY_IMPORTS" "" "${MOSTLY_PINS[@]}" ;;
    syntherela)
        build_venv "$VENV_ROOT/.bench-venv-syntherela" "$SYNTHERELA_IMPORTS" "" \
            "${SYNTHERELA_PINS[@]}"
        ;;
    *)
        say "unknown venv '$1' (known: bench sdv smartnoise mostly syntherela)"
        return 2
        ;;
    esac
}

main() {
    local groups=("$@") failed=() group
    [[ ${#groups[@]} -eq 0 ]] && groups=(bench sdv smartnoise)
    for group in "${groups[@]}"; do
        if build_one "$group"; then
            say "done: $group"
        else
            say "FAILED: $group (see the pip output above)"
            failed+=("$group")
        fi
    done
    if [[ ${#failed[@]} -gt 0 ]]; then
        say "failed: ${failed[*]}"
        return 1
    fi
    say "done"
}

main "$@"
