#!/bin/bash
# The Debian packages of `make deb`, installed for real in a lab guest and used. Run by
# lab/guest/checks.sh inside `unshare --mount` (with its lab/lab_out functions exported):
# the host's root is read-only 9p, so /usr, /var and /etc get writable overlays (upper
# layers on the guest's tmpfs) in this mount namespace only, and end with it; nothing
# after this script sees the packages. Checks, each an @@LAB row:
#   deb-install      dpkg -i of the four .debs in target/deb/debs.list (triggers included:
#                    ldconfig, man-db, py3compile), each then "install ok installed";
#   deb-c-example    c-examples/query.c built with `cc $(pkg-config --cflags --libs
#                    vfio-iommu-info)` against the installed -dev package, linked to
#                    /usr/lib/<multiarch>/libvfio_iommu_info.so.0, run on the edu group;
#   deb-cli          /usr/bin/vfio-iommu-info query --json on the same group agrees with the
#                    C example (ranges, holes, page sizes, DMA_AVAIL); its man page and bash
#                    completion are where man and bash find them;
#   deb-python       `import vfio_iommu_info` from /usr/lib/python3/dist-packages with
#                    Debian's python3, importlib.metadata's version, and open_group() on the
#                    group agreeing with the command;
#   deb-purge        dpkg --purge of the four leaves none of their files.
# All of them skip when no .debs were built (no target/deb/debs.list: `make deb`, which
# `make test` runs before the lab); a listed .deb that is missing fails. They run in the
# scenarios of DEB_SCENARIOS only and skip in the others, saying so: about 40 s a scenario
# under TCG (dpkg reads its database over 9p twice), while what they prove (the packages
# install, link, import and work on a real VFIO group) does not depend on the kernel, which
# the full suite covers in every scenario. The two: a Debian kernel with its modules and
# amd-iommu, and the kernel built from source (everything built in, iommufd) with
# intel-iommu.
set -uo pipefail
declare -F lab >/dev/null || {
	echo "debs.sh: run it from lab/guest/checks.sh (it needs its lab function)" >&2
	exit 2
}
debs_start=$SECONDS
checks=(deb-install deb-c-example deb-cli deb-python deb-purge)
skip_all() {
	for c in "${checks[@]}"; do lab "$c" skip "$*"; done
	exit 0
}
fail_rest() { # FROM-CHECK REASON: this check and every later one fail
	local on=0 c
	for c in "${checks[@]}"; do
		[ "$c" = "$1" ] && on=1
		[ "$on" = 1 ] && lab "$c" fail "$2"
	done
	exit 0
}

list=target/deb/debs.list
[ -f "$list" ] || skip_all "no .debs built ($list missing): make deb builds them (make test runs it before the lab)"
DEB_SCENARIOS=(linux-6.12-amd linux-6.12-iommufd-intel-aw48)
selected=0
for sc in "${DEB_SCENARIOS[@]}"; do [ "$sc" = "${LAB_SCENARIO:-}" ] && selected=1; done
[ "$selected" = 1 ] || skip_all "the .debs are installed in ${DEB_SCENARIOS[*]} only (lab/guest/debs.sh says why)"
mapfile -t debs <"$list"
[ "${#debs[@]}" = 4 ] || fail_rest deb-install "$list lists ${#debs[@]} packages, expected 4"
for d in "${debs[@]}"; do
	[ -f "$d" ] || fail_rest deb-install "$d (listed in $list) is missing: make deb"
done
arch=$(dpkg --print-architecture)
deb_arch=$(dpkg-deb -f "${debs[0]}" Architecture)
[ "$deb_arch" = "$arch" ] || skip_all "the .debs are for $deb_arch, this guest runs $arch"
version=$(dpkg-deb -f "${debs[0]}" Version)
upstream=${version%-*}
# (No process substitution here: the guest's /dev has no /dev/fd.)
pkgs=()
for d in "${debs[@]}"; do pkgs+=("$(dpkg-deb -f "$d" Package)"); done
for p in "${pkgs[@]}"; do
	[ -n "$p" ] || fail_rest deb-install "could not read the package names of ${debs[*]}"
