#!/bin/bash
# The lab's default guest payload. Runs inside the guest, in `chroot /host`
# (the host's root over 9p, read-only), cwd = repo root, with the LAB_*
# environment described in lab/README.md. Reports each check on stdout (the
# serial console) as
#   @@LAB <check> <pass|fail|skip> <detail...>
# and the output of a failed check between @@LAB-OUT-BEGIN/@@LAB-OUT-END lines.
set -uo pipefail

lab() { # CHECK STATUS DETAIL...
	local name=${1// /_} status=$2
	shift 2
	printf '@@LAB %s %s %s\n' "$name" "$status" "$*"
}
lab_out() { # CHECK FILE [TAIL-LINES]
	printf '@@LAB-OUT-BEGIN %s\n' "${1// /_}"
	if [ -n "${3:-}" ]; then tail -n "$3" "$2"; else cat "$2"; fi
	printf '@@LAB-OUT-END %s\n' "${1// /_}"
}

: "${LAB_OUT:?not in a lab guest (LAB_OUT unset)}"
read -ra bdfs <<<"${LAB_EDU_BDFS:-}"
read -ra groups <<<"${LAB_EDU_GROUPS:-}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-checks.XXXXXX")

# --- c. shell-level sanity ---------------------------------------------------
if [ -c /dev/vfio/vfio ]; then
	lab dev-vfio pass "/dev/vfio/vfio: $(cd /dev/vfio && echo *)"
else
	lab dev-vfio fail "/dev/vfio/vfio missing"
fi

bad=()
for bdf in "${bdfs[@]}"; do
	drv=$(readlink "/sys/bus/pci/devices/$bdf/driver" || true)
	[ "${drv##*/}" = vfio-pci ] || bad+=("$bdf:${drv##*/}")
done
if [ "${#bdfs[@]}" -eq 0 ]; then
	lab edu-vfio-pci fail "no edu device (LAB_EDU_BDFS empty)"
elif [ "${#bad[@]}" -eq 0 ]; then
	lab edu-vfio-pci pass "${bdfs[*]} bound to vfio-pci"
else
	lab edu-vfio-pci fail "not bound to vfio-pci: ${bad[*]}"
fi

rr_ok=1 rr_detail=()
for g in "${groups[@]}"; do
	f=/sys/kernel/iommu_groups/$g/reserved_regions
	if content=$(cat "$f" 2>&1); then
		rr_detail+=("group $g: $(printf '%s' "$content" | tr '\n' ';')")
	else
		rr_ok=0 rr_detail+=("group $g: $content")
	fi
done
if [ "${#groups[@]}" -gt 0 ] && [ "$rr_ok" = 1 ]; then
	lab reserved-regions pass "${rr_detail[*]}"
else
	lab reserved-regions fail "${rr_detail[*]:-no groups}"
fi

# --- a. raw VFIO_IOMMU_GET_INFO captures ---------------------------------------
capture=target/lab/capture
runs=()
for g in "${groups[@]}"; do runs+=("group-$g:$g"); done
if [ "${#groups[@]}" -gt 1 ]; then
	all="${groups[*]}"
	runs+=("groups-${all// /-}:$all")
fi
cap_ok=1 cap_detail=() einval_ok=1 einval_detail=()
if [ ! -x "$capture" ]; then
	lab capture fail "$capture missing (lab/run builds it)"
	cap_ok=''
elif [ "${#runs[@]}" -eq 0 ]; then
	lab capture fail "no IOMMU group (LAB_EDU_GROUPS empty)"
	cap_ok=''
else
	for r in "${runs[@]}"; do
		dir=${r%%:*}
		read -ra gs <<<"${r#*:}"
		if "$capture" "$LAB_OUT/$dir" "${gs[@]}" >"$tmp/capture.log" 2>&1; then
			meta=$LAB_OUT/$dir/meta.txt
			needed=$(sed -n 's/^needed_argsz: //p' "$meta")
			pgs=$(sed -n 's/^iova_pgsizes: //p' "$meta")
			cap_detail+=("$dir: needed=$needed pgsizes=$pgs;")
			pre=$(sed -n 's/^get_info_before_set_iommu_errno: //p' "$meta")
			einval_detail+=("$dir: $pre;")
			# The legacy container has no IOMMU driver before VFIO_SET_IOMMU: EINVAL. iommufd's
			# compat container (LAB_COMPAT=1) made its IOAS when the group joined, and answers.
			if [ "${LAB_COMPAT:-0}" = 1 ]; then
				[[ $pre == none* ]] || einval_ok=0
			else
				[[ $pre == EINVAL* ]] || einval_ok=0
			fi
		else
			cap_ok=0
			cap_detail+=("$dir: $(tail -n 1 "$tmp/capture.log");")
			lab_out capture "$tmp/capture.log"
		fi
		cat "$tmp/capture.log"
	done
