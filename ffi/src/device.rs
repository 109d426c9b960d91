//! Device info and region info as opaque objects (since 0.3): `VFIO_DEVICE_GET_INFO`
//! (the s390 zPCI DMA window of ZPCI_BASE, the zPCI group, PCI atomics) and
//! `VFIO_DEVICE_GET_REGION_INFO` (where a region may be mmapped, what a device-specific
//! region is), decoded from the buffers the kernel filled.
//!
//! The C ABI has no device handle: the caller opens the device itself
//! (`VFIO_GROUP_GET_DEVICE_FD` on a group fd from `vfio_iommu_info_container_group()`),
//! issues the ioctl and decodes the buffer here.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::OnceLock;

use ::vfio_iommu_info::device_info::{decode_device_info, DeviceCap, DeviceInfo};
use ::vfio_iommu_info::region_info::{decode_region_info, RegionCap, RegionInfo, RegionType};
use ::vfio_iommu_info::type1::{CapLocation, UnknownCap};

use crate::args::{self, ListOut, Out, Sized32};
use crate::info::{
    lent, malformed, parse_byte_order, range_failure, vfio_iommu_info_cap, vfio_iommu_info_range,
    CapList,
};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_ABSENT, VFIO_IOMMU_INFO_E_MALFORMED};

/// `vfio_iommu_info_region_type.pci_vendor` of a type that is not a PCI vendor type (no
/// 16-bit vendor id has this value) (since 0.3).
pub const VFIO_IOMMU_INFO_NO_PCI_VENDOR: u32 = u32::MAX;

/// The fixed part of `struct vfio_device_info`, as found in the buffer (since 0.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_device_header {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_device_header)`; on success,
    /// the number of bytes the library filled.
    pub size: u32,
    /// `argsz` as the kernel returned it: the size it needs when `caps_truncated` is 1.
    pub argsz: u32,
    /// `VFIO_DEVICE_FLAGS_*`: bit 0 RESET, bit 1 PCI, bit 7 CAPS...
    pub flags: u32,
    /// How many regions the device has (`VFIO_DEVICE_GET_REGION_INFO` indexes).
    pub num_regions: u32,
    /// How many interrupt types it has (`VFIO_DEVICE_GET_IRQ_INFO` indexes).
    pub num_irqs: u32,
    /// `cap_offset`: where the chain starts; 0 when the CAPS flag is clear, the buffer
    /// (a kernel before 5.10) does not hold the field, or the chain did not fit.
    pub cap_offset: u32,
    /// 1 when the kernel had capabilities that did not fit the buffer (query again with
    /// `argsz` bytes), else 0.
    pub caps_truncated: u32,
}

impl Sized32 for vfio_iommu_info_device_header {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_device_header { size, ..self }
    }
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_BASE`: where an s390 PCI function may DMA, and who it is
/// (since 0.3). The kernel's 8- and 16-bit fields are widened to 32 bits.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_zpci_base {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_zpci_base)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// The capability's version (2 adds `fh`).
    pub version: u32,
    /// First IOVA of the function's DMA window.
    pub start_dma: u64,
    /// Last IOVA of the window (inclusive).
    pub end_dma: u64,
    /// Physical channel id.
    pub pchid: u32,
    /// Virtual function number.
    pub vfn: u32,
    /// Function measurement block length.
    pub fmb_length: u32,
    /// PCI function type.
    pub pft: u32,
    /// Function group id.
    pub gid: u32,
    /// 1 when `fh` was reported (version 2 and later), else 0.
    pub has_fh: u32,
    /// Function handle; 0 when `has_fh` is 0.
    pub fh: u32,
    /// Always 0 (padding, not from the kernel).
    pub reserved: u32,
}

impl Sized32 for vfio_iommu_info_zpci_base {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_zpci_base { size, ..self }
    }
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_GROUP`: what an s390 PCI function's group supports
/// (since 0.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_zpci_group {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_zpci_group)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// The capability's version (2 adds `imaxstbl`).
    pub version: u32,
    /// DMA address space mask.
    pub dasm: u64,
    /// MSI address.
    pub msi_addr: u64,
    /// `VFIO_DEVICE_INFO_ZPCI_FLAG_*`.
    pub flags: u64,
    /// Measurement update interval.
    pub mui: u32,
    /// Maximum number of MSIs.
    pub noi: u32,
    /// Maximum store block length.
    pub maxstbl: u32,
    /// The zPCI architecture version (`version` in the kernel's struct).
    pub zpci_version: u32,
    /// 1 when `imaxstbl` was reported (version 2 and later), else 0.
    pub has_imaxstbl: u32,
    /// Maximum interpreted store block length; 0 when `has_imaxstbl` is 0.
    pub imaxstbl: u32,
}

