#!/bin/bash
# lab/arm64.sh: the arm64 iommufd scenario, on its own (the s390x model of lab/s390x.sh:
# a foreign guest with no host root to share, a static capture program, the files
# carried back hex-encoded on the console, the host's tests decoding them).
#
#   lab/arm64.sh [smmuv3|virtio]      boot, capture, check, run tests/arm64_iommufd.rs
#
# Why: Debian's arm64 kernels have no CONFIG_IOMMUFD, and the SMMUv3's IOMMU_GET_HW_INFO
# and the page sizes of the kernel's domain on it can only be seen on a real arm64
# kernel. Steps:
#   1. kernel: lab/build-kernel linux-7.3-arm64-iommufd (linux-source-7.3 from
#      trixie-backports through lab/archive.sh, cross-built, everything built in), and
#      its uapi headers (build-kernel installs them beside the image);
#   2. initramfs: busybox-static:arm64 (Debian's archive through lab/archive.sh, cached
#      under LAB_CACHE/arm64/), lab/guest/init-arm64, and target/lab/capture-iommufd
#      built from lab/guest/capture-iommufd.c with aarch64-linux-gnu-gcc -static
#      against those headers;
#   3. qemu-system-aarch64 -M virt,iommu=smmuv3,gic-version=3 (or, for "virtio",
#      -M virt,gic-version=3 -device virtio-iommu-pci) -cpu max -m 1024 -nic none
#      -device edu, TCG; the init binds edu to vfio-pci, captures, prints the files;
#   4. here: the files are rebuilt under target/lab/out/SCENARIO/capture/ (size and
#      sha256 checked), then tests/arm64_iommufd.rs runs on them with
#      LAB_ARM64_CAPTURE set: one row per test.
# Output: "@@ROW check status detail" lines and "arm64: P passed, F failed"; exit 0 when
# nothing failed. Scenarios: linux-7.3-arm64-iommufd (SMMUv3) and linux-7.3-arm64-iommufd-virtio.
# lab/update-fixtures copies a capture into tests/fixtures/ (flat, as for s390x).
#
# Environment: LAB_CACHE (default ~/.cache/vfio-iommu-info/lab), LAB_TIMEOUT (default
# 300 s), CARGO.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$LAB_DIR/.." && pwd -P)
CACHE=${LAB_CACHE:-${HOME:?HOME is unset: set LAB_CACHE}/.cache/vfio-iommu-info/lab}
TARGET=$ROOT/target/lab
TIMEOUT=${LAB_TIMEOUT:-300}
KERNEL_NAME=linux-7.3-arm64-iommufd
ARM64_CC=aarch64-linux-gnu-gcc
INIT=$LAB_DIR/guest/init-arm64
CAPTURE_SRC=$LAB_DIR/guest/capture-iommufd.c

say() { printf 'arm64: %s\n' "$*" >&2; }
die() {
	printf 'arm64: error: %s\n' "$*" >&2
	exit 2
}
# shellcheck source=lab/archive.sh
. "$LAB_DIR/archive.sh"

VIOMMU=${1:-smmuv3}
case "$VIOMMU" in
smmuv3) SCENARIO=linux-7.3-arm64-iommufd MACHINE=virt,iommu=smmuv3,gic-version=3 VDEV=() ;;
virtio) SCENARIO=linux-7.3-arm64-iommufd-virtio MACHINE=virt,gic-version=3 VDEV=(-device virtio-iommu-pci) ;;
*) die "usage: lab/arm64.sh [smmuv3|virtio]" ;;
esac

# QEMU, the cross compiler and its static libc, cpio.
"$ROOT/packaging/need" "the lab's arm64 scenario (lab/arm64.sh)" qemu-system-aarch64=qemu-system-arm \
	"$ARM64_CC=gcc-aarch64-linux-gnu" /usr/aarch64-linux-gnu/lib/libc.a=libc6-dev-arm64-cross \
	cpio=cpio gzip=gzip || exit 1

# Is FILE a little-endian 64-bit aarch64 ELF executable? (EI_CLASS 2, EI_DATA 1, e_machine 0xb7)
is_arm64_elf() {
	local h
	h=$(od -An -tx1 -N20 "$1" 2>/dev/null | tr -d ' \n')
	[ "${h:0:12}" = 7f454c460201 ] && [ "${h:36:4}" = b700 ]
}

