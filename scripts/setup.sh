#!/usr/bin/env bash
# Create .venv and install RVC Studio into it; install the system packages it needs.
#   scripts/setup.sh          what the app needs
#   scripts/setup.sh --dev    also what the tests need
# A second run with nothing changed returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=app
[[ "${1:-}" == "--dev" ]] && MODE=dev
VENV=.venv
OS=$(uname -s)

# --- system packages -------------------------------------------------------------------
APT_APP="libopenblas0-pthread libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libfontconfig1 libdbus-1-3 libpulse0"
APT_DEV="espeak-ng fluidsynth timgm6mb-soundfont xvfb xauth"
BREW_DEV="espeak-ng fluid-synth"

system_packages() {
  if [[ "$OS" == "Linux" ]] && command -v dpkg-query >/dev/null; then
    local want="$APT_APP" missing=()
    [[ "$MODE" == dev ]] && want="$want $APT_DEV"
    for p in $want; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    echo "==> installing system packages: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "RVC Studio needs these Debian/Ubuntu packages, and this user cannot install them:" >&2
      echo "    sudo apt-get install ${missing[*]}" >&2
      echo "Run that once, then run this command again." >&2
      exit 1
    fi
  elif [[ "$OS" == "Darwin" && "$MODE" == dev ]]; then
    local missing=()
    command -v espeak-ng >/dev/null || missing+=(espeak-ng)
    command -v fluidsynth >/dev/null || missing+=(fluid-synth)
    if [[ ${#missing[@]} -gt 0 ]]; then
      if command -v brew >/dev/null; then
        echo "==> brew install ${missing[*]}"; brew install "${missing[@]}"
      else
        echo "The tests need: brew install $BREW_DEV (install Homebrew from brew.sh first)." >&2
        exit 1
      fi
    fi
  fi
}

# --- python ----------------------------------------------------------------------------
pick_python() {
  for c in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [[ -n "$c" ]] || continue
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$c"; return
    fi
  done
  echo "RVC Studio needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  exit 1
}

stamp_value() {  # $1: the mode (app or dev)
  { cat pyproject.toml scripts/setup.sh; echo "$1"; } | (sha256sum 2>/dev/null || shasum -a 256) | cut -c1-16
}

system_packages

STAMP="$VENV/.installed-$MODE"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_value "$MODE")" && -x "$VENV/bin/python" ]]; then
  exit 0
fi

PY=$(pick_python)
[[ -x "$VENV/bin/python" ]] || { echo "==> creating $VENV with $PY"; "$PY" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${PIP[@]}" --upgrade pip "setuptools<81" wheel  # <81: pyworld imports pkg_resources

if [[ "$OS" == "Linux" ]]; then
  # The CPU wheel: an unpinned torch pulls gigabytes of CUDA packages.
  "$VENV/bin/python" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
    || { echo "==> installing torch 2.13.0 (CPU)"; "${PIP[@]}" "torch==2.13.0"; }
fi

extras=""
[[ "$MODE" == dev ]] && extras="[dev]"
[[ "$MODE" == app && "$OS" == "Darwin" ]] && extras="[app]"
echo "==> installing rvc-studio$extras and its dependencies"
"${PIP[@]}" -e ".$extras"
# torchfcpe ships the FCPE weights we use; its declared torchaudio dependency is not needed
# by our loader (inference/f0) and has no CPU build on Linux, so install it without deps.
"${PIP[@]}" --no-deps "torchfcpe==0.0.4"
# stftpitchshift (MIT) does the formant shift (inference/audio/formant.py) with numpy alone; its
# declared click and matplotlib serve only its own command line and plots.
"${PIP[@]}" --no-deps "stftpitchshift==2.0"

stamp_value "$MODE" > "$STAMP"
# the dev install holds everything the app needs (on macOS [app] adds only py2app, for make app)
[[ "$MODE" == dev && "$OS" != "Darwin" ]] && stamp_value app > "$VENV/.installed-app"
echo "==> ready"