impl Sized32 for vfio_iommu_info_zpci_group {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_zpci_group { size, ..self }
    }
}

/// The fixed part of `struct vfio_region_info`, as found in the buffer (since 0.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_region_header {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_region_header)`; on success,
    /// the number of bytes the library filled.
    pub size: u32,
    /// `argsz` as the kernel returned it: the size it needs when `caps_truncated` is 1.
    pub argsz: u32,
    /// `VFIO_REGION_INFO_FLAG_*`: bit 0 READ, bit 1 WRITE, bit 2 MMAP, bit 3 CAPS.
    pub flags: u32,
    /// The region index.
    pub index: u32,
    /// `cap_offset`: where the chain starts; 0 when the CAPS flag is clear (the kernel
    /// then leaves the field as the caller passed it) or the chain did not fit.
    pub cap_offset: u32,
    /// 1 when the kernel had capabilities that did not fit the buffer (query again with
    /// `argsz` bytes), else 0.
    pub caps_truncated: u32,
    /// The region's size in bytes (0 for an unimplemented region, such as an unused BAR).
    pub region_size: u64,
    /// Where the region is in the device fd (for `pread`, `pwrite` and `mmap`).
    pub offset: u64,
}

impl Sized32 for vfio_iommu_info_region_header {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_region_header { size, ..self }
    }
}

/// An area of a region that may be mmapped, relative to the region's start (since 0.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_mmap_area {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_mmap_area)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// 1 when the area lies inside the region; 0 for a SPARSE_MMAP area that runs past
    /// its end (no kernel reports one; an mmap of it would fail or reach another region).
    pub within_region: u32,
    /// Where the area starts in the region (add the region's `offset` for `mmap`).
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

impl Sized32 for vfio_iommu_info_mmap_area {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_mmap_area { size, ..self }
    }
}

/// `VFIO_REGION_INFO_CAP_TYPE`: what a device-specific region is (since 0.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_region_type {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_region_type)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// The capability's version.
    pub version: u32,
    /// `type`: a `VFIO_REGION_TYPE_*`, or `VFIO_REGION_TYPE_PCI_VENDOR_TYPE` with a PCI
    /// vendor id in the low 16 bits.
    pub region_type: u32,
    /// `subtype`, in the namespace of the type (or of the vendor).
    pub subtype: u32,
    /// The PCI vendor id of a PCI vendor type, else `VFIO_IOMMU_INFO_NO_PCI_VENDOR`.
    pub pci_vendor: u32,
    /// Always 0 (padding, not from the kernel).
    pub reserved: u32,
    /// The subtype's `<linux/vfio.h>` name without `VFIO_REGION_SUBTYPE_`
    /// (`"INTEL_IGD_OPREGION"`...), or NULL for a type and subtype it does not define
    /// together: a static string, not to be freed.
    pub name: *const c_char,
    /// The type's name without `VFIO_REGION_TYPE_` (`"PCI_VENDOR"`, `"GFX"`, `"CCW"`,
    /// `"MIGRATION_DEPRECATED"`), or NULL: a static string, not to be freed.
    pub type_name: *const c_char,
}

impl Sized32 for vfio_iommu_info_region_type {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_region_type { size, ..self }
    }
}

/// What `VFIO_DEVICE_GET_INFO` said about a device: an opaque object from
/// `vfio_iommu_info_device_info_decode()`, freed by `vfio_iommu_info_device_info_free()`.
/// Immutable: it may be read from several threads (since 0.3).
pub struct vfio_iommu_info_device_info {
    info: DeviceInfo,
    /// The chain `vfio_iommu_info_device_info_chain()` lends (since 0.4), built on first
    /// use (not while decoding).
    chain: OnceLock<CapList>,
}