# Sets BUSYBOX: busybox-static:arm64's busybox, fetched once per version into
# $CACHE/arm64/busybox-static_VERSION/ (the newest cached one when the archive cannot answer).
fetch_busybox() {
	local dir=$CACHE/arm64 ver cached
	cached=$(find "$dir" -mindepth 2 -maxdepth 2 -name busybox -path '*/busybox-static_*' 2>/dev/null |
		sort -V | tail -n 1 || true)
	ver=$(archive_version busybox-static:arm64 || true)
	if [ -z "$ver" ]; then
		[ -n "$cached" ] || die "Debian's archive knows no busybox-static:arm64 and none is cached in $dir"
		say "the archive knows no busybox-static:arm64: using the cached $cached"
		BUSYBOX=$cached
		return 0
	fi
	BUSYBOX=$dir/busybox-static_${ver//:/_}/busybox
	[ -f "$BUSYBOX" ] && return 0
	say "fetching busybox-static:arm64 $ver"
	rm -rf "$dir/.tree"
	if ! archive_fetch busybox-static:arm64 "$ver" "$dir/.tree"; then
		[ -n "$cached" ] || die "fetching busybox-static:arm64=$ver failed and none is cached in $dir"
		BUSYBOX=$cached
		return 0
	fi
	[ -f "$dir/.tree/bin/busybox" ] || die "busybox-static:arm64 $ver has no bin/busybox"
	is_arm64_elf "$dir/.tree/bin/busybox" || die "busybox-static:arm64 $ver: bin/busybox is not an aarch64 ELF"
	mkdir -p "${BUSYBOX%/*}"
	mv "$dir/.tree/bin/busybox" "$BUSYBOX"
	rm -rf "$dir/.tree"
	find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'busybox-static_*' ! -path "${BUSYBOX%/*}" -exec rm -rf {} +
}

# target/lab/capture-iommufd (static aarch64), rebuilt when the source, the headers or
# the compiler change.
build_capture() { # HEADERS
	local bin=$TARGET/capture-iommufd sum
	sum=$({
		sha256sum "$CAPTURE_SRC" "$1/linux/iommufd.h" "$1/linux/vfio.h" | cut -d' ' -f1
		"$ARM64_CC" --version | head -n 1
	} | sha256sum | cut -d' ' -f1)
	if [ -x "$bin" ] && [ "$(cat "$bin.sha256" 2>/dev/null || true)" = "$sum" ]; then return 0; fi
	say "building $bin (uapi headers of $(cat "${1%/headers/include}/version" 2>/dev/null || echo '?'))"
	mkdir -p "$TARGET"
	"$ARM64_CC" -O2 -s -Wall -Wextra -Werror -static -I"$1" -o "$bin.tmp" "$CAPTURE_SRC" ||
		die "$ARM64_CC $CAPTURE_SRC failed"
	mv "$bin.tmp" "$bin"
	echo "$sum" >"$bin.sha256"
}

# Sets INITRD: busybox, the init and capture-iommufd, cached under a hash of the three.
build_initramfs() {
	local key stage
	key=$(sha256sum "$INIT" "$BUSYBOX" "$TARGET/capture-iommufd" | cut -d' ' -f1 | sha256sum | cut -c1-16)
	INITRD=$CACHE/initramfs/arm64-$key.cpio.gz
	[ -f "$INITRD" ] && return 0
	say "building the arm64 initramfs"
	mkdir -p "$CACHE/initramfs"
	stage=$(mktemp -d "$CACHE/initramfs/.stage.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp}
	cp "$BUSYBOX" "$stage/bin/busybox"
	cp "$TARGET/capture-iommufd" "$stage/bin/capture-iommufd"
	cp "$INIT" "$stage/init"
	chmod 755 "$stage/init" "$stage/bin/busybox" "$stage/bin/capture-iommufd"
	mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -6) \
		>"$INITRD.tmp" || die "cpio of the arm64 initramfs failed"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$stage"
	find "$CACHE/initramfs" -maxdepth 1 -name 'arm64-*.cpio.gz' ! -path "$INITRD" -delete
}

# Rebuilds the files the guest printed between @@LAB-FILE-BEGIN/END lines of PARSED
# (the console, CRs and anything before @@LAB stripped) under DIR. Sets XFER to a
# description; returns 1 when a file is missing, damaged or not announced.
unpack_files() { # PARSED DIR
	local parsed=$1 dir=$2 hex=$2/.hex announced name size sum got gotsum bad=() n=0
	rm -rf "$dir"
	mkdir -p "$hex"
	announced=$(sed -n 's/^@@LAB-FILES \([0-9][0-9]*\)$/\1/p' "$parsed" | tail -n 1)
	awk -v hex="$hex" '
		/^@@LAB-FILE-BEGIN / {
			name = $2
			if (name !~ /^[A-Za-z0-9._-]+$/) { name = ""; next }
			print name, $3, $4 > (hex "/manifest"); out = hex "/" name; printf "" > out; next
		}
		/^@@LAB-FILE-END / { if (name != "" && $2 == name) print name > (hex "/complete"); close(out); name = ""; next }
		name != "" && /^[0-9a-f ]+$/ { gsub(/ /, ""); print > out }
	' "$parsed"
	touch "$hex/manifest" "$hex/complete"
	while read -r name size sum; do
		if ! grep -qxF "$name" "$hex/complete"; then
			bad+=("$name: no @@LAB-FILE-END (console cut?)")
			continue
		fi
		# shellcheck disable=SC2059 # the format is the data: \xHH escapes only
		printf "$(tr -d '\n' <"$hex/$name" | sed 's/../\\x&/g')" >"$dir/$name"
		got=$(stat -c %s "$dir/$name")
		gotsum=$(sha256sum "$dir/$name" | cut -d' ' -f1)
		if [ "$got" != "$size" ] || [ "$gotsum" != "$sum" ]; then
			bad+=("$name: $got bytes sha256 ${gotsum:0:12} on the host, $size bytes sha256 ${sum:0:12} in the guest")
			rm -f "$dir/$name"
			continue
		fi
		n=$((n + 1))
	done <"$hex/manifest"
	rm -rf "$hex"
	if [ -z "$announced" ]; then
		bad+=("no @@LAB-FILES line")
	elif [ "$announced" != "$n" ] && [ "${#bad[@]}" -eq 0 ]; then
		bad+=("the guest announced $announced files, $n arrived")
	fi
	if [ "${#bad[@]}" -gt 0 ]; then
		XFER="$n of ${announced:-?} files intact; ${bad[*]}"
		return 1
	fi
	XFER="$n files in ${dir#"$ROOT"/}, sizes and sha256 as in the guest"
}

# Runs tests/arm64_iommufd.rs against CAPTURE; one row per test.
host_tests() { # OUTDIR CAPTURE
	local out=$1 capture=$2 bin log rc=0 seen=0 failed=0 l
	mkdir -p "$out/tests"
	log=$out/tests/arm64_iommufd.log
	bin=$(cd "$ROOT" && "${CARGO:-cargo}" test --no-run --test arm64_iommufd --message-format=json 2>"$out/tests/cargo.log" |
		grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1) || true
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		row arm64-tests fail "cargo test --no-run --test arm64_iommufd gave no test binary (log: ${out#"$ROOT"/}/tests/cargo.log)"
		return
	fi
	LAB_ARM64_CAPTURE=$capture "$bin" --test-threads=1 </dev/null >"$log" 2>&1 || rc=$?
	while IFS= read -r l; do
		[[ $l =~ ^test\ (.+)\ \.\.\.\ (ok|FAILED|ignored)(,.*)?$ ]] || continue
		seen=$((seen + 1))
		case ${BASH_REMATCH[2]} in
		ok) row "${BASH_REMATCH[1]}" pass tests/arm64_iommufd.rs ;;
		ignored) row "${BASH_REMATCH[1]}" skip "tests/arm64_iommufd.rs: ignored" ;;
		FAILED)
			failed=$((failed + 1))
			row "${BASH_REMATCH[1]}" fail "tests/arm64_iommufd.rs (log: ${log#"$ROOT"/})"
			;;
		esac
	done <"$log"
	if [ "$seen" = 0 ]; then
		row arm64-tests fail "$bin ran no test (exit $rc; log: ${log#"$ROOT"/})"
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		row arm64-tests fail "$bin exited $rc without a FAILED test (log: ${log#"$ROOT"/})"
	fi
	[ "$failed" = 0 ] || sed -n '/^failures:$/,$p' "$log" | head -n 60 | sed 's/^/arm64: [test] /' >&2
}

