# shellcheck shell=bash
# Sourced by lab/run: the s390x scenario (kernel 6.12-s390x, "vIOMMU" zpci), the
# seed's platform: big-endian, zPCI, the DMA window reported by three interfaces.
#
# lab/run has no s390x userland to share over 9p and our Rust code does not run on
# s390x, so this scenario works differently from the x86 ones (lab/README.md):
#   1. the kernel comes from lab/build-kernel linux-6.12-s390x (everything built in);
#   2. the initramfs holds busybox-static:s390x (from Debian's archive, cached under
#      $CACHE/s390x/), lab/guest/init-s390x and lab/guest/capture-zpci.c built with
#      s390x-linux-gnu-gcc -static;
#   3. QEMU (qemu-system-s390x, s390-ccw-virtio, a virtio-rng-pci zPCI function) boots
#      it; the init binds the function to vfio-pci, captures, and prints every file
#      hex-encoded on the console, with its size and sha256;
#   4. here, the files are rebuilt under target/lab/out/<scenario>/capture/ and
#      checked, then the host's tests/s390x.rs decodes them (big-endian) with the
#      library: one row per test.
# Uses lab/run's say, die, clean_console, console_tail, fetch_built_kernel, ROWS,
# SUMMARY, EXEC_SET/EXEC_RC, QPID, APT_UPDATED, CACHE, TARGET, ROOT, TIMEOUT.

S390X_INIT=$LAB_DIR/guest/init-s390x
S390X_CAPTURE_SRC=$LAB_DIR/guest/capture-zpci.c
S390X_CC=s390x-linux-gnu-gcc
S390X_BUSYBOX=''

