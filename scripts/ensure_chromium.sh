#!/usr/bin/env bash
# Make sure the browser tests have Debian's chromium (tests/browser drive $CHROMIUM,
# /usr/bin/chromium by default, through Playwright; they never download a browser).
# `make test` and .ci/run call this. When chromium is missing it installs Debian's
# package with apt-get as root, or through `sudo -n` where that needs no password;
# otherwise it says loudly that the browser tests will be skipped (under CI=true
# they fail instead, so it exits non-zero there).
set -uo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$chromium" ]; then
  "$chromium" --version 2>/dev/null || echo "chromium: $chromium"
  exit 0
fi

as_root=()
if [ "$(id -u)" -eq 0 ]; then
  as_root=(env)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n env)
fi

if [ "$chromium" = /usr/bin/chromium ] && [ ${#as_root[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  echo "chromium is missing: installing Debian's chromium package for the browser tests."
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null &&
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null
  if [ -x "$chromium" ]; then
    "$chromium" --version 2>/dev/null || true
    exit 0
  fi
  reason="installing Debian's chromium package failed (see above)"
elif [ "$chromium" != /usr/bin/chromium ]; then
  reason="CHROMIUM=$chromium does not exist"
elif ! command -v apt-get >/dev/null; then
  reason="there is no apt-get here to install Debian's chromium package"
else
  reason="installing it needs root (run as root, or allow 'sudo -n apt-get')"
fi

cat >&2 <<MSG

############################################################################
#  $chromium is missing: $reason.
#  The browser tests (tests/browser, marker 'browser') will be SKIPPED.
#  To run them: sudo apt-get install -y chromium, then make test again.
############################################################################

MSG
if [ -n "${CI:-}" ]; then
  exit 1
fi
exit 0
