//! `struct vfio_region_info` and its capability chain (`VFIO_DEVICE_GET_REGION_INFO`),
//! decoded by the same walker and span checks as the IOMMU info and the device info:
//! where a region may be mmapped (SPARSE_MMAP, MSIX_MAPPABLE), what a device-specific
//! region is (TYPE: an Intel IGD OpRegion, a GFX EDID, an s390 CCW region...), and the
//! NVLINK2 capabilities of old POWER kernels.
//!
//! The fixed part is 32 bytes on every kernel, and the kernel writes all of it back.
//! How a kernel fills the buffer (`vfio_pci_ioctl_get_region_info`, and since 6.19 the
//! common `vfio_get_region_info`): `argsz` below 32 is `EINVAL`; with capabilities that
//! do not fit `argsz`, it sets the `CAPS` flag, raises `argsz` to the size it needs and
//! writes `cap_offset` 0 (no capability byte is written); when they fit, it places them
//! from offset 32, sets `cap_offset` to 32 and leaves `argsz` as the caller passed it.
//! Without capabilities `cap_offset` is not written at all: it comes back as the caller
//! passed it, so it means nothing unless the `CAPS` flag is set.

use std::fmt;

use crate::decode::bytes::{ByteOrder, Reader};
use crate::decode::chain::{self, CapChain, RawCap};
use crate::decode::chain::{CapLocation, UnknownCap};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::sys::uapi::{cap_header, region_info as layout};

const STRUCTURE: &str = "struct vfio_region_info";

/// `VFIO_REGION_INFO_FLAG_READ`: the region supports `pread`.
pub const FLAG_READ: u32 = 1 << 0;
/// `VFIO_REGION_INFO_FLAG_WRITE`: the region supports `pwrite`.
pub const FLAG_WRITE: u32 = 1 << 1;
/// `VFIO_REGION_INFO_FLAG_MMAP`: the region (or the areas of its SPARSE_MMAP capability)
/// may be mmapped.
pub const FLAG_MMAP: u32 = 1 << 2;
/// `VFIO_REGION_INFO_FLAG_CAPS`: the kernel has a capability chain for this region.
pub const FLAG_CAPS: u32 = 1 << 3;

/// `VFIO_PCI_ROM_REGION_INDEX`: a PCI device's expansion ROM.
pub const PCI_ROM_REGION: u32 = 6;
/// `VFIO_PCI_CONFIG_REGION_INDEX`: a PCI device's configuration space.
pub const PCI_CONFIG_REGION: u32 = 7;
/// The offset of BAR0's register in PCI configuration space (`PCI_BASE_ADDRESS_0`).
pub const PCI_BAR0_OFFSET: u64 = 0x10;

/// What a PCI BAR register (its low dword) says the BAR is (PCI Local Bus 3.0, 6.2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// I/O space (bit 0 set).
    Io,
    /// Memory below 4 GiB (type 00b), prefetchable or not.
    Mem32 {
        /// Bit 3.
        prefetchable: bool,
    },
    /// Memory anywhere in 64 bits (type 10b): the next BAR register holds its high dword.
    Mem64 {
        /// Bit 3.
        prefetchable: bool,
    },
    /// A type the specification reserves (01b, below 1 MiB in PCI 2.x, or 11b).
    Reserved(u32),
}

impl BarKind {
    /// The kind of the BAR whose register's low dword is `dword`.
    pub const fn of(dword: u32) -> BarKind {
        if dword & 1 != 0 {
            return BarKind::Io;
        }
        let prefetchable = dword & 8 != 0;
        match (dword >> 1) & 3 {
            0 => BarKind::Mem32 { prefetchable },
            2 => BarKind::Mem64 { prefetchable },
            t => BarKind::Reserved(t),
        }
    }
}

/// `VFIO_PCI_VGA_REGION_INDEX`: legacy VGA ranges; `EINVAL` for a device that is no VGA
/// device.
pub const PCI_VGA_REGION: u32 = 8;
/// `VFIO_PCI_NUM_REGIONS`: the first index of vfio-pci's device-specific regions, each
/// of which carries a TYPE capability.
pub const PCI_NUM_REGIONS: u32 = 9;

/// The region types and subtypes of `<linux/vfio.h>` (`VFIO_REGION_TYPE_*`,
/// `VFIO_REGION_SUBTYPE_*`), as a TYPE capability carries them.
pub mod region_type {
    /// `VFIO_REGION_TYPE_PCI_VENDOR_TYPE`: the low 16 bits are a PCI vendor id, and the
    /// subtype is that vendor's.
    pub const PCI_VENDOR_TYPE: u32 = 1 << 31;
    /// `VFIO_REGION_TYPE_PCI_VENDOR_MASK`: the vendor id's bits.
    pub const PCI_VENDOR_MASK: u32 = 0xffff;
    /// `VFIO_REGION_TYPE_GFX`: a graphics region of a mediated vGPU.
    pub const GFX: u32 = 1;
    /// `VFIO_REGION_TYPE_CCW`: an s390 channel I/O region (vfio-ccw).
    pub const CCW: u32 = 2;
    /// `VFIO_REGION_TYPE_MIGRATION_DEPRECATED`: the v1 migration region (removed in 5.18).
    pub const MIGRATION_DEPRECATED: u32 = 3;
    /// `VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION` (vendor 0x8086).
    pub const INTEL_IGD_OPREGION: u32 = 1;
    /// `VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG` (vendor 0x8086).
    pub const INTEL_IGD_HOST_CFG: u32 = 2;
    /// `VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG` (vendor 0x8086).
    pub const INTEL_IGD_LPC_CFG: u32 = 3;
    /// `VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM` (vendor 0x10de; no longer provided).
    pub const NVIDIA_NVLINK2_RAM: u32 = 1;
    /// `VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD` (vendor 0x1014; no longer provided).
    pub const IBM_NVLINK2_ATSD: u32 = 1;
    /// `VFIO_REGION_SUBTYPE_GFX_EDID`.
    pub const GFX_EDID: u32 = 1;
    /// `VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD`.
    pub const CCW_ASYNC_CMD: u32 = 1;
    /// `VFIO_REGION_SUBTYPE_CCW_SCHIB`.
    pub const CCW_SCHIB: u32 = 2;
    /// `VFIO_REGION_SUBTYPE_CCW_CRW`.
    pub const CCW_CRW: u32 = 3;
    /// `VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED`.
    pub const MIGRATION_DEPRECATED_SUBTYPE: u32 = 1;
}

