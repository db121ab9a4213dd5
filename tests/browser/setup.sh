#!/usr/bin/env bash
# Installs what the browser tests need, and does nothing that is already there:
#   - Debian's `chromium` package (/usr/bin/chromium), through apt-get;
#   - Playwright from PyPI (the `browser` extra in pyproject.toml) into the project's venv.
# Playwright drives the Debian browser (`executable_path`); `playwright install` is never run (it would
# download its own browsers). A step that cannot be done (no root, offline) is reported and skipped: the
# tests then skip with a message saying what is missing, so this script never fails the build by itself.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
CHROMIUM="${HTX_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  echo "browser-setup: chromium already installed ($CHROMIUM)"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
  fi
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    echo "browser-setup: installing chromium (apt-get)"
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; }; then
      echo "browser-setup: WARNING: apt-get could not install chromium; the browser tests will be skipped"
    fi
  else
    echo "browser-setup: WARNING: chromium is missing and apt-get needs root (or sudo without a password);"
    echo "browser-setup: run 'apt-get install chromium' as root; the browser tests will be skipped"
  fi
fi

if "$PY" -c "import playwright.sync_api" 2>/dev/null; then
  echo "browser-setup: playwright already installed"
else
  echo "browser-setup: installing playwright (pip, the 'browser' extra)"
  if ! "$PY" -m pip install --quiet -e '.[browser]'; then
    echo "browser-setup: WARNING: pip could not install playwright; the browser tests will be skipped"
  fi
fi
exit 0
