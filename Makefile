# vfio-iommu-info: one way to run everything. `.ci/run` calls `make test`.
CARGO ?= cargo
LAB_SCENARIOS ?=
# The uapi test compiles against <linux/vfio.h>; under `make` a missing compiler is a failure.
export VFIO_IOMMU_INFO_REQUIRE_CC := 1

DEMO_SCENARIO ?= linux-6.12-amd
# Where cargo puts binaries (CARGO_TARGET_DIR or the workspace's target/).
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
CLI := $(TARGET_DIR)/debug/vfio-iommu-info
LAB_FLAGS := $(foreach s,$(LAB_SCENARIOS),-s $(s))

# Installation (the C library, its header and pkg-config file, and the tool).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# The JSON Schemas of the command's documents (schemas/), for the tools that check them.
SCHEMADIR ?= $(PREFIX)/share/vfio-iommu-info/schemas
DESTDIR ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The project's address, for the .pc file: [workspace.package] documentation.
URL := $(shell sed -n 's/^documentation = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
SO := libvfio_iommu_info.so
FFI_OUT := $(TARGET_DIR)/ffi
# A staged install for the C examples (make c-test) and the lab's C checks.
STAGE := $(CURDIR)/target/c-stage
C_OUT := $(CURDIR)/target/c-examples
C_TESTS_OUT := $(CURDIR)/target/c-tests

# The Debian packages each entry point needs, as packaging/need ITEMs (COMMAND=PACKAGE,
# /PATH=PACKAGE or PACKAGE): installed when missing (as root), else the command to run.
NEED_BUILD := cc=gcc libc6-dev /etc/ssl/certs/ca-certificates.crt=ca-certificates
NEED_LAB := qemu-system-x86_64=qemu-system-x86 busybox-static cpio=cpio xz=xz-utils depmod=kmod \
	/usr/share/misc/pci.ids=pci.ids
# Rust comes from rustup (Debian's is older than rust-version).
NEED_CARGO = command -v $(CARGO) >/dev/null || { echo "need: cargo is missing: install Rust 1.95 with rustup (https://rustup.rs)" >&2; exit 1; }
NEED_TEST := $(NEED_BUILD) $(NEED_LAB) c++=g++ pkg-config=pkg-config readelf=binutils \
	valgrind=valgrind abidiff=abigail-tools /usr/include/linux/vfio.h=linux-libc-dev \
	python3=python3 python3-venv man=man-db

.PHONY: all build test fmt-check clippy unit lab lab-build demo fixtures clean \
	need-test doc-check lib header elf-check abi-check abi-baseline install install-lib uninstall install-check publish-check c-build c-test cargo-c-check python-install \
	python-test python-dist python-dist-check bench fuzz-smoke fuzz deb ioctl-check

all: build

build:
	$(CARGO) build --workspace --all-targets

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

# The API docs as docs.rs builds them (the json feature), warnings as errors.
doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

# Coverage-guided fuzzing (FUZZING.md): every fuzz target for FUZZ_SMOKE_SECONDS after
# replaying fuzz/regressions/ (about a minute warm), or for FUZZ_SECONDS (`make fuzz`).
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_SECONDS ?= 420
fuzz-smoke:
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) fuzz/run smoke

fuzz:
	fuzz/run long $(FUZZ_SECONDS)

# The C library: libvfio_iommu_info.so.0 (SONAME, version node: see ffi/build.rs) and the
# static archive, built separately because only the shared one carries symbol versions.
lib:
	VFIO_IOMMU_INFO_LINK=cdylib $(CARGO) rustc -p vfio-iommu-info-ffi --lib --release --crate-type cdylib
	mkdir -p $(FFI_OUT)
	cp $(TARGET_DIR)/release/libvfio_iommu_info_ffi.so $(FFI_OUT)/$(SO).$(VERSION)
	VFIO_IOMMU_INFO_LINK=staticlib $(CARGO) rustc -p vfio-iommu-info-ffi --lib --release --crate-type staticlib
	cp $(TARGET_DIR)/release/libvfio_iommu_info_ffi.a $(FFI_OUT)/libvfio_iommu_info.a

# Regenerates include/vfio_iommu_info.h from ffi/src (cbindgen, pinned by Cargo.lock).
header:
	VFIO_IOMMU_INFO_BLESS=1 $(CARGO) test -p vfio-iommu-info-ffi --test header

# Reads the shared library's ELF: SONAME, exports, version node.
elf-check: lib
	packaging/check-elf $(FFI_OUT)/$(SO).$(VERSION) include/vfio_iommu_info.h

