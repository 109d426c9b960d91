//! The entry points on a caller's own fds, against real kernels (`make lab` runs these in
//! every scenario's guest; on a host outside the lab they skip).
//!
//! The fds are made the way a VMM makes them, with raw ioctls and nothing of the library:
//! a type1 container with the edu device's group attached and a device fd from
//! `VFIO_GROUP_GET_DEVICE_FD`; where the kernel has iommufd, a `/dev/iommu` fd with an IOAS
//! and the device's cdev bound and attached. The library's answers on them must equal the
//! answers it gives when it opens everything itself, and bad fds and ids must get errors
//! naming them.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use vfio_iommu_info::query::device::{device_info, region_info};
use vfio_iommu_info::query::iommufd::{hw_info, ioas_ranges};
use vfio_iommu_info::query::report::IommufdReport;
use vfio_iommu_info::sys::uapi;
use vfio_iommu_info::{
    open_and_query, query_type1, Errno, Error, ErrorKind, HostPaths, PciAddress, Target,
};

struct Lab {
    iommufd: bool,
    edu: PciAddress,
    group: u32,
}

fn lab() -> Option<Lab> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("LAB").as_deref() != Some("1") {
        eprintln!("skipped: not in the lab (make lab runs these inside QEMU guests)");
        return None;
    }
    let first = |k: &str| env(k).and_then(|v| v.split_whitespace().next().map(str::to_owned));
    Some(Lab {
        iommufd: env("LAB_IOMMUFD").as_deref() == Some("1"),
        edu: first("LAB_EDU_BDFS")
            .expect("LAB_EDU_BDFS")
            .parse()
            .unwrap(),
        group: first("LAB_EDU_GROUPS")
            .expect("LAB_EDU_GROUPS")
            .parse()
            .unwrap(),
    })
}

fn rdwr(path: &str) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `ioctl(fd, request, arg)`, asserting success; returns the ioctl's value.
///
/// # Safety
/// `arg` must be what `request` takes.
unsafe fn ioctl(fd: BorrowedFd<'_>, request: u32, arg: libc::c_ulong) -> i32 {
    // SAFETY: the caller's contract.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg) };
    assert!(
        ret >= 0,
        "ioctl {request:#x}: {}",
        std::io::Error::last_os_error()
    );
    ret
}

/// A type1 container with the group attached and a device fd, made as QEMU's
/// `hw/vfio/container.c` makes them.
struct Type1Fds {
    container: File,
    _group: File,
    device: OwnedFd,
}

fn type1_fds(lab: &Lab) -> Type1Fds {
    let container = rdwr("/dev/vfio/vfio");
    let group = rdwr(&format!("/dev/vfio/{}", lab.group));
    let cfd: libc::c_int = container.as_raw_fd();
    let name = CString::new(lab.edu.to_string()).unwrap();
    // SAFETY: SET_CONTAINER reads an int through the pointer to the live `cfd`; SET_IOMMU
    // takes a value; GET_DEVICE_FD reads the NUL-terminated `name`.
    let device = unsafe {
        ioctl(
            group.as_fd(),
            uapi::VFIO_GROUP_SET_CONTAINER,
            &cfd as *const _ as _,
        );
        ioctl(
            container.as_fd(),
            uapi::VFIO_SET_IOMMU,
            uapi::VFIO_TYPE1V2_IOMMU.into(),
        );
        ioctl(
            group.as_fd(),
            uapi::VFIO_GROUP_GET_DEVICE_FD,
            name.as_ptr() as _,
        )
    };
    Type1Fds {
        container,
        _group: group,
        // SAFETY: a new descriptor the ioctl returned, owned by nobody else.
        device: unsafe { OwnedFd::from_raw_fd(device) },
    }
}

/// An iommufd with an IOAS and the device's cdev bound and attached, made as QEMU's
/// `hw/vfio/iommufd.c` makes them.
struct IommufdFds {
    iommufd: File,
    device: File,
    ioas: u32,
    dev_id: u32,
}

fn iommufd_fds(lab: &Lab) -> IommufdFds {
    let name = HostPaths::default()
        .sysfs
        .vfio_cdev_of_device(&lab.edu)
        .unwrap()
        .expect("the edu device has a VFIO cdev");
    let device = rdwr(&format!("/dev/vfio/devices/{name}"));
    let iommufd = rdwr("/dev/iommu");
    let mut bind = uapi::VfioDeviceBindIommufd {
        argsz: std::mem::size_of::<uapi::VfioDeviceBindIommufd>() as u32,
        flags: 0,
        iommufd: iommufd.as_raw_fd(),
        out_devid: 0,
    };
    let mut alloc = uapi::IommuIoasAlloc {
        size: std::mem::size_of::<uapi::IommuIoasAlloc>() as u32,
        ..Default::default()
    };
    // SAFETY: each argument is the live, exclusively borrowed structure the request takes,
    // with no user pointer inside.
    unsafe {
        ioctl(
            device.as_fd(),
            uapi::VFIO_DEVICE_BIND_IOMMUFD,
            &mut bind as *mut _ as _,
        );
        ioctl(
            iommufd.as_fd(),
            uapi::IOMMU_IOAS_ALLOC,
            &mut alloc as *mut _ as _,
        );
    }
    let mut attach = uapi::VfioDeviceAttachIommufdPt {
        argsz: std::mem::size_of::<uapi::VfioDeviceAttachIommufdPt>() as u32,
        flags: 0,
        pt_id: alloc.out_ioas_id,
    };
    // SAFETY: as above.
    unsafe {
        ioctl(
            device.as_fd(),
            uapi::VFIO_DEVICE_ATTACH_IOMMUFD_PT,
            &mut attach as *mut _ as _,
        )
    };
    IommufdFds {
        iommufd,
        device,
        ioas: alloc.out_ioas_id,
        dev_id: bind.out_devid,
    }
}

