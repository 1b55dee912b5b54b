#!/usr/bin/env bash
# make dist: one archive per platform (programs, plugins, manual pages,
# completions, systemd units, README, LICENSE) and SHA256SUMS, in
# bin/dist/ (DIST=dir for another). The archives are reproducible: the same
# commit gives the same bytes (no timestamps but the commit's, no owners,
# sorted entries, static binaries built with -trimpath), which
# `make dist-check` verifies by building twice. SIZES lists each program's
# size, the installed total and the archive's size, per platform.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dist=${DIST:-bin/dist}
version=$(cat pkg/cmdline/VERSION)
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64 darwin/amd64 freebsd/amd64}
# The commit's time, for every timestamp in the archives.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
programs=(bc-mine bc-serve bc-gossip bc-backup bc-verify bc-add bc-get)
plugins=(bc-pow-default bc-pow-classic bc-pow-scrypt)

rm -rf "$dist" && mkdir -p "$dist"
stage=$(mktemp -d)
# mb prints a byte count in megabytes (10^6, as ls -h --si and the README).
mb() { awk -v b="$1" 'BEGIN { printf "%6.1f MB", b / 1e6 }'; }
# bytes prints a file's size (wc -c, as stat differs between platforms).
bytes() { wc -c < "$1" | tr -d ' '; }
# sizes reports the files of one staged platform tree, then its total.
sizes() {
	local root=$1 name=$2 f total=0 n
	echo "$name"
	for f in "$root"/bin/* "$root"/libexec/bc/*; do
		n=$(bytes "$f")
		printf '  %-28s %s  %10d bytes\n' "${f#"$root"/}" "$(mb "$n")" "$n"
	done
	while IFS= read -r -d '' f; do total=$((total + $(bytes "$f"))); done < <(find "$root" -type f -print0)
	printf '  %-28s %s  %10d bytes\n' "installed, in all" "$(mb "$total")" "$total"
}
: > "$stage/SIZES"
trap 'rm -rf "$stage"' EXIT
for p in $platforms; do
	os=${p%/*} arch=${p#*/}
	name=bc-$version-$os-$arch
	root=$stage/$name
	mkdir -p "$root/bin" "$root/libexec/bc" "$root/share/man/man1" "$root/share/man/man5" \
		"$root/share/bash-completion/completions" "$root/share/zsh/site-functions" \
		"$root/share/fish/vendor_completions.d" "$root/share/doc/bc/systemd"
	echo "dist: $name"
	for prog in "${programs[@]}"; do
		GOOS=$os GOARCH=$arch CGO_ENABLED=0 $GO build -trimpath -ldflags "-s -w -buildid=" -o "$root/bin/$prog" "./cmd/$prog"
	done
	for plug in "${plugins[@]}"; do
		GOOS=$os GOARCH=$arch CGO_ENABLED=0 $GO build -trimpath -ldflags "-s -w -buildid=" -o "$root/libexec/bc/$plug" "./plugins/$plug"
	done
	cp contrib/man/*.1 "$root/share/man/man1/"
	cp contrib/man/*.5 "$root/share/man/man5/"
	cp "${programs[@]/#/contrib/completions/}" "$root/share/bash-completion/completions/"
	cp "${programs[@]/#/contrib/completions/zsh/_}" "$root/share/zsh/site-functions/"
	for prog in "${programs[@]}"; do cp "contrib/completions/fish/$prog.fish" "$root/share/fish/vendor_completions.d/"; done
	cp contrib/systemd/* "$root/share/doc/bc/systemd/"
	cp README.md LICENSE "$root/share/doc/bc/"
	chmod -R u=rwX,go=rX "$root"
	tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
		-C "$stage" -cf - "$name" | gzip -n -9 > "$dist/$name.tar.gz"
	{
		sizes "$root" "$name"
		n=$(bytes "$dist/$name.tar.gz")
		printf '  %-28s %s  %10d bytes\n\n' "$name.tar.gz" "$(mb "$n")" "$n"
	} >> "$stage/SIZES"
done
mv "$stage/SIZES" "$dist/SIZES"
(cd "$dist" && sha256sum -- *.tar.gz > SHA256SUMS)
cat "$dist/SIZES"
ls -l "$dist"
