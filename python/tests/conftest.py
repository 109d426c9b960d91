"""Shared fixtures: the real-kernel captures, the CLI, and the lab scenario."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _package() -> Path:
    import vfio_iommu_info

    return Path(vfio_iommu_info.__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """With VFIO_IOMMU_INFO_EXPECT_IN (python/check-dist sets it to the venv it installed
    the wheel or the sdist into), stops unless the package under test comes from there,
    not from the source tree."""
    expect = os.environ.get("VFIO_IOMMU_INFO_EXPECT_IN")
    if expect and not _package().is_relative_to(Path(expect).resolve()):
        raise pytest.UsageError(
            f"vfio_iommu_info is imported from {_package()}, not from {expect}: "
            "run pytest from outside the source tree with the venv's python"
        )


def pytest_report_header(config: pytest.Config) -> str:
    import vfio_iommu_info

    return f"vfio_iommu_info {vfio_iommu_info.__version__} from {_package()}"


def _meta(directory: Path) -> str:
    meta = directory / "meta.txt"
    return meta.read_text(errors="replace") if meta.exists() else ""


def captures() -> list[Path]:
    """Every capture under tests/fixtures, plus the files and directories listed in
    VFIO_IOMMU_INFO_CAPTURES (colon-separated): captures from other kernels."""
    # Big-endian captures (s390x: meta.txt says "byte_order: big") are not the host's
    # VFIO_IOMMU_GET_INFO buffers; tests/s390x.rs decodes them with their byte order.
    # Nor are sPAPR TCE buffers ("kind: spapr-tce"): test_spapr_tce.py reads those.
    found = [
        p
        for p in sorted(FIXTURES.rglob("*.bin"))
        if "byte_order: big" not in _meta(p.parent) and "kind: spapr-tce" not in _meta(p.parent)
    ]
    for entry in filter(None, os.environ.get("VFIO_IOMMU_INFO_CAPTURES", "").split(":")):
        p = Path(entry)
        found += sorted(p.rglob("*.bin")) if p.is_dir() else [p]
    return found


def cli() -> Path:
    """The vfio-iommu-info binary (VFIO_IOMMU_INFO_CLI, else the workspace's debug build)."""
    path = Path(os.environ.get("VFIO_IOMMU_INFO_CLI") or ROOT / "target" / "debug" / "vfio-iommu-info")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"the CLI is missing at {path}: build it (cargo build -p vfio-iommu-info-cli) "
            "or set VFIO_IOMMU_INFO_CLI"
        )
    return path


def document(text: str, rc: int) -> Any:
    """The CLI's JSON document, checked (`schema_version` 1; a failure's error object
    carries the exit status) and with `schema_version` taken out, as `to_dict()` has it."""
    doc = json.loads(text)
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        assert item.pop("schema_version") == 1, item
    if isinstance(doc, dict) and "error" in doc and rc != 0:
        assert doc["error"]["exit_status"] == rc, doc
    return doc


def cli_json(*args: str) -> tuple[int, Optional[Any], str]:
    """Runs the CLI with --json: (exit status, parsed stdout or None, stderr). On failure
    the error document's message is added to stderr, as the command prints it without
    --json."""
    r = subprocess.run([str(cli()), *args, "--json"], capture_output=True, text=True)
    doc = document(r.stdout, r.returncode)
    if r.returncode != 0:
        return r.returncode, None, r.stderr + f"vfio-iommu-info: {doc['error']['message']}\n"
    return r.returncode, doc, r.stderr


def unhex(v: Any) -> Any:
    """`v` without its `KEY_hex` siblings, each checked to be its integer in hex."""
    if isinstance(v, list):
        return [unhex(x) for x in v]
    if not isinstance(v, dict):
        return v
    for k, h in v.items():
        if k.endswith("_hex"):
            n = v[k[: -len("_hex")]]
            assert h == ([hex(x) for x in n] if isinstance(n, list) else hex(n)), (k, h, n)
    return {k: unhex(x) for k, x in v.items() if not k.endswith("_hex")}


@dataclass
class Lab:
    """The lab scenario the guest runs (lab/README.md's LAB_* environment)."""

    scenario: str
    kernel: str
    viommu: str
    aw_bits: Optional[int]
    dma_entry_limit: Optional[int]
    groups: list[int]
    devices: list[str]
    # /dev/vfio/vfio is iommufd's VFIO compat container (LAB_COMPAT=1: no vfio_iommu_type1).
    compat: bool = False

    @property
    def backend(self) -> str:
        """Who serves /dev/vfio/vfio, as the library names it."""
        return "iommufd-compat" if self.compat else "type1"

    def dma_avail_after(self, avail: int, maps: int) -> int:
        """DMA_AVAIL after `maps` more mappings: type1 counts each; iommufd's compat
        container counts none (it reports U32_MAX whatever is mapped)."""
        return avail if self.compat else avail - maps


def _env(name: str) -> Optional[str]:
    return os.environ.get(name) or None


@pytest.fixture
def lab() -> Lab:
    """The scenario; skips outside the lab (LAB=1, set by lab/run inside the guests) unless
    VFIO_IOMMU_INFO_LIVE_TESTS=1 on a host with VFIO groups."""
    has_vfio = Path("/dev/vfio/vfio").exists()
    if _env("LAB") == "1":
        assert has_vfio, "LAB=1 but /dev/vfio/vfio is missing: the guest did not load vfio"
    elif _env("VFIO_IOMMU_INFO_LIVE_TESTS") != "1" or not has_vfio:
        pytest.skip("not in the lab: make lab runs these inside QEMU guests with a vIOMMU")
    groups_env = _env("LAB_EDU_GROUPS")
    if groups_env:
        groups = [int(g) for g in groups_env.split()]
    else:
        groups = sorted(int(p.name) for p in Path("/dev/vfio").iterdir() if p.name.isdigit())
    assert groups, "no VFIO group to test"
    aw, limit = _env("LAB_AW_BITS"), _env("LAB_DMA_ENTRY_LIMIT")
    return Lab(
        scenario=_env("LAB_SCENARIO") or "host",
        kernel=_env("LAB_KERNEL") or "",
        viommu=_env("LAB_VIOMMU") or "",
        aw_bits=int(aw) if aw else None,
        dma_entry_limit=int(limit) if limit else None,
        groups=groups,
        devices=(_env("LAB_EDU_BDFS") or "").split(),
        compat=_env("LAB_COMPAT") == "1",
    )


def is_closed(fd: int) -> bool:
    """Whether nothing is open under `fd` (fstat says EBADF)."""
    try:
        os.fstat(fd)
    except OSError as e:
        assert e.errno == errno.EBADF
        return True
    return False