done
workspace=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
[ "$upstream" = "$workspace" ] ||
	fail_rest deb-install "the .debs are version $version, the workspace is $workspace: make deb again"
read -ra groups <<<"${LAB_EDU_GROUPS:-}"
[ "${#groups[@]}" -gt 0 ] || fail_rest deb-install "no edu group (LAB_EDU_GROUPS empty)"
group=${groups[0]}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lab-debs.XXXXXX")
log=$LAB_OUT/tests/debs.log
mkdir -p "$LAB_OUT/tests"
: >"$log"
# run OUT COMMAND...: the command with its stdout in OUT (- for none) and both in the log;
# its status returned.
run() {
	local out=$1 rc
	shift
	[ "$out" != - ] || out=/dev/null
	printf '\n$ %s\n' "$*" >>"$log"
	"$@" 2>>"$log" | tee -a "$log" >"$out"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || printf '(exit %s)\n' "$rc" >>"$log"
	return "$rc"
}
# since CHECK: the check's part of the log (from the mark set by `mark`) under a failed row.
mark() { from=$(($(wc -l <"$log") + 1)); }
since() {
	tail -n "+$from" "$log" >"$tmp/part.log"
	lab_out "$1" "$tmp/part.log" 40
}

# --- the overlays -----------------------------------------------------------------------
grep -qw overlay /proc/filesystems ||
	fail_rest deb-install "this kernel has no overlay file system (lab/run loads the overlay module; lab/kernels/*.config build it in)"
for d in usr var etc; do
	mkdir -p "$tmp/ovl/$d/upper" "$tmp/ovl/$d/work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$tmp/ovl/$d/upper,workdir=$tmp/ovl/$d/work" "/$d" 2>"$tmp/mount.err" ||
		fail_rest deb-install "mounting a writable overlay on /$d failed: $(cat "$tmp/mount.err")"
done

# --- deb-install ------------------------------------------------------------------------
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
	[[ $st != *" installed" ]] ||
		fail_rest deb-install "$p is already installed on the host ($st): the check would not install it fresh"
done
# man-db's trigger would rebuild the whole man database (minutes over 9p under TCG): off,
# as the man-db/auto-update setting does; `man -w` below finds the page without it.
rm -f /var/lib/man-db/auto-update
start=$SECONDS
dpkg_log_lines=$(wc -l </var/log/dpkg.log 2>/dev/null || echo 0)
mark
if ! run - dpkg -i "${debs[@]}"; then
	since deb-install
	fail_rest deb-install "dpkg -i failed (see $log)"
fi
secs=$((SECONDS - start))
# dpkg's own log of this install (each step, with its time) into ours.
tail -n "+$((dpkg_log_lines + 1))" /var/log/dpkg.log >>"$log" 2>/dev/null
bad=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f '${Status} ${Version}' "$p" 2>&1)
	[ "$st" = "install ok installed $version" ] || bad+=("$p: $st")
done
[ "${#bad[@]}" = 0 ] || fail_rest deb-install "after dpkg -i: ${bad[*]}"
lab deb-install pass "dpkg -i ${pkgs[*]} ($version) in $secs s"

# --- deb-c-example ----------------------------------------------------------------------
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
c_ok=0
mark
cflags=$(pkg-config --cflags --libs vfio-iommu-info 2>&1)
pc_version=$(pkg-config --modversion vfio-iommu-info 2>&1)
pc_file=$(pkg-config --variable=pcfiledir vfio-iommu-info 2>&1)
if [ "$pc_version" != "$upstream" ] || [ "$pc_file" != "/usr/lib/$ma/pkgconfig" ]; then
	lab deb-c-example fail "pkg-config found vfio-iommu-info $pc_version in $pc_file, expected $upstream in /usr/lib/$ma/pkgconfig"