/// What `VFIO_DEVICE_GET_REGION_INFO` said about one region: an opaque object from
/// `vfio_iommu_info_region_info_decode()`, freed by `vfio_iommu_info_region_info_free()`.
/// Immutable: it may be read from several threads (since 0.3).
pub struct vfio_iommu_info_region_info {
    info: RegionInfo,
    /// The arrays the 0.4 list calls lend, built on first use (not while decoding).
    lists: OnceLock<RegionLists>,
}

/// The C arrays a region-info object lends (since 0.4).
struct RegionLists {
    mmap_areas: Vec<vfio_iommu_info_mmap_area>,
    chain: CapList,
}

/// The C view of a chain entry: `bytes` for an unknown capability only.
fn entry(loc: &CapLocation, unknown: Option<&UnknownCap>) -> vfio_iommu_info_cap {
    vfio_iommu_info_cap {
        size: 0,
        id: loc.id,
        version: loc.version,
        offset: loc.offset as u64,
        bytes: unknown.map_or(ptr::null(), |u| u.bytes.as_ptr()),
        len: unknown.map_or(0, |u| u.bytes.len()),
    }
}

impl vfio_iommu_info_device_info {
    pub(crate) fn new(info: DeviceInfo) -> vfio_iommu_info_device_info {
        vfio_iommu_info_device_info {
            info,
            chain: OnceLock::new(),
        }
    }

    /// The C view of the chain entry at `loc`.
    fn entry(&self, loc: &CapLocation) -> vfio_iommu_info_cap {
        let unknown = self.info.caps.iter().find_map(|c| match c {
            DeviceCap::Unknown(u) if u.offset == loc.offset => Some(u),
            _ => None,
        });
        entry(loc, unknown)
    }

    fn chain(&self) -> &CapList {
        self.chain.get_or_init(|| {
            CapList(
                self.info
                    .chain
                    .iter()
                    .map(|loc| lent(self.entry(loc)))
                    .collect(),
            )
        })
    }

    /// Why a capability `name` the device info lacks is absent, as a failure.
    fn absent(&self, name: &str) -> Failure {
        let why = self.info.cap_absence(name);
        Failure::new(VFIO_IOMMU_INFO_E_ABSENT, format!("{name} is absent: {why}"))
    }

    fn cap(&self, name: &str) -> Option<&DeviceCap> {
        self.info.caps.iter().find(|c| c.name() == name)
    }
}

impl vfio_iommu_info_region_info {
    pub(crate) fn new(info: RegionInfo) -> vfio_iommu_info_region_info {
        vfio_iommu_info_region_info {
            info,
            lists: OnceLock::new(),
        }
    }

    /// The C view of the chain entry at `loc`.
    fn entry(&self, loc: &CapLocation) -> vfio_iommu_info_cap {
        let unknown = self.info.caps.iter().find_map(|c| match c {
            RegionCap::Unknown(u) if u.offset == loc.offset => Some(u),
            _ => None,
        });
        entry(loc, unknown)
    }

    /// The C view of the mmappable areas, in the kernel's order (`size` 0).
    fn mmap_areas(&self) -> Vec<vfio_iommu_info_mmap_area> {
        self.info
            .mmap_areas()
            .iter()
            .map(|a| vfio_iommu_info_mmap_area {
                size: 0,
                within_region: u32::from(a.lies_within(self.info.size)),
                offset: a.offset,
                len: a.size,
            })
            .collect()
    }

    fn lists(&self) -> &RegionLists {
        self.lists.get_or_init(|| RegionLists {
            mmap_areas: self.mmap_areas().into_iter().map(lent).collect(),
            chain: CapList(
                self.info
                    .chain
                    .iter()
                    .map(|loc| lent(self.entry(loc)))
                    .collect(),
            ),
        })
    }

    fn absent(&self, name: &str) -> Failure {
        let why = self.info.cap_absence(name);
        Failure::new(VFIO_IOMMU_INFO_E_ABSENT, format!("{name} is absent: {why}"))
    }
}

