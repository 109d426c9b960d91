//! The decoded IOMMU info as an opaque object: decode, query, free and every accessor.

use std::ffi::{c_char, c_int, CString};
use std::mem::size_of;
use std::os::fd::BorrowedFd;
use std::ptr;
use std::sync::OnceLock;

use ::vfio_iommu_info::{
    decode_with_order, query_type1, Absence, ByteOrder, IommuInfo, IovaRange, Type1Cap,
};

use crate::args::{self, ListOut, Out, Sized32};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_ABSENT, VFIO_IOMMU_INFO_E_RANGE};

/// Decode the buffer in this machine's byte order.
pub const VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE: u32 = 0;
/// Decode a capture from a little-endian machine (x86, arm64, riscv).
pub const VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE: u32 = 1;
/// Decode a capture from a big-endian machine (s390x, ppc64).
pub const VFIO_IOMMU_INFO_BYTE_ORDER_BIG: u32 = 2;

/// `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`: the usable IOVA ranges (Linux 5.4).
pub const VFIO_IOMMU_INFO_CAP_IOVA_RANGE: u32 = 1;
/// `VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION`: dirty-page tracking (Linux 5.8).
pub const VFIO_IOMMU_INFO_CAP_MIGRATION: u32 = 2;
/// `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`: how many more mappings are accepted (Linux 5.10).
pub const VFIO_IOMMU_INFO_CAP_DMA_AVAIL: u32 = 3;

/// The item is present.
pub const VFIO_IOMMU_INFO_PRESENT: u32 = 0;
/// Absent: the CAPS flag is clear (a kernel before 5.4, or 5.4-5.7 with nothing to report).
pub const VFIO_IOMMU_INFO_ABSENT_NO_CAPABILITY_CHAIN: u32 = 1;
/// Absent: the kernel's capabilities did not fit the buffer (a capture made too small);
/// the header's `caps_truncated` is 1.
pub const VFIO_IOMMU_INFO_ABSENT_DID_NOT_FIT: u32 = 2;
/// Absent: the CAPS flag is set and `argsz` says the buffer was large enough, yet
/// `cap_offset` is 0: the kernel did not place its chain (a partial fill).
pub const VFIO_IOMMU_INFO_ABSENT_CHAIN_NOT_PLACED: u32 = 3;
/// Absent: the chain is there without this capability (the kernel predates it, or for
/// IOVA_RANGE, no IOMMU-backed group is attached).
pub const VFIO_IOMMU_INFO_ABSENT_NOT_IN_CHAIN: u32 = 4;

/// A `VFIO_IOMMU_INFO_BYTE_ORDER_*` code as a byte order.
pub(crate) fn parse_byte_order(code: u32) -> Result<ByteOrder, Failure> {
    match code {
        VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE => Ok(ByteOrder::Native),
        VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE => Ok(ByteOrder::Little),
        VFIO_IOMMU_INFO_BYTE_ORDER_BIG => Ok(ByteOrder::Big),
        other => Err(Failure::invalid(format_args!(
            "byte_order {other} is not one of VFIO_IOMMU_INFO_BYTE_ORDER_*"
        ))),
    }
}

/// A malformed buffer as the C library reports it (`VFIO_IOMMU_INFO_E_MALFORMED`).
pub(crate) fn malformed(e: ::vfio_iommu_info::DecodeError) -> Failure {
    Failure::from_error(&::vfio_iommu_info::Error::Malformed(e))
}

/// A range of IOVA space, both ends inclusive (so it can end at 2^64-1).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_range {
    /// The first address.
    pub start: u64,
    /// The last address (inclusive).
    pub end: u64,
}

impl From<IovaRange> for vfio_iommu_info_range {
    fn from(r: IovaRange) -> Self {
        vfio_iommu_info_range {
            start: r.start,
            end: r.end,
        }
    }
}

