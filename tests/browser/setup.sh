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
CHROMIUM="${BROWSER_TEST_CHROMIUM:-/usr/bin/chromium}"

# The browser, and a colour emoji font (the console and the chat show 👤 📞 👍 👎; without the font the
# screenshots show empty boxes where staff would see them).
missing=""
[ -x "$CHROMIUM" ] || missing="chromium"
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing="$missing fonts-noto-color-emoji"
if [ -z "$missing" ]; then
  echo "browser-setup: chromium ($CHROMIUM) and the emoji font already installed"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
  fi
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    echo "browser-setup: installing$missing (apt-get)"
    # shellcheck disable=SC2086
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing; }; then
      echo "browser-setup: WARNING: apt-get could not install$missing; without chromium the browser tests are skipped"
    fi
  else
    echo "browser-setup: WARNING: missing$missing and apt-get needs root (or sudo without a password);"
    echo "browser-setup: run 'apt-get install$missing' as root; without chromium the browser tests are skipped"
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