# qemu-system-s390x, the cross compiler and its static libc (apt-get when missing).
s390x_ensure_tools() {
	local pkgs=()
	command -v qemu-system-s390x >/dev/null || pkgs+=(qemu-system-misc)
	if ! command -v "$S390X_CC" >/dev/null; then
		pkgs+=(gcc-s390x-linux-gnu libc6-dev-s390x-cross)
	elif [[ $("$S390X_CC" -print-file-name=libc.a 2>/dev/null || true) != /* ]]; then
		pkgs+=(libc6-dev-s390x-cross)
	fi
	[ "${#pkgs[@]}" -gt 0 ] || return 0
	say "installing ${pkgs[*]} (for the s390x scenario)"
	[ "$(id -u)" = 0 ] || die "missing ${pkgs[*]}: run 'apt-get install ${pkgs[*]}' as root"
	apt-get update -qq >&2 || die "apt-get update failed"
	APT_UPDATED=1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2 ||
		die "apt-get install ${pkgs[*]} failed"
}

# Is FILE a big-endian 64-bit s390 ELF executable? (EI_CLASS 2, EI_DATA 2, e_machine 22)
s390x_is_elf() {
	local h
	h=$(od -An -tx1 -N20 "$1" 2>/dev/null | tr -d ' \n')
	[ "${h:0:12}" = 7f454c460202 ] && [ "${h:36:4}" = 0016 ]
}

# Sets S390X_BUSYBOX to busybox-static:s390x's busybox, downloaded once per version
# into $CACHE/s390x/busybox-static_VERSION/ (the newest cached one when apt cannot answer).
s390x_busybox() {
	local dir=$CACHE/s390x ver cached tmp deb
	[ -z "$S390X_BUSYBOX" ] || return 0
	cached=$(find "$dir" -mindepth 2 -maxdepth 2 -name busybox -path '*/busybox-static_*' 2>/dev/null |
		sort -V | tail -n 1 || true)
	if ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx s390x; then
		if [ "$(id -u)" = 0 ]; then
			say "adding dpkg's s390x architecture (for busybox-static:s390x)"
			dpkg --add-architecture s390x || die "dpkg --add-architecture s390x failed"
			apt-get update -qq >&2 || say "apt-get update failed"
			APT_UPDATED=1
		elif [ -n "$cached" ]; then
			S390X_BUSYBOX=$cached
			return 0
		else
			die "busybox-static:s390x needs dpkg's s390x architecture: run 'dpkg --add-architecture s390x && apt-get update' as root"
		fi
	fi
	ver=$(apt-cache policy busybox-static:s390x 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	if { [ -z "$ver" ] || [ "$ver" = '(none)' ]; } && [ "$APT_UPDATED" = 0 ] && [ "$(id -u)" = 0 ]; then
		say "apt knows no busybox-static:s390x: running apt-get update"
		apt-get update -qq >&2 || say "apt-get update failed"
		APT_UPDATED=1
		ver=$(apt-cache policy busybox-static:s390x 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	fi
	if [ -z "$ver" ] || [ "$ver" = '(none)' ]; then
		[ -n "$cached" ] || die "apt knows no busybox-static:s390x and none is cached in $dir"
		say "apt knows no busybox-static:s390x: using the cached $cached"
		S390X_BUSYBOX=$cached
		return 0
	fi
	S390X_BUSYBOX=$dir/busybox-static_${ver//:/_}/busybox
	[ -f "$S390X_BUSYBOX" ] && return 0
	say "fetching busybox-static:s390x $ver"
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
	if ! (cd "$tmp" && apt-get download "busybox-static:s390x=$ver" >&2 2>"$tmp/apt.err"); then
		cat "$tmp/apt.err" >&2
		rm -rf "$tmp"
		[ -n "$cached" ] || die "apt-get download busybox-static:s390x=$ver failed and none is cached in $dir"
		say "apt-get download busybox-static:s390x failed: using the cached $cached"
		S390X_BUSYBOX=$cached
		return 0
	fi
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
	if [ -z "$deb" ] || ! dpkg -x "$deb" "$tmp/tree"; then die "unpacking busybox-static:s390x (${deb:-no .deb}) failed"; fi
	[ -f "$tmp/tree/bin/busybox" ] || die "busybox-static:s390x $ver has no bin/busybox"
	s390x_is_elf "$tmp/tree/bin/busybox" || die "busybox-static:s390x $ver: bin/busybox is not an s390x ELF"
	mkdir -p "${S390X_BUSYBOX%/*}"
	cp "$tmp/tree/bin/busybox" "$S390X_BUSYBOX.tmp"
	mv "$S390X_BUSYBOX.tmp" "$S390X_BUSYBOX"
	rm -rf "$tmp"
	# Older versions are no longer needed.
	find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'busybox-static_*' ! -path "${S390X_BUSYBOX%/*}" \
		-exec rm -rf {} +
}

# target/lab/capture-zpci (static s390x), rebuilt when the source or the compiler changes.
s390x_build_capture() {
	local bin=$TARGET/capture-zpci sum
	sum=$({
		sha256sum "$S390X_CAPTURE_SRC" | cut -d' ' -f1
		"$S390X_CC" --version | head -n 1
	} | sha256sum | cut -d' ' -f1)
	if [ -x "$bin" ] && [ "$(cat "$bin.sha256" 2>/dev/null || true)" = "$sum" ]; then return 0; fi
	say "building $bin"
	mkdir -p "$TARGET"
	"$S390X_CC" -O2 -s -Wall -Wextra -Werror -static -o "$bin.tmp" "$S390X_CAPTURE_SRC" ||
		die "$S390X_CC $S390X_CAPTURE_SRC failed"
	mv "$bin.tmp" "$bin"
	echo "$sum" >"$bin.sha256"
}

# Sets S390X_INITRD: busybox, the init and capture-zpci (no modules: the kernel has
# everything built in). Cached under a hash of the three.
s390x_initramfs() {
	local key stage
	key=$(sha256sum "$S390X_INIT" "$S390X_BUSYBOX" "$TARGET/capture-zpci" | cut -d' ' -f1 | sha256sum | cut -c1-16)
	S390X_INITRD=$CACHE/initramfs/s390x-$key.cpio.gz
	[ -f "$S390X_INITRD" ] && return 0
	say "building the s390x initramfs"
	mkdir -p "$CACHE/initramfs"
	stage=$(mktemp -d "$CACHE/initramfs/.stage.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp}
	cp "$S390X_BUSYBOX" "$stage/bin/busybox"
	cp "$TARGET/capture-zpci" "$stage/bin/capture-zpci"
	cp "$S390X_INIT" "$stage/init"
	chmod 755 "$stage/init" "$stage/bin/busybox" "$stage/bin/capture-zpci"
	mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -6) \
		>"$S390X_INITRD.tmp" || die "cpio of the s390x initramfs failed"
	mv "$S390X_INITRD.tmp" "$S390X_INITRD"
	rm -rf "$stage"
	find "$CACHE/initramfs" -maxdepth 1 -name 's390x-*.cpio.gz' ! -path "$S390X_INITRD" -delete
}

# The host's test binary of tests/s390x.rs (cargo test --no-run); prints its path.
s390x_test_binary() { # LOG
	(cd "$ROOT" && "${CARGO:-cargo}" test --no-run --test s390x --message-format=json 2>"$1") |
		grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}

# Rebuilds the files the guest printed between @@LAB-FILE-BEGIN/END lines of the
# console (PARSED, one @@LAB... or hex line a line) under DIR. Sets S390X_XFER to a
# description; returns 1 when a file is missing, damaged or not announced.
s390x_unpack() { # PARSED DIR
	local parsed=$1 dir=$2 hex=$2/.hex announced name size sum got gotsum bad=() n=0
	rm -rf "$dir"
	mkdir -p "$hex"
	announced=$(sed -n 's/^@@LAB-FILES \([0-9][0-9]*\)$/\1/p' "$parsed" | tail -n 1)
	# Hex lines of each file; lines that are not hex (kernel messages) are skipped, the
	# size and sha256 below catch anything they damaged.
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
		S390X_XFER="$n of ${announced:-?} files intact; ${bad[*]}"
		return 1
	fi
	S390X_XFER="$n files in ${dir#"$ROOT"/}, sizes and sha256 as in the guest"
}

# Runs tests/s390x.rs's binary against CAPTURE and appends one row per test to the
# caller's array rows: "check<TAB>status<TAB>detail".
s390x_host_tests() { # OUTDIR CAPTURE
	local out=$1 capture=$2 bin log rc=0 seen=0 t status detail failed=0
	mkdir -p "$out/tests"
	log=$out/tests/s390x.log
	bin=$(s390x_test_binary "$out/tests/cargo.log") || true
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		rows+=("s390x-tests"$'\t'"fail"$'\t'"cargo test --no-run --test s390x gave no test binary (log: ${out#"$ROOT"/}/tests/cargo.log)")
		tail -n 20 "$out/tests/cargo.log" | sed 's/^/lab: cargo: /' >&2
		return
	fi
	LAB_S390X_CAPTURE=$capture "$bin" --test-threads=1 </dev/null >"$log" 2>&1 || rc=$?
	# shellcheck disable=SC2094 # the loop only reads the log (the test binary wrote it)
	while IFS= read -r l; do
		[[ $l =~ ^test\ (.+)\ \.\.\.\ (ok|FAILED|ignored)(,.*)?$ ]] || continue
		t=${BASH_REMATCH[1]}
		seen=$((seen + 1))
		case ${BASH_REMATCH[2]} in
		ok) status=pass detail="tests/s390x.rs" ;;
		ignored) status=skip detail="tests/s390x.rs: ignored${BASH_REMATCH[3]}" ;;
		FAILED)
			status=fail failed=$((failed + 1))
			# The panic's message: the line after "panicked at FILE:LINE:COL:".
			detail=$(awk -v h="---- $t stdout ----" '
				$0 == h { on = 1; next }
				on && /panicked at/ { getline; print; exit }' "$log")
			detail="tests/s390x.rs: ${detail:-failed} (log: ${log#"$ROOT"/})"
			awk -v h="---- $t stdout ----" '$0 == h { on = 1; next }
				on && (/^---- .* stdout ----$/ || /^failures:$/) { exit }
				on { print "lab: [s390x] " $0 }' "$log" >&2
			;;
		esac
		rows+=("$t"$'\t'"$status"$'\t'"$detail")
	done <"$log"
	if [ "$seen" = 0 ]; then
		rows+=("s390x-tests"$'\t'"fail"$'\t'"$bin ran no test (exit $rc; log: ${log#"$ROOT"/})")
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		rows+=("s390x-tests"$'\t'"fail"$'\t'"$bin exited $rc without a FAILED test (log: ${log#"$ROOT"/})")
	fi
}

run_scenario_s390x() { # index
	local name=${S_NAME[$1]} series=${S_KERNEL[$1]} out t0 secs rc=0 append line check status detail
	local parsed bootfail='' booted='' ended='' exitrc='' why='' n_pass=0 n_fail=0 n_skip=0
	local -a q rows=()
	out=$TARGET/out/$name
	if [ "$EXEC_SET" = 1 ]; then
		say "[$name] --exec cannot run here: the s390x guest has no host root (no 9p), only its initramfs"
		[ "$EXEC_RC" != 0 ] || EXEC_RC=1
		return
	fi
	s390x_ensure_tools
	fetch_built_kernel "$series"
	s390x_busybox
	s390x_build_capture
	s390x_initramfs

	append="console=ttysclp0 quiet panic=-1 lab.scenario=$name"
	q=(-machine s390-ccw-virtio -cpu max -m 1024 -smp 1 -nographic -no-reboot -monitor none -nic none
		-kernel "$VMLINUZ" -initrd "$S390X_INITRD" -serial "file:$out/console.log"
		-device virtio-rng-pci -append "$append")
	printf '%s\n' "qemu-system-s390x ${q[*]}" >"$out/qemu.cmd"
	say "[$name] booting $(basename "$(dirname "$VMLINUZ")") (s390x) with a virtio-rng-pci zPCI function (timeout ${TIMEOUT}s)"
	t0=$(date +%s%N)
	timeout --kill-after=10 "$TIMEOUT" qemu-system-s390x "${q[@]}" </dev/null >"$out/qemu.log" 2>&1 &
	QPID=$!
	wait "$QPID" || rc=$?
	QPID=''

	parsed=$out/console.parsed
	clean_console "$out" | awk '{ i = index($0, "@@LAB"); if (i) print substr($0, i); else if ($0 ~ /^[0-9a-f ]+$/) print }' >"$parsed"
	while IFS= read -r line; do
		case "$line" in
		"@@LAB-BOOTFAIL "*) bootfail=${line#@@LAB-BOOTFAIL } ;;
		"@@LAB-EXIT "*) exitrc=${line#@@LAB-EXIT } ;;
		"@@LAB-END"*) ended=1 ;;
		"@@LAB "*)
			read -r check status detail <<<"${line#@@LAB }" || true
			case "$status" in
			pass | fail | skip) ;;
			*)
				detail="garbled report line: $line"
				status=fail
				;;
			esac
			[ "$check" = boot ] && [ "$status" = pass ] && booted=1
			rows+=("$check"$'\t'"$status"$'\t'"$detail")
			;;
		esac
	done < <(grep '^@@LAB' "$parsed" | grep -v '^@@LAB-FILE')
	if [ -n "$bootfail" ]; then
		rows+=("boot"$'\t'"fail"$'\t'"$bootfail")
		why=boot
	elif [ -z "$booted" ]; then
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			rows+=("boot"$'\t'"fail"$'\t'"no boot: timed out after ${TIMEOUT}s")
		else
			rows+=("boot"$'\t'"fail"$'\t'"no boot: QEMU exited $rc before the guest reported (panic? see $out/console.log, $out/qemu.log)")
		fi
		why=boot
	elif [ -z "$ended" ]; then
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			rows+=("payload"$'\t'"fail"$'\t'"timed out after ${TIMEOUT}s (no @@LAB-END)")
		else
			rows+=("payload"$'\t'"fail"$'\t'"guest stopped before @@LAB-END (QEMU exit $rc)")
		fi
		why=payload
	elif [ "$exitrc" != 0 ]; then
		rows+=("payload"$'\t'"fail"$'\t'"lab/guest/init-s390x exited ${exitrc:-?}")
	fi
	if [ -n "$why" ]; then
		[ ! -s "$out/qemu.log" ] || sed 's/^/lab: qemu: /' "$out/qemu.log" >&2
		console_tail "$out"
	fi
	if [ -n "$booted" ]; then
		# What arrived, then what the library makes of it (also of a partial capture: each
		# test says which file it misses).
		if s390x_unpack "$parsed" "$out/capture"; then
			rows+=("zpci-transfer"$'\t'"pass"$'\t'"$S390X_XFER")
		else
			rows+=("zpci-transfer"$'\t'"fail"$'\t'"$S390X_XFER")
		fi
		s390x_host_tests "$out" "$out/capture"
	fi
	rm -f "$parsed"
	secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	for line in "${rows[@]}"; do
		IFS=$'\t' read -r check status detail <<<"$line" || true
		case "$status" in pass) n_pass=$((n_pass + 1)) ;; fail) n_fail=$((n_fail + 1)) ;; skip) n_skip=$((n_skip + 1)) ;; esac
		ROWS+=("$name"$'\t'"$line")
	done
	say "[$name] ${why:+$why FAILED, }$n_pass pass, $n_fail fail, $n_skip skip in ${secs} s"
	SUMMARY+=("$(printf '%-36s %6s s  %3d pass %3d fail %3d skip' "$name" "$secs" "$n_pass" "$n_fail" "$n_skip")")
}