/// The fixed part of `struct vfio_iommu_type1_info`, as found in the buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_header {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_header)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// `argsz` as the kernel returned it: the size the whole info needs. When it exceeds
    /// the buffer's size, capabilities did not fit (`caps_truncated`). Kernels before 5.4
    /// leave it as the caller passed it.
    pub argsz: u32,
    /// `flags`: bit 0 `VFIO_IOMMU_INFO_PGSIZES`, bit 1 `VFIO_IOMMU_INFO_CAPS`.
    pub flags: u32,
    /// `cap_offset`: where the chain starts; 0 when the CAPS flag is clear or the buffer
    /// does not hold the field.
    pub cap_offset: u32,
    /// 1 when the kernel had capabilities that did not fit the buffer (then every absent
    /// capability's reason is `VFIO_IOMMU_INFO_ABSENT_DID_NOT_FIT`), else 0.
    pub caps_truncated: u32,
}

impl Sized32 for vfio_iommu_info_header {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_header { size, ..self }
    }
}

/// The dirty-page tracking capability (`VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_migration {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_migration)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// The capability's version.
    pub version: u32,
    /// Its `flags` (none defined so far).
    pub flags: u32,
    /// Always 0 (padding, not from the kernel).
    pub reserved: u32,
    /// Page sizes in which dirty pages can be tracked (bit n: 2^n bytes).
    pub pgsize_bitmap: u64,
    /// The largest dirty bitmap the kernel returns in one call, in bytes.
    pub max_dirty_bitmap_size: u64,
}

impl Sized32 for vfio_iommu_info_migration {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_migration { size, ..self }
    }
}

/// A capability of the chain, where it sits, and for one this library does not know,
/// its raw bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_cap {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_cap)`; on success, the number
    /// of bytes the library filled.
    pub size: u32,
    /// The capability id, the kernel's (`VFIO_IOMMU_INFO_CAP_*` for the known ones).
    pub id: u16,
    /// Its version.
    pub version: u16,
    /// Offset of its header from the start of the buffer.
    pub offset: u64,
    /// For a capability this library does not know: its bytes, header included, up to the
    /// capability at the next higher offset or the end of the buffer (owned by the object
    /// read from, an info, device-info or region-info object, valid until it is freed).
    /// NULL for a known capability.
    pub bytes: *const u8,
    /// The number of bytes at `bytes`; 0 when `bytes` is NULL.
    pub len: usize,
}

impl Sized32 for vfio_iommu_info_cap {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_cap { size, ..self }
    }
}

/// What a type1 container told about its IOMMU: an opaque object, from
/// `vfio_iommu_info_decode()`, `vfio_iommu_info_query()` or `vfio_iommu_info_open()`,
/// freed by `vfio_iommu_info_free()`. Immutable: it may be read from several threads.
pub struct vfio_iommu_info {
    pub(crate) info: IommuInfo,
    aperture: Option<IovaRange>,
    holes: Vec<IovaRange>,
    /// The explanation of each capability's absence, "" when present (`CAPS` order).
    absence_text: [CString; 3],
    /// The arrays the 0.4 list calls lend, built on first use (not while decoding).
    lists: OnceLock<InfoLists>,
}

/// The C arrays an info object lends (since 0.4).
struct InfoLists {
    unknown_caps: CapList,
    chain: CapList,
}

/// Capabilities in C, as a list call lends them: each with `size` set to
/// `sizeof(struct vfio_iommu_info_cap)` of 0.4.
pub(crate) struct CapList(pub(crate) Vec<vfio_iommu_info_cap>);

// SAFETY: the only pointers in a `CapList` are the `bytes` of unknown capabilities, which
// point into the decoded buffer of the object that owns the list: never written after it
// was decoded, and alive as long as the object.
unsafe impl Send for CapList {}
// SAFETY: as for Send: the list is never written after it is built.
unsafe impl Sync for CapList {}

/// An element of a lent array: its `size` is `sizeof` the struct of this release, which
/// is the array's stride (a list call's element type never grows).
pub(crate) fn lent<T: Sized32>(value: T) -> T {
    // A C struct of this library is far smaller than 4 GiB; the cast cannot truncate.
    value.with_size(size_of::<T>() as u32)
}

