# shellcheck shell=bash
# Sourced by the lab's scripts: Debian's archive as the lab sees it, through an apt
# configuration of the lab's own under $LAB_CACHE/apt/. The machine's apt sources and
# dpkg architectures are never changed; what the lab needs beyond them comes from here:
#   - foreign architectures (arm64, ppc64el, s390x): busybox-static and kernel images
#     for the guests that cannot run the host's binaries;
#   - bookworm-security: Debian 12's 6.12 kernels;
#   - trixie-security (arm64, ppc64el, s390x): Debian 13's 6.12 kernels, for when
#     bookworm-security's index of an architecture cannot be had (lab/run prefers Debian 12's);
#   - trixie-backports: Linux 7.x images (amd64, arm64) and linux-source-7.x;
#   - bookworm-backports (amd64): QEMU 10, the nested VMM of the QEMU oracle (lab/qemu10).
# Nothing here installs a package: it downloads and unpacks into the cache.
#
# Lists are fetched when missing and refreshed at most once per run, when a lookup finds
# nothing or a download fails (stale lists name files the archive has dropped). When the
# archive cannot answer, callers fall back to what they cached.
#
# The caller defines say() and die() and sets CACHE (the lab cache).
#
#   archive_apt_get ARGS...          apt-get with the lab's configuration
#   archive_apt_cache ARGS...        apt-cache with the lab's configuration
#   archive_names REGEX ARCH         package names matching REGEX for ARCH, oldest first
#   archive_version PKG:ARCH         the candidate version, or nothing
#   archive_fetch PKG:ARCH VER DIR   downloads and unpacks (dpkg -x) into DIR (DIR must not exist)