/// An area of a region that may be mmapped (`struct vfio_region_sparse_mmap_area`):
/// `size` bytes from `offset`, both relative to the start of the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MmapArea {
    /// Where the area starts in the region.
    pub offset: u64,
    /// Its length in bytes.
    pub size: u64,
}

impl MmapArea {
    /// The first byte past the area, or `None` when `offset + size` passes 2^64.
    pub fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.size)
    }

    /// Whether the area lies inside a region of `region_size` bytes.
    pub fn lies_within(&self, region_size: u64) -> bool {
        self.end().is_some_and(|end| end <= region_size)
    }
}

/// `VFIO_REGION_INFO_CAP_TYPE`: what a device-specific region is. The numbers are kept as
/// the kernel gave them; [`RegionType::name`] names the ones `<linux/vfio.h>` defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegionType {
    /// The capability's version.
    pub version: u16,
    /// `type`: a `VFIO_REGION_TYPE_*`, or [`region_type::PCI_VENDOR_TYPE`] with a PCI
    /// vendor id in the low 16 bits.
    pub region_type: u32,
    /// `subtype`, in the namespace of the type (or of the vendor).
    pub subtype: u32,
}

impl RegionType {
    /// The PCI vendor id of a vendor type (`PCI_VENDOR_TYPE | vendor`), else `None`.
    pub fn pci_vendor(&self) -> Option<u16> {
        const OTHER_BITS: u32 = !(region_type::PCI_VENDOR_TYPE | region_type::PCI_VENDOR_MASK);
        (self.region_type & region_type::PCI_VENDOR_TYPE != 0 && self.region_type & OTHER_BITS == 0)
            .then_some((self.region_type & region_type::PCI_VENDOR_MASK) as u16)
    }

    /// The type's name without the `VFIO_REGION_TYPE_` prefix (`PCI_VENDOR`, `GFX`,
    /// `CCW`, `MIGRATION_DEPRECATED`), or `None` for a type `<linux/vfio.h>` does not
    /// define.
    pub fn type_name(&self) -> Option<&'static str> {
        if self.pci_vendor().is_some() {
            return Some("PCI_VENDOR");
        }
        match self.region_type {
            region_type::GFX => Some("GFX"),
            region_type::CCW => Some("CCW"),
            region_type::MIGRATION_DEPRECATED => Some("MIGRATION_DEPRECATED"),
            _ => None,
        }
    }

    /// The subtype's name without the `VFIO_REGION_SUBTYPE_` prefix
    /// (`INTEL_IGD_OPREGION`, `GFX_EDID`, `CCW_SCHIB`...), or `None` for a type and
    /// subtype `<linux/vfio.h>` does not define together.
    pub fn name(&self) -> Option<&'static str> {
        use region_type as t;
        Some(match (self.pci_vendor(), self.region_type, self.subtype) {
            (Some(0x8086), _, t::INTEL_IGD_OPREGION) => "INTEL_IGD_OPREGION",
            (Some(0x8086), _, t::INTEL_IGD_HOST_CFG) => "INTEL_IGD_HOST_CFG",
            (Some(0x8086), _, t::INTEL_IGD_LPC_CFG) => "INTEL_IGD_LPC_CFG",
            (Some(0x10de), _, t::NVIDIA_NVLINK2_RAM) => "NVIDIA_NVLINK2_RAM",
            (Some(0x1014), _, t::IBM_NVLINK2_ATSD) => "IBM_NVLINK2_ATSD",
            (None, t::GFX, t::GFX_EDID) => "GFX_EDID",
            (None, t::CCW, t::CCW_ASYNC_CMD) => "CCW_ASYNC_CMD",
            (None, t::CCW, t::CCW_SCHIB) => "CCW_SCHIB",
            (None, t::CCW, t::CCW_CRW) => "CCW_CRW",
            (None, t::MIGRATION_DEPRECATED, t::MIGRATION_DEPRECATED_SUBTYPE) => {
                "MIGRATION_DEPRECATED"
            }
            _ => return None,
        })
    }
}

impl fmt::Display for RegionType {
    /// `INTEL_IGD_OPREGION (type 0x80008086, subtype 1)`, `PCI vendor 0x1af4 subtype 5
    /// (type 0x80001af4)`, or `type 0x7, subtype 2` for numbers this library does not name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, s) = (self.region_type, self.subtype);
        match (self.name(), self.pci_vendor()) {
            (Some(name), _) => write!(f, "{name} (type {t:#x}, subtype {s})"),
            (None, Some(vendor)) => {
                write!(f, "PCI vendor {vendor:#06x} subtype {s} (type {t:#x})")
            }
            (None, None) => write!(f, "type {t:#x}, subtype {s}"),
        }
    }
}

/// A capability of the region-info chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionCap {
    /// `SPARSE_MMAP` (id 1): only these areas of the region may be mmapped.
    SparseMmap {
        /// The capability's version (only version 1 exists).
        version: u16,
        /// The areas, as the kernel listed them. An area may run past the region's end
        /// (the kernel never reports one): [`RegionInfo::areas_outside`] lists them.
        areas: Vec<MmapArea>,
    },
    /// `TYPE` (id 2): what a device-specific region is.
    Type(RegionType),
    /// `MSIX_MAPPABLE` (id 3, a bare header): the MSI-X table in this BAR may be mmapped
    /// along with the rest of it (Linux 4.16+); interrupts are still set up through
    /// `VFIO_DEVICE_SET_IRQS`.
    MsixMappable {
        /// The capability's version.
        version: u16,
    },
    /// `NVLINK2_SSATGT` (id 4): where an NVLink2 GPU's RAM sits on the system bus (POWER9;
    /// no longer produced since Linux 5.13).
    Nvlink2Ssatgt {
        /// The capability's version.
        version: u16,
        /// `tgt`: the compressed real address of the GPU RAM.
        tgt: u64,
    },
    /// `NVLINK2_LNKSPD` (id 5): an NVLink2 bridge's link speed (POWER9; no longer produced
    /// since Linux 5.13).
    Nvlink2Lnkspd {
        /// The capability's version.
        version: u16,
        /// `link_speed`, from the device tree's `ibm,nvlink-speed`.
        link_speed: u32,
    },
    /// A capability this library does not know, kept raw.
    Unknown(UnknownCap),
}