const CAPS: [Type1Cap; 3] = [Type1Cap::IovaRange, Type1Cap::Migration, Type1Cap::DmaAvail];

impl vfio_iommu_info {
    pub(crate) fn new(info: IommuInfo) -> vfio_iommu_info {
        let absence_text = CAPS.map(|cap| {
            let text = info
                .absence(cap)
                .map(|a| a.explain(cap))
                .unwrap_or_default();
            CString::new(text).unwrap_or_default()
        });
        vfio_iommu_info {
            aperture: info.aperture(),
            holes: info.holes(),
            absence_text,
            info,
            lists: OnceLock::new(),
        }
    }

    fn lists(&self) -> &InfoLists {
        self.lists.get_or_init(|| InfoLists {
            unknown_caps: CapList(
                self.info
                    .unknown_caps
                    .iter()
                    .map(|u| lent(self.cap_entry(u.id, u.version, u.offset)))
                    .collect(),
            ),
            chain: CapList(
                self.info
                    .chain
                    .iter()
                    .map(|c| lent(self.cap_entry(c.id, c.version, c.offset)))
                    .collect(),
            ),
        })
    }

    fn cap_index(cap_id: u32) -> Result<usize, Failure> {
        CAPS.iter()
            .position(|cap| u32::from(cap.id()) == cap_id)
            .ok_or_else(|| {
                Failure::invalid(format_args!(
                    "capability id {cap_id} is not one of VFIO_IOMMU_INFO_CAP_*"
                ))
            })
    }

    pub(crate) fn absent(&self, cap: Type1Cap) -> Failure {
        let why = self
            .info
            .absence(cap)
            .map_or_else(String::new, |a| a.explain(cap));
        Failure::new(
            VFIO_IOMMU_INFO_E_ABSENT,
            format!("{} is absent: {why}", cap.name()),
        )
    }

    /// The C view of the capability at `offset`, with its bytes when it is unknown.
    fn cap_entry(&self, id: u16, version: u16, offset: usize) -> vfio_iommu_info_cap {
        let unknown = self.info.unknown_caps.iter().find(|u| u.offset == offset);
        vfio_iommu_info_cap {
            size: 0,
            id,
            version,
            offset: offset as u64,
            bytes: unknown.map_or(ptr::null(), |u| u.bytes.as_ptr()),
            len: unknown.map_or(0, |u| u.bytes.len()),
        }
    }

    fn ranges(&self) -> Result<&[IovaRange], Failure> {
        self.info
            .iova_ranges
            .present()
            .map(Vec::as_slice)
            .ok_or_else(|| self.absent(Type1Cap::IovaRange))
    }
}

fn index<T: Copy>(list: &[T], index: usize) -> Result<T, Failure> {
    list.get(index)
        .copied()
        .ok_or_else(|| range_failure(index, list.len()))
}

/// Decodes a `struct vfio_iommu_type1_info` buffer captured from a kernel (for example by
/// `vfio-iommu-info query --save-raw`): `len` bytes at `buf`, as the kernel filled them.
///
/// `byte_order` is one of `VFIO_IOMMU_INFO_BYTE_ORDER_*` (`LITTLE` or `BIG` for a capture
/// from another architecture). `buf` may be NULL only when `len` is 0. The library does
/// not keep `buf`. A buffer shorter than the 16-byte fixed part (`len` 0 included) is
/// malformed.
///
/// On success, returns 0 and stores a new object in `*out`, which the caller frees with
/// `vfio_iommu_info_free()`. On failure, returns `VFIO_IOMMU_INFO_E_MALFORMED` (the last
/// error names the byte offset and what is wrong there), `VFIO_IOMMU_INFO_E_NULL` or
/// `VFIO_IOMMU_INFO_E_INVALID`, and leaves `*out` untouched.
///
/// # Safety
/// `buf` must point to `len` readable bytes; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_decode(
    buf: *const u8,
    len: usize,
    byte_order: u32,
    out: *mut *mut vfio_iommu_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_decode";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `len` readable bytes at `buf`.
        let data = unsafe { args::bytes(buf, len) }?;
        let order = parse_byte_order(byte_order)?;
        let info = decode_with_order(data, order).map_err(malformed)?;
        out.write(crate::handle::into_raw(vfio_iommu_info::new(info)));
        Ok(())
    })
}

