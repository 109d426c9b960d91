//! The whole VFIO dance from a group number, a group path or a PCI address: an opaque
//! container handle that owns its fds.

use std::ffi::{c_char, c_int};
use std::os::fd::{AsFd, AsRawFd};

use ::vfio_iommu_info::{Container, HostPaths, Target};

use crate::args::{self, ListOut, Out, Sized32};
use crate::handle::{self, FdWitness};
use crate::info::{lent, range_failure, vfio_iommu_info};
use crate::result::{guard, Failure};

/// A group attached to a container, as `vfio_iommu_info_container_groups()` lends it
/// (since 0.4).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_group {
    /// `sizeof(struct vfio_iommu_info_group)` of 0.4, set by the library: the stride of
    /// the array it lends.
    pub size: u32,
    /// The group's fd (`/dev/vfio/N`, for `VFIO_GROUP_GET_DEVICE_FD`). The container
    /// handle owns it: do not close it; it is valid until
    /// `vfio_iommu_info_container_free()`, which closes it.
    pub fd: c_int,
    /// The group's number; -1 when its node's name is not a number.
    pub number: i64,
}

impl Sized32 for vfio_iommu_info_group {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_group { size, ..self }
    }
}

/// A VFIO container the library opened, with its groups attached and the best type1 IOMMU
/// model set: ready to query or to map DMA on. It owns the container fd and the group
/// fds and closes them in `vfio_iommu_info_container_free()`.
pub struct vfio_iommu_info_container {
    pub(crate) container: Container,
    /// The container's and the groups' fds, witnessed for `_free` (see `FdWitness`).
    witnesses: Vec<FdWitness>,
    /// The groups in C, as `vfio_iommu_info_container_groups()` lends them (since 0.4).
    groups: Vec<vfio_iommu_info_group>,
}

impl vfio_iommu_info_container {
    fn new(container: Container) -> vfio_iommu_info_container {
        let witnesses = std::iter::once(container.as_fd())
            .chain(container.groups().iter().map(AsFd::as_fd))
            .map(FdWitness::new)
            .collect();
        let groups = container
            .groups()
            .iter()
            .map(|g| {
                lent(vfio_iommu_info_group {
                    size: 0,
                    fd: g.as_fd().as_raw_fd(),
                    number: g.number().map_or(-1, i64::from),
                })
            })
            .collect();
        vfio_iommu_info_container {
            container,
            witnesses,
            groups,
        }
    }
}

/// Opens a container for `targets` and queries it: the one call for a user who has group
/// numbers or PCI addresses.
fn open_and_query(
    targets: &[Target],
    container_out: Option<Out<*mut vfio_iommu_info_container>>,
    info_out: Out<*mut vfio_iommu_info>,
) -> Result<(), Failure> {
    let container = Container::open_targets(targets, &HostPaths::default())
        .map_err(|e| Failure::from_error(&e))?;
    let info = container.query().map_err(|e| Failure::from_error(&e))?;
    info_out.write(crate::handle::into_raw(vfio_iommu_info::new(info)));
    if let Some(out) = container_out {
        out.write(crate::handle::into_raw(vfio_iommu_info_container::new(
            container,
        )));
    }
    Ok(())
}

