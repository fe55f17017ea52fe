#!/bin/sh
# Install the Debian packages the test suite needs beyond Python: chromium (the
# headless browser of the Prefect UI test) and fonts for its screenshots.
# Idempotent: when everything is already installed it only checks and exits.
# Uses sudo only when not running as root.
#
# SLSA_MODELS_CHROMIUM=/path/to/chrome uses that browser instead of Debian's
# chromium (Ubuntu's chromium package is only a wrapper around a snap).
set -eu

PACKAGES="fonts-dejavu-core ca-certificates"
if [ -n "${SLSA_MODELS_CHROMIUM:-}" ]; then
    [ -x "$SLSA_MODELS_CHROMIUM" ] || { echo "error: SLSA_MODELS_CHROMIUM=$SLSA_MODELS_CHROMIUM is not an executable" >&2; exit 1; }
else
    PACKAGES="chromium $PACKAGES"
fi

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
case "$missing " in
    *" chromium "*)
        if grep -qs '^ID=ubuntu' /etc/os-release; then
            echo "error: Ubuntu's chromium package is a snap wrapper: run on Debian (e.g. a python:3.11-bookworm" \
                 "container) or set SLSA_MODELS_CHROMIUM to a Chrome or Chromium binary" >&2
            exit 1
        fi
        ;;
esac

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
if [ -z "${SLSA_MODELS_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "error: chromium is still missing after apt-get install" >&2
    exit 1
fi
echo "installed:$missing"
