#!/bin/sh
# package.sh builds the Debian package bin/maildns_VERSION_ARCH.deb with nfpm
# (pinned in go.mod as a tool): the binary, the systemd unit (ExecStart
# /usr/bin/maildns), the man pages and bash/zsh/fish completions generated
# from the command definitions (maildns gendocs), and the example config.
#   VERSION, COMMIT: as the Makefile passes them; DEB_VERSION defaults to
#   VERSION without a leading v, or 0.0.0~gitCOMMIT when that is no version.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-dev}
COMMIT=${COMMIT:-none}
case "$VERSION" in
[v0-9]*.*) DEB_VERSION=${DEB_VERSION:-${VERSION#v}} ;;
*) DEB_VERSION=${DEB_VERSION:-0.0.0~git$COMMIT} ;;
esac
DEB_VERSION=$(printf '%s' "$DEB_VERSION" | tr -c 'A-Za-z0-9.+~\n-' '~')
DEB_ARCH=${DEB_ARCH:-$($GO env GOARCH)}
export DEB_VERSION DEB_ARCH

pkg=build/pkg
rm -rf build/pkg bin/maildns_*.deb
mkdir -p "$pkg/examples" bin
# PIE, as Debian builds binaries (lintian: hardening-no-pie, -no-relro).
$GO build -buildmode=pie -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" -o "$pkg/maildns" ./cmd/maildns
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
"$pkg/maildns" gendocs "$pkg" >/dev/null
# Debian wants man pages compressed, reproducibly (no name, no time stamp).
gzip -9n "$pkg"/man/*.1
sed 's|^ExecStart=/usr/local/bin/maildns|ExecStart=/usr/bin/maildns|; s|^# Install notes: README.md beside this file.|# Install notes: /usr/share/doc/maildns/README.Debian.|' \
	systemd/maildns.service >"$pkg/maildns.service"
grep -q '^ExecStart=/usr/bin/maildns ' "$pkg/maildns.service"
# The example: config, policies, zones, a DKIM public key (no private key).
(cd configs/example && find . \( -path ./state -o -path ./www \) -prune -o -type f -print) | while read -r f; do
	mkdir -p "$pkg/examples/$(dirname "$f")"
	cp "configs/example/$f" "$pkg/examples/$f"
done
cp packaging/copyright "$pkg/copyright"
cp packaging/README.Debian "$pkg/README.Debian"
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'maildns (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- maildns maintainers <maildns@example.org>  %s\n' \
	"$DEB_VERSION" "$COMMIT" "$date" | gzip -9n >"$pkg/changelog.gz"
$GO tool nfpm package --config packaging/nfpm.yaml --packager deb --target bin/ >/dev/null
echo "bin/maildns_${DEB_VERSION}_${DEB_ARCH}.deb"