/// Decodes a `struct vfio_device_info` buffer as the kernel filled it
/// (`VFIO_DEVICE_GET_INFO` on a device fd, or a capture): `len` bytes at `buf`, in
/// `byte_order` (`VFIO_IOMMU_INFO_BYTE_ORDER_*`), since 0.3. `buf` may be NULL only when
/// `len` is 0; the library does not keep it. A buffer shorter than the 16-byte fixed part
/// is malformed.
///
/// On success, returns 0 and stores a new object in `*out`, freed with
/// `vfio_iommu_info_device_info_free()`. On failure, returns `VFIO_IOMMU_INFO_E_MALFORMED`
/// (the last error names the byte offset and what is wrong there), `_E_NULL` or
/// `_E_INVALID` (`byte_order`), and leaves `*out` untouched.
///
/// # Safety
/// `buf` must point to `len` readable bytes; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_decode(
    buf: *const u8,
    len: usize,
    byte_order: u32,
    out: *mut *mut vfio_iommu_info_device_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_decode";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `len` readable bytes at `buf`.
        let data = unsafe { args::bytes(buf, len) }?;
        let order = parse_byte_order(byte_order)?;
        let info = decode_device_info(data, order).map_err(malformed)?;
        out.write(crate::handle::into_raw(vfio_iommu_info_device_info::new(
            info,
        )));
        Ok(())
    })
}

/// Frees a device-info object (since 0.3). NULL is accepted and ignored.
///
/// # Safety
/// `info` must be NULL or an object from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_free(info: *mut vfio_iommu_info_device_info) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(info, "vfio_iommu_info_device_info_free") }
}

/// Copies the fixed part of the device info into `*out`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_device_header)` (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` when `out->size`
/// is too small; `*out` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_header(
    info: *const vfio_iommu_info_device_info,
    out: *mut vfio_iommu_info_device_header,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_header";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let i = &info.info;
        out.write_sized(vfio_iommu_info_device_header {
            size: 0,
            argsz: i.argsz,
            flags: i.flags,
            num_regions: i.num_regions,
            num_irqs: i.num_irqs,
            cap_offset: i.cap_offset.unwrap_or(0),
            caps_truncated: u32::from(i.caps_truncated),
        });
        Ok(())
    })
}

/// The s390 PCI function's DMA window: ZPCI_BASE's `[start_dma, end_dma]`, both ends
/// inclusive (since 0.3). A device without it (any non-s390 device, or a kernel before
/// 5.10) is `VFIO_IOMMU_INFO_E_ABSENT`, with the reason in the last error.
///
/// Returns 0 and writes `*window`, `VFIO_IOMMU_INFO_E_ABSENT`, `VFIO_IOMMU_INFO_E_MALFORMED`
/// when the kernel reported `start_dma` above `end_dma`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `window` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_dma_window(
    info: *const vfio_iommu_info_device_info,
    window: *mut vfio_iommu_info_range,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_dma_window";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(window, "window")?;
        let base = info
            .info
            .zpci_base()
            .ok_or_else(|| info.absent("ZPCI_BASE"))?;
        let range = base.dma_window().ok_or_else(|| {
            Failure::new(
                VFIO_IOMMU_INFO_E_MALFORMED,
                format!(
                    "ZPCI_BASE reports an inverted DMA window: start_dma {:#x} > end_dma {:#x}",
                    base.start_dma, base.end_dma
                ),
            )
        })?;
        out.write(range.into());
        Ok(())
    })
}

/// The ZPCI_BASE capability, into `*out`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_zpci_base)` (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` (not an s390 PCI function, or a kernel before
/// 5.10), `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_zpci_base(
    info: *const vfio_iommu_info_device_info,
    out: *mut vfio_iommu_info_zpci_base,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_zpci_base";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let b = info
            .info
            .zpci_base()
            .ok_or_else(|| info.absent("ZPCI_BASE"))?;
        out.write_sized(vfio_iommu_info_zpci_base {
            size: 0,
            version: u32::from(b.version),
            start_dma: b.start_dma,
            end_dma: b.end_dma,
            pchid: u32::from(b.pchid),
            vfn: u32::from(b.vfn),
            fmb_length: u32::from(b.fmb_length),
            pft: u32::from(b.pft),
            gid: u32::from(b.gid),
            has_fh: u32::from(b.fh.is_some()),
            fh: b.fh.unwrap_or(0),
            reserved: 0,
        });
        Ok(())
    })
}

