#!/usr/bin/env bash
# Install the pinned torch for this computer and say which build was chosen: the CUDA build where an
# NVIDIA GPU answers (nvidia-smi), else the CPU build, which leaves out several GB of GPU libraries that a
# classroom PC without a GPU would never use. Usage: scripts/install-torch.sh PYTHON
set -euo pipefail
PY="$1"
VERSION=2.13.0
CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
if "$PY" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$VERSION')" 2>/dev/null; then
    exit 0  # already installed (make reruns this when requirements.txt changes)
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "torch: an NVIDIA GPU answers, installing torch $VERSION with CUDA."
    "$PY" -m pip install --quiet --disable-pip-version-check "torch==$VERSION"
else
    echo "torch: no CUDA GPU found, installing the CPU build of torch $VERSION (no GPU libraries)."
    "$PY" -m pip install --quiet --disable-pip-version-check "torch==$VERSION" --index-url "$CPU_INDEX" \
        --extra-index-url https://pypi.org/simple
fi
"$PY" -W ignore -c "import torch; print('torch', torch.__version__, f'(CUDA {torch.version.cuda})' if torch.version.cuda else '(CPU build)')"