# shellcheck disable=SC2086 # pkg-config's words
elif ! run - cc -std=c11 -Wall -Wextra -Werror -o "$tmp/query" c-examples/query.c $cflags; then
	since deb-c-example
	lab deb-c-example fail "c-examples/query.c does not build with cc $cflags"
else
	lib=$(ldd "$tmp/query" | awk '$1 == "libvfio_iommu_info.so.0" {print $3}')
	if [ "$(readlink -f "$lib")" != "/usr/lib/$ma/libvfio_iommu_info.so.$upstream" ]; then
		lab deb-c-example fail "query resolves libvfio_iommu_info.so.0 to '${lib:-nothing}', not the package's /usr/lib/$ma/libvfio_iommu_info.so.$upstream"
	elif ! run "$tmp/c.txt" "$tmp/query" "$group"; then
		since deb-c-example
		lab deb-c-example fail "the C example failed on group $group"
	else
		c_ok=1
		lab deb-c-example pass "cc \$(pkg-config --cflags --libs vfio-iommu-info) = cc $cflags, linked to $(readlink -f "$lib"); query $group: $(grep -c '^range ' "$tmp/c.txt") ranges, $(grep -c '^hole ' "$tmp/c.txt") holes"
	fi
fi

# compare C|PYTHON FILE CLI-JSON: the facts the two agree on, or the differences (exit 1).
compare() {
	python3 - "$@" <<'EOF'
import json, sys

kind, path, cli_path = sys.argv[1:4]
cli = json.load(open(cli_path))
want = {
    "ranges": [(r["start"], r["end"]) for r in cli["iova_ranges"] or []],
    "holes": [(r["start"], r["end"]) for r in cli["holes"]],
    "pgsizes": cli["iova_pgsizes"],
    "dma_avail": cli["dma_avail"],
}
if kind == "c":
    got = {"ranges": [], "holes": [], "pgsizes": None, "dma_avail": None}
    for line in open(path):
        f = line.split()
        if f[0] in ("range", "hole"):
            got[f[0] + "s"].append((int(f[1], 0), int(f[2], 0)))
        elif f[0] == "pgsizes" and f[1] != "absent":
            got["pgsizes"] = int(f[1], 0)
        elif f[0] == "dma_avail" and f[1] != "absent":
            got["dma_avail"] = int(f[1])
else:
    got = json.load(open(path))
    got = {k: [tuple(r) for r in v] if isinstance(v, list) else v for k, v in got.items()}
diff = [f"{k}: {kind} {got[k]} vs command {want[k]}" for k in want if got[k] != want[k]]
if diff or not want["ranges"]:
    print("; ".join(diff) or "the command reported no IOVA ranges")
    sys.exit(1)
pgsizes = "none" if want["pgsizes"] is None else hex(want["pgsizes"])
print(f"{len(want['ranges'])} ranges, {len(want['holes'])} holes, page sizes {pgsizes}, DMA_AVAIL {want['dma_avail']}")
EOF
}

# --- deb-cli ----------------------------------------------------------------------------
cli=/usr/bin/vfio-iommu-info
cli_ok=0
mark
if ! "$cli" --version >"$tmp/version" 2>>"$log" || ! grep -q "^vfio-iommu-info $upstream " "$tmp/version"; then
	lab deb-cli fail "$cli --version: '$(cat "$tmp/version")', expected vfio-iommu-info $upstream"
elif ! run "$tmp/cli.json" "$cli" query --json "$group"; then
	since deb-cli
	lab deb-cli fail "$cli query --json $group failed"
else
	cli_ok=1
	man=$(man -w vfio-iommu-info-query 2>&1)
	completion=$(bash -c 'source /usr/share/bash-completion/completions/vfio-iommu-info && complete -p vfio-iommu-info' 2>&1)
	if [ "$man" != /usr/share/man/man1/vfio-iommu-info-query.1.gz ]; then
		lab deb-cli fail "man -w vfio-iommu-info-query: '$man', expected /usr/share/man/man1/vfio-iommu-info-query.1.gz"
	elif [[ $completion != complete* ]]; then
		lab deb-cli fail "the bash completion does not load: $completion"
	elif [ "$c_ok" != 1 ]; then
		lab deb-cli fail "query --json ran, but there is no C example output to compare it with (deb-c-example failed)"
	elif agree=$(compare c "$tmp/c.txt" "$tmp/cli.json" 2>&1); then
		lab deb-cli pass "$cli ($(cat "$tmp/version")) agrees with the C example: $agree; man page and bash completion found"
	else
		lab deb-cli fail "$cli and the C example differ: $agree"
	fi