impl RegionCap {
    /// The capability's short name: `SPARSE_MMAP`, `TYPE`, `MSIX_MAPPABLE`,
    /// `NVLINK2_SSATGT`, `NVLINK2_LNKSPD`, or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            RegionCap::SparseMmap { .. } => "SPARSE_MMAP",
            RegionCap::Type(_) => "TYPE",
            RegionCap::MsixMappable { .. } => "MSIX_MAPPABLE",
            RegionCap::Nvlink2Ssatgt { .. } => "NVLINK2_SSATGT",
            RegionCap::Nvlink2Lnkspd { .. } => "NVLINK2_LNKSPD",
            RegionCap::Unknown(_) => "unknown",
        }
    }

    /// The capability's id (`VFIO_REGION_INFO_CAP_*`, or the unknown one's).
    pub fn id(&self) -> u16 {
        match self {
            RegionCap::SparseMmap { .. } => layout::CAP_SPARSE_MMAP,
            RegionCap::Type(_) => layout::CAP_TYPE,
            RegionCap::MsixMappable { .. } => layout::CAP_MSIX_MAPPABLE,
            RegionCap::Nvlink2Ssatgt { .. } => layout::CAP_NVLINK2_SSATGT,
            RegionCap::Nvlink2Lnkspd { .. } => layout::CAP_NVLINK2_LNKSPD,
            RegionCap::Unknown(u) => u.id,
        }
    }

    /// The capability's version.
    pub fn version(&self) -> u16 {
        match self {
            RegionCap::SparseMmap { version, .. }
            | RegionCap::MsixMappable { version }
            | RegionCap::Nvlink2Ssatgt { version, .. }
            | RegionCap::Nvlink2Lnkspd { version, .. } => *version,
            RegionCap::Type(t) => t.version,
            RegionCap::Unknown(u) => u.version,
        }
    }
}

/// What `VFIO_DEVICE_GET_REGION_INFO` said about one region of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    /// `argsz` as found (the size the kernel needs when the chain did not fit).
    pub argsz: u32,
    /// `VFIO_REGION_INFO_FLAG_*` (READ 1, WRITE 2, MMAP 4, CAPS 8).
    pub flags: u32,
    /// The region index (`VFIO_PCI_BAR0_REGION_INDEX`... for vfio-pci).
    pub index: u32,
    /// `cap_offset` as found, when the `CAPS` flag is set (without it the field holds
    /// whatever the caller passed).
    pub cap_offset: Option<u32>,
    /// The region's size in bytes (0 for an unimplemented region, such as an unused BAR).
    pub size: u64,
    /// Where the region is in the device fd (for `pread`, `pwrite` and `mmap`).
    pub offset: u64,
    /// The kernel had capabilities that did not fit the buffer (query again with `argsz`
    /// bytes; `Device::region` in the query layer does).
    pub caps_truncated: bool,
    /// The capabilities in chain order.
    pub caps: Vec<RegionCap>,
    /// Where each capability of `caps` sits, in the same order.
    pub chain: Vec<CapLocation>,
}

impl RegionInfo {
    /// Why the capability `name` (`SPARSE_MMAP`, `TYPE`, ...) is not in
    /// [`RegionInfo::caps`], in words for a message (the caller checked it is not).
    pub fn cap_absence(&self, name: &str) -> String {
        chain::cap_absence(
            self.caps_truncated,
            self.argsz,
            self.flags & FLAG_CAPS != 0,
            || {
                format!(
                    "the CAPS flag is clear (flags {:#x}): region {} has no capability",
                    self.flags, self.index
                )
            },
            || {
                format!(
                    "the chain of region {} holds no {name} capability",
                    self.index
                )
            },
        )
    }

    /// The `READ` flag: the region may be read with `pread`.
    pub fn readable(&self) -> bool {
        self.flags & FLAG_READ != 0
    }

    /// The `WRITE` flag: the region may be written with `pwrite`.
    pub fn writable(&self) -> bool {
        self.flags & FLAG_WRITE != 0
    }

    /// The `MMAP` flag: the region, or the areas of its SPARSE_MMAP capability, may be
    /// mmapped.
    pub fn mmappable(&self) -> bool {
        self.flags & FLAG_MMAP != 0
    }

    /// The areas of the SPARSE_MMAP capability, when the region has one.
    pub fn sparse_mmap(&self) -> Option<&[MmapArea]> {
        self.caps.iter().find_map(|c| match c {
            RegionCap::SparseMmap { areas, .. } => Some(areas.as_slice()),
            _ => None,
        })
    }

    /// The TYPE capability of a device-specific region.
    pub fn region_type(&self) -> Option<&RegionType> {
        self.caps.iter().find_map(|c| match c {
            RegionCap::Type(t) => Some(t),
            _ => None,
        })
    }

    /// Whether the region carries MSIX_MAPPABLE: its MSI-X table may be mmapped with the
    /// rest of the BAR.
    pub fn msix_mappable(&self) -> bool {
        self.caps
            .iter()
            .any(|c| matches!(c, RegionCap::MsixMappable { .. }))
    }

    /// Where the region may be mmapped, relative to its start: nothing without the
    /// `MMAP` flag; the SPARSE_MMAP areas when there are some; else the whole region.
    pub fn mmap_areas(&self) -> Vec<MmapArea> {
        if !self.mmappable() {
            return Vec::new();
        }
        match self.sparse_mmap() {
            Some(areas) => areas.to_vec(),
            None if self.size == 0 => Vec::new(),
            None => vec![MmapArea {
                offset: 0,
                size: self.size,
            }],
        }
    }

    /// The SPARSE_MMAP areas that run past the end of the region (or past 2^64): no
    /// kernel reports one, and an mmap of one would fail or reach another region.
    pub fn areas_outside(&self) -> Vec<MmapArea> {
        self.sparse_mmap()
            .unwrap_or_default()
            .iter()
            .filter(|a| !a.lies_within(self.size))
            .copied()
            .collect()
    }
}

/// Decodes a `struct vfio_region_info` buffer as a kernel filled it (its length is the
/// buffer's size), in the given byte order.
pub fn decode_region_info(buf: &[u8], order: ByteOrder) -> Result<RegionInfo, DecodeError> {
    decode(buf, order).map_err(|e| e.in_structure(STRUCTURE))
}

