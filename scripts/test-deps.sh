#!/bin/sh
# test-deps.sh makes sure the programs the tests run for real are installed:
# BIND 9 (named) and dig, Knot DNS (knotd, kdig) and PowerDNS (pdns_server
# with its sqlite3 backend, and sqlite3 to create its database) for the
# RFC 2136 and reverse-DNS tests, which start real name servers on loopback
# (internal/testbind), systemd-analyze for the unit checks (systemd/),
# openssl, which cross-checks the DKIM keys maildns dkim keygen writes,
# promtool (Debian's prometheus) for the alert rules and lintian for the
# Debian package (make ops). Quick and silent when they are all there;
# installs what is missing with apt-get when run as root; otherwise it stops
# with what to do.
set -eu

have() {
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

missing=""
have named || missing="$missing bind9"
have dig || missing="$missing bind9-dnsutils"
have knotd || missing="$missing knot"
have kdig || missing="$missing knot-dnsutils"
have pdns_server || missing="$missing pdns-server"
[ -e /usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so ] || ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 ||
	missing="$missing pdns-backend-sqlite3"
have sqlite3 || missing="$missing sqlite3"
have dnssec-signzone && have named-checkzone || missing="$missing bind9-utils"
have systemd-analyze || missing="$missing systemd"
have openssl || missing="$missing openssl"
have promtool || missing="$missing prometheus"
have lintian || missing="$missing lintian"
if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "test-deps: missing packages:$missing, and this script is not running as root." >&2
	echo "test-deps: install them with: sudo apt-get install$missing" >&2
	echo "test-deps: (without them those tests are skipped, or fail when CI=true)" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: missing packages:$missing, and apt-get is not available; install them by hand." >&2
	exit 1
fi

echo "test-deps: installing$missing with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# The tests start their own servers on free loopback ports: the packages'
# services are not started on install (bind9, knot and pdns would all
# want port 53, and a service that fails to start fails the install).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
# Wait for a concurrent apt run instead of failing on its lock.
apt-get -o DPkg::Lock::Timeout=300 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing >/dev/null

for prog in named dig knotd kdig pdns_server pdnsutil sqlite3 named-checkzone dnssec-signzone systemd-analyze openssl promtool lintian; do
	if ! have "$prog"; then
		echo "test-deps: apt-get finished but $prog is still not installed" >&2
		exit 1
	fi
done