fi

# --- deb-python -------------------------------------------------------------------------
# From / (not the repo root, whose python/ would shadow nothing but could confuse) with
# Debian's python3 and no PYTHONPATH: the installed package or nothing.
if (cd / && env -u PYTHONPATH PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 - "$group" >"$tmp/py.json" 2>"$tmp/py.err") <<'EOF'; then
import importlib.metadata, json, sys
import vfio_iommu_info as vii

assert vii.__file__.startswith("/usr/lib/python3/dist-packages/vfio_iommu_info/"), vii.__file__
with vii.open_group(int(sys.argv[1])) as container:
    info = container.info
    json.dump({
        "version": importlib.metadata.version("vfio-iommu-info"),
        "file": vii.__file__,
        "ranges": [(r.start, r.end) for r in info.iova_ranges or []],
        "holes": [(r.start, r.end) for r in info.holes],
        "pgsizes": info.iova_pgsizes,
        "dma_avail": info.dma_avail,
    }, sys.stdout)
EOF
	py_version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$tmp/py.json")
	if [ "$py_version" != "$upstream" ]; then
		lab deb-python fail "importlib.metadata.version('vfio-iommu-info') is $py_version, expected $upstream"
	elif [ "$cli_ok" != 1 ]; then
		lab deb-python fail "imported, but there is no command output to compare with (deb-cli failed)"
	elif agree=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); del d["version"], d["file"]; json.dump(d, open(sys.argv[2], "w"))' "$tmp/py.json" "$tmp/py-facts.json" &&
		compare python "$tmp/py-facts.json" "$tmp/cli.json" 2>&1); then
		lab deb-python pass "vfio_iommu_info $py_version from /usr/lib/python3/dist-packages; open_group($group) agrees with the command: $agree"
	else
		lab deb-python fail "the Python package and the command differ: $agree"
	fi
else
	cat "$tmp/py.err" >>"$log"
	lab_out deb-python "$tmp/py.err" 20
	lab deb-python fail "import or open_group($group) with /usr/bin/python3 failed: $(tail -n 1 "$tmp/py.err")"
fi

# --- deb-purge --------------------------------------------------------------------------
dpkg -L "${pkgs[@]}" >"$tmp/files" 2>>"$log"
files=()
while IFS= read -r f; do [ ! -f "$f" ] && [ ! -L "$f" ] || files+=("$f"); done <"$tmp/files"
mark
start=$SECONDS
if ! run - dpkg --purge "${pkgs[@]}"; then
	since deb-purge
	lab deb-purge fail "dpkg --purge failed (see $log)"
else
	left=()
	for f in "${files[@]}"; do [ ! -e "$f" ] && [ ! -L "$f" ] || left+=("$f"); done
	for p in "${pkgs[@]}"; do
		st=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
		[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || left+=("$p: $st")
	done
	secs=$((SECONDS - start))
	if [ "${#files[@]}" -lt 10 ]; then
		lab deb-purge fail "dpkg -L listed only ${#files[@]} files before the purge"
	elif [ "${#left[@]}" = 0 ]; then
		lab deb-purge pass "dpkg --purge removed all ${#files[@]} files of ${pkgs[*]} in $secs s"
	else
		lab deb-purge fail "left after dpkg --purge: ${left[*]}"
	fi
fi
echo "lab: debs.sh: $((SECONDS - debs_start)) s"
# The overlays go with this mount namespace anyway; unmounted first so the tmpfs is freed.
umount /etc /var /usr 2>/dev/null && rm -rf "$tmp"
exit 0