ARCHIVE_URI=${LAB_ARCHIVE_URI:-http://deb.debian.org/debian}
ARCHIVE_SECURITY_URI=${LAB_ARCHIVE_SECURITY_URI:-http://deb.debian.org/debian-security}
ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ARCHIVE_ARCHES=(amd64 arm64 ppc64el s390x)
ARCHIVE_UPDATED=0

archive_dir() { echo "$CACHE/apt"; }

# Writes the configuration (idempotent) under $CACHE/apt/.
archive_setup() {
	local d
	d=$(archive_dir)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/etc/preferences.d"
	[ -f "$d/status" ] || : >"$d/status"
	[ -f "$ARCHIVE_KEYRING" ] || die "$ARCHIVE_KEYRING is missing: install debian-archive-keyring"
	local all=${ARCHIVE_ARCHES[*]}
	all=${all// /,}
	cat >"$d/etc/sources.list.new" <<-EOF
		# Written by lab/archive.sh: the lab's own view of Debian's archive.
		deb [arch=$all signed-by=$ARCHIVE_KEYRING] $ARCHIVE_URI bookworm main
		deb [arch=$all signed-by=$ARCHIVE_KEYRING] $ARCHIVE_SECURITY_URI bookworm-security main
		deb [arch=arm64,ppc64el,s390x signed-by=$ARCHIVE_KEYRING] $ARCHIVE_SECURITY_URI trixie-security main
		deb [arch=amd64,arm64 signed-by=$ARCHIVE_KEYRING] $ARCHIVE_URI trixie-backports main
		deb [arch=amd64 signed-by=$ARCHIVE_KEYRING] $ARCHIVE_URI bookworm-backports main
		deb-src [signed-by=$ARCHIVE_KEYRING] $ARCHIVE_URI bookworm-backports main
	EOF
	if cmp -s "$d/etc/sources.list.new" "$d/etc/sources.list"; then
		rm -f "$d/etc/sources.list.new"
	else
		mv "$d/etc/sources.list.new" "$d/etc/sources.list"
		# Lists of another configuration say nothing about this one.
		find "$d/lists" -maxdepth 1 -type f -name '*_*' -delete
	fi
}

archive_opts() {
	local d a
	d=$(archive_dir)
	printf '%s\n' -o "Dir::Etc::sourcelist=$d/etc/sources.list" -o "Dir::Etc::sourceparts=-" \
		-o "Dir::Etc::preferencesparts=$d/etc/preferences.d" \
		-o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" \
		-o "Dir::Cache=$d/cache" -o "APT::Architecture=amd64"
	for a in "${ARCHIVE_ARCHES[@]}"; do printf '%s\n' -o "APT::Architectures::=$a"; done
}

archive_apt_get() {
	local opts
	mapfile -t opts < <(archive_opts)
	apt-get "${opts[@]}" "$@"
}
archive_apt_cache() {
	local opts
	mapfile -t opts < <(archive_opts)
	apt-cache "${opts[@]}" "$@"
}

# Fetches the lists when there are none, or (with "force") once per run.
archive_update() { # [force]
	local d
	d=$(archive_dir)
	archive_setup
	if [ "${1:-}" = force ]; then
		[ "$ARCHIVE_UPDATED" = 0 ] || return 1
	elif compgen -G "$d/lists/*_Packages*" >/dev/null; then
		return 0
	fi
	say "updating the lab's apt lists of Debian's archive (bookworm, bookworm-security, trixie-security, trixie-backports, bookworm-backports; $(archive_dir))"
	ARCHIVE_UPDATED=1
	if ! archive_apt_get -qq update >"$d/update.log" 2>&1; then
		tail -n 5 "$d/update.log" >&2
		# apt keeps none of a suite's new lists when one of its indexes fails (a mirror
		# mid-sync serves one architecture's Packages.xz of the wrong size): say which.
		sed -n 's|^E: Failed to fetch \([^ ]*\).*|\1|p' "$d/update.log" | while read -r uri; do
			say "not fetched: $uri (the lists of its suite, every architecture, are left as they were)"
		done
		say "apt-get update of the lab's lists failed (log: $d/update.log)"
		return 1
	fi
}

archive_names() { # REGEX ARCH
	local names
	archive_update || true
	names=$(archive_apt_cache search --names-only "$1" 2>/dev/null | awk '{print $1}' | grep -E "$1" | sort -uV || true)
	# The search lists a name once whatever its architectures: keep those ARCH has (one
	# apt-cache call for all of them).
	if [ -n "$names" ]; then
		# shellcheck disable=SC2046 # one word per name
		# apt-cache policy names a package of the native architecture (amd64, see
		# archive_opts) "NAME:", without the architecture; a foreign one "NAME:ARCH:".
		names=$(archive_apt_cache policy $(sed "s/\$/:$2/" <<<"$names") 2>/dev/null | awk -v arch=":$2:" -v native="$([ "$2" = amd64 ] && echo 1)" '
			/^[^ ]/ { name = ($0 ~ arch "$") ? substr($0, 1, length($0) - length(arch)) : (native && $0 ~ /:$/ && $0 !~ /:[a-z0-9]+:$/) ? substr($0, 1, length($0) - 1) : ""; next }
			name != "" && /^ *Candidate:/ && $2 != "(none)" { print name }' | sort -uV || true)
	fi
	if [ -z "$names" ] && archive_update force; then
		archive_names "$1" "$2"
		return
	fi
	[ -z "$names" ] || printf '%s\n' "$names"
}

archive_version() { # PKG:ARCH [noupdate]
	local v
	[ "${2:-}" = noupdate ] || archive_update || true
	v=$(archive_apt_cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	if { [ -z "$v" ] || [ "$v" = '(none)' ]; } && [ "${2:-}" != noupdate ] && archive_update force; then
		v=$(archive_apt_cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	fi
	[ -z "$v" ] || [ "$v" = '(none)' ] || echo "$v"
}

archive_fetch() { # PKG:ARCH VER DIR
	local pkg=$1 ver=$2 dest=$3 tmp deb
	[ ! -e "$dest" ] || die "archive_fetch: $dest exists"
	mkdir -p "${dest%/*}"
	tmp=$(mktemp -d "${dest%/*}/.fetch.XXXXXX")
	if ! (cd "$tmp" && archive_apt_get -qq download "$pkg=$ver" >"$tmp/apt.log" 2>&1); then
		if archive_update force; then
			rm -rf "$tmp"
			archive_fetch "$pkg" "$ver" "$dest"
			return
		fi
		cat "$tmp/apt.log" >&2
		rm -rf "$tmp"
		say "apt-get download $pkg=$ver failed"
		return 1
	fi
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
	if [ -z "$deb" ] || ! dpkg -x "$deb" "$tmp/tree"; then
		rm -rf "$tmp"
		say "unpacking $pkg=$ver (${deb:-no .deb}) failed"
		return 1
	fi
	mv "$tmp/tree" "$dest"
	rm -rf "$tmp"
}

# archive_source_file PKG VER FILE DEST: one file of source package PKG version VER (a file
# its .dsc names, e.g. qemu_10.0.2+ds.orig.tar.xz) downloaded into DEST (a file path),
# through the lab's deb-src lines (bookworm-backports). apt-get source --print-uris gives
# the file's URI, size and SHA256 from the signed Sources index; only that file is
# downloaded (the archive may drop a .dsc of an older revision while its orig tarball stays)
# and it is kept only when size and hash match.
archive_source_file() { # PKG VER FILE DEST
	local pkg=$1 ver=$2 file=$3 dest=$4 line uri size hash tmp
	[ -f "$dest" ] && return 0
	mkdir -p "${dest%/*}"
	archive_update || true
	line=$(archive_apt_get -qq source --print-uris "$pkg=$ver" 2>/dev/null | awk -v f="$file" '$2 == f' | head -n 1 || true)
	if [ -z "$line" ]; then
		if archive_update force; then
			archive_source_file "$pkg" "$ver" "$file" "$dest"
			return
		fi
		say "the lab's deb-src lists ($(archive_dir)/etc/sources.list) name no $file in source package $pkg=$ver"
		return 1
	fi
	read -r uri _ size hash <<<"$line"
	uri=${uri//\'/}
	hash=${hash#SHA256:}
	tmp=$(mktemp "${dest%/*}/.source.XXXXXX")
	if ! curl -fsSL --retry 3 -o "$tmp" "$uri"; then
		rm -f "$tmp"
		say "downloading $uri failed"
		return 1
	fi
	if [ "$(stat -c %s "$tmp")" != "$size" ] || [ "$(sha256sum "$tmp" | cut -d' ' -f1)" != "$hash" ]; then
		rm -f "$tmp"
		say "$uri does not match the size ($size) and SHA256 ($hash) of the Sources index"
		return 1
	fi
	chmod 644 "$tmp"
	mv "$tmp" "$dest"
}
