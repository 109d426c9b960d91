# shellcheck shell=bash
# Sourced by lab/run: guests of another architecture (lab/arch/ARCH says "payload foreign":
# s390x, aarch64, and any architecture added the same way). Our Rust code does not run
# there and the guest has no host root to share over 9p, so:
#   1. the kernel is a Debian image of ARCH (lab/archive.sh: the lab's own apt lists,
#      never the machine's) or one lab/build-kernel builds (built_kernel_name);
#   2. the initramfs holds busybox-static:<debian_arch> (lab/archive.sh, cached under
#      $CACHE/busybox/<debian_arch>/), lab/guest/init-foreign, the arch's capture program
#      cross-built with its <cc> -static as /bin/capture, lab/guest/snapshot.c built
#      the same way as /bin/snapshot, and the arch's <modules>;
#   3. QEMU boots it; the init binds the scenario's device to vfio-pci, runs the capture
#      and prints every file it wrote hex-encoded on the console, with size and sha256;
#   4. here the files are rebuilt under target/lab/out/<scenario>/capture/ and checked
#      (row transfer), then the host's tests/<host_test>.rs decodes them with the library,
#      <capture_env> naming the directory: one row per test.
# Every per-architecture fact comes from lab/arch/ARCH (arch KEY).
# Uses lab/run's say, die, arch, fetch_kernel, fetch_built_kernel, built_kernel_name,
# build_initramfs, common_qemu_args, common_append, S_*, CACHE, TARGET, ROOT; sets q and
# DESCRIPTION for lab/run.

FOREIGN_INIT=$LAB_DIR/guest/init-foreign

# The value of KEY for scenario I: lab/arch/ARCH's KEY.<kernel series> when there is one
# (e.g. capture.7.3-arm64-iommufd: another capture program for a built kernel), else
# KEY.<viommu>, else KEY. Used for modules, cc_flags, capture, host_test, capture_env.
foreign_value() { # I KEY
	local a=${S_ARCH[$1]} k
	for k in "$2.${S_KERNEL[$1]}" "$2.${S_VIOMMU[$1]}" "$2"; do
		if arch_has "$a" "$k"; then
			arch "$a" "$k"
			return
		fi
	done
}

# Is FILE a static ELF executable of ARCH? (lab/arch's elf: EI_CLASS EI_DATA e_machine)
foreign_is_elf() { # ARCH FILE
	local h want
	h=$(od -An -tx1 -N20 "$2" 2>/dev/null | tr -d ' \n')
	read -r -a want <<<"$(arch "$1" elf)"
	[ "${h:0:8}" = 7f454c46 ] && [ "${h:8:2}" = "${want[0]}" ] && [ "${h:10:2}" = "${want[1]}" ] &&
		[ "${h:36:4}" = "${want[2]}" ]
}

