"""IBM POWER's sPAPR TCE container from Python: the fixtures under
tests/fixtures/spapr-tce decode as their meta.txt says, in the same JSON as the CLI's, and
the window calls reach the kernel only when asked (here /dev/null answers ENOTTY)."""

import subprocess
from pathlib import Path

import pytest

import vfio_iommu_info as vii

from conftest import FIXTURES, cli, document

SPAPR = FIXTURES / "spapr-tce"
SYNTH = SPAPR / "synthesized-linux-6.12-pseries"


def test_the_pseries_answer_in_the_shared_model() -> None:
    info = vii.decode_spapr_tce((SYNTH / "info-exact.bin").read_bytes(), "little")
    assert info.default_window == vii.IovaRange(0, 0x3FFF_FFFF)
    assert info.default_window_page_size == 4096
    assert (info.ddw_state, info.ddw_page_sizes, info.ddw_max_windows, info.ddw_levels) == (
        "supported",
        0x1211000,
        2,
        1,
    )
    assert info.ddw_expected_start == 1 << 59
    facts = info.facts
    assert facts.backend == "spapr-tce"
    assert facts.page_sizes is not None and facts.page_sizes.value == 0x1000
    assert facts.dynamic_windows is not None
    assert facts.dynamic_windows.value == {"page_sizes": 0x1211000, "max_dynamic_windows": 2, "levels": 1}
    assert facts.dynamic_windows.source == "spapr:ddw"
    short = vii.decode_spapr_tce((SYNTH / "info-argsz16.bin").read_bytes(), "little")
    assert short.ddw_state == "not_returned" and short.ddw_page_sizes is None
    assert short.facts.dynamic_windows is None


def test_dicts_are_the_clis_json() -> None:
    for capture in sorted(SPAPR.rglob("info-*.bin")):
        info = vii.decode_spapr_tce(capture.read_bytes(), "little")
        r = subprocess.run(
            [str(cli()), "decode", "--kind", "spapr-tce", "--byte-order", "little", "--json", str(capture)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert info.to_dict() == document(r.stdout, 0), capture


def test_malformed_buffers_raise_with_the_offset() -> None:
    data = (SYNTH / "info-exact.bin").read_bytes()
    with pytest.raises(vii.MalformedInfoError, match="byte offset 16"):
        vii.decode_spapr_tce(data[:24], "little")
    with pytest.raises(vii.MalformedInfoError, match="byte offset 4"):
        vii.decode_spapr_tce(data[:4] + b"\x03\0\0\0" + data[8:], "little")


def test_window_calls_only_reach_the_kernel_when_valid(tmp_path: Path) -> None:
    with open("/dev/null", "rb") as null:
        with pytest.raises(ValueError, match="non-zero multiple of the page size"):
            vii.spapr_tce_create_window(null, 16, 0x1000)
        # /dev/null is no VFIO container: refused before or by the ioctl, never created.
        with pytest.raises(OSError):
            vii.spapr_tce_create_window(null, 16, 1 << 32, 1)
        with pytest.raises(OSError):
            vii.spapr_tce_remove_window(null, 1 << 59)
        with pytest.raises(OSError):
            vii.query_spapr_tce(null)
