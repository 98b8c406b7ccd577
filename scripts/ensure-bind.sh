#!/bin/sh
# ensure-bind.sh makes sure BIND 9 (named) and its tools (dig, nsupdate) are
# installed, for the tests that run a real name server on loopback
# (internal/testbind). Quick and silent when they are already there; installs
# them with apt-get when run as root; otherwise it stops with what to do.
set -eu

have() {
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

if have named && have dig; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "ensure-bind: BIND 9 is not installed and this script is not running as root." >&2
	echo "ensure-bind: install it with: sudo apt-get install bind9 bind9-dnsutils" >&2
	echo "ensure-bind: (without it the RFC 2136 tests are skipped, or fail when CI=true)" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-bind: BIND 9 is missing and apt-get is not available; install named and dig by hand." >&2
	exit 1
fi

echo "ensure-bind: installing bind9 and bind9-dnsutils with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt run instead of failing on its lock.
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq bind9 bind9-dnsutils >/dev/null

if ! have named; then
	echo "ensure-bind: apt-get finished but named is still not installed" >&2
	exit 1
fi