# Sets FOREIGN_BUSYBOX[ARCH] to busybox-static:<debian_arch>'s busybox, downloaded once per
# version into $CACHE/busybox/<debian_arch>/VERSION/ (the newest cached one when the archive
# cannot answer); asked once a run.
declare -A FOREIGN_BUSYBOX=()
foreign_busybox() { # ARCH
	local a=$1 debarch dir ver cached tree bin
	debarch=$(arch "$a" debian_arch)
	[ -z "${FOREIGN_BUSYBOX[$a]:-}" ] || return 0
	dir=$CACHE/busybox/$debarch
	cached=$(find "$dir" -mindepth 2 -maxdepth 2 -name busybox 2>/dev/null | sort -V | tail -n 1 || true)
	ver=$(archive_version "busybox-static:$debarch") || true
	if [ -z "$ver" ]; then
		[ -n "$cached" ] || die "Debian's archive (lab/archive.sh, lists in $CACHE/apt) knows no busybox-static:$debarch and none is cached in $dir"
		say "the archive knows no busybox-static:$debarch: using the cached $cached"
		FOREIGN_BUSYBOX[$a]=$cached
		return
	fi
	bin=$dir/${ver//:/_}/busybox
	if [ ! -f "$bin" ]; then
		say "fetching busybox-static:$debarch $ver"
		tree=$dir/.unpack
		rm -rf "$tree"
		if ! archive_fetch "busybox-static:$debarch" "$ver" "$tree"; then
			[ -n "$cached" ] || die "downloading busybox-static:$debarch=$ver failed and none is cached in $dir"
			say "downloading busybox-static:$debarch failed: using the cached $cached"
			FOREIGN_BUSYBOX[$a]=$cached
			return
		fi
		[ -f "$tree/bin/busybox" ] || die "busybox-static:$debarch $ver has no bin/busybox"
		foreign_is_elf "$a" "$tree/bin/busybox" || die "busybox-static:$debarch $ver: bin/busybox is not an $a ELF (lab/arch/$a elf: $(arch "$a" elf))"
		mkdir -p "${bin%/*}"
		cp "$tree/bin/busybox" "$bin.tmp"
		mv "$bin.tmp" "$bin"
		rm -rf "$tree"
		# Older versions are no longer needed.
		find "$dir" -mindepth 1 -maxdepth 1 -type d ! -path "${bin%/*}" -exec rm -rf {} +
	fi
	FOREIGN_BUSYBOX[$a]=$bin
}

# Sets FOREIGN_CAPTURE to target/lab/capture-ARCH-NAME, built (static) from scenario I's
# capture program NAME.c with the arch's cc and the scenario's cc_flags (@IMAGE_DIR@ = the
# directory of a built kernel's image, where lab/build-kernel may leave its uapi headers);
# again when the source, lab/guest/capture-common.h, the flags or the compiler change.
foreign_capture() { # I
	foreign_build "$1" "$(foreign_value "$1" capture)"
}

# Sets FOREIGN_CAPTURE to the program REL (lab/guest/NAME.c) built for scenario I as
# foreign_capture says: the capture program, or lab/guest/snapshot.c.
foreign_build() { # I REL
	local a=${S_ARCH[$1]} rel=$2 src bin cc flags sum
	src=$ROOT/$rel
	cc=$(arch "$a" cc)
	flags=$(foreign_value "$1" cc_flags)
	flags=${flags//@IMAGE_DIR@/$(dirname "${VMLINUZ:-.}")}
	bin=$TARGET/capture-$a-$(basename "$rel" .c)
	FOREIGN_CAPTURE=$bin
	[ -f "$src" ] || die "lab/arch/$a names the capture program $rel, which does not exist"
	sum=$({
		sha256sum "$src" "$CAPTURE_COMMON" | cut -d' ' -f1
		echo "$flags"
		"$cc" --version | head -n 1
	} | sha256sum | cut -d' ' -f1)
	if [ ! -x "$bin" ] || [ "$(cat "$bin.sha256" 2>/dev/null || true)" != "$sum" ]; then
		say "building $bin from $rel with $cc -static $flags"
		mkdir -p "$TARGET"
		# shellcheck disable=SC2086 # flags are words
		"$cc" -O2 -s -Wall -Wextra -Werror -static $flags -o "$bin.tmp" "$src" >&2 || die "$cc $src failed"
		foreign_is_elf "$a" "$bin.tmp" || die "$cc made no $a ELF of $src"
		mv "$bin.tmp" "$bin"
		echo "$sum" >"$bin.sha256"
	fi
}

# Sets q (QEMU's arguments) and DESCRIPTION for scenario INDEX.
prepare_foreign() { # INDEX OUTDIR
	local i=$1 out=$2 a=${S_ARCH[$1]} series=${S_KERNEL[$1]} append outcome
	if [ -n "$(built_kernel_name "$series" "$a")" ]; then
		fetch_built_kernel "$series" "$a"
	else
		fetch_kernel "$series" "$a"
	fi
	foreign_busybox "$a"
	# The lab's snapshot writer (the project's binaries do not run here): bin/snapshot.
	foreign_build "$i" lab/guest/snapshot.c
	local snapshot=$FOREIGN_CAPTURE
	foreign_capture "$i"
	build_initramfs "$FOREIGN_INIT" "${FOREIGN_BUSYBOX[$a]}" "$(foreign_value "$i" modules)" "$FOREIGN_CAPTURE=bin/capture" "$snapshot=bin/snapshot"
	q=()
	common_qemu_args "$i" "$out"
	q+=(-device "$(arch "$a" device)")
	append="$(common_append "$i") lab.scenario=${S_NAME[$i]} lab.kernel=$series lab.viommu=${S_VIOMMU[$i]}"
	outcome=$(scenario_outcome "$i")
	append+=" lab.machine=$(scenario_machine "$i") lab.type1=${S_TYPE1[$i]} lab.device=$(arch "$a" device_id) lab.outcome=${outcome// /:}"
	q+=(-append "$append")
	# The kernel's package (or lab/build-kernel's image directory), for the fixtures' provenance.
	basename "${KDIR:-$(dirname "$VMLINUZ")}" >"$out/kernel-package"
	# shellcheck disable=SC2034 # lab/run's
	DESCRIPTION="$(basename "${KDIR:-$(dirname "$VMLINUZ")}") with ${S_VIOMMU[$i]} on $(scenario_machine "$i"), $(arch "$a" device), type1 ${S_TYPE1[$i]}"
	[ "$outcome" = bound ] || DESCRIPTION+=", expecting vfio-pci's probe to fail with error ${outcome#* }"
}

# Rebuilds the files the guest printed between @@LAB-FILE-BEGIN/END lines of the
# console (PARSED, one @@LAB... or hex line a line) under DIR. Sets FOREIGN_XFER to a
# description; returns 1 when a file is missing, damaged or not announced.
foreign_unpack() { # PARSED DIR
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
		FOREIGN_XFER="$n of ${announced:-?} files intact; ${bad[*]}"
		return 1
	fi
	FOREIGN_XFER="$n files in ${dir#"$ROOT"/}, sizes and sha256 as in the guest"
}

# The host's test binary of tests/TEST.rs (cargo test --no-run, with the json feature
# the guest's snapshot is read with); prints its path.
foreign_test_binary() { # TEST LOG
	(cd "$ROOT" && "${CARGO:-cargo}" test --no-run --features json --test "$1" --message-format=json 2>"$2") |
		grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}

declare -A FOREIGN_TESTBIN=()
# Runs tests/<host_test>.rs's binary against CAPTURE (only the tests its host_test_filter
# names, a libtest filter, when lab/arch gives one) and appends one row per test to the
# caller's array rows: "check<TAB>status<TAB>detail".
foreign_host_tests() { # INDEX OUTDIR CAPTURE
	local out=$2 capture=$3 test bin log rc=0 seen=0 t status detail failed=0 filter
	test=$(foreign_value "$1" host_test)
	filter=$(foreign_value "$1" host_test_filter)
	mkdir -p "$out/tests"
	log=$out/tests/$test.log
	# Built once a run (cargo's check of the tree takes seconds).
	if [ -z "${FOREIGN_TESTBIN[$test]:-}" ]; then
		FOREIGN_TESTBIN[$test]=$(foreign_test_binary "$test" "$out/tests/cargo.log") || true
	fi
	bin=${FOREIGN_TESTBIN[$test]}
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		rows+=("$test-tests"$'\t'"fail"$'\t'"cargo test --no-run --test $test gave no test binary (log: ${out#"$ROOT"/}/tests/cargo.log)")
		tail -n 20 "$out/tests/cargo.log" | sed 's/^/lab: cargo: /' >&2
		return
	fi
	# shellcheck disable=SC2086 # the filter is libtest's words
	env "$(foreign_value "$1" capture_env)=$capture" LAB_SCENARIO="${S_NAME[$1]}" "$bin" --test-threads=1 $filter </dev/null >"$log" 2>&1 || rc=$?
	# shellcheck disable=SC2094 # the loop only reads the log (the test binary wrote it)
	while IFS= read -r l; do
		[[ $l =~ ^test\ (.+)\ \.\.\.\ (ok|FAILED|ignored)(,.*)?$ ]] || continue
		t=${BASH_REMATCH[1]}
		seen=$((seen + 1))
		case ${BASH_REMATCH[2]} in
		ok) status=pass detail="tests/$test.rs" ;;
		ignored) status=skip detail="tests/$test.rs: ignored${BASH_REMATCH[3]}" ;;
		FAILED)
			status=fail failed=$((failed + 1))
			# The panic's message: the line after "panicked at FILE:LINE:COL:".
			detail=$(awk -v h="---- $t stdout ----" '
				$0 == h { on = 1; next }
				on && /panicked at/ { getline; print; exit }' "$log")
			detail="tests/$test.rs: ${detail:-failed} (log: ${log#"$ROOT"/})"
			awk -v h="---- $t stdout ----" '$0 == h { on = 1; next }
				on && (/^---- .* stdout ----$/ || /^failures:$/) { exit }
				on { print "lab: [" test "] " $0 }' test="$test" "$log" >&2
			;;
		esac
		rows+=("$t"$'\t'"$status"$'\t'"$detail")
	done <"$log"
	if [ "$seen" = 0 ]; then
		rows+=("$test-tests"$'\t'"fail"$'\t'"$bin${filter:+ $filter} ran no test (exit $rc; log: ${log#"$ROOT"/})")
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		rows+=("$test-tests"$'\t'"fail"$'\t'"$bin exited $rc without a FAILED test (log: ${log#"$ROOT"/})")
	fi
}

# After a boot that reported: what arrived (row transfer), then what the library makes of
# it (also of a partial capture: each test says which file it misses).
foreign_results() { # INDEX OUTDIR
	local out=$2 parsed=$2/console.parsed
	clean_console "$out" | awk '{ i = index($0, "@@LAB"); if (i) print substr($0, i); else if ($0 ~ /^[0-9a-f ]+$/) print }' >"$parsed"
	if foreign_unpack "$parsed" "$out/capture"; then
		rows+=("transfer"$'\t'"pass"$'\t'"$FOREIGN_XFER")
	else
		rows+=("transfer"$'\t'"fail"$'\t'"$FOREIGN_XFER")
	fi
	rm -f "$parsed"
	foreign_host_tests "$1" "$out" "$out/capture"
}