/// A descriptor number that is not open.
fn closed_fd() -> BorrowedFd<'static> {
    let f = File::open("/dev/null").unwrap();
    let raw = f.as_raw_fd();
    drop(f);
    // SAFETY: only passed to calls that must refuse it (fstat then says EBADF); nothing
    // else opens files in this test while it is used.
    unsafe { BorrowedFd::borrow_raw(raw) }
}

#[test]
fn lab_type1_answers_on_the_vmms_own_fds_equal_the_librarys() {
    let Some(lab) = lab() else { return };
    // The library's own answer first: a group is opened by one container at a time.
    let (container, info) = open_and_query(&Target::Device(lab.edu)).unwrap();
    drop(container);
    let fds = type1_fds(&lab);
    let mine = query_type1(fds.container.as_fd()).unwrap();
    assert_eq!(mine.iova_ranges, info.iova_ranges);
    assert_eq!(mine.iova_pgsizes, info.iova_pgsizes);

    let dev = device_info(fds.device.as_fd()).unwrap();
    assert_eq!((dev.num_regions, dev.num_irqs), (9, 5));
    for index in 0..dev.num_regions {
        match region_info(fds.device.as_fd(), index) {
            Ok(r) => assert_eq!(r.index, index),
            // vfio-pci's VGA region exists only on a VGA device.
            Err(e) => assert_eq!((index, e.errno()), (8, Some(Errno(libc::EINVAL))), "{e}"),
        }
    }
    let bar0 = region_info(fds.device.as_fd(), 0).unwrap();
    assert_eq!(bar0.size, 1 << 20, "edu's BAR0 is 1 MiB");
}

#[test]
fn lab_bad_fds_and_ids_get_errors_naming_them() {
    let Some(lab) = lab() else { return };
    let fds = type1_fds(&lab);
    // A region index past the end: EINVAL naming the index.
    let e = region_info(fds.device.as_fd(), 42).unwrap_err();
    assert_eq!(e.errno(), Some(Errno(libc::EINVAL)), "{e}");
    assert!(e.to_string().contains("the device has no region 42"), "{e}");
    // The wrong kind of fd for each call, refused before any ioctl.
    for e in [
        device_info(fds.container.as_fd()).unwrap_err(),
        ioas_ranges(fds.device.as_fd(), 1).unwrap_err(),
        hw_info(fds.container.as_fd(), 1).unwrap_err(),
        query_type1(fds.device.as_fd()).unwrap_err(),
    ] {
        assert!(matches!(e, Error::WrongNode { .. }), "{e}");
        assert_eq!(e.kind(), ErrorKind::Os(Errno(libc::ENOTTY)), "{e}");
    }
    // A closed fd: EBADF naming the fd.
    let closed = closed_fd();
    let e = device_info(closed).unwrap_err();
    assert_eq!(e.errno(), Some(Errno(libc::EBADF)), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("fd {}", closed.as_raw_fd())),
        "{e}"
    );
}

#[test]
fn lab_iommufd_answers_on_the_vmms_own_fds_equal_the_librarys() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return;
    }
    let reference = {
        let (_device, report) = IommufdReport::open(&lab.edu, &HostPaths::default()).unwrap();
        report
    };
    let fds = iommufd_fds(&lab);
    let ranges = ioas_ranges(fds.iommufd.as_fd(), fds.ioas).unwrap();
    assert_eq!(ranges.ranges, reference.ranges.ranges);
    assert_eq!(ranges.alignment, reference.ranges.alignment);
    assert_eq!(ranges.calls, 1);
    let hw = hw_info(fds.iommufd.as_fd(), fds.dev_id);
    match (&hw, &reference.hw_info) {
        (Ok(a), Ok(b)) => assert_eq!((a.data_type, &a.data), (b.data_type, &b.data)),
        (Err(a), Err(b)) => assert_eq!(a.errno(), b.errno()),
        other => panic!("{other:?}"),
    }
    let dev = device_info(fds.device.as_fd()).unwrap();
    assert_eq!((dev.num_regions, dev.num_irqs), (9, 5));

    // An IOAS id that does not exist, a device id that is not bound.
    let e = ioas_ranges(fds.iommufd.as_fd(), 9999).unwrap_err();
    assert_eq!(e.errno(), Some(Errno(libc::ENOENT)), "{e}");
    assert!(e.to_string().contains("no IOAS 9999"), "{e}");
    let e = hw_info(fds.iommufd.as_fd(), 9999).unwrap_err();
    assert!(e.to_string().contains("no device 9999"), "{e}");
    // The device's own id is no IOAS.
    let e = ioas_ranges(fds.iommufd.as_fd(), fds.dev_id).unwrap_err();
    assert!(e.to_string().contains(&format!("{}", fds.dev_id)), "{e}");
}