/// Queries a type1 container: one `VFIO_IOMMU_GET_INFO` on the common path (a larger
/// buffer only when the capabilities do not fit 1 KiB).
///
/// `container_fd` is an open `/dev/vfio/vfio` fd with a group attached and an IOMMU model
/// set (`VFIO_SET_IOMMU`). It stays the caller's: the library neither keeps nor closes
/// it, on success or failure.
///
/// On success, returns 0 and stores a new object in `*out`, freed with
/// `vfio_iommu_info_free()`. On failure, `*out` is untouched and the code is:
/// the kernel's negative errno (`-EINVAL`: no IOMMU model set yet; `-ENOTTY`: not a VFIO
/// fd; `-EBADF`: not an open fd), `VFIO_IOMMU_INFO_E_NOT_CONTAINER` (a VFIO fd that is not
/// a type1 container, such as a device fd), `VFIO_IOMMU_INFO_E_MALFORMED` or
/// `VFIO_IOMMU_INFO_E_SIZE`; the last error says which fd and what to do.
///
/// # Safety
/// `out` must point to writable storage for a pointer; `container_fd` must not be closed
/// by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_query(
    container_fd: c_int,
    out: *mut *mut vfio_iommu_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_query";
    guard(F, || {
        let out = Out::new(out, "out")?;
        if container_fd < 0 {
            return Err(Failure::new(
                -libc::EBADF,
                format!("container_fd {container_fd} is not a file descriptor"),
            ));
        }
        // SAFETY: `container_fd` is not -1 (checked) and the caller keeps it open for the
        // duration of the call; the borrow does not outlive it.
        let fd = unsafe { BorrowedFd::borrow_raw(container_fd) };
        let info = query_type1(fd).map_err(|e| Failure::from_error(&e))?;
        out.write(crate::handle::into_raw(vfio_iommu_info::new(info)));
        Ok(())
    })
}

/// Frees an info object. NULL is accepted and ignored. Freeing the same object twice is
/// undefined behaviour.
///
/// # Safety
/// `info` must be NULL or an object from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_free(info: *mut vfio_iommu_info) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(info, "vfio_iommu_info_free") }
}

/// Copies the fixed part of the info (`argsz`, `flags`, `cap_offset`, truncation) into
/// `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_header)`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` when `out->size` is
/// too small; `*out` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_header(
    info: *const vfio_iommu_info,
    out: *mut vfio_iommu_info_header,
) -> c_int {
    const F: &str = "vfio_iommu_info_header";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let i = &info.info;
        out.write_sized(vfio_iommu_info_header {
            size: 0,
            argsz: i.argsz,
            flags: i.flags,
            cap_offset: i.cap_offset.unwrap_or(0),
            caps_truncated: u32::from(i.caps_truncated),
        });
        Ok(())
    })
}

/// The supported IOMMU page sizes: bit n set means pages of 2^n bytes. The smallest is
/// the granule every mapping's address and size must be a multiple of.
///
/// Returns 0 and writes `*bitmap`, or `VFIO_IOMMU_INFO_E_ABSENT` when the PGSIZES flag is
/// clear, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `bitmap` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_page_sizes(
    info: *const vfio_iommu_info,
    bitmap: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_page_sizes";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(bitmap, "bitmap")?;
        let sizes = info.info.iova_pgsizes.ok_or_else(|| {
            Failure::new(
                VFIO_IOMMU_INFO_E_ABSENT,
                format!(
                    "the PGSIZES flag is clear (flags {:#x}): the kernel reported no page sizes",
                    info.info.flags
                ),
            )
        })?;
        out.write(sizes.bits());
        Ok(())
    })
}