/// The ZPCI_GROUP capability, into `*out`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_zpci_group)` (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_ABSENT`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_zpci_group(
    info: *const vfio_iommu_info_device_info,
    out: *mut vfio_iommu_info_zpci_group,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_zpci_group";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let g = match info.cap("ZPCI_GROUP") {
            Some(DeviceCap::ZpciGroup(g)) => g,
            _ => return Err(info.absent("ZPCI_GROUP")),
        };
        out.write_sized(vfio_iommu_info_zpci_group {
            size: 0,
            version: u32::from(g.version),
            dasm: g.dasm,
            msi_addr: g.msi_addr,
            flags: g.flags,
            mui: u32::from(g.mui),
            noi: u32::from(g.noi),
            maxstbl: u32::from(g.maxstbl),
            zpci_version: u32::from(g.zpci_version),
            has_imaxstbl: u32::from(g.imaxstbl.is_some()),
            imaxstbl: u32::from(g.imaxstbl.unwrap_or(0)),
        });
        Ok(())
    })
}

/// The bytes of ZPCI_UTIL (`name` "ZPCI_UTIL": the utility string, EBCDIC) or ZPCI_PFIP
/// (the function's path), owned by `info`.
///
/// # Safety
/// As the exports that call it.
unsafe fn zpci_bytes(
    info: *const vfio_iommu_info_device_info,
    name: &'static str,
    bytes: *mut *const u8,
    len: *mut usize,
    function: &str,
) -> c_int {
    guard(function, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let bytes = Out::new(bytes, "bytes")?;
        let len = Out::new(len, "len")?;
        let data = match info.cap(name) {
            Some(DeviceCap::ZpciUtil { util_str: b, .. } | DeviceCap::ZpciPfip { pfip: b, .. }) => {
                b
            }
            _ => return Err(info.absent(name)),
        };
        // An empty Vec's pointer is dangling but not NULL, and never read with len 0.
        bytes.write(data.as_ptr());
        len.write(data.len());
        Ok(())
    })
}

/// The ZPCI_UTIL capability's utility string (EBCDIC, as the kernel gives it, not
/// NUL-terminated): `*bytes` receives a pointer owned by `info`, valid until it is freed,
/// and `*len` its length (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `bytes` and `len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_zpci_util(
    info: *const vfio_iommu_info_device_info,
    bytes: *mut *const u8,
    len: *mut usize,
) -> c_int {
    // SAFETY: the caller's guarantees are this function's.
    unsafe {
        zpci_bytes(
            info,
            "ZPCI_UTIL",
            bytes,
            len,
            "vfio_iommu_info_device_info_zpci_util",
        )
    }
}

/// The ZPCI_PFIP capability's PCI function path bytes: `*bytes` receives a pointer
/// owned by `info`, valid until it is freed, and `*len` its length (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `bytes` and `len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_zpci_pfip(
    info: *const vfio_iommu_info_device_info,
    bytes: *mut *const u8,
    len: *mut usize,
) -> c_int {
    // SAFETY: the caller's guarantees are this function's.
    unsafe {
        zpci_bytes(
            info,
            "ZPCI_PFIP",
            bytes,
            len,
            "vfio_iommu_info_device_info_zpci_pfip",
        )
    }
}

/// The PCI_ATOMIC_COMP capability's flags: `VFIO_PCI_ATOMIC_COMP32` (1), `_COMP64` (2),
/// `_COMP128` (4), the AtomicOp completers the root port supports (since 0.3).
///
/// Returns 0 and writes `*flags`, `VFIO_IOMMU_INFO_E_ABSENT` or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `flags` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_atomic_comp(
    info: *const vfio_iommu_info_device_info,
    flags: *mut u32,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_atomic_comp";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(flags, "flags")?;
        match info.cap("PCI_ATOMIC_COMP") {
            Some(DeviceCap::PciAtomicComp { flags, .. }) => out.write(*flags),
            _ => return Err(info.absent("PCI_ATOMIC_COMP")),
        }
        Ok(())
    })
}

/// The number of capabilities in the device-info chain, known and unknown (since 0.3).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_device_info_chain()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_chain_length(
    info: *const vfio_iommu_info_device_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_chain_length";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        Out::new(count, "count")?.write(info.info.caps.len());
        Ok(())
    })
}

