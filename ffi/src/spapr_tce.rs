//! IBM POWER's sPAPR TCE container (since 0.5): a `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer
//! decoded, the same asked of the caller's container fd, and dynamic windows created and
//! removed only by the two calls that say so. Marshalling only: the core decodes and
//! decides.

use std::ffi::c_int;

use ::vfio_iommu_info::decode::spapr_tce::{
    decode_spapr_tce_with_order, Ddw, SpaprTceInfo, DDW_EXPECTED_START, DEFAULT_WINDOW_PAGE_SIZE,
};
use ::vfio_iommu_info::query::spapr_tce::{
    create_window, query_spapr_tce, remove_window, WindowRequest,
};

use crate::args::{self, Out, Sized32};
use crate::info::{malformed, parse_byte_order};
use crate::result::{guard, Failure};

/// `ddw_state`: the `DDW` flag is clear (a v1 container, or a platform without dynamic
/// windows): only the default window (since 0.5).
pub const VFIO_IOMMU_INFO_DDW_UNSUPPORTED: u32 = 0;
/// `ddw_state`: the `DDW` flag is set but `argsz` was below 32, so the kernel did not copy
/// the `ddw` block: query again with argsz 32 (since 0.5).
pub const VFIO_IOMMU_INFO_DDW_NOT_RETURNED: u32 = 1;
/// `ddw_state`: dynamic windows, described by the `ddw_*` fields (since 0.5).
pub const VFIO_IOMMU_INFO_DDW_SUPPORTED: u32 = 2;

/// An sPAPR TCE container's answer (since 0.5). A sized struct: the caller sets `size` to
/// `sizeof(struct vfio_iommu_info_spapr_tce)`; the library fills the rest.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_spapr_tce {
    /// `sizeof(struct vfio_iommu_info_spapr_tce)`, set by the caller; on return, the bytes
    /// the library filled.
    pub size: u32,
    /// `argsz` as found (the kernel never rewrites it).
    pub argsz: u32,
    /// `flags` as found (`VFIO_IOMMU_SPAPR_INFO_DDW`, bit 0, is the only flag).
    pub flags: u32,
    /// `dma32_window_start`: the default window's first bus address.
    pub dma32_window_start: u32,
    /// `dma32_window_size`: its size in bytes (0: no default window).
    pub dma32_window_size: u32,
    /// 1 when there is a default window (`default_window_start`/`_end` are valid).
    pub has_default_window: u32,
    /// The default window's first IOVA (an absolute bus address).
    pub default_window_start: u64,
    /// Its last IOVA (inclusive).
    pub default_window_end: u64,
    /// The default window's IOMMU page size: 4096 (the kernel creates it with 4K TCEs).
    pub default_window_page_size: u64,
    /// One of `VFIO_IOMMU_INFO_DDW_*`.
    pub ddw_state: u32,
    /// With `VFIO_IOMMU_INFO_DDW_SUPPORTED`: how many windows at once.
    pub ddw_max_windows: u32,
    /// With `VFIO_IOMMU_INFO_DDW_SUPPORTED`: the page sizes a dynamic window may use.
    pub ddw_page_sizes: u64,
    /// With `VFIO_IOMMU_INFO_DDW_SUPPORTED`: the most TCE table levels.
    pub ddw_levels: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// Where PowerNV and QEMU's pseries put a dynamic window (2^59) when DDW is there, else
    /// 0: an expectation, not a fact; the platform decides and
    /// `vfio_iommu_info_spapr_tce_create_window()` returns its choice.
    pub ddw_expected_start: u64,
}

impl Sized32 for vfio_iommu_info_spapr_tce {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_spapr_tce { size, ..self }
    }
}

fn c_spapr(info: &SpaprTceInfo) -> vfio_iommu_info_spapr_tce {
    let window = info.default_window();
    let (ddw_state, ddw) = match info.ddw {
        Ddw::Unsupported => (VFIO_IOMMU_INFO_DDW_UNSUPPORTED, None),
        Ddw::NotReturned { .. } => (VFIO_IOMMU_INFO_DDW_NOT_RETURNED, None),
        Ddw::Supported(d) => (VFIO_IOMMU_INFO_DDW_SUPPORTED, Some(d)),
    };
    vfio_iommu_info_spapr_tce {
        size: 0,
        argsz: info.argsz,
        flags: info.flags,
        dma32_window_start: info.dma32_window_start,
        dma32_window_size: info.dma32_window_size,
        has_default_window: u32::from(window.is_some()),
        default_window_start: window.map_or(0, |w| w.start),
        default_window_end: window.map_or(0, |w| w.end),
        default_window_page_size: DEFAULT_WINDOW_PAGE_SIZE,
        ddw_state,
        ddw_max_windows: ddw.map_or(0, |d| d.max_dynamic_windows),
        ddw_page_sizes: ddw.map_or(0, |d| d.page_sizes.bits()),
        ddw_levels: ddw.map_or(0, |d| d.levels),
        reserved: 0,
        ddw_expected_start: if ddw_state == VFIO_IOMMU_INFO_DDW_UNSUPPORTED {
            0
        } else {
            DDW_EXPECTED_START
        },
    }
}