/// Opens the IOMMU group of `target` in a new container and queries it.
///
/// `target` is an IOMMU group number (`"4"`), a group path (`"/dev/vfio/4"`) or a PCI
/// address (`"0000:03:00.0"` or `"03:00.0"`). The library opens the group, checks it is
/// viable, opens `/dev/vfio/vfio`, attaches the group, sets the best type1 model and
/// queries it.
///
/// On success, returns 0 and stores a new info object in `*info_out` (freed with
/// `vfio_iommu_info_free()`) and, when `container_out` is not NULL, the open container in
/// `*container_out` (freed with `vfio_iommu_info_container_free()`, to map DMA on); with
/// `container_out` NULL the container is closed before returning. On failure, nothing is
/// written and the code is the kernel's negative errno (`-ENOENT`: no such group or VFIO
/// not loaded; `-EACCES`: no permission on `/dev/vfio/N`; `-EBUSY`: the group is open
/// elsewhere; `-EPERM` at `VFIO_SET_IOMMU`: no interrupt remapping), or
/// `VFIO_IOMMU_INFO_E_NOT_VIABLE`, `_NO_DEVICE`, `_NO_IOMMU_GROUP`, `_NO_TYPE1`,
/// `_INVALID` (a target that is none of the three forms, or not UTF-8), `_NULL`, and
/// rarely `_API_VERSION`, `_SYSFS_FORMAT`, `_MALFORMED`, `_SIZE` (as for
/// `vfio_iommu_info_query()`) or `_INTERNAL`. The last error names the group, device,
/// driver or path, and what to do.
///
/// # Safety
/// `target` must be a NUL-terminated string; `info_out` and a non-NULL `container_out`
/// must point to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_open(
    target: *const c_char,
    container_out: *mut *mut vfio_iommu_info_container,
    info_out: *mut *mut vfio_iommu_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_open";
    guard(F, || {
        let info_out = Out::new(info_out, "info_out")?;
        // SAFETY: the caller guarantees a NUL-terminated string.
        let text = unsafe { args::utf8(target, "target") }?;
        let target: Target = text.parse().map_err(|e| Failure::from_error(&e))?;
        open_and_query(&[target], Out::optional(container_out), info_out)
    })
}

/// `vfio_iommu_info_open()` for several targets in one container (the groups a VMM
/// passes through together): `targets` is an array of `n_targets` strings, each a group
/// number, a group path or a PCI address. Two functions of one group are opened once.
/// The returns and ownership are those of `vfio_iommu_info_open()`; `n_targets` 0 is
/// `VFIO_IOMMU_INFO_E_INVALID`.
///
/// # Safety
/// `targets` must point to `n_targets` NUL-terminated strings; `info_out` and a non-NULL
/// `container_out` must point to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_open_targets(
    targets: *const *const c_char,
    n_targets: usize,
    container_out: *mut *mut vfio_iommu_info_container,
    info_out: *mut *mut vfio_iommu_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_open_targets";
    guard(F, || {
        let info_out = Out::new(info_out, "info_out")?;
        if targets.is_null() {
            return Err(Failure::null("targets"));
        }
        if n_targets == 0 {
            return Err(Failure::invalid("n_targets is 0: name at least one target"));
        }
        let mut parsed = Vec::new();
        for i in 0..n_targets {
            // SAFETY: the caller guarantees `n_targets` readable pointers at `targets`,
            // and `i` is below it.
            let ptr = unsafe { targets.add(i).read() };
            // SAFETY: the caller guarantees each is a NUL-terminated string (NULL is
            // reported).
            let text = unsafe { args::utf8(ptr, &format!("targets[{i}]")) }?;
            parsed.push(text.parse().map_err(|e| Failure::from_error(&e))?);
        }
        open_and_query(&parsed, Out::optional(container_out), info_out)
    })
}

/// Queries the container again (DMA_AVAIL changes as mappings are made). On success,
/// returns 0 and stores a new info object in `*info_out`, freed with
/// `vfio_iommu_info_free()`; on failure, the codes of `vfio_iommu_info_query()`.
///
/// # Safety
/// `container` must be a live handle of this library; `info_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_query(
    container: *const vfio_iommu_info_container,
    info_out: *mut *mut vfio_iommu_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_query";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        let out = Out::new(info_out, "info_out")?;
        let info = c.container.query().map_err(|e| Failure::from_error(&e))?;
        out.write(crate::handle::into_raw(vfio_iommu_info::new(info)));
        Ok(())
    })
}