/// The device-info capability at `index` in chain order, into `*out`, whose `size` the
/// caller sets to `sizeof(struct vfio_iommu_info_cap)`; `id` is the kernel's
/// `VFIO_DEVICE_INFO_CAP_*` and `bytes` is set for a capability this library does not
/// know (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_device_info_chain()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_device_info_chain_entry(
    info: *const vfio_iommu_info_device_info,
    index: usize,
    out: *mut vfio_iommu_info_cap,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_chain_entry";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let chain = &info.info.chain;
        let loc = chain
            .get(index)
            .ok_or_else(|| range_failure(index, chain.len()))?;
        out.write_sized(info.entry(loc));
        Ok(())
    })
}

/// Every capability of the device-info chain, known and unknown, in chain order, in one
/// call: `*items` receives an array of `*count` structs that `info` lends, read-only and
/// valid until `vfio_iommu_info_device_info_free()` (NULL and 0 for an empty chain). `id`
/// is the kernel's `VFIO_DEVICE_INFO_CAP_*`, `bytes` is set for a capability this library
/// does not know (owned by `info` too), and `size` is
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
pub unsafe extern "C" fn vfio_iommu_info_device_info_chain(
    info: *const vfio_iommu_info_device_info,
    items: *mut *const vfio_iommu_info_cap,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_device_info_chain";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = ListOut::new(items, count)?;
        out.write(&info.chain().0);
        Ok(())
    })
}

/// Decodes a `struct vfio_region_info` buffer as the kernel filled it
/// (`VFIO_DEVICE_GET_REGION_INFO` on a device fd, or a capture): `len` bytes at `buf`,
/// in `byte_order` (`VFIO_IOMMU_INFO_BYTE_ORDER_*`), since 0.3. `buf` may be NULL only
/// when `len` is 0; the library does not keep it. A buffer shorter than the 32-byte
/// structure is malformed.
///
/// On success, returns 0 and stores a new object in `*out`, freed with
/// `vfio_iommu_info_region_info_free()`. On failure, returns `VFIO_IOMMU_INFO_E_MALFORMED`
/// (the last error names the byte offset and what is wrong there), `_E_NULL` or
/// `_E_INVALID` (`byte_order`), and leaves `*out` untouched.
///
/// # Safety
/// `buf` must point to `len` readable bytes; `out` must point to writable storage for a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_decode(
    buf: *const u8,
    len: usize,
    byte_order: u32,
    out: *mut *mut vfio_iommu_info_region_info,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_decode";
    guard(F, || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `len` readable bytes at `buf`.
        let data = unsafe { args::bytes(buf, len) }?;
        let order = parse_byte_order(byte_order)?;
        let info = decode_region_info(data, order).map_err(malformed)?;
        out.write(crate::handle::into_raw(vfio_iommu_info_region_info::new(
            info,
        )));
        Ok(())
    })
}

/// Frees a region-info object (since 0.3). NULL is accepted and ignored.
///
/// # Safety
/// `info` must be NULL or an object from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_free(info: *mut vfio_iommu_info_region_info) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed
    // before and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(info, "vfio_iommu_info_region_info_free") }
}

/// Copies the fixed part of the region info into `*out`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_region_header)` (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` when `out->size`
/// is too small; `*out` is written only on success.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_header(
    info: *const vfio_iommu_info_region_info,
    out: *mut vfio_iommu_info_region_header,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_header";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let i = &info.info;
        out.write_sized(vfio_iommu_info_region_header {
            size: 0,
            argsz: i.argsz,
            flags: i.flags,
            index: i.index,
            cap_offset: i.cap_offset.unwrap_or(0),
            caps_truncated: u32::from(i.caps_truncated),
            region_size: i.size,
            offset: i.offset,
        });
        Ok(())
    })
}