# The header's ABI (functions with their version nodes, struct layouts, constants) against
# packaging/abi/libvfio_iommu_info.so.0.abi with libabigail's abidiff (packaging/check-abi),
# then the check's self-test: incompatible variants of the header must fail, an addition pass.
abi-check:
	packaging/check-abi
	packaging/check-abi --self-test

# Records the header's ABI as the baseline, after a compatible addition (a release's new
# functions and constants, a field appended to a sized struct); review and commit it.
abi-baseline:
	packaging/check-abi --update

install-lib: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(FFI_OUT)/$(SO).$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SO).$(VERSION) $(DESTDIR)$(LIBDIR)/$(SO).0
	ln -sf $(SO).0 $(DESTDIR)$(LIBDIR)/$(SO)
	install -m 0644 $(FFI_OUT)/libvfio_iommu_info.a $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/vfio_iommu_info.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@URL@|$(URL)|' packaging/vfio-iommu-info.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/vfio-iommu-info.pc

# The command with its man pages and bash, zsh and fish completions, all generated by the
# command itself from its definition (`vfio-iommu-info generate`).
GEN := $(CURDIR)/target/generated
install: install-lib
	$(CARGO) build --release -p vfio-iommu-info-cli
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	  $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(TARGET_DIR)/release/vfio-iommu-info $(DESTDIR)$(BINDIR)/
	rm -rf $(GEN) && mkdir -p $(GEN)/man
	$(TARGET_DIR)/release/vfio-iommu-info generate man $(GEN)/man >/dev/null
	$(TARGET_DIR)/release/vfio-iommu-info generate completions bash > $(GEN)/vfio-iommu-info.bash
	$(TARGET_DIR)/release/vfio-iommu-info generate completions zsh > $(GEN)/_vfio-iommu-info
	$(TARGET_DIR)/release/vfio-iommu-info generate completions fish > $(GEN)/vfio-iommu-info.fish
	install -m 0644 $(GEN)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(GEN)/vfio-iommu-info.bash $(DESTDIR)$(BASHCOMPDIR)/vfio-iommu-info
	install -m 0644 $(GEN)/_vfio-iommu-info $(DESTDIR)$(ZSHCOMPDIR)/_vfio-iommu-info
	install -m 0644 $(GEN)/vfio-iommu-info.fish $(DESTDIR)$(FISHCOMPDIR)/vfio-iommu-info.fish
	install -d $(DESTDIR)$(SCHEMADIR)
	install -m 0644 schemas/*.schema.json $(DESTDIR)$(SCHEMADIR)/

# Removes exactly what `make install` put there (same PREFIX and DESTDIR).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vfio-iommu-info \
	  $(DESTDIR)$(MANDIR)/man1/vfio-iommu-info.1 $(DESTDIR)$(MANDIR)/man1/vfio-iommu-info-*.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/vfio-iommu-info $(DESTDIR)$(ZSHCOMPDIR)/_vfio-iommu-info \
	  $(DESTDIR)$(FISHCOMPDIR)/vfio-iommu-info.fish \
	  $(DESTDIR)$(LIBDIR)/$(SO).$(VERSION) $(DESTDIR)$(LIBDIR)/$(SO).0 $(DESTDIR)$(LIBDIR)/$(SO) \
	  $(DESTDIR)$(LIBDIR)/libvfio_iommu_info.a $(DESTDIR)$(INCLUDEDIR)/vfio_iommu_info.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/vfio-iommu-info.pc \
	  $(patsubst schemas/%,$(DESTDIR)$(SCHEMADIR)/%,$(wildcard schemas/*.schema.json))

# The three crates the registry gets (the core, the C library crate, the command),
# packaged and each built from its package alone; nothing is uploaded. `--allow-dirty` so
# it runs during work too (CI's clone is clean).
# Cargo verifies each package against the others through a temporary registry, and takes
# a registry crate it has extracted (under $CARGO_HOME/registry/src/-HASH/) or built once
# for unchanged: a change made without a version bump would be verified against the stale
# copy. So our packages' extracted copies and builds go first, and the verification builds
# in its own target directory, where nothing else leaves a build of our crates.
PUBLISH_TARGET := $(CURDIR)/target/publish-check
publish-check:
	rm -rf "$${CARGO_HOME:-$$HOME/.cargo}"/registry/src/-*/vfio-iommu-info-* \
	  $(PUBLISH_TARGET)/package $(PUBLISH_TARGET)/debug/.fingerprint/vfio-iommu-info-* \
	  $(PUBLISH_TARGET)/debug/deps/*vfio_iommu_info*
	$(CARGO) publish --dry-run --allow-dirty --target-dir $(PUBLISH_TARGET) \
	  -p vfio-iommu-info -p vfio-iommu-info-ffi -p vfio-iommu-info-cli

# `make install` into a stage, checked (the man pages render, the bash completion loads,
# the command runs from the stage), then `make uninstall` leaves no file behind.
INSTALL_STAGE := $(CURDIR)/target/install-stage
install-check:
	rm -rf $(INSTALL_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(INSTALL_STAGE) PREFIX=/usr
	packaging/check-install $(INSTALL_STAGE) /usr $(VERSION)
	$(MAKE) --no-print-directory uninstall DESTDIR=$(INSTALL_STAGE) PREFIX=/usr
	test -z "$$(find $(INSTALL_STAGE) -type f -o -type l)" || \
	  { echo "install-check: make uninstall left:"; find $(INSTALL_STAGE) -type f -o -type l; exit 1; }

# The C examples (c-examples/) and the C test programs (ffi/tests/c/), each built from a
# copy outside the tree against a staged install with nothing but pkg-config (plain,
# ASan+UBSan, static), and the header alone as C and C++.
c-build:
	rm -rf $(STAGE) && $(MAKE) --no-print-directory install-lib DESTDIR=$(STAGE) PREFIX=/usr
	packaging/check-elf $(STAGE)/usr/lib/$(SO).$(VERSION) $(STAGE)/usr/include/vfio_iommu_info.h
	c-examples/build-outside $(STAGE) $(C_OUT)
	c-examples/build-outside $(STAGE) $(C_TESTS_OUT) ffi/tests/c

# The C examples against every fixture (compared with the CLI) and the C test programs,
# plain, under ASan+UBSan, static and under valgrind; then cargo-c's build of the library
# replayed with cargo alone (one rustc call for the .so and the .a, `--cfg cargo_c`): the
# same ELF identity, an archive that links statically, make's programs run on its .so.0.
c-test: c-build build
	ffi/tests/c/run-tests $(STAGE) $(C_OUT) $(C_TESTS_OUT) $(CLI)
	packaging/check-cargo-c-replay $(STAGE) $(C_OUT)

# The real cargo-c (`cargo cinstall`, as a packager runs it) against `make install-lib`:
# the same files, ELF identity, header and pkg-config answers, and the C examples and tests
# against its install, from the tree and from the packaged crates (about 2 minutes).
# Opt-in: building cargo-c 0.10.24 took 24 minutes here (`cargo install --locked`, 2 cores
# shared with other builds), so packaging/check-cargo-c takes it from PATH or
# ~/.cache/vfio-iommu-info/tools/cargo-c and says how to install it when absent.
cargo-c-check: c-build
	packaging/need "cargo-c check: the C examples and tests against cargo-c's install" cc=gcc pkg-config valgrind readelf=binutils
	$(CARGO) build -p vfio-iommu-info-cli
	packaging/check-cargo-c $(STAGE) $(C_OUT) $(CLI)

# The Python package as PyPI gets it (python/build-dist): the manylinux2014 abi3 wheel
# (maturin --zig, from the tools in target/python/tools) and the sdist, in target/python/dist,
# checked with auditwheel show (manylinux or fail), their licences and metadata, twine check.
PYTHON ?= python3
PY_DIST := $(CURDIR)/target/python/dist
python-dist:
	packaging/need "make python-dist (venvs with pip for the build tools)" python3=python3 python3-venv
	PYTHON=$(PYTHON) python/build-dist $(PY_DIST)

# Each of them installed into a clean venv with `pip install --no-index --find-links`
# (the sdist built by pip from itself alone), the pytest suite run against the installed one.
python-dist-check: python-dist build
	PYTHON=$(PYTHON) python/check-dist $(PY_DIST) $(CLI)

# The Python package: a fresh venv (target/python/venv) with the wheel of python-dist, and
# the test tools; the lab's guests run its pytest from there.
PY_VENV := $(CURDIR)/target/python/venv
python-install: python-dist
	rm -rf $(PY_VENV) && $(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-index \
	  --find-links $(PY_DIST) --only-binary vfio-iommu-info vfio-iommu-info==$(VERSION)
	cd / && $(PY_VENV)/bin/python -c 'import vfio_iommu_info as v; print("python: vfio_iommu_info", v.__version__, "from", v.__file__)'
	$(PY_VENV)/bin/python -m pip install -q --disable-pip-version-check -r python/requirements-dev.txt

# The stubs against the built module (mypy.stubtest, run from an empty folder of ours so
# the installed package is the one checked and its cache is writable), the tests and stubs
# under mypy --strict, pytest (the lab tests skip on the host), the same wheel on every
# other CPython >= 3.9 here, and the wheel and the sdist each from a clean venv
# (python-dist-check).
python-test: python-install build python-dist-check
	mkdir -p target/python/stubtest && cd target/python/stubtest && $(PY_VENV)/bin/python -m mypy.stubtest vfio_iommu_info
	cd python && $(PY_VENV)/bin/python -m mypy --strict tests vfio_iommu_info
	PYTHONDONTWRITEBYTECODE=1 VFIO_IOMMU_INFO_CLI=$(CLI) $(PY_VENV)/bin/pytest -p no:cacheprovider python/tests
	python/check-abi3 $(PY_VENV)/bin/python target/python/abi3 $(PY_DIST)

# The benchmarks (BENCHMARKS.md), side by side in one run: decode against the unchecked C
# walk, the allocator against a linear scan (criterion), then Python's decode(), then
# `list --snapshot` of a 4096-device host against the shell loop with lspci (Debian's
# pciutils, downloaded once into ~/.cache/vfio-iommu-info/bench; about 2.5 minutes).
bench: python-install
	$(CARGO) bench -p vfio-iommu-info-bench
	bench/report $(TARGET_DIR)
	$(PY_VENV)/bin/python bench/python_decode.py
	CARGO=$(CARGO) bench/list_snapshot $(TARGET_DIR)

# The Debian packages (debian/): dpkg-buildpackage -b on a copy of the tree in target/deb/,
# lintian with no error or warning, the packaged library's ELF against the export list,
# and target/deb/debs.list, whose .debs the lab's guests install and use
# (lab/guest/debs.sh). About 1.5 min warm (packaging/build-deb says why it passes -d).
deb:
	packaging/need "the Debian packages (make deb): dpkg-buildpackage, debhelper, dh_python3, lintian, a venv for maturin, the wheel installer" dpkg-dev debhelper dh-python lintian python3 python3-venv python3-installer
	packaging/build-deb

# Builds what the guests run: the in-guest test binaries of the core and the CLI (listed
# in target/lab/tests.list for lab/guest/checks.sh), the CLI, the examples, the
# Python package's venv (its pytest runs in the guests too), and QEMU 10.0.2 with
# clients/qemu/*.patch against the staged library (lab/build-qemu: cached; about 10 min
# on 2 cores when not; target/lab/qemu-patched.list for the QEMU oracle).
lab-build: c-build python-install
	@packaging/need "make lab" $(NEED_LAB)
	mkdir -p target/lab
	nice -n 10 lab/build-qemu
	$(CARGO) build --workspace --bins --examples
	{ $(CARGO) test --no-run --test lab --message-format=json; \
	  $(CARGO) test --no-run --test lab_iommufd --message-format=json; \
	  $(CARGO) test --no-run --test lab_own_fds --message-format=json; \
	  $(CARGO) test --no-run -p vfio-iommu-info-cli --test lab_cli --message-format=json; \
	  $(CARGO) test --no-run -p vfio-iommu-info-ffi --test lab_c --message-format=json; \
	  $(CARGO) test --no-run -p vfio-iommu-info-rust-vmm --test lab_vfio_ioctls --message-format=json; } \
	  | grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' > target/lab/tests.list
	test "$$(wc -l < target/lab/tests.list)" -eq 6
	# QEMU as the oracle (lab/guest/checks.sh runs it in the x86 guests): its test binary
	# and the QEMU 10 it runs (lab/qemu10: bookworm-backports, unpacked into the cache).
	$(CARGO) test --no-run --test qemu_oracle --message-format=json \
	  | sed -n 's/.*"kind":\["test"\].*"executable":"\([^"]*\)".*/\1/p' > target/lab/oracle.list
	test "$$(wc -l < target/lab/oracle.list)" -eq 1
	lab/qemu10 > target/lab/qemu.list
	# The host side of the foreign guests (lab/arch/ARCH's host_test): lab/foreign.sh runs
	# it on the guest's capture.
	$(CARGO) test --no-run --test s390x --test foreign --test spapr_lab --test arm64_iommufd

