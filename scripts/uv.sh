#!/usr/bin/env bash
# Run uv, installing it first when this machine has none (into ~/.local or a local venv).
set -euo pipefail
find_uv() {
  command -v uv 2>/dev/null && return 0
  for candidate in "$HOME/.local/bin/uv" "$(dirname "$0")/../.tools/bin/uv"; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}
if ! UV=$(find_uv); then
  echo "uv not found: installing it from PyPI" >&2
  if python3 -m pip install --user --quiet uv 2>/dev/null && [ -x "$HOME/.local/bin/uv" ]; then
    UV="$HOME/.local/bin/uv"
  else
    tools="$(cd "$(dirname "$0")/.." && pwd)/.tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet uv
    UV="$tools/bin/uv"
  fi
fi
exec "$UV" "$@"
