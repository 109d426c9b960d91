"""Errors the Python way, on any host: kernel refusals as OSError subclasses with errno
and the library's message, the library's own conditions as VfioError, bad arguments as
ValueError/TypeError."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import vfio_iommu_info as vii


def test_the_exception_hierarchy() -> None:
    assert issubclass(vii.MalformedInfoError, ValueError)
    assert issubclass(vii.VfioError, OSError)
    assert issubclass(vii.GroupNotViableError, vii.VfioError)
    assert vii.MalformedInfoError.__module__ == "vfio_iommu_info"


def test_query_a_negative_fd() -> None:
    with pytest.raises(ValueError, match=r"negative integer \(-1\)"):
        vii.query(-1)


def test_query_a_closed_fd_is_ebadf() -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as e:
        vii.query(r)
    assert e.value.errno == errno.EBADF
    assert f"fd {r}" in str(e.value)


def test_query_a_file_that_is_not_vfio_is_enotty() -> None:
    with open("/dev/null", "rb") as f:
        with pytest.raises(OSError) as e:
            vii.query(f)  # an object with fileno()
        assert e.value.errno == errno.ENOTTY
        # Refused on what the fd is, before VFIO_IOMMU_GET_INFO reaches it.
        assert f"fd {f.fileno()} is a character device 1:3 (mem), not a VFIO container" in str(e.value)
        with pytest.raises(OSError) as e2:
            vii.query(f.fileno())
        assert e2.value.errno == errno.ENOTTY


def test_query_something_that_is_no_fd() -> None:
    with pytest.raises(TypeError, match="expected a file descriptor"):
        vii.query("3")  # type: ignore[arg-type]


def test_a_group_that_does_not_exist() -> None:
    with pytest.raises(FileNotFoundError) as e:
        vii.open_group(4_000_000_000)
    assert e.value.errno == errno.ENOENT
    assert "/dev/vfio/4000000000" in str(e.value)
    with pytest.raises(FileNotFoundError):
        vii.open_group("/dev/vfio/4000000000")
    with pytest.raises(FileNotFoundError):
        vii.open_group(Path("/dev/vfio/4000000000"))
    with pytest.raises(FileNotFoundError):
        vii.check_group(4_000_000_000)


def test_targets_that_are_not_targets() -> None:
    with pytest.raises(ValueError, match="is a PCI address, not an IOMMU group: use for_device"):
        vii.open_group("0000:00:02.0")
    with pytest.raises(ValueError, match="not an IOMMU group number"):
        vii.open_group(-1)
    with pytest.raises(ValueError, match="is not a target"):
        vii.open_group("four")
    with pytest.raises(TypeError):
        vii.open_group(4.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a target"):
        vii.for_device("0000:zz:00.0")
    with pytest.raises(ValueError, match="at least one"):
        vii.open_container()


def test_a_pci_device_that_does_not_exist() -> None:
    with pytest.raises(FileNotFoundError) as e:
        vii.for_device("0000:fe:1f.7")
    assert e.value.errno == errno.ENOENT
    assert "lspci" in str(e.value) and "0000:fe:1f.7" in str(e.value)


def pci_device_without_iommu_group() -> str | None:
    devices = Path("/sys/bus/pci/devices")
    if not devices.is_dir():
        return None
    for d in sorted(devices.iterdir()):
        if not (d / "iommu_group").exists():
            return d.name
    return None


def test_a_pci_device_without_an_iommu_group() -> None:
    device = pci_device_without_iommu_group()
    if device is None:
        pytest.skip("every PCI device of this host has an IOMMU group (or there is no PCI)")
    with pytest.raises(vii.VfioError) as e:
        vii.for_device(device)
    assert e.value.code == "no_iommu_group"
    assert e.value.errno is None
    assert f"PCI device {device} has no IOMMU group" in str(e.value)
    assert "intel_iommu=on" in str(e.value)