fn decode(buf: &[u8], order: ByteOrder) -> Result<RegionInfo, DecodeError> {
    let reader = Reader::new(buf, order);
    let Some(fixed) = reader.fields::<{ layout::SIZE }>(0) else {
        return Err(DecodeError::new(
            buf.len(),
            DecodeErrorKind::TooShort {
                len: buf.len(),
                needed: layout::SIZE,
            },
        ));
    };
    let mut info = RegionInfo {
        argsz: fixed.u32(layout::ARGSZ),
        flags: fixed.u32(layout::FLAGS),
        index: fixed.u32(layout::INDEX),
        cap_offset: None,
        size: fixed.u64(layout::SIZE_FIELD),
        offset: fixed.u64(layout::OFFSET),
        caps_truncated: false,
        caps: Vec::new(),
        chain: Vec::new(),
    };
    if info.flags & FLAG_CAPS == 0 {
        return Ok(info);
    }
    let first = fixed.u32(layout::CAP_OFFSET);
    info.cap_offset = Some(first);
    if first == 0 || first as usize >= buf.len() {
        // The kernel zeroes cap_offset and raises argsz when the chain does not fit.
        if info.argsz as usize > buf.len() {
            info.caps_truncated = true;
            return Ok(info);
        }
        if first == 0 {
            return Ok(info);
        }
    }
    let (caps, chain) = chain::walk_caps(
        buf,
        CapChain::new(buf, order, layout::CAP_OFFSET, first, layout::SIZE),
        decode_cap,
    )?;
    info.caps = caps;
    info.chain = chain;
    Ok(info)
}

/// The error for a known capability `name` in a version this library cannot read.
#[cold]
fn unsupported_version(cap: &RawCap<'_>, name: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::new(
        cap.offset + cap_header::VERSION,
        DecodeErrorKind::UnsupportedCapVersion {
            name,
            id: cap.id,
            version: cap.version,
            reason,
        },
    )
}

/// One capability and the bytes of it this library reads (for the overlap check).
///
/// Versions: every capability starts at version 1, so a known id at version 0 is a
/// corrupt header. A later version of a fixed-size capability appends fields, and its
/// version-1 fields are read. SPARSE_MMAP ends in its `areas[]` array, so a later version
/// cannot append to it and may lay it out anew: only version 1 is read.
fn decode_cap(cap: &RawCap<'_>) -> Result<(RegionCap, usize), DecodeError> {
    let known = matches!(
        cap.id,
        layout::CAP_SPARSE_MMAP
            | layout::CAP_TYPE
            | layout::CAP_MSIX_MAPPABLE
            | layout::CAP_NVLINK2_SSATGT
            | layout::CAP_NVLINK2_LNKSPD
    );
    if known && cap.version == 0 {
        let name = match cap.id {
            layout::CAP_SPARSE_MMAP => "SPARSE_MMAP",
            layout::CAP_TYPE => "TYPE",
            layout::CAP_MSIX_MAPPABLE => "MSIX_MAPPABLE",
            layout::CAP_NVLINK2_SSATGT => "NVLINK2_SSATGT",
            _ => "NVLINK2_LNKSPD",
        };
        return Err(unsupported_version(
            cap,
            name,
            "capability versions start at 1, so this header is corrupt",
        ));
    }
    Ok(match cap.id {
        layout::CAP_SPARSE_MMAP => {
            if cap.version != 1 {
                return Err(unsupported_version(
                    cap,
                    "SPARSE_MMAP",
                    "version 1 ends in its areas[] array, so a later version may lay the areas out anew; update vfio-iommu-info (the raw buffer is still there)",
                ));
            }
            let areas = read_areas(cap)?;
            let size = layout::SPARSE_AREAS + areas.len() * layout::SPARSE_AREA_SIZE;
            (
                RegionCap::SparseMmap {
                    version: cap.version,
                    areas,
                },
                size,
            )
        }
        layout::CAP_TYPE => {
            let f = cap.fields::<{ layout::TYPE_SIZE }>("TYPE")?;
            let t = RegionType {
                version: cap.version,
                region_type: f.u32(layout::TYPE_TYPE),
                subtype: f.u32(layout::TYPE_SUBTYPE),
            };
            (RegionCap::Type(t), layout::TYPE_SIZE)
        }
        layout::CAP_MSIX_MAPPABLE => (
            RegionCap::MsixMappable {
                version: cap.version,
            },
            cap_header::SIZE,
        ),
        layout::CAP_NVLINK2_SSATGT => {
            let f = cap.fields::<{ layout::NVLINK2_SIZE }>("NVLINK2_SSATGT")?;
            let decoded = RegionCap::Nvlink2Ssatgt {
                version: cap.version,
                tgt: f.u64(layout::SSATGT_TGT),
            };
            (decoded, layout::NVLINK2_SIZE)
        }
        layout::CAP_NVLINK2_LNKSPD => {
            // `link_speed` and a 4-byte pad: only the first 12 bytes are read.
            let f = cap.fields::<{ layout::LNKSPD_LINK_SPEED + 4 }>("NVLINK2_LNKSPD")?;
            let decoded = RegionCap::Nvlink2Lnkspd {
                version: cap.version,
                link_speed: f.u32(layout::LNKSPD_LINK_SPEED),
            };
            (decoded, layout::LNKSPD_LINK_SPEED + 4)
        }
        _ => (
            RegionCap::Unknown(UnknownCap {
                id: cap.id,
                version: cap.version,
                offset: cap.offset,
                bytes: Vec::new(),
            }),
            cap_header::SIZE,
        ),
    })
}

/// The areas of a SPARSE_MMAP capability: `nr_areas` checked against the bytes left in
/// the buffer before any is read (`16 + 16 * nr_areas` computed in 64 bits, so a count
/// whose product overflows 32 bits is a clean error).
fn read_areas(cap: &RawCap<'_>) -> Result<Vec<MmapArea>, DecodeError> {
    let count = cap
        .fields::<{ layout::SPARSE_AREAS }>("SPARSE_MMAP")?
        .u32(layout::SPARSE_NR_AREAS);
    let tail = cap.tail();
    let needed = u64::from(count)
        .checked_mul(layout::SPARSE_AREA_SIZE as u64)
        .and_then(|n| n.checked_add(layout::SPARSE_AREAS as u64));
    let bytes = needed
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| tail.get(layout::SPARSE_AREAS..n))
        .ok_or_else(|| {
            DecodeError::new(
                cap.offset + layout::SPARSE_NR_AREAS,
                DecodeErrorKind::AreaCountTooLarge {
                    count,
                    needed: needed.unwrap_or(u64::MAX),
                    available: tail.len(),
                },
            )
        })?;
    let reader = Reader::new(bytes, cap.order());
    Ok((0..count as usize)
        .filter_map(|i| reader.fields::<{ layout::SPARSE_AREA_SIZE }>(i * layout::SPARSE_AREA_SIZE))
        .map(|f| MmapArea {
            offset: f.u64(0),
            size: f.u64(8),
        })
        .collect())
}

