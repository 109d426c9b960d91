# vfio-iommu-info: one way to run everything. `.ci/run` calls `make test`.
CARGO ?= cargo
LAB_SCENARIOS ?=
# The uapi test compiles against <linux/vfio.h>; under `make` a missing compiler is a failure.
export VFIO_IOMMU_INFO_REQUIRE_CC := 1

DEMO_SCENARIO ?= linux-6.12-amd
# Where cargo puts binaries (CARGO_TARGET_DIR or the workspace's target/).
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
QUERY := $(TARGET_DIR)/debug/examples/query
LAB_FLAGS := $(foreach s,$(LAB_SCENARIOS),-s $(s))

.PHONY: all build test fmt-check clippy unit lab lab-build demo fixtures clean

all: build

build:
	$(CARGO) build --all-targets

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test

# Builds what the guests run: the in-guest test binary (listed in target/lab/tests.list
# for lab/guest/checks.sh) and the example the demo shows.
lab-build:
	mkdir -p target/lab
	$(CARGO) build --examples
	$(CARGO) test --no-run --test lab --message-format=json \
	  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' > target/lab/tests.list
	test -s target/lab/tests.list

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
	  for g in $$groups; do $(QUERY) $$g; echo; done; \
	else \
	  echo "== no VFIO groups on this host: booting $(DEMO_SCENARIO) under QEMU =="; \
	  lab/run -s $(DEMO_SCENARIO) --exec 'for d in $$LAB_EDU_BDFS; do $(QUERY) $$d; done'; \
	  echo; echo "== the same kind of answer from captured buffers (tests/fixtures) =="; \
	  $(QUERY) --decode tests/fixtures/linux-6.1-amd/group-2/info-exact.bin; \
	fi

# After `make lab`: copy the guests' captures into tests/fixtures/.
fixtures:
	lab/update-fixtures

clean:
	$(CARGO) clean
