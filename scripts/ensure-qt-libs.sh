#!/usr/bin/env bash
# Makes sure Qt can open a window: checks the real dependencies of Qt's platform plugins (ldd on
# libqxcb.so and libqoffscreen.so), and installs the missing system packages with apt-get when
# possible (root), otherwise names them. Also installs the virtual X display (xvfb, x11-utils)
# that `make test` uses to start the real app. Fast when nothing is missing.
#
#   bash scripts/ensure-qt-libs.sh [VENV]        (VENV defaults to .venv)
set -u
venv="${1:-.venv}"
plugins=$(ls -d "$venv"/lib/python3*/site-packages/PySide6/Qt/plugins/platforms 2>/dev/null | head -n1)
if [ -z "$plugins" ]; then
  echo "note: PySide6 is not installed in $venv yet; skipping the Qt library check" >&2
  exit 0
fi

# soname -> Debian/Ubuntu package, where the name does not follow lib<name><version>.
package_for() {
  case "$1" in
    libglib-2.0.so.*|libgobject-2.0.so.*|libgthread-2.0.so.*) echo libglib2.0-0 ;;
    libxkbcommon-x11.so.*) echo libxkbcommon-x11-0 ;;
    libX11-xcb.so.*) echo libx11-xcb1 ;;
    libX11.so.*) echo libx11-6 ;;
    libGL.so.*|libGLX.so.*) echo libgl1 ;;
    libOpenGL.so.*) echo libopengl0 ;;
    libEGL.so.*) echo libegl1 ;;
    libdbus-1.so.*) echo libdbus-1-3 ;;
    libfontconfig.so.*) echo libfontconfig1 ;;
    libfreetype.so.*) echo libfreetype6 ;;
    libSM.so.*) echo libsm6 ;;
    libICE.so.*) echo libice6 ;;
    *)  # libxcb-icccm.so.4 -> libxcb-icccm4, libfoo2.so.1 -> libfoo2-1
      local base="${1%%.so*}" version="${1##*.so.}"
      version="${version%%.*}"
      base=$(echo "$base" | tr '[:upper:]' '[:lower:]')
      case "$base" in *[0-9]) echo "$base-$version" ;; *) echo "$base$version" ;; esac ;;
  esac
}

missing_sonames() {
  for plugin in "$plugins/libqxcb.so" "$plugins/libqoffscreen.so"; do
    [ -f "$plugin" ] && ldd "$plugin" 2>/dev/null | awk '/not found/ {print $1}'
  done | sort -u
}

sonames=$(missing_sonames)
packages=""
for soname in $sonames; do
  packages="$packages $(package_for "$soname")"
done
# The virtual X display for the app test in `make test` (optional for `make run`).
command -v Xvfb >/dev/null 2>&1 || extra="xvfb"
command -v xwininfo >/dev/null 2>&1 || extra="${extra:-} x11-utils"
extra="${extra:-}"
[ -z "$packages$extra" ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  wanted=""
  for package in $packages $extra; do  # newer Debian/Ubuntu renamed some libraries to <name>t64
    if apt-cache show "$package" >/dev/null 2>&1; then wanted="$wanted $package"
    elif apt-cache show "${package}t64" >/dev/null 2>&1; then wanted="$wanted ${package}t64"
    else wanted="$wanted $package"; fi
  done
  echo "Installing system packages for Qt:$wanted" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $wanted) \
    >/dev/null 2>&1 || echo "warning: could not install$wanted" >&2
elif [ -n "$packages" ]; then
  echo "note: the desktop app needs these system packages:$packages" \
       "(e.g. sudo apt-get install$packages)" >&2
fi
sonames=$(missing_sonames)
if [ -n "$sonames" ]; then
  echo "warning: Qt's window plugin still lacks:" $sonames "- the app cannot open a window until they are installed" >&2
fi
exit 0