/// The number of usable IOVA ranges (the aperture minus the reserved holes).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_ABSENT` when the kernel reported
/// no IOVA_RANGE capability (`vfio_iommu_info_absence()` says why), or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
/// one space, whatever its source, lends every list and the aperture; kept, like every export
/// of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iova_range_count(
    info: *const vfio_iommu_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_iova_range_count";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(count, "count")?;
        out.write(info.ranges()?.len());
        Ok(())
    })
}

/// The usable IOVA range at `index`, in the kernel's order (ascending on every kernel
/// seen). A mapping must lie inside one range.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
/// `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
/// one space, whatever its source, lends every list and the aperture; kept, like every export
/// of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_iova_range(
    info: *const vfio_iommu_info,
    index: usize,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_iova_range";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(range, "range")?;
        out.write(self::index(info.ranges()?, index)?.into());
        Ok(())
    })
}

/// The IOMMU aperture, the "DMA window": from the lowest start to the highest end of the
/// IOVA ranges. Holes lie inside it.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
/// one space, whatever its source, lends every list and the aperture; kept, like every export
/// of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_aperture(
    info: *const vfio_iommu_info,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_aperture";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(range, "range")?;
        info.ranges()?;
        let aperture = info
            .aperture
            .ok_or_else(|| info.absent(Type1Cap::IovaRange))?;
        out.write(aperture.into());
        Ok(())
    })
}

/// The number of holes inside the aperture (reserved regions: the MSI window, AMD's
/// HyperTransport hole, RMRRs): 0 when the ranges are contiguous.
///
/// Returns 0 and writes `*count`, `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
/// one space, whatever its source, lends every list and the aperture; kept, like every export
/// of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_hole_count(
    info: *const vfio_iommu_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_hole_count";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(count, "count")?;
        info.ranges()?;
        out.write(info.holes.len());
        Ok(())
    })
}

/// The hole at `index`, ascending.
///
/// Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
/// `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
/// one space, whatever its source, lends every list and the aperture; kept, like every export
/// of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `range` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_hole(
    info: *const vfio_iommu_info,
    index: usize,
    range: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_hole";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(range, "range")?;
        info.ranges()?;
        out.write(self::index(&info.holes, index)?.into());
        Ok(())
    })
}

/// The dirty-page tracking capability, into `*out`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_migration)`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` when not reported (`vfio_iommu_info_absence()`
/// says why), `VFIO_IOMMU_INFO_E_INVALID` when `out->size` is too small, or
/// `VFIO_IOMMU_INFO_E_NULL`. `*out` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_migration(
    info: *const vfio_iommu_info,
    out: *mut vfio_iommu_info_migration,
) -> c_int {
    const F: &str = "vfio_iommu_info_migration";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let m = info
            .info
            .migration
            .present()
            .ok_or_else(|| info.absent(Type1Cap::Migration))?;
        out.write_sized(vfio_iommu_info_migration {
            size: 0,
            version: u32::from(m.version),
            flags: m.flags,
            reserved: 0,
            pgsize_bitmap: m.pgsize_bitmap.bits(),
            max_dirty_bitmap_size: m.max_dirty_bitmap_size,
        });
        Ok(())
    })
}

/// How many more `VFIO_IOMMU_MAP_DMA` calls the container accepts (DMA_AVAIL), as of the
/// query (or the capture).
///
/// Returns 0 and writes `*avail`, `VFIO_IOMMU_INFO_E_ABSENT` when not reported (before
/// Linux 5.10 the limit is the vfio_iommu_type1 `dma_entry_limit` parameter, 65535 by
/// default), or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `avail` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_dma_avail(
    info: *const vfio_iommu_info,
    avail: *mut u32,
) -> c_int {
    const F: &str = "vfio_iommu_info_dma_avail";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(avail, "avail")?;
        let n = info
            .info
            .dma_avail
            .present()
            .ok_or_else(|| info.absent(Type1Cap::DmaAvail))?;
        out.write(*n);
        Ok(())
    })
}