/// The container's fd (`/dev/vfio/vfio`), for `VFIO_IOMMU_MAP_DMA` and the like. The
/// handle owns it: the caller must not close it (nor `dup2` over it); it is valid until
/// `vfio_iommu_info_container_free()`, which closes it. `dup` it to keep a file past the
/// free.
///
/// Returns 0 and writes `*fd`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `container` must be a live handle of this library; `fd` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_fd(
    container: *const vfio_iommu_info_container,
    fd: *mut c_int,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_fd";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        Out::new(fd, "fd")?.write(c.container.as_fd().as_raw_fd());
        Ok(())
    })
}

/// The number of groups attached to the container.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_container_groups()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `container` must be a live handle of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_group_count(
    container: *const vfio_iommu_info_container,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_group_count";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        Out::new(count, "count")?.write(c.container.groups().len());
        Ok(())
    })
}

/// The group at `index`: its fd (`/dev/vfio/N`, for `VFIO_GROUP_GET_DEVICE_FD`) and its
/// number (-1 when its node's name is not a number). The handle owns the fd: the caller
/// must not close it; it is valid until `vfio_iommu_info_container_free()`, which closes
/// it.
///
/// Returns 0 and writes `*fd` and `*number`, `VFIO_IOMMU_INFO_E_RANGE`, or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_container_groups()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `container` must be a live handle of this library; `fd` and `number` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_group(
    container: *const vfio_iommu_info_container,
    index: usize,
    fd: *mut c_int,
    number: *mut i64,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_group";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        let fd = Out::new(fd, "fd")?;
        let number = Out::new(number, "number")?;
        let groups = c.container.groups();
        let group = groups
            .get(index)
            .ok_or_else(|| range_failure(index, groups.len()))?;
        fd.write(group.as_fd().as_raw_fd());
        number.write(group.number().map_or(-1, i64::from));
        Ok(())
    })
}

/// The groups attached to the container, in one call: `*items` receives an array of
/// `*count` structs that the handle lends, read-only and valid until
/// `vfio_iommu_info_container_free()` (NULL and 0 when there is none), each with its fd,
/// its number and `size` set to `sizeof(struct vfio_iommu_info_group)` of 0.4, the
/// array's stride. The handle owns the fds: the caller must not close them.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`container`, `items` or `count`); nothing is
/// written on failure.
///
/// Since 0.4.
///
/// # Safety
/// `container` must be a live handle of this library; `items` and `count` must be
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_groups(
    container: *const vfio_iommu_info_container,
    items: *mut *const vfio_iommu_info_group,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_container_groups";
    guard(F, || {
        // SAFETY: per the contract, `container` is NULL or a live handle.
        let c = unsafe { args::object(container, "container") }?;
        let out = ListOut::new(items, count)?;
        out.write(&c.groups);
        Ok(())
    })
}

/// Closes the container's and its groups' fds and frees the handle. NULL is accepted
/// and ignored. Mappings made on the container go away with it (the kernel's rule).
///
/// A pointer that is not a container handle is refused: nothing is freed and the last
/// error says what it is. The handle's tag is cleared before its memory is freed, so a
/// second free of the same pointer is usually refused too (a best effort: freeing twice
/// is still undefined behaviour). Before closing each fd the handle owns, it checks that
/// the number still names the file it opened (kcmp, against a private duplicate): when
/// the caller closed one and the number was reused for another file, that file is left
/// open and the handle is leaked instead, with a last error saying which fd.
///
/// # Safety
/// `container` must be NULL or a handle from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_container_free(container: *mut vfio_iommu_info_container) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle_with`'s.
    unsafe {
        handle::free_handle_with(container, "vfio_iommu_info_container_free", |c| {
            handle::release(c.container, &c.witnesses)
        })
    }
}

symbol_versions!("VFIO_IOMMU_INFO_0.4": vfio_iommu_info_container_groups);

symbol_versions!(
    "VFIO_IOMMU_INFO_0":
    vfio_iommu_info_open,
    vfio_iommu_info_open_targets,
    vfio_iommu_info_container_query,
    vfio_iommu_info_container_fd,
    vfio_iommu_info_container_group_count,
    vfio_iommu_info_container_group,
    vfio_iommu_info_container_free,
);