# The real-kernel matrix: QEMU guests with intel/amd/virtio vIOMMUs (LAB_SCENARIOS=... for a subset).
lab: lab-build
	lab/run $(LAB_FLAGS)

# The ioctl numbers of every architecture in vfio_iommu_info::ioc::LINUX_ARCHES against
# that architecture's own headers: its cross gcc and asm/ioctl.h, Linux 6.12's
# linux/vfio.h and linux/iommufd.h (packaging/uapi-headers: fetched once, cached);
# tests/ioctl_arch.rs generates a file of _Static_asserts per architecture. A second warm.
IOCTL_ARCHES := i386:i686-linux-gnu arm64:aarch64-linux-gnu armel:arm-linux-gnueabi \
	armhf:arm-linux-gnueabihf riscv64:riscv64-linux-gnu s390x:s390x-linux-gnu \
	mips64el:mips64el-linux-gnuabi64 mipsel:mipsel-linux-gnu ppc64el:powerpc64le-linux-gnu \
	ppc64:powerpc64-linux-gnu powerpc:powerpc-linux-gnu sparc64:sparc64-linux-gnu \
	alpha:alpha-linux-gnu hppa:hppa-linux-gnu m68k:m68k-linux-gnu sh4:sh4-linux-gnu
NEED_IOCTL := x86_64-linux-gnu-gcc=gcc /usr/include/x86_64-linux-gnu/asm/ioctl.h=linux-libc-dev \
	$(foreach a,$(IOCTL_ARCHES),$(word 2,$(subst :, ,$(a)))-gcc=gcc-$(word 2,$(subst :, ,$(a))) \
	/usr/$(word 2,$(subst :, ,$(a)))/include/asm/ioctl.h=linux-libc-dev-$(word 1,$(subst :, ,$(a)))-cross)
