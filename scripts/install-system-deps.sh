#!/bin/sh
# Install the Debian packages the test suite needs beyond Python: chromium
# (the headless browser of the Prefect UI test) and fonts for its screenshots.
# Idempotent: when everything is already installed it only checks and exits.
# Uses sudo only when not running as root.
set -eu

PACKAGES="chromium fonts-dejavu-core ca-certificates"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    echo "system dependencies already installed:$(printf ' %s' $PACKAGES)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found: install$missing with your system's package manager" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "error: not root and sudo not found: install$missing as root" >&2
    exit 1
fi

echo "installing:$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is intended
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
command -v chromium >/dev/null 2>&1 || { echo "error: chromium is still missing after apt-get install" >&2; exit 1; }
echo "installed:$missing"