PASS=0 FAIL=0 SKIP=0
row() { # CHECK STATUS DETAIL...
	local c=$1 s=$2
	shift 2
	printf '@@ROW %s %s %s\n' "$c" "$s" "$*"
	case $s in pass) PASS=$((PASS + 1)) ;; fail) FAIL=$((FAIL + 1)) ;; *) SKIP=$((SKIP + 1)) ;; esac
}

t_start=$SECONDS
line=$("$LAB_DIR/build-kernel" "$KERNEL_NAME") || die "lab/build-kernel $KERNEL_NAME failed"
IMAGE=${line#"$KERNEL_NAME "}
HEADERS=${IMAGE%/image}/headers/include
[ -f "$HEADERS/linux/iommufd.h" ] || die "no uapi headers beside $IMAGE (lab/build-kernel installs them)"
fetch_busybox
build_capture "$HEADERS"
build_initramfs

OUT=$TARGET/out/$SCENARIO
rm -rf "$OUT"
mkdir -p "$OUT"
q=(qemu-system-aarch64 -M "$MACHINE" -cpu max -m 1024 -smp 1 -nic none "${VDEV[@]}" -device edu
	-kernel "$IMAGE" -initrd "$INITRD" -append "console=ttyAMA0 panic=-1 lab.scenario=$SCENARIO"
	-accel tcg -display none -no-reboot -monitor none -serial "file:$OUT/console.log")
printf '%q ' "${q[@]}" >"$OUT/qemu.cmd"
echo >>"$OUT/qemu.cmd"
say "[$SCENARIO] booting $(basename "${IMAGE%/image}") ($VIOMMU)"
t0=$SECONDS
rc=0
timeout "$TIMEOUT" "${q[@]}" >"$OUT/qemu.log" 2>&1 </dev/null || rc=$?
boot_secs=$((SECONDS - t0))
parsed=$OUT/console.parsed
# @@LAB lines (anything before @@LAB dropped: kernel messages) and the hex lines of the files.
# (as lab/run does; hexdump pads a file's last line with spaces).
tr -d '\r' <"$OUT/console.log" |
	awk '{ i = index($0, "@@LAB"); if (i) print substr($0, i); else if ($0 ~ /^[0-9a-f ]+$/) print }' >"$parsed"
if [ "$rc" = 124 ]; then
	row boot fail "no poweroff within $TIMEOUT s (LAB_TIMEOUT)"
elif grep -q '^@@LAB-BOOTFAIL' "$parsed"; then
	row boot fail "$(sed -n 's/^@@LAB-BOOTFAIL //p' "$parsed" | head -n 1)"
fi
if ! grep -q '^@@LAB boot pass' "$parsed"; then
	[ "$FAIL" -gt 0 ] || row boot fail "no '@@LAB boot pass' (qemu exit $rc)"
	tail -n 40 "$OUT/console.log" | sed 's/^/arm64: [console] /' >&2
else
	while read -r _ check status detail; do
		row "$check" "$status" "$detail"
	done < <(grep -E '^@@LAB [a-z0-9-]+ (pass|fail|skip)( |$)' "$parsed")
	sed -n '/^@@LAB-OUT-BEGIN/,/^@@LAB-OUT-END/p' "$parsed" | sed 's/^/arm64: [guest] /' >&2
	if unpack_files "$parsed" "$OUT/capture"; then
		row iommufd-transfer pass "$XFER"
	else
		row iommufd-transfer fail "$XFER"
	fi
	if ! grep -q '^@@LAB-END' "$parsed"; then row payload fail "no @@LAB-END (qemu exit $rc)"; fi
	if [ -f "$OUT/capture/meta.txt" ]; then host_tests "$OUT" "$OUT/capture"; fi
fi
# The machine options, without this machine's paths (lab/update-fixtures copies them).
echo "-M $MACHINE -cpu max -m 1024 -smp 1 ${VDEV[*]:+${VDEV[*]} }-device edu -append console=ttyAMA0" >"$OUT/qemu-options"
say "[$SCENARIO] boot+capture ${boot_secs} s (QEMU, TCG), ${SECONDS} s in all ($((SECONDS - t_start)) s after start)"
echo "arm64: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