/// A static C string for a name of `<linux/vfio.h>`; NULL for none.
fn static_name(name: Option<&'static str>) -> *const c_char {
    let c: Option<&'static CStr> = name.and_then(|n| match n {
        "PCI_VENDOR" => Some(c"PCI_VENDOR"),
        "GFX" => Some(c"GFX"),
        "CCW" => Some(c"CCW"),
        "MIGRATION_DEPRECATED" => Some(c"MIGRATION_DEPRECATED"),
        "INTEL_IGD_OPREGION" => Some(c"INTEL_IGD_OPREGION"),
        "INTEL_IGD_HOST_CFG" => Some(c"INTEL_IGD_HOST_CFG"),
        "INTEL_IGD_LPC_CFG" => Some(c"INTEL_IGD_LPC_CFG"),
        "NVIDIA_NVLINK2_RAM" => Some(c"NVIDIA_NVLINK2_RAM"),
        "IBM_NVLINK2_ATSD" => Some(c"IBM_NVLINK2_ATSD"),
        "GFX_EDID" => Some(c"GFX_EDID"),
        "CCW_ASYNC_CMD" => Some(c"CCW_ASYNC_CMD"),
        "CCW_SCHIB" => Some(c"CCW_SCHIB"),
        "CCW_CRW" => Some(c"CCW_CRW"),
        _ => None,
    });
    c.map_or(ptr::null(), CStr::as_ptr)
}

/// The TYPE capability of a device-specific region (vfio-pci's regions from index 9: an
/// Intel IGD OpRegion, a vGPU's EDID...), into `*out`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_region_type)` (since 0.3). Unknown types and subtypes
/// keep their numbers, with `name` NULL.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` (a region with no TYPE capability, such as a
/// PCI BAR), `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_type(
    info: *const vfio_iommu_info_region_info,
    out: *mut vfio_iommu_info_region_type,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_type";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let t: &RegionType = info.info.region_type().ok_or_else(|| info.absent("TYPE"))?;
        out.write_sized(vfio_iommu_info_region_type {
            size: 0,
            version: u32::from(t.version),
            region_type: t.region_type,
            subtype: t.subtype,
            pci_vendor: t
                .pci_vendor()
                .map_or(VFIO_IOMMU_INFO_NO_PCI_VENDOR, u32::from),
            reserved: 0,
            name: static_name(t.name()),
            type_name: static_name(t.type_name()),
        });
        Ok(())
    })
}

/// Whether the region carries MSIX_MAPPABLE (Linux 4.16+): the MSI-X table in this BAR
/// may be mmapped with the rest of it. `*mappable` is 1 or 0 (since 0.3).
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL`.
///
/// # Safety
/// `info` must be a live object of this library; `mappable` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_msix_mappable(
    info: *const vfio_iommu_info_region_info,
    mappable: *mut u32,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_msix_mappable";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        Out::new(mappable, "mappable")?.write(u32::from(info.info.msix_mappable()));
        Ok(())
    })
}

/// The number of areas of the region that may be mmapped (since 0.3): 0 without the
/// MMAP flag; with it, the areas of the SPARSE_MMAP capability when the region has one
/// (possibly 0), else 1, the whole region.
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_region_info_mmap_areas()` (0.4), which lends the whole
/// list in one call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_mmap_area_count(
    info: *const vfio_iommu_info_region_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_mmap_area_count";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        Out::new(count, "count")?.write(info.info.mmap_areas().len());
        Ok(())
    })
}