fn failed(e: ::vfio_iommu_info::Error) -> Failure {
    Failure::from_error(&e)
}

/// Decodes a `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer of `len` bytes (its length is the
/// buffer's size) into `*out`, whose `size` the caller sets. `byte_order` is one of
/// `VFIO_IOMMU_INFO_BYTE_ORDER_*`. Every field is checked as the kernel writes it: an
/// `argsz` of 16 to 31 gives `VFIO_IOMMU_INFO_DDW_NOT_RETURNED` even with the DDW flag.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_MALFORMED` (the last error names the byte offset),
/// `VFIO_IOMMU_INFO_E_INVALID` (`byte_order`, `out->size`) or `VFIO_IOMMU_INFO_E_NULL`;
/// `*out` is written only on success. Since 0.5.
///
/// # Safety
/// `buf` must point to `len` readable bytes (or be NULL with `len` 0); `out` must point to
/// a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_spapr_tce_decode(
    buf: *const u8,
    len: usize,
    byte_order: u32,
    out: *mut vfio_iommu_info_spapr_tce,
) -> c_int {
    const F: &str = "vfio_iommu_info_spapr_tce_decode";
    guard(F, || {
        let out = Out::new(out, "out")?.check_size("out")?;
        let order = parse_byte_order(byte_order)?;
        // SAFETY: per the contract, `buf` holds `len` readable bytes.
        let bytes = unsafe { args::bytes(buf, len) }?;
        let info = decode_spapr_tce_with_order(bytes, order).map_err(malformed)?;
        out.write_sized(c_spapr(&info));
        Ok(())
    })
}

/// `VFIO_IOMMU_SPAPR_TCE_GET_INFO` (argsz 32) on the caller's sPAPR TCE container (a
/// `/dev/vfio/vfio` fd with a group attached and `VFIO_SET_IOMMU` done with
/// `VFIO_SPAPR_TCE_v2_IOMMU` or `VFIO_SPAPR_TCE_IOMMU`), decoded into `*out`. Creates
/// nothing.
///
/// Returns 0, `-EBADF`, `-ENOTTY` (not a VFIO container: checked before the ioctl, the
/// last error names the file), `-ENXIO` (no group attached),
/// another kernel errno, `VFIO_IOMMU_INFO_E_MALFORMED` (a type1 container answers the same
/// number with its own structure: the last error says so), `VFIO_IOMMU_INFO_E_INVALID`
/// (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.5.
///
/// # Safety
/// `container_fd` must stay open for the call; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_spapr_tce_query(
    container_fd: c_int,
    out: *mut vfio_iommu_info_spapr_tce,
) -> c_int {
    const F: &str = "vfio_iommu_info_spapr_tce_query";
    guard(F, || {
        let out = Out::new(out, "out")?.check_size("out")?;
        // SAFETY: the caller keeps `container_fd` open for the call.
        let fd = unsafe { args::caller_fd(container_fd, "container_fd") }?;
        let info = query_spapr_tce(fd).map_err(failed)?;
        out.write_sized(c_spapr(&info));
        Ok(())
    })
}

/// `VFIO_IOMMU_SPAPR_TCE_CREATE` on the caller's v2 sPAPR TCE container: creates a
/// dynamic DMA window of `window_size` bytes with pages of `1 << page_shift` bytes and
/// `levels` TCE table levels (0: the kernel's choice), and stores its start (the
/// platform's choice) in `*start`. The window lasts until
/// `vfio_iommu_info_spapr_tce_remove_window()` or until the container is closed.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (a page shift of 64 or more, a size of 0 or not
/// a multiple of the page size: nothing sent to the kernel), the kernel's errno (`-EINVAL`:
/// a page size the platform lacks; `-ENOSPC`: every window exists; `-ENOMEM`: the table
/// does not fit RLIMIT_MEMLOCK; `-ENOTTY`: not a v2 container), or
/// `VFIO_IOMMU_INFO_E_NULL`; `*start` is written only on success. The fd is checked to be
/// `/dev/vfio/vfio` before the ioctl (`-ENOTTY` otherwise). Since 0.5.
///
/// # Safety
/// `container_fd` must stay open for the call; `start` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_spapr_tce_create_window(
    container_fd: c_int,
    page_shift: u32,
    window_size: u64,
    levels: u32,
    start: *mut u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_spapr_tce_create_window";
    guard(F, || {
        let start = Out::new(start, "start")?;
        // SAFETY: the caller keeps `container_fd` open for the call.
        let fd = unsafe { args::caller_fd(container_fd, "container_fd") }?;
        let request = WindowRequest {
            page_shift,
            window_size,
            levels,
        };
        let window = create_window(fd, request).map_err(failed)?;
        start.write(window.start);
        Ok(())
    })
}

