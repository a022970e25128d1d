#!/usr/bin/env bash
# Qt's offscreen and xcb platforms need a few system libraries that slim machines lack.
# Installs them with apt-get when missing and possible; otherwise says what to install.
set -u
libs="libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0"
missing=""
for lib in $libs; do
  dpkg -s "$lib" >/dev/null 2>&1 || missing="$missing $lib"
done
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null 2>&1 \
    || echo "warning: could not install$missing; the desktop app may not start" >&2
else
  echo "note: the desktop app needs these system libraries:$missing (install them with your package manager)" >&2
fi
exit 0
