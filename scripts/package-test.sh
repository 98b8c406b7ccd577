#!/bin/sh
# package-test.sh (make test): the operations kit works as shipped.
#  1. promtool checks the Prometheus alerting rules and runs their unit tests
#     (the Grafana dashboard's queries are checked by a Go test).
#  2. make deb builds the Debian package; lintian passes it (errors and
#     warnings fail); dpkg -i installs it into a scratch root (--root: the
#     machine's own dpkg database and /usr stay untouched), and the installed
#     maildns runs --version, --help, man page and completions in place.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
pass=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; echo "$pass passed, 1 failed"; exit 1; }

promtool check rules deploy/prometheus/maildns.rules.yml >/dev/null || fail "promtool check rules"
ok "promtool check rules deploy/prometheus/maildns.rules.yml"
(cd deploy/prometheus && promtool test rules maildns.rules.test.yml) >/dev/null || fail "promtool test rules"
ok "promtool test rules deploy/prometheus/maildns.rules.test.yml"

deb=$(GO=$GO ./scripts/package.sh | tail -1)
[ -f "$deb" ] || fail "make deb: no $deb"
ok "built $deb"
out=$(lintian --fail-on error,warning "$deb" 2>&1) || { echo "$out" >&2; fail "lintian $deb"; }
ok "lintian $deb"

root=$(mktemp -d -t maildns-deb.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# The scratch root has no libc6 installed: the dependency is the system's.
out=$(dpkg --root="$root" --force-depends -i "$deb" 2>&1) || { echo "$out" >&2; fail "dpkg -i $deb"; }
ok "dpkg --root -i $deb"
v=$("$root/usr/bin/maildns" --version) || fail "the installed maildns --version"
case "$v" in maildns\ *) ;; *) fail "maildns --version printed: $v" ;; esac
ok "installed maildns --version: $v"
"$root/usr/bin/maildns" --help | grep -q -- '--dry-run' || fail "installed maildns --help"
ok "installed maildns --help"
for f in usr/share/man/man1/maildns.1.gz usr/share/man/man1/maildns-restore.1.gz \
	usr/share/man/man1/maildns-import.1.gz usr/share/man/man1/maildns-status.1.gz \
	usr/share/man/man1/maildns-dkim-keygen.1.gz \
	usr/share/bash-completion/completions/maildns usr/share/zsh/vendor-completions/_maildns \
	usr/share/fish/vendor_completions.d/maildns.fish usr/lib/systemd/system/maildns.service \
	usr/share/doc/maildns/examples/maildns.yaml; do
	[ -s "$root/$f" ] || fail "the package lacks /$f"
done
ok "man pages, completions, unit and example installed"
grep -q '^ExecStart=/usr/bin/maildns ' "$root/usr/lib/systemd/system/maildns.service" || fail "unit ExecStart"
grep -q '^DynamicUser=yes' "$root/usr/lib/systemd/system/maildns.service" || fail "unit DynamicUser"
ok "unit runs /usr/bin/maildns as a dynamic user"
zcat "$root/usr/share/man/man1/maildns.1.gz" | grep -q 'dry-run' || fail "man page"
ok "maildns(1) documents --dry-run"
# The example config validates from where the package put it.
cp -r "$root/usr/share/doc/maildns/examples" "$root/ex"
"$root/usr/bin/maildns" --config "$root/ex/maildns.yaml" --validate >/dev/null || fail "the shipped example does not validate"
ok "the shipped example validates"
dpkg --root="$root" -L maildns | grep -q '^/usr/bin/maildns$' || fail "dpkg -L"
ok "dpkg knows the installed files"
echo "$pass passed, 0 failed"
