"""Who owns the number fileno() hands out (issue 18): the library never closes a number
that was closed behind its object's back and has since been given to another file.

Container and IommufdDevice need a real kernel (test_lab.py tests them); their fd
ownership is one piece of code, which the private _FdOwnerForTests runs on any file."""

from __future__ import annotations

import gc
import os
import warnings
from pathlib import Path

import pytest

from conftest import is_closed
from vfio_iommu_info import _native

Owner = _native._FdOwnerForTests  # type: ignore[attr-defined]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "owned"
    p.write_bytes(b"the owner's file")
    return p


def same_file(fd: int, path: Path) -> bool:
    st, want = os.fstat(fd), os.stat(path)
    return (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino)


@pytest.fixture
def other(tmp_path: Path) -> Path:
    p = tmp_path / "unrelated"
    p.write_bytes(b"someone else's file")
    return p


def test_fileno_is_a_duplicate_the_owner_closes(path: Path) -> None:
    o = Owner(path)
    fd = o.fileno()
    assert o.fileno() == fd  # one duplicate, made on the first call
    assert same_file(fd, path)
    assert os.get_inheritable(fd) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o.close()
        o.close()  # idempotent
    assert is_closed(fd)
    with pytest.raises(ValueError, match="closed"):
        o.fileno()


def test_close_leaves_alone_a_number_reused_after_it_was_closed_behind_its_back(
    path: Path, other: Path
) -> None:
    o = Owner(path)
    fd = o.fileno()
    os.close(fd)
    reused = os.open(other, os.O_RDONLY)
    try:
        assert reused == fd  # the lowest free number: the one just closed
        with pytest.warns(RuntimeWarning, match=rf"fd {fd} returned by fileno\(\) was closed behind") as w:
            o.close()
        assert "now names another file, which the library left open" in str(w[0].message)
        assert same_file(reused, other)  # still open, still the unrelated file
        assert os.pread(reused, 7, 0) == b"someone"
    finally:
        os.close(reused)


def test_collection_leaves_alone_a_reused_number(path: Path, other: Path) -> None:
    o = Owner(path)
    fd = o.fileno()
    os.close(fd)
    reused = os.open(other, os.O_RDONLY)
    try:
        assert reused == fd
        with pytest.warns(RuntimeWarning, match=rf"fd {fd} returned by fileno\(\)"):
            del o
            gc.collect()
        assert same_file(reused, other)
    finally:
        os.close(reused)


def test_collection_closes_the_duplicate_it_still_owns(path: Path) -> None:
    o = Owner(path)
    fd = o.fileno()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del o
        gc.collect()
    assert is_closed(fd)


def test_a_number_closed_and_not_reused_is_reported_and_not_closed_again(path: Path) -> None:
    o = Owner(path)
    fd = o.fileno()
    os.close(fd)
    with pytest.warns(RuntimeWarning, match="nothing is open under that number now"):
        o.close()


def test_fileno_after_the_number_was_taken_hands_out_a_fresh_duplicate(path: Path, other: Path) -> None:
    o = Owner(path)
    fd = o.fileno()
    os.close(fd)
    reused = os.open(other, os.O_RDONLY)
    try:
        with pytest.warns(RuntimeWarning, match=rf"fd {fd} returned by fileno\(\)"):
            fresh = o.fileno()
        assert fresh != reused and same_file(fresh, path)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            o.close()  # closes the fresh duplicate, silently, and not the reused number
        assert is_closed(fresh)
        assert same_file(reused, other)
    finally:
        os.close(reused)


def test_warnings_as_errors_still_leave_the_number_alone_and_the_owner_closed(
    path: Path, other: Path
) -> None:
    o = Owner(path)
    fd = o.fileno()
    os.close(fd)
    reused = os.open(other, os.O_RDONLY)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeWarning, match=f"fd {fd}"):
                o.close()
            o.close()  # closed already: nothing more to say
        assert same_file(reused, other)
        with pytest.raises(ValueError, match="closed"):
            o.fileno()
    finally:
        os.close(reused)


def test_a_dup_of_fileno_is_the_callers_own(path: Path) -> None:
    o = Owner(path)
    mine = os.dup(o.fileno())
    try:
        o.close()
        assert same_file(mine, path)  # the README's advice: os.dup() for a fd of your own
    finally:
        os.close(mine)