/// Whether the capability `cap_id` (`VFIO_IOMMU_INFO_CAP_*`) was reported, and if not,
/// why: `*reason` is `VFIO_IOMMU_INFO_PRESENT` or a `VFIO_IOMMU_INFO_ABSENT_*` code.
/// When `text` is not NULL, `*text` receives the explanation in words ("" when present),
/// a NUL-terminated string owned by `info` and valid until it is freed.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` for an unknown `cap_id`, or
/// `VFIO_IOMMU_INFO_E_NULL` (`info` or `reason`).
///
/// # Safety
/// `info` must be a live object of this library; `reason` and a non-NULL `text` must be
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_absence(
    info: *const vfio_iommu_info,
    cap_id: u32,
    reason: *mut u32,
    text: *mut *const c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_absence";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let reason = Out::new(reason, "reason")?;
        let text = Out::optional(text);
        let i = vfio_iommu_info::cap_index(cap_id)?;
        let code = match info.info.absence(CAPS[i]) {
            None => VFIO_IOMMU_INFO_PRESENT,
            Some(Absence::NoCapabilityChain) => VFIO_IOMMU_INFO_ABSENT_NO_CAPABILITY_CHAIN,
            Some(Absence::DidNotFit { .. }) => VFIO_IOMMU_INFO_ABSENT_DID_NOT_FIT,
            Some(Absence::ChainNotPlaced) => VFIO_IOMMU_INFO_ABSENT_CHAIN_NOT_PLACED,
            Some(Absence::NotInChain) => VFIO_IOMMU_INFO_ABSENT_NOT_IN_CHAIN,
            Some(other) => {
                return Err(Failure::new(
                    crate::result::VFIO_IOMMU_INFO_E_INTERNAL,
                    format!("absence {other:?} has no code"),
                ))
            }
        };
        reason.write(code);
        if let Some(text) = text {
            text.write(info.absence_text[i].as_ptr());
        }
        Ok(())
    })
}

/// The number of capabilities in the chain whose id this library does not know (from a
/// newer kernel); `vfio_iommu_info_unknown_cap()` reads them.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_unknown_caps()` (0.4), which lends the whole list in one
/// call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_unknown_cap_count(
    info: *const vfio_iommu_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_unknown_cap_count";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        Out::new(count, "count")?.write(info.info.unknown_caps.len());
        Ok(())
    })
}

/// The unknown capability at `index` (chain order), with its raw bytes, into `*out`,
/// whose `size` the caller sets to `sizeof(struct vfio_iommu_info_cap)`.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_unknown_caps()` (0.4), which lends the whole list in one
/// call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_unknown_cap(
    info: *const vfio_iommu_info,
    index: usize,
    out: *mut vfio_iommu_info_cap,
) -> c_int {
    const F: &str = "vfio_iommu_info_unknown_cap";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let caps = &info.info.unknown_caps;
        let cap = caps
            .get(index)
            .ok_or_else(|| range_failure(index, caps.len()))?;
        out.write_sized(info.cap_entry(cap.id, cap.version, cap.offset));
        Ok(())
    })
}

/// The number of capabilities in the chain, known and unknown.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_chain()` (0.4), which lends the whole list in one call;
/// kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_chain_length(
    info: *const vfio_iommu_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_chain_length";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        Out::new(count, "count")?.write(info.info.chain.len());
        Ok(())
    })
}

/// The capability at `index` in chain order (where the kernel placed it), into `*out`,
/// whose `size` the caller sets to `sizeof(struct vfio_iommu_info_cap)`. `bytes` is set
/// for unknown capabilities only.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_chain()` (0.4), which lends the whole list in one call;
/// kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_chain_entry(
    info: *const vfio_iommu_info,
    index: usize,
    out: *mut vfio_iommu_info_cap,
) -> c_int {
    const F: &str = "vfio_iommu_info_chain_entry";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let chain = &info.info.chain;
        let loc = chain
            .get(index)
            .ok_or_else(|| range_failure(index, chain.len()))?;
        out.write_sized(info.cap_entry(loc.id, loc.version, loc.offset));
        Ok(())
    })
}