ioctl-check:
	@packaging/need "make ioctl-check: a gcc and the kernel headers of each architecture" $(NEED_IOCTL)
	VFIO_IOMMU_INFO_UAPI_INCLUDE="$$(packaging/uapi-headers)" $(CARGO) test --test ioctl_arch -- --ignored --nocapture

# What `make test` needs from the system (packaging/need) and from rustup.
need-test:
	@$(NEED_CARGO)
	@packaging/need "make test" $(NEED_TEST)
	@$(CARGO) fmt --version >/dev/null 2>&1 && $(CARGO) clippy --version >/dev/null 2>&1 || \
	  { echo "need: adding the rustup components rustfmt and clippy (for make test)"; rustup component add rustfmt clippy >/dev/null; }

# Everything: style, lints, host tests (Rust, C, Python), then the lab.
test: need-test fmt-check clippy doc-check unit ioctl-check fuzz-smoke abi-check c-test install-check publish-check python-test deb lab

# The tool against a real kernel: this host's own VFIO groups when it has some, else a
# QEMU guest with a virtual IOMMU and an edu device bound to vfio-pci (lab/demo). Builds
# only the command. The first run downloads the crates it needs and Debian's kernel image
# for $(DEMO_SCENARIO), and installs what is missing of gcc, QEMU, busybox (packaging/need).
DEMO_LOG := $(CURDIR)/target/demo/build.log
demo:
	@echo "demo: [1/3] the system packages it needs (packaging/need)"
	@$(NEED_CARGO)
	@packaging/need "make demo" $(NEED_BUILD) $(if $(wildcard /dev/vfio/[0-9]*),,$(NEED_LAB))
	@echo "demo: [2/3] building the command and the QEMU oracle (cargo build -p vfio-iommu-info-cli; log: target/demo/build.log)"
	@mkdir -p $(dir $(DEMO_LOG)) target/lab && { $(CARGO) build -p vfio-iommu-info-cli && \
	  $(CARGO) test --no-run --test qemu_oracle --message-format=json \
	    | sed -n 's/.*"kind":\["test"\].*"executable":"\([^"]*\)".*/\1/p' > target/lab/oracle.list && \
	  { [ -n "$(wildcard /dev/vfio/[0-9]*)" ] || lab/qemu10 > target/lab/qemu.list; }; } >$(DEMO_LOG) 2>&1 || \
	  { tail -n 40 $(DEMO_LOG); echo "demo: the build failed (whole log: $(DEMO_LOG))" >&2; exit 1; }
	@echo "demo: [3/3] running it"
	@lab/demo $(CLI) $(DEMO_SCENARIO) "$$(cat target/lab/oracle.list)"

# After `make lab`: copy the guests' captures into tests/fixtures/.
fixtures:
	lab/update-fixtures

clean:
	$(CARGO) clean