/// `VFIO_IOMMU_SPAPR_TCE_REMOVE` on the caller's v2 sPAPR TCE container: removes the
/// window that starts at `start` (a start `vfio_iommu_info_spapr_tce_create_window()`
/// returned; 0 is the default window).
///
/// Returns 0, the kernel's errno (`-EINVAL`: no window starts there; `-EPERM`: the
/// platform keeps it; `-ENOTTY`: not a v2 container, or not `/dev/vfio/vfio` at all,
/// checked before the ioctl), or `-EBADF`. Since 0.5.
///
/// # Safety
/// `container_fd` must stay open for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_spapr_tce_remove_window(
    container_fd: c_int,
    start: u64,
) -> c_int {
    const F: &str = "vfio_iommu_info_spapr_tce_remove_window";
    guard(F, || {
        // SAFETY: the caller keeps `container_fd` open for the call.
        let fd = unsafe { args::caller_fd(container_fd, "container_fd") }?;
        remove_window(fd, start).map_err(failed)
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.5":
    vfio_iommu_info_spapr_tce_decode,
    vfio_iommu_info_spapr_tce_query,
    vfio_iommu_info_spapr_tce_create_window,
    vfio_iommu_info_spapr_tce_remove_window,
);

#[cfg(test)]
mod tests {
    use super::*;
    use ::vfio_iommu_info::decode::encode_spapr_tce::SpaprTceState;
    use ::vfio_iommu_info::ByteOrder;

    use crate::result::{VFIO_IOMMU_INFO_E_INVALID, VFIO_IOMMU_INFO_E_MALFORMED};

    fn sized() -> vfio_iommu_info_spapr_tce {
        vfio_iommu_info_spapr_tce {
            size: std::mem::size_of::<vfio_iommu_info_spapr_tce>() as u32,
            ..Default::default()
        }
    }

    /// The size on a 64-bit target, as CHANGELOG.md records it.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_struct_is_80_bytes() {
        assert_eq!(std::mem::size_of::<vfio_iommu_info_spapr_tce>(), 80);
    }

    #[test]
    fn decode_marshals_the_cores_answer() {
        let k = SpaprTceState {
            order: ByteOrder::Big,
            ..SpaprTceState::pseries_6_12()
        };
        let buf = k.encode();
        let mut out = sized();
        // SAFETY: a live buffer and struct.
        let rc = unsafe {
            vfio_iommu_info_spapr_tce_decode(
                buf.as_ptr(),
                buf.len(),
                crate::VFIO_IOMMU_INFO_BYTE_ORDER_BIG,
                &mut out,
            )
        };
        assert_eq!(rc, 0);
        assert_eq!(
            (
                out.has_default_window,
                out.default_window_end,
                out.ddw_state,
                out.ddw_page_sizes,
                out.ddw_max_windows,
                out.ddw_levels,
                out.ddw_expected_start
            ),
            (
                1,
                0x3fff_ffff,
                VFIO_IOMMU_INFO_DDW_SUPPORTED,
                0x1211000,
                2,
                1,
                1 << 59
            )
        );
        let short = SpaprTceState::pseries_6_12().encode_into_len(16, 0);
        let mut out = sized();
        // SAFETY: as above.
        let rc = unsafe { vfio_iommu_info_spapr_tce_decode(short.as_ptr(), 16, 0, &mut out) };
        assert_eq!((rc, out.ddw_state), (0, VFIO_IOMMU_INFO_DDW_NOT_RETURNED));
        // Cut short: malformed, the struct untouched.
        let mut out = sized();
        // SAFETY: as above.
        let rc = unsafe { vfio_iommu_info_spapr_tce_decode(buf.as_ptr(), 24, 0, &mut out) };
        assert_eq!((rc, out.argsz), (VFIO_IOMMU_INFO_E_MALFORMED, 0));
        // A size the caller forgot.
        let mut out = vfio_iommu_info_spapr_tce::default();
        // SAFETY: as above.
        let rc = unsafe { vfio_iommu_info_spapr_tce_decode(buf.as_ptr(), 32, 0, &mut out) };
        assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID);
    }

    #[test]
    fn bad_window_requests_never_reach_the_kernel() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&null);
        let mut start = 7u64;
        // SAFETY: an open fd and a live u64.
        let rc = unsafe { vfio_iommu_info_spapr_tce_create_window(fd, 16, 0x1000, 1, &mut start) };
        assert_eq!((rc, start), (VFIO_IOMMU_INFO_E_INVALID, 7));
        // /dev/null is refused as no container before any ioctl (ENOTTY).
        // SAFETY: as above.
        let rc = unsafe { vfio_iommu_info_spapr_tce_create_window(fd, 16, 1 << 32, 1, &mut start) };
        assert_eq!((rc, start), (-libc::ENOTTY, 7));
        // SAFETY: an open fd.
        assert_eq!(
            unsafe { vfio_iommu_info_spapr_tce_remove_window(fd, 1 << 59) },
            -libc::ENOTTY
        );
        // SAFETY: an open fd and a live struct.
        let rc = unsafe { vfio_iommu_info_spapr_tce_query(fd, &mut sized()) };
        assert_eq!(rc, -libc::ENOTTY);
    }
}
