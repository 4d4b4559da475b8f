#!/bin/sh
# Installs what eipc needs to build, test and run its demo on Debian.
# Idempotent; needs root (or sudo) and Debian's package archive.
set -eu

PACKAGES="meson ninja-build gcc g++ pkg-config libglib2.0-dev libjson-glib-dev \
libsystemd-dev systemd dbus-daemon dbus-bin dbus-broker valgrind \
gobject-introspection libgirepository1.0-dev gir1.2-json-1.0 python3-gi gjs valac \
gi-docgen libglib2.0-dev-bin"

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