/// The capabilities in the chain whose id this library does not know (from a newer
/// kernel), in chain order, in one call: `*items` receives an array of `*count` structs
/// that `info` lends, read-only and valid until `vfio_iommu_info_free()` (NULL and 0 when
/// there is none). Each carries its raw bytes, owned by `info` too, and `size` set to
/// `sizeof(struct vfio_iommu_info_cap)` of 0.4, the array's stride.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
/// on failure.
///
/// Since 0.4.
///
/// # Safety
/// `info` must be a live object of this library; `items` and `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_unknown_caps(
    info: *const vfio_iommu_info,
    items: *mut *const vfio_iommu_info_cap,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_unknown_caps";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = ListOut::new(items, count)?;
        out.write(&info.lists().unknown_caps.0);
        Ok(())
    })
}

/// Every capability of the chain, known and unknown, in chain order (where the kernel
/// placed them), in one call: `*items` receives an array of `*count` structs that `info`
/// lends, read-only and valid until `vfio_iommu_info_free()` (NULL and 0 for an empty
/// chain). `bytes` is set for unknown capabilities only; `size` is
/// `sizeof(struct vfio_iommu_info_cap)` of 0.4, the array's stride.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
/// on failure.
///
/// Since 0.4.
///
/// # Safety
/// `info` must be a live object of this library; `items` and `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_chain(
    info: *const vfio_iommu_info,
    items: *mut *const vfio_iommu_info_cap,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_chain";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = ListOut::new(items, count)?;
        out.write(&info.lists().chain.0);
        Ok(())
    })
}

pub(crate) fn range_failure(index: usize, len: usize) -> Failure {
    Failure::new(
        VFIO_IOMMU_INFO_E_RANGE,
        format!("index {index} is past the end of a list of {len}"),
    )
}

/// The info as the JSON object `vfio-iommu-info decode --json` prints (the same keys and
/// values), for logging or for tools. On success, `*json` receives a NUL-terminated string
/// the caller frees with `vfio_iommu_info_string_free()`.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `json` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_to_json(
    info: *const vfio_iommu_info,
    json: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_to_json";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(json, "json")?;
        let text = ::vfio_iommu_info::json::info_to_json(&info.info).to_string();
        out.write(json_string(text)?);
        Ok(())
    })
}

/// A JSON text as a string for C, freed by `vfio_iommu_info_string_free()`.
pub(crate) fn json_string(text: String) -> Result<*mut c_char, Failure> {
    // serde_json escapes control characters, so the text holds no NUL byte.
    let text = CString::new(text).map_err(Failure::invalid)?;
    Ok(text.into_raw())
}

/// Frees a string this library returned (`vfio_iommu_info_to_json()`,
/// `vfio_iommu_info_space_to_json()`, `vfio_iommu_info_layout_to_json()`). NULL is
/// accepted and ignored.
///
/// # Safety
/// `s` must be NULL or a string from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_string_free(s: *mut c_char) {
    crate::result::guard_free("vfio_iommu_info_string_free", || {
        if !s.is_null() {
            // SAFETY: a non-NULL `s` came from `CString::into_raw` in this library and was
            // not freed before, per the contract. (A string carries no tag: it is the
            // caller's `char *`.)
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.4":
    vfio_iommu_info_unknown_caps,
    vfio_iommu_info_chain,
);

symbol_versions!(
    "VFIO_IOMMU_INFO_0":
    vfio_iommu_info_decode,
    vfio_iommu_info_query,
    vfio_iommu_info_free,
    vfio_iommu_info_header,
    vfio_iommu_info_page_sizes,
    vfio_iommu_info_iova_range_count,
    vfio_iommu_info_iova_range,
    vfio_iommu_info_aperture,
    vfio_iommu_info_hole_count,
    vfio_iommu_info_hole,
    vfio_iommu_info_migration,
    vfio_iommu_info_dma_avail,
    vfio_iommu_info_absence,
    vfio_iommu_info_unknown_cap_count,
    vfio_iommu_info_unknown_cap,
    vfio_iommu_info_chain_length,
    vfio_iommu_info_chain_entry,
    vfio_iommu_info_to_json,
    vfio_iommu_info_string_free,
);
