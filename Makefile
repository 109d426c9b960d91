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

.PHONY: all build test fmt-check clippy unit lab lab-build demo fixtures clean

all: build

build:
	$(CARGO) build --workspace --all-targets

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

# Builds what the guests run: the in-guest test binaries of the core and the CLI (listed
# in target/lab/tests.list for lab/guest/checks.sh), the CLI and the examples.
lab-build:
	mkdir -p target/lab
	$(CARGO) build --workspace --bins --examples
	{ $(CARGO) test --no-run --test lab --message-format=json; \
	  $(CARGO) test --no-run -p vfio-iommu-info-cli --test lab_cli --message-format=json; } \
	  | grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' > target/lab/tests.list
	test "$$(wc -l < target/lab/tests.list)" -eq 2

# The real-kernel matrix: QEMU guests with intel/amd/virtio vIOMMUs (LAB_SCENARIOS=... for a subset).
lab: lab-build
	lab/run $(LAB_FLAGS)

# Everything: style, lints, host tests, then the lab.
test: fmt-check clippy unit lab

# The tool against a real kernel: this host's own VFIO groups when it has some, else a
# QEMU guest with a virtual IOMMU and an edu device bound to vfio-pci.
demo: lab-build
	@set -e; groups=$$(ls /dev/vfio 2>/dev/null | grep -E '^[0-9]+$$' || true); \
	if [ -n "$$groups" ]; then \
	  $(CLI) list; echo; for g in $$groups; do $(CLI) query $$g; echo; done; \
	else \
	  echo "== no VFIO groups on this host: booting $(DEMO_SCENARIO) under QEMU =="; \
	  lab/run -s $(DEMO_SCENARIO) --exec 'set -x; $(CLI) list; $(CLI) query $$LAB_EDU_BDFS; $(CLI) explain $${LAB_EDU_BDFS%% *} --iova 0xfd00000000 --size 0x200000 || echo "(explain exits 1: a check failed)"'; \
	  echo; echo "== a capture from a real Linux 6.1 kernel (tests/fixtures) =="; \
	  $(CLI) decode tests/fixtures/linux-6.1-amd/group-2/info-exact.bin; \
	fi

# After `make lab`: copy the guests' captures into tests/fixtures/.
fixtures:
	lab/update-fixtures

clean:
	$(CARGO) clean
