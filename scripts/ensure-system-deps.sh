#!/usr/bin/env bash
# Makes sure the system packages openctl's tests and demo need are present, so that the README's quick start
# stays two commands. As root with apt-get (CI, containers, fresh VMs) it installs what is missing; otherwise it
# names the missing packages in one line and lets the caller decide. It never installs what is already there.
set -u
want=()
[ -e /usr/lib/softhsm/libsofthsm2.so ] || [ -e /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so ] || \
  [ -e /usr/local/lib/softhsm/libsofthsm2.so ] || [ -e /opt/homebrew/lib/softhsm/libsofthsm2.so ] || want+=(softhsm2)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || want+=(chromium)
  command -v pkcs11-tool >/dev/null 2>&1 || want+=(opensc)
  command -v openssl >/dev/null 2>&1 || want+=(openssl)
  command -v gcc >/dev/null 2>&1 || want+=(build-essential)
  command -v python3 >/dev/null 2>&1 || want+=(python3)
fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "openctl: installing ${want[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null && exit 0
  echo "openctl: could not install ${want[*]}" >&2
  exit 1
fi
echo "openctl: missing system packages: ${want[*]} (e.g. sudo apt-get install ${want[*]}; brew install softhsm on macOS)" >&2
# Not fatal for `npm start` (hardware tokens need no SoftHSM); the test suite needs them.
[ "${1:-}" = "--test" ] && exit 1 || exit 0
