"""The queries on a caller's own fds (`ioas_ranges`, `hw_info`, `device_info`,
`region_info`): a fd of the wrong kind is refused before any ioctl, as an OSError naming
the fd, and the fd stays the caller's (open, untouched). The lab (test_lab.py) runs them
on real iommufd and VFIO device fds."""

from __future__ import annotations

import errno
import os
from typing import Any, Callable

import pytest

import vfio_iommu_info as vii

CALLS: dict[str, Callable[[Any], object]] = {
    "ioas_ranges": lambda fd: vii.ioas_ranges(fd, 1),
    "hw_info": lambda fd: vii.hw_info(fd, 1),
    "device_info": vii.device_info,
    "region_info": lambda fd: vii.region_info(fd, 0),
}


@pytest.mark.parametrize("name", CALLS)
def test_a_closed_fd_is_ebadf_naming_it(name: str) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as e:
        CALLS[name](r)
    assert e.value.errno == errno.EBADF, e.value
    assert f"fd {r}" in str(e.value)


@pytest.mark.parametrize("name", CALLS)
def test_dev_null_is_refused_before_any_ioctl_and_stays_open(name: str) -> None:
    with open("/dev/null", "rb") as f:
        with pytest.raises(OSError) as e:
            CALLS[name](f)  # an object with fileno() will do
        assert e.value.errno == errno.ENOTTY, e.value
        assert f"fd {f.fileno()}" in str(e.value) and "character device 1:3" in str(e.value)
        os.fstat(f.fileno())  # still the caller's


@pytest.mark.skipif(not hasattr(os, "eventfd"), reason="os.eventfd is Python 3.10+")
@pytest.mark.parametrize("name", CALLS)
def test_an_eventfd_is_refused_and_stays_open(name: str) -> None:
    fd = os.eventfd(0)  # type: ignore[attr-defined,unused-ignore]
    try:
        with pytest.raises(OSError) as e:
            CALLS[name](fd)
        assert e.value.errno == errno.ENOTTY, e.value
        assert f"fd {fd}" in str(e.value) and "anonymous inode" in str(e.value)
        os.fstat(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("name", CALLS)
def test_arguments_of_the_wrong_kind(name: str) -> None:
    with pytest.raises(ValueError, match="negative"):
        CALLS[name](-1)
    with pytest.raises(TypeError, match="file descriptor"):
        CALLS[name]("/dev/iommu")


def test_ids_and_indexes_are_unsigned_32_bit() -> None:
    with open("/dev/null", "rb") as f:
        for bad in (-1, 2**32):
            with pytest.raises(OverflowError):
                vii.ioas_ranges(f, bad)
            with pytest.raises(OverflowError):
                vii.region_info(f, bad)