fi
if [ "$cap_ok" = 1 ]; then
	lab capture pass "${cap_detail[*]}"
	if [ "$einval_ok" = 1 ]; then
		lab get-info-before-set-iommu pass "${einval_detail[*]}"
	else
		lab get-info-before-set-iommu fail "expected $([ "${LAB_COMPAT:-0}" = 1 ] && echo "an answer (iommufd's compat container)" || echo EINVAL): ${einval_detail[*]}"
	fi
elif [ "$cap_ok" = 0 ]; then
	lab capture fail "${cap_detail[*]}"
fi

# --- f. a user-space NVMe driver (scenarios whose extra is nvme; lab/run requires the row
# there and nowhere else) ------------------------------------------------------------------
# c-examples/nvme-read on the disk lab/run attached: its own container, IOVAs from the
# library's allocator, Identify (the serial lab/run set), 40 blocks from LBA 1000 (5 pages:
# a PRP list), each equal to the image. Its last line is the row's detail.
if [ -n "${LAB_NVME_BDF:-}" ]; then
	nvme=target/c-examples/nvme-read log=$LAB_OUT/nvme-read.log
	if [ ! -x "$nvme" ]; then
		lab nvme-read fail "$nvme missing: make c-build (make lab-build does)"
	elif LD_LIBRARY_PATH=target/c-stage/usr/lib timeout 120 "$nvme" "$LAB_NVME_GROUP" "$LAB_NVME_BDF" \
		"$LAB_NVME_IMAGE" "$LAB_NVME_SERIAL" 1000 40 </dev/null >"$log" 2>&1; then
		lab nvme-read pass "$(tail -n 1 "$log")"
	else
		rc=$?
		lab nvme-read fail "exit $rc: $(grep -m 1 '^nvme-read: ' "$log" || tail -n 1 "$log")"
		lab_out nvme-read "$log" 40
	fi
fi

# --- g. QEMU as the oracle (tests/qemu_oracle.rs) ----------------------------------------
# A nested QEMU 10 on the edu device, type1 and iommufd, held against the library; it prints
# its own rows (oracle-ROUTE-CASE, with what QEMU said, what the library said, MATCH or DIFF),
# forwarded here; the rest of its output goes to $LAB_OUT/oracle.log.
oracle=$(head -n 1 target/lab/oracle.list 2>/dev/null || true)
if [ -z "$oracle" ] || [ ! -x "$oracle" ]; then
	lab qemu-oracle fail "target/lab/oracle.list names no test binary: make lab-build"
else
	log=$LAB_OUT/oracle.log
	start=$SECONDS
	# One libtest test: --nocapture prints its rows as they come, --quiet keeps libtest's
	# own "test NAME ..." off their lines.
	"$oracle" --nocapture --test-threads=1 --quiet </dev/null 2>&1 | tee "$log" | grep '^@@LAB '
	rc=${PIPESTATUS[0]}
	echo "lab: $oracle: exit $rc after $((SECONDS - start)) s"
	if [ "$rc" -ne 0 ]; then
		lab qemu-oracle fail "$oracle exited $rc (see $log)"
		lab_out qemu-oracle "$log" 40
	fi
fi

# --- b. the project's Rust test binaries (target/lab/tests.list) --------------
list=target/lab/tests.list
if [ ! -s "$list" ]; then
	lab rust-tests fail "$list is missing or empty: build the in-guest tests first (make lab)"
else
	mkdir -p "$LAB_OUT/tests"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		[[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
		bin=${line%% *}
		args=()
		[[ $line == *' '* ]] && read -ra args <<<"${line#* }"
		name=${bin##*/}
		[[ $name =~ ^(.+)-[0-9a-f]{16}$ ]] && name=${BASH_REMATCH[1]}
		if [ ! -x "$bin" ]; then
			lab "$name" fail "test binary not found or not executable: $bin"
			continue
		fi
		log=$LAB_OUT/tests/$name.log
		start=$SECONDS
		"$bin" --test-threads=1 "${args[@]}" </dev/null >"$log" 2>&1
		rc=$?
		echo "lab: $bin ${args[*]}: exit $rc after $((SECONDS - start)) s"
		failed=() seen=0
		while IFS= read -r l; do
			l=${l%$'\r'}
			[[ $l =~ ^test\ (.+)\ \.\.\.\ (ok|FAILED|ignored)(,.*)?$ ]] || continue
			t=${BASH_REMATCH[1]% - should panic}
			seen=$((seen + 1))
			case ${BASH_REMATCH[2]} in
			ok) lab "$t" pass "$name" ;;
			ignored) lab "$t" skip "$name ignored${BASH_REMATCH[3]}" ;;
			FAILED)
				lab "$t" fail "$name"
				failed+=("$t")
				;;
			esac
		done <"$log"
		for t in "${failed[@]}"; do
			# libtest's "---- NAME stdout ----" section for this test.
			awk -v h="---- $t stdout ----" '
				$0 == h { on = 1; next }
				on && (/^---- .* stdout ----$/ || /^failures:$/) { exit }
				on { print }' "$log" >"$tmp/fail.log"
			[ -s "$tmp/fail.log" ] || tail -n 40 "$log" >"$tmp/fail.log"
			lab_out "$t" "$tmp/fail.log"
		done
		if [ "$rc" -ne 0 ] && [ "${#failed[@]}" -eq 0 ]; then
			lab "$name" fail "$bin exited $rc without a FAILED test (see $log)"
			lab_out "$name" "$log" 40
				elif [ "$seen" -eq 0 ]; then
			lab "$name" fail "$bin ran no test"
		fi
	done <"$list"
fi

# --- d. the Python package's pytest suite (make python-install's venv) ------------------
# Each test of test_lab.py is a check. The rest of the suite (decoding, errors, the
# comparison of every capture with the CLI) depends on no kernel and runs on the host
# (make python-test): under TCG it took 24 of a scenario's 64 s.
pytest=target/python/venv/bin/pytest
if [ ! -x "$pytest" ]; then
	lab python-tests fail "$pytest missing: make python-install (make lab does)"
else
	log=$LAB_OUT/tests/pytest.log
	mkdir -p "$LAB_OUT/tests"
	start=$SECONDS
	PYTHONDONTWRITEBYTECODE=1 "$pytest" -v -p no:cacheprovider python/tests/test_lab.py </dev/null >"$log" 2>&1
	rc=$?
	echo "lab: pytest python/tests/test_lab.py: exit $rc after $((SECONDS - start)) s"
	host_pass=0 host_fail=() lab_seen=0
	while IFS= read -r l; do
		[[ $l =~ ^([^[:space:]]+)::(.+)\ (PASSED|FAILED|SKIPPED|ERROR)(\ .*)?$ ]] || continue
		file=${BASH_REMATCH[1]} t=${BASH_REMATCH[2]} st=${BASH_REMATCH[3]}
		if [[ $file == */test_lab.py ]]; then
			lab_seen=$((lab_seen + 1))
			case $st in
			PASSED) lab "$t" pass pytest ;;
			SKIPPED) lab "$t" skip "pytest${BASH_REMATCH[4]}" ;;
			*) lab "$t" fail "pytest $st" ;;
			esac
		elif [ "$st" = PASSED ] || [ "$st" = SKIPPED ]; then
			host_pass=$((host_pass + 1))
		else
			host_fail+=("$t")
		fi
	done <"$log"
	if [ "${#host_fail[@]}" -gt 0 ] || [ "$rc" -ne 0 ] || [ "$lab_seen" -eq 0 ]; then
		lab_out python-tests "$log" 80
	fi
	if [ "$lab_seen" -eq 0 ]; then
		lab python-tests fail "pytest exited $rc and ran no lab test (see $log)"
	elif [ "${#host_fail[@]}" -gt 0 ]; then
		lab python-tests fail "${#host_fail[@]} failed: ${host_fail[*]}"
	elif [ "$rc" -ne 0 ] && ! grep -q 'FAILED' "$log"; then
		lab python-tests fail "pytest exited $rc (see $log)"
	else
		lab python-tests pass "test_lab.py: $lab_seen tests reported ($host_pass others)"
	fi
fi

# --- e. the Debian packages (make deb), installed with dpkg and used ---------------------
# lab/guest/debs.sh, in a mount namespace of its own: its writable overlays on /usr, /var
# and /etc end with it, so no other check sees the installed packages.
export -f lab lab_out
if command -v unshare >/dev/null; then
	unshare --mount --propagation private bash lab/guest/debs.sh
else
	lab deb-install fail "unshare (util-linux) is missing: the packages are installed in a mount namespace of their own"
fi

rm -rf "$tmp"
exit 0