/// The mmappable area at `index`, in the kernel's order, into `*out`, whose `size` the
/// caller sets to `sizeof(struct vfio_iommu_info_mmap_area)` (since 0.3). `mmap` it at
/// the region's `offset` plus the area's `offset`; skip an area whose `within_region`
/// is 0.
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_region_info_mmap_areas()` (0.4), which lends the whole
/// list in one call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_mmap_area(
    info: *const vfio_iommu_info_region_info,
    index: usize,
    out: *mut vfio_iommu_info_mmap_area,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_mmap_area";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let areas = info.mmap_areas();
        let a = areas
            .get(index)
            .ok_or_else(|| range_failure(index, areas.len()))?;
        out.write_sized(*a);
        Ok(())
    })
}

/// The number of capabilities in the region-info chain, known and unknown (since 0.3).
///
/// Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_region_info_chain()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_chain_length(
    info: *const vfio_iommu_info_region_info,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_chain_length";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        Out::new(count, "count")?.write(info.info.caps.len());
        Ok(())
    })
}

/// The region-info capability at `index` in chain order, into `*out`, whose `size` the
/// caller sets to `sizeof(struct vfio_iommu_info_cap)`; `id` is the kernel's
/// `VFIO_REGION_INFO_CAP_*` (1 SPARSE_MMAP, 2 TYPE, 3 MSIX_MAPPABLE, 4 and 5 the NVLINK2
/// capabilities of old POWER kernels) and `bytes` is set for a capability this library
/// does not know (since 0.3).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
/// `VFIO_IOMMU_INFO_E_NULL`.
///
/// Superseded by `vfio_iommu_info_region_info_chain()` (0.4), which lends the whole list in
/// one call; kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `out` must point to a writable struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_chain_entry(
    info: *const vfio_iommu_info_region_info,
    index: usize,
    out: *mut vfio_iommu_info_cap,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_chain_entry";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(out, "out")?;
        let out = out.check_size("out")?;
        let chain = &info.info.chain;
        let loc = chain
            .get(index)
            .ok_or_else(|| range_failure(index, chain.len()))?;
        out.write_sized(info.entry(loc));
        Ok(())
    })
}

/// The areas of the region that may be mmapped, in the kernel's order, in one call (0
/// without the MMAP flag; with it, the areas of the SPARSE_MMAP capability when the region
/// has one, else one, the whole region): `*items` receives an array of `*count` structs
/// that `info` lends, read-only and valid until `vfio_iommu_info_region_info_free()` (NULL
/// and 0 when there is none), each with `size` set to
/// `sizeof(struct vfio_iommu_info_mmap_area)` of 0.4, the array's stride. `mmap` an area
/// at the region's `offset` plus the area's `offset`; skip one whose `within_region` is 0.
///
/// Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
/// on failure.
///
/// Since 0.4.
///
/// # Safety
/// `info` must be a live object of this library; `items` and `count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_region_info_mmap_areas(
    info: *const vfio_iommu_info_region_info,
    items: *mut *const vfio_iommu_info_mmap_area,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_mmap_areas";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = ListOut::new(items, count)?;
        out.write(&info.lists().mmap_areas);
        Ok(())
    })
}

/// Every capability of the region-info chain, known and unknown, in chain order, in one
/// call: `*items` receives an array of `*count` structs that `info` lends, read-only and
/// valid until `vfio_iommu_info_region_info_free()` (NULL and 0 for an empty chain). `id`
/// is the kernel's `VFIO_REGION_INFO_CAP_*`, `bytes` is set for a capability this library
/// does not know (owned by `info` too), and `size` is
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
pub unsafe extern "C" fn vfio_iommu_info_region_info_chain(
    info: *const vfio_iommu_info_region_info,
    items: *mut *const vfio_iommu_info_cap,
    count: *mut usize,
) -> c_int {
    const F: &str = "vfio_iommu_info_region_info_chain";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = ListOut::new(items, count)?;
        out.write(&info.lists().chain.0);
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.4":
    vfio_iommu_info_device_info_chain,
    vfio_iommu_info_region_info_mmap_areas,
    vfio_iommu_info_region_info_chain,
);

symbol_versions!(
    "VFIO_IOMMU_INFO_0.3":
    vfio_iommu_info_device_info_decode,
    vfio_iommu_info_device_info_free,
    vfio_iommu_info_device_info_header,
    vfio_iommu_info_device_info_dma_window,
    vfio_iommu_info_device_info_zpci_base,
    vfio_iommu_info_device_info_zpci_group,
    vfio_iommu_info_device_info_zpci_util,
    vfio_iommu_info_device_info_zpci_pfip,
    vfio_iommu_info_device_info_atomic_comp,
    vfio_iommu_info_device_info_chain_length,
    vfio_iommu_info_device_info_chain_entry,
    vfio_iommu_info_region_info_decode,
    vfio_iommu_info_region_info_free,
    vfio_iommu_info_region_info_header,
    vfio_iommu_info_region_info_type,
    vfio_iommu_info_region_info_msix_mappable,
    vfio_iommu_info_region_info_mmap_area_count,
    vfio_iommu_info_region_info_mmap_area,
    vfio_iommu_info_region_info_chain_length,
    vfio_iommu_info_region_info_chain_entry,
);