/// How the shared chain walk sees a capability: known ones by name, unknown ones
/// getting their bytes.
impl chain::ChainCap for RegionCap {
    fn known_name(&self) -> Option<&'static str> {
        (!matches!(self, RegionCap::Unknown(_))).then(|| self.name())
    }

    fn unknown_mut(&mut self) -> Option<&mut UnknownCap> {
        match self {
            RegionCap::Unknown(u) => Some(u),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::bytes::{put_u16, put_u32, put_u64};
    use proptest::prelude::*;

    #[test]
    fn bar_kinds_from_their_register() {
        assert_eq!(BarKind::of(0x0000_c001), BarKind::Io);
        assert_eq!(
            BarKind::of(0xfe00_0000),
            BarKind::Mem32 {
                prefetchable: false
            }
        );
        assert_eq!(
            BarKind::of(0x0000_000c),
            BarKind::Mem64 { prefetchable: true }
        );
        assert_eq!(
            BarKind::of(0x0000_0004),
            BarKind::Mem64 {
                prefetchable: false
            }
        );
        assert_eq!(BarKind::of(0x0000_0002), BarKind::Reserved(1));
        assert_eq!(BarKind::of(0x0000_0006), BarKind::Reserved(3));
    }

    /// A capability as the kernel builds it: id, version, and the bytes after the header.
    type Cap = (u16, u16, Vec<u8>);

    /// A region-info buffer as Linux fills it (`vfio_pci_ioctl_get_region_info`, or
    /// 6.19's `vfio_get_region_info`) for a caller that passed `len` bytes, `argsz = len`
    /// and a canary (0xAA) everywhere else: the capabilities are built one after another
    /// from offset 0 (`vfio_info_cap_add`; every region capability is a multiple of 8
    /// bytes, so 6.6's padding changes nothing), then either shifted to 32 and copied
    /// (`cap_offset` 32, `argsz` left alone) or, when they do not fit, not copied at all
    /// (`argsz` raised, `cap_offset` 0). Without capabilities `cap_offset` is the
    /// caller's (the canary). The fixed part is always written.
    fn kernel_fill(
        order: ByteOrder,
        len: usize,
        flags: u32,
        index: u32,
        size: u64,
        caps: &[Cap],
    ) -> Vec<u8> {
        assert!(len >= 32, "the kernel refuses argsz below 32 with EINVAL");
        let mut buf = vec![0xAAu8; len];
        let caps_size: usize = caps.iter().map(|c| 8 + c.2.len()).sum();
        let mut argsz = len as u32;
        let mut flags = flags;
        let mut cap_offset = u32::from_ne_bytes([0xAA; 4]);
        if !caps.is_empty() {
            flags |= FLAG_CAPS;
            if len < 32 + caps_size {
                argsz = (32 + caps_size) as u32;
                cap_offset = 0;
            } else {
                let mut at = 32;
                for (i, (id, version, payload)) in caps.iter().enumerate() {
                    let next = if i + 1 == caps.len() {
                        0
                    } else {
                        (at + 8 + payload.len()) as u32
                    };
                    put_u16(&mut buf, at, *id, order);
                    put_u16(&mut buf, at + 2, *version, order);
                    put_u32(&mut buf, at + 4, next, order);
                    buf[at + 8..at + 8 + payload.len()].copy_from_slice(payload);
                    at += 8 + payload.len();
                }
                cap_offset = 32;
            }
        }
        put_u32(&mut buf, 0, argsz, order);
        put_u32(&mut buf, 4, flags, order);
        put_u32(&mut buf, 8, index, order);
        put_u32(&mut buf, 12, cap_offset, order);
        put_u64(&mut buf, 16, size, order);
        put_u64(&mut buf, 24, u64::from(index) << 40, order);
        buf
    }

    fn sparse(order: ByteOrder, areas: &[(u64, u64)]) -> Cap {
        let mut p = vec![0u8; 8 + 16 * areas.len()];
        put_u32(&mut p, 0, areas.len() as u32, order);
        for (i, (offset, size)) in areas.iter().enumerate() {
            put_u64(&mut p, 8 + 16 * i, *offset, order);
            put_u64(&mut p, 16 + 16 * i, *size, order);
        }
        (layout::CAP_SPARSE_MMAP, 1, p)
    }

    fn type_cap(order: ByteOrder, region_type: u32, subtype: u32) -> Cap {
        let mut p = vec![0u8; 8];
        put_u32(&mut p, 0, region_type, order);
        put_u32(&mut p, 4, subtype, order);
        (layout::CAP_TYPE, 1, p)
    }

    fn msix_mappable() -> Cap {
        (layout::CAP_MSIX_MAPPABLE, 1, Vec::new())
    }

    const RWM: u32 = FLAG_READ | FLAG_WRITE | FLAG_MMAP;
    const ORDERS: [ByteOrder; 2] = [ByteOrder::Little, ByteOrder::Big];

    /// Linux 4.16+ (`msix_mmappable_cap`): an mmappable BAR that holds the MSI-X table
    /// gets a bare MSIX_MAPPABLE header. Before 4.16 (`msix_sparse_mmap_cap`) the same
    /// BAR got a SPARSE_MMAP listing the areas around the table: here a 16 KiB BAR whose
    /// 64-vector table (1 KiB) sits at 0x2000, so two areas, [0, 0x2000) and
    /// [0x3000, 0x4000).
    #[test]
    fn an_msix_bar_as_old_and_new_vfio_pci_describe_it() {
        for order in ORDERS {
            let buf = kernel_fill(order, 256, RWM, 2, 0x4000, &[msix_mappable()]);
            let r = decode_region_info(&buf, order).unwrap();
            assert_eq!((r.argsz, r.flags, r.index), (256, RWM | FLAG_CAPS, 2));
            assert_eq!(
                (r.size, r.offset, r.cap_offset),
                (0x4000, 2 << 40, Some(32))
            );
            assert!(r.msix_mappable() && !r.caps_truncated);
            assert_eq!(r.caps, vec![RegionCap::MsixMappable { version: 1 }]);
            assert_eq!(
                r.mmap_areas(),
                vec![MmapArea {
                    offset: 0,
                    size: 0x4000
                }]
            );

            let areas = [(0, 0x2000), (0x3000, 0x1000)];
            let buf = kernel_fill(order, 256, RWM, 2, 0x4000, &[sparse(order, &areas)]);
            let r = decode_region_info(&buf, order).unwrap();
            let want: Vec<MmapArea> = areas
                .iter()
                .map(|&(offset, size)| MmapArea { offset, size })
                .collect();
            assert_eq!(r.sparse_mmap(), Some(want.as_slice()), "{order}");
            assert_eq!(r.mmap_areas(), want);
            assert!(!r.msix_mappable() && r.areas_outside().is_empty());
            assert_eq!(r.caps[0].name(), "SPARSE_MMAP");
        }
    }

    /// Both capabilities in one chain (a variant driver could add both; vfio-pci itself
    /// never did), the sparse one first: each is found and the areas win for mmap.
    #[test]
    fn sparse_mmap_and_msix_mappable_in_one_chain() {
        for order in ORDERS {
            let caps = [sparse(order, &[(0x1000, 0x3000)]), msix_mappable()];
            let buf = kernel_fill(order, 256, RWM, 0, 0x4000, &caps);
            let r = decode_region_info(&buf, order).unwrap();
            assert_eq!(r.caps.len(), 2);
            assert!(r.msix_mappable());
            assert_eq!(
                r.mmap_areas(),
                vec![MmapArea {
                    offset: 0x1000,
                    size: 0x3000
                }]
            );
            assert_eq!(
                r.caps.iter().map(RegionCap::id).collect::<Vec<_>>(),
                vec![1, 3]
            );
        }
    }

    /// vfio-pci's device-specific region 9 on an Intel IGD: the OpRegion (8 KiB,
    /// read-only) with its TYPE capability, `PCI_VENDOR_TYPE | 0x8086`, subtype 1.
    #[test]
    fn an_igd_opregion_names_its_type() {
        for order in ORDERS {
            let t = type_cap(
                order,
                region_type::PCI_VENDOR_TYPE | 0x8086,
                region_type::INTEL_IGD_OPREGION,
            );
            let buf = kernel_fill(order, 256, FLAG_READ, PCI_NUM_REGIONS, 0x2000, &[t]);
            let r = decode_region_info(&buf, order).unwrap();
            let t = r.region_type().unwrap();
            assert_eq!((t.region_type, t.subtype, t.version), (0x8000_8086, 1, 1));
            assert_eq!(t.pci_vendor(), Some(0x8086));
            assert_eq!(
                (t.type_name(), t.name()),
                (Some("PCI_VENDOR"), Some("INTEL_IGD_OPREGION"))
            );
            assert_eq!(
                t.to_string(),
                "INTEL_IGD_OPREGION (type 0x80008086, subtype 1)"
            );
            assert!(r.mmap_areas().is_empty(), "no MMAP flag");
            assert_eq!(r.offset, 9 << 40);
        }
    }

    #[test]
    fn unknown_region_types_keep_their_numbers() {
        let t = |region_type, subtype| RegionType {
            version: 1,
            region_type,
            subtype,
        };
        let v = t(region_type::PCI_VENDOR_TYPE | 0x1af4, 5);
        assert_eq!(
            (v.pci_vendor(), v.type_name(), v.name()),
            (Some(0x1af4), Some("PCI_VENDOR"), None)
        );
        assert_eq!(
            v.to_string(),
            "PCI vendor 0x1af4 subtype 5 (type 0x80001af4)"
        );
        // Intel's subtype 1 means nothing under another vendor, GFX's 1 nothing under CCW.
        assert_eq!(t(region_type::PCI_VENDOR_TYPE | 0x10de, 3).name(), None);
        assert_eq!(t(region_type::CCW, 2).name(), Some("CCW_SCHIB"));
        assert_eq!(t(region_type::GFX, 1).name(), Some("GFX_EDID"));
        assert_eq!(
            t(region_type::MIGRATION_DEPRECATED, 1).name(),
            Some("MIGRATION_DEPRECATED")
        );
        assert_eq!(t(region_type::CCW, 9).name(), None);
        // Bits between the vendor and the top bit: not a vendor type this header defines.
        let odd = t(region_type::PCI_VENDOR_TYPE | 0x0001_8086, 1);
        assert_eq!(
            (odd.pci_vendor(), odd.type_name(), odd.name()),
            (None, None, None)
        );
        assert_eq!(odd.to_string(), "type 0x80018086, subtype 1");
        assert_eq!(t(7, 2).to_string(), "type 0x7, subtype 2");
    }

    /// The config region: no capabilities, and `cap_offset` comes back as the caller
    /// passed it (the canary), which means nothing without the CAPS flag.
    #[test]
    fn without_caps_cap_offset_is_the_callers_and_ignored() {
        for order in ORDERS {
            let buf = kernel_fill(order, 256, FLAG_READ | FLAG_WRITE, 7, 256, &[]);
            assert_eq!(&buf[12..16], &[0xAA; 4]);
            let r = decode_region_info(&buf, order).unwrap();
            assert_eq!(
                (r.cap_offset, r.caps.len(), r.caps_truncated),
                (None, 0, false)
            );
            assert_eq!((r.size, r.offset, r.flags), (256, 7 << 40, 3));
            assert!(r.readable() && r.writable() && !r.mmappable());
            // A 32-byte buffer is the whole structure.
            let r32 = decode_region_info(&buf[..32], order).unwrap();
            assert_eq!(r32, r);
        }
    }

    /// The fill protocol when the chain does not fit: CAPS set, argsz raised to what it
    /// needs, cap_offset 0, no capability byte written (the canary is intact); the fixed
    /// part is valid. A second call with argsz bytes gets the chain.
    #[test]
    fn a_chain_that_did_not_fit_asks_for_argsz() {
        for order in ORDERS {
            let caps = [
                sparse(order, &[(0, 0x2000), (0x3000, 0x1000)]),
                msix_mappable(),
            ];
            let needed = 32 + 8 + 8 + 32 + 8;
            for len in [32, 48, needed - 1] {
                let buf = kernel_fill(order, len, RWM, 0, 0x4000, &caps);
                assert!(buf[32..].iter().all(|&b| b == 0xAA));
                let r = decode_region_info(&buf, order).unwrap();
                assert!(r.caps_truncated, "{len}");
                assert_eq!(
                    (r.argsz as usize, r.cap_offset, r.caps.len()),
                    (needed, Some(0), 0)
                );
                assert_eq!((r.flags, r.size), (RWM | FLAG_CAPS, 0x4000));
            }
            let buf = kernel_fill(order, needed, RWM, 0, 0x4000, &caps);
            let r = decode_region_info(&buf, order).unwrap();
            assert!(!r.caps_truncated);
            assert_eq!((r.argsz as usize, r.caps.len()), (needed, 2));
        }
    }

    #[test]
    fn nvlink2_caps_future_versions_and_unknown_caps() {
        let order = ByteOrder::Big;
        let mut ssatgt = vec![0u8; 8];
        put_u64(&mut ssatgt, 0, 0x2000_0000_0000, order);
        let mut lnkspd = vec![0u8; 8];
        put_u32(&mut lnkspd, 0, 9, order);
        // TYPE version 2 with an appended field: the version-1 fields are read.
        let mut t2 = type_cap(order, region_type::GFX, 1);
        t2.1 = 2;
        t2.2.extend_from_slice(&[7; 8]);
        let caps = [
            (layout::CAP_NVLINK2_SSATGT, 1, ssatgt),
            (layout::CAP_NVLINK2_LNKSPD, 1, lnkspd),
            t2,
            (0x42, 3, vec![5; 8]),
        ];
        let buf = kernel_fill(order, 256, RWM, 9, 0x1000, &caps);
        let r = decode_region_info(&buf, order).unwrap();
        assert_eq!(
            r.caps[..2],
            [
                RegionCap::Nvlink2Ssatgt {
                    version: 1,
                    tgt: 0x2000_0000_0000
                },
                RegionCap::Nvlink2Lnkspd {
                    version: 1,
                    link_speed: 9
                }
            ]
        );
        let t = r.region_type().unwrap();
        assert_eq!((t.version, t.name()), (2, Some("GFX_EDID")));
        match &r.caps[3] {
            RegionCap::Unknown(u) => {
                assert_eq!((u.id, u.version, u.offset), (0x42, 3, 32 + 16 + 16 + 24));
                assert_eq!(&u.bytes[8..16], &[5; 8]);
                assert!(
                    u.bytes[16..].iter().all(|&b| b == 0xAA),
                    "to the buffer's end"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            (r.caps[3].name(), r.caps[3].id(), r.caps[3].version()),
            ("unknown", 0x42, 3)
        );
        let chain: Vec<(u16, u16, usize)> = r
            .chain
            .iter()
            .map(|c| (c.id, c.version, c.offset))
            .collect();
        assert_eq!(
            chain,
            vec![(4, 1, 32), (5, 1, 48), (2, 2, 64), (0x42, 3, 88)]
        );
        assert!(r.caps.iter().zip(&r.chain).all(|(c, l)| c.id() == l.id));
    }

    #[test]
    fn areas_outside_the_region_are_reported_not_fatal() {
        let order = ByteOrder::Little;
        let areas = [(0, 0x1000), (0x3000, 0x2000), (u64::MAX, 2)];
        let buf = kernel_fill(order, 256, RWM, 0, 0x4000, &[sparse(order, &areas)]);
        let r = decode_region_info(&buf, order).unwrap();
        assert_eq!(
            r.areas_outside(),
            vec![
                MmapArea {
                    offset: 0x3000,
                    size: 0x2000
                },
                MmapArea {
                    offset: u64::MAX,
                    size: 2
                }
            ]
        );
        assert_eq!(
            MmapArea {
                offset: u64::MAX,
                size: 2
            }
            .end(),
            None
        );
        // No area at all: nothing may be mmapped, though the MMAP flag is set.
        let buf = kernel_fill(order, 256, RWM, 0, 0x4000, &[sparse(order, &[])]);
        let r = decode_region_info(&buf, order).unwrap();
        assert_eq!((r.sparse_mmap(), r.mmap_areas()), (Some(&[][..]), vec![]));
    }

    /// The regions a real Linux 6.12 on s390x reported for QEMU's virtio-rng-pci
    /// (tests/fixtures/linux-6.12-s390x-zpci/region-N.bin, big-endian, captured by the
    /// lab's s390x scenario), against the capture program's own reading of the same bytes
    /// (meta.txt). No region has a capability: vfio-pci offers no mmap on s390 before
    /// Linux 6.13, so the MSI-X BAR gets no MSIX_MAPPABLE; and without the CAPS flag
    /// `cap_offset` is the caller's canary (0xAAAAAAAA), which the decode ignores.
    #[test]
    fn the_regions_of_a_real_s390x_capture() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/linux-6.12-s390x-zpci"
        );
        let meta = std::fs::read_to_string(format!("{dir}/meta.txt")).unwrap();
        let field = |line: &str, key: &str| -> u64 {
            let v = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("{key} missing in {line:?}"));
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => v.parse().unwrap(),
            }
        };
        let mut seen = Vec::new();
        for line in meta
            .lines()
            .filter(|l| l.starts_with("region index=") && l.contains("file="))
        {
            let index = field(line, "index") as u32;
            let buf = std::fs::read(format!("{dir}/region-{index}.bin")).unwrap();
            let r = decode_region_info(&buf, ByteOrder::Big).unwrap();
            assert_eq!(
                (
                    u64::from(r.argsz),
                    u64::from(r.flags),
                    u64::from(r.index),
                    r.size,
                    r.offset
                ),
                (
                    field(line, "argsz_out"),
                    field(line, "flags"),
                    field(line, "index_out"),
                    field(line, "size"),
                    field(line, "offset")
                ),
                "{line}"
            );
            assert_eq!(
                field(line, "cap_offset"),
                0xAAAA_AAAA,
                "the caller's canary"
            );
            assert_eq!(
                (r.cap_offset, r.caps.len(), r.caps_truncated),
                (None, 0, false)
            );
            assert_eq!(r.offset, u64::from(index) << 40);
            assert!(r.mmap_areas().is_empty(), "no mmap on s390 in 6.12: {r:?}");
            // Read in the wrong order, the same bytes say something else entirely.
            let le = decode_region_info(&buf, ByteOrder::Little).unwrap();
            assert_eq!(le.argsz, 0x2000_0000, "32, byte-swapped");
            seen.push((index, r.flags, r.size));
        }
        // BAR1 (the MSI-X table, 4 KiB), BAR4 (virtio's 16 KiB), the config space.
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (1, FLAG_READ | FLAG_WRITE, 0x1000),
                (2, 0, 0),
                (3, 0, 0),
                (4, FLAG_READ | FLAG_WRITE, 0x4000),
                (5, 0, 0),
                (6, 0, 0),
                (7, FLAG_READ | FLAG_WRITE, 0x100),
            ]
        );
        assert!(meta.contains("region index=8 errno=EINVAL"), "VGA: EINVAL");
    }

    /// What, and where: the byte offset of the field or capability at fault.
    #[test]
    fn malformed_buffers_say_what_and_where() {
        let order = ByteOrder::Big;
        let err = |buf: &[u8]| decode_region_info(buf, order).unwrap_err();
        let good = kernel_fill(order, 256, RWM, 0, 0x4000, &[sparse(order, &[(0, 0x1000)])]);

        for len in [0, 31] {
            let e = err(&good[..len]);
            assert_eq!(e.kind, DecodeErrorKind::TooShort { len, needed: 32 }, "{e}");
            assert!(e.to_string().contains("struct vfio_region_info"), "{e}");
        }

        // cap_offset into the fixed part, or past the end with argsz saying it fit.
        let mut buf = good.clone();
        put_u32(&mut buf, 12, 16, order);
        let e = err(&buf);
        assert_eq!(e.offset, 12, "{e}");
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::CapOffsetInHeader {
                    cap_offset: 16,
                    header_len: 32
                }
            ),
            "{e}"
        );
        put_u32(&mut buf, 12, 252, order);
        assert!(matches!(
            err(&buf).kind,
            DecodeErrorKind::CapHeaderOutside {
                cap_offset: 252,
                len: 256
            }
        ));
        put_u32(&mut buf, 12, 4096, order);
        assert!(matches!(
            err(&buf).kind,
            DecodeErrorKind::CapHeaderOutside {
                cap_offset: 4096,
                ..
            }
        ));

        // A self-loop and a two-capability loop.
        let caps = [type_cap(order, region_type::GFX, 1), msix_mappable()];
        let mut buf = kernel_fill(order, 256, RWM, 0, 0x4000, &caps);
        put_u32(&mut buf, 36, 32, order);
        let e = err(&buf);
        assert_eq!(
            (e.offset, &e.kind),
            (36, &DecodeErrorKind::ChainLoops { hops: 1 }),
            "{e}"
        );
        put_u32(&mut buf, 36, 48, order);
        put_u32(&mut buf, 52, 32, order);
        let e = err(&buf);
        assert_eq!(
            (e.offset, &e.kind),
            (52, &DecodeErrorKind::ChainLoops { hops: 3 }),
            "{e}"
        );

        // nr_areas whose 16-byte areas overflow 32-bit arithmetic, and u32::MAX.
        for count in [0x1000_0000u32, u32::MAX] {
            let mut buf = good.clone();
            put_u32(&mut buf, 40, count, order);
            let e = err(&buf);
            assert_eq!(e.offset, 40, "reported at nr_areas: {e}");
            assert_eq!(
                e.kind,
                DecodeErrorKind::AreaCountTooLarge {
                    count,
                    needed: 16 + 16 * u64::from(count),
                    available: 256 - 32
                }
            );
        }
        // One area too many for the buffer.
        let mut buf = good[..32 + 16 + 16].to_vec();
        put_u32(&mut buf, 40, 2, order);
        assert!(matches!(
            err(&buf).kind,
            DecodeErrorKind::AreaCountTooLarge {
                count: 2,
                needed: 48,
                available: 32
            }
        ));

        // TYPE cut short, and a capability whose header sits in SPARSE_MMAP's areas.
        let buf = kernel_fill(order, 256, RWM, 9, 0x1000, &[type_cap(order, 1, 1)]);
        let e = err(&buf[..44]);
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::CapTooShort {
                    name: "TYPE",
                    needed: 16,
                    available: 12,
                    ..
                }
            ),
            "{e}"
        );
        let mut buf = good.clone();
        put_u32(&mut buf, 36, 56, order);
        let e = err(&buf);
        assert_eq!(e.offset, 36, "{e}");
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::CapOverlaps {
                    name: "SPARSE_MMAP",
                    other_offset: 32,
                    other_end: 64,
                    ..
                }
            ),
            "{e}"
        );

        // A capability that may appear once, twice.
        let caps = [msix_mappable(), type_cap(order, 1, 1), msix_mappable()];
        let e = err(&kernel_fill(order, 256, RWM, 0, 0x4000, &caps));
        assert_eq!(
            (e.offset, e.kind),
            (
                56,
                DecodeErrorKind::DuplicateCap {
                    name: "MSIX_MAPPABLE",
                    id: 3,
                    first_offset: 32
                }
            )
        );

        // Versions: 0 for any known id, anything but 1 for SPARSE_MMAP.
        for (cap, version) in [
            (sparse(order, &[]), 2),
            (sparse(order, &[]), 0),
            (type_cap(order, 1, 1), 0),
            (msix_mappable(), 0),
        ] {
            let (id, name) = (
                cap.0,
                match cap.0 {
                    1 => "SPARSE_MMAP",
                    2 => "TYPE",
                    _ => "MSIX_MAPPABLE",
                },
            );
            let e = err(&kernel_fill(
                order,
                256,
                RWM,
                0,
                0x4000,
                &[(id, version, cap.2)],
            ));
            assert_eq!(e.offset, 34, "reported at the version field: {e}");
            assert!(
                matches!(e.kind, DecodeErrorKind::UnsupportedCapVersion { name: n, id: i, version: v, .. } if n == name && i == id && v == version),
                "{e}"
            );
        }
        let e = err(&kernel_fill(
            order,
            256,
            RWM,
            0,
            0x4000,
            &[(1, 2, sparse(order, &[]).2)],
        ));
        assert!(e.to_string().contains("update vfio-iommu-info"), "{e}");
    }

    proptest! {
        /// Whatever the bytes, in either order: an answer or an error, never a panic.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
            cut in any::<usize>(),
            big in any::<bool>(),
            which in 0usize..3,
        ) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let caps = match which {
                0 => vec![sparse(order, &[(0, 0x2000), (0x3000, 0x1000)]), msix_mappable()],
                1 => vec![type_cap(order, region_type::PCI_VENDOR_TYPE | 0x8086, 1), (9, 1, vec![1; 12])],
                _ => vec![msix_mappable(), (layout::CAP_NVLINK2_SSATGT, 1, vec![0; 8])],
            };
            let mut buf = kernel_fill(order, 128, RWM, 0, 0x4000, &caps);
            for (at, byte) in flips {
                let i = at % buf.len();
                buf[i] = byte;
            }
            buf.truncate(cut % (buf.len() + 1));
            if let Ok(r) = decode_region_info(&buf, order) {
                // What a decode hands out is usable without further checks.
                let _ = (r.mmap_areas(), r.areas_outside(), r.region_type().map(ToString::to_string));
            }
        }
    }
}
