//! `struct vfio_iommu_spapr_tce_info`, decoded: IBM POWER's VFIO IOMMU (sPAPR TCE).
//!
//! An sPAPR container does not speak type1: `VFIO_IOMMU_SPAPR_TCE_GET_INFO` has the
//! number of type1's `VFIO_IOMMU_GET_INFO` and its flag `VFIO_IOMMU_SPAPR_INFO_DDW` is
//! bit 0 like type1's `PGSIZES`, but the fields are others: the default 32-bit DMA window
//! (`dma32_window_start`, `dma32_window_size`) and, with dynamic DMA windows (DDW), a
//! 16-byte `ddw` block (page sizes, how many windows, TCE table levels).
//!
//! The kernel's protocol (`tce_iommu_ioctl()` in `drivers/vfio/vfio_iommu_spapr_tce.c`,
//! Linux 4.2 to 6.12 at least): `argsz` below 16 is `EINVAL`; the flags and the default
//! window are always written; the `DDW` flag is set whenever the platform has dynamic
//! windows and the container is v2, *whatever `argsz` is*; the `ddw` block (zeroed when
//! the flag is clear) is copied back only when `argsz` reaches 32. `argsz` is never
//! rewritten. So a 16-byte answer with the `DDW` flag is a real kernel's answer: DDW is
//! supported and its details were not asked for ([`Ddw::NotReturned`]).

use std::fmt;

use crate::decode::bytes::{ByteOrder, Reader};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::iova::{IovaRange, PageSizes};
use crate::sys::uapi::{self, spapr_tce_info};

const STRUCTURE: &str = "struct vfio_iommu_spapr_tce_info";

/// The IOMMU page size of the default window: a v2 container creates it with 4K TCEs
/// (`tce_iommu_create_default_window()`: `IOMMU_PAGE_SHIFT_4K`).
pub const DEFAULT_WINDOW_PAGE_SIZE: u64 = 4096;

/// Where a dynamic window is expected to start: 2^59. The platform chooses the start,
/// not the caller: PowerNV puts every second window at `pe->tce_bypass_base` (1 << 59)
/// and QEMU's pseries machine at its PHB's `dma64_win_addr` (0x800000000000000 by
/// default); a 6.12 pseries guest under QEMU answered `VFIO_IOMMU_SPAPR_TCE_CREATE` with
/// this start. Other hypervisors (PowerVM) may choose otherwise: the start
/// a window creation (`VFIO_IOMMU_SPAPR_TCE_CREATE`) returns is the only fact.
pub const DDW_EXPECTED_START: u64 = 1 << 59;

/// The dynamic DMA window (DDW) part of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ddw {
    /// The `DDW` flag is clear: the container is v1 (`VFIO_SPAPR_TCE_IOMMU`), or the
    /// platform has no dynamic windows. Only the default window exists.
    Unsupported,
    /// The `DDW` flag is set but `argsz` (this many bytes) was below 32, so the kernel did
    /// not copy the `ddw` block: query again with `argsz` 32.
    NotReturned {
        /// The caller's `argsz`.
        argsz: u32,
    },
    /// Dynamic windows, as the kernel described them.
    Supported(DdwInfo),
}

impl Ddw {
    /// The details, when the kernel returned them.
    pub fn info(&self) -> Option<&DdwInfo> {
        match self {
            Ddw::Supported(i) => Some(i),
            _ => None,
        }
    }

    /// A stable name: `unsupported`, `not_returned`, `supported`.
    pub const fn code(&self) -> &'static str {
        match self {
            Ddw::Unsupported => "unsupported",
            Ddw::NotReturned { .. } => "not_returned",
            Ddw::Supported(_) => "supported",
        }
    }
}

impl fmt::Display for Ddw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ddw::Unsupported => f.write_str("not supported (a v1 container, or a platform without dynamic DMA windows): only the default window"),
            Ddw::NotReturned { argsz } => write!(f, "supported, details not returned: argsz {argsz} is below 32, the size of the whole structure; query again with argsz 32"),
            Ddw::Supported(i) => write!(
                f,
                "{} dynamic window{}, page sizes {}, up to {} TCE table level{}",
                i.max_dynamic_windows,
                if i.max_dynamic_windows == 1 { "" } else { "s" },
                i.page_sizes,
                i.levels,
                if i.levels == 1 { "" } else { "s" }
            ),
        }
    }
}

/// `struct vfio_iommu_spapr_tce_ddw_info`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DdwInfo {
    /// `pgsizes`: the IOMMU page sizes a dynamic window may use (its `page_shift`).
    pub page_sizes: PageSizes,
    /// `max_dynamic_windows_supported`: how many windows the PE can have at once, the
    /// default one included when it was not removed.
    pub max_dynamic_windows: u32,
    /// `levels`: the most levels a window's TCE table may have.
    pub levels: u32,
}

/// A decoded `VFIO_IOMMU_SPAPR_TCE_GET_INFO` answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpaprTceInfo {
    /// `argsz` as the caller passed it (the kernel does not rewrite it).
    pub argsz: u32,
    /// `flags` (only `VFIO_IOMMU_SPAPR_INFO_DDW` is defined).
    pub flags: u32,
    /// `dma32_window_start`: the default window's first bus address.
    pub dma32_window_start: u32,
    /// `dma32_window_size`: the default window's size in bytes (0: no default window).
    pub dma32_window_size: u32,
    /// Dynamic DMA windows.
    pub ddw: Ddw,
}

impl SpaprTceInfo {
    /// The default 32-bit window as an inclusive range; `None` when its size is 0. An
    /// IOVA passed to `VFIO_IOMMU_MAP_DMA` is an absolute bus address: the window is a
    /// filter, not an offset.
    pub fn default_window(&self) -> Option<IovaRange> {
        let start = u64::from(self.dma32_window_start);
        let size = u64::from(self.dma32_window_size);
        // Both are u32: the end is below 2^33, never overflowing.
        (size != 0).then(|| IovaRange {
            start,
            end: start + size - 1,
        })
    }
}

/// Decodes a buffer in this machine's byte order; see [`decode_spapr_tce_with_order`].
pub fn decode_spapr_tce(buf: &[u8]) -> Result<SpaprTceInfo, DecodeError> {
    decode_spapr_tce_with_order(buf, ByteOrder::Native)
}

/// Decodes a `struct vfio_iommu_spapr_tce_info` buffer as the kernel filled it (its length
/// is the buffer's size; bytes past what the kernel writes are ignored), or says at which
/// byte offset and why it is no kernel's answer:
///
/// - shorter than 16 bytes, or an `argsz` below 16 (the kernel refuses those);
/// - a flag other than `DDW` (none exists; a type1 buffer sets `CAPS`, bit 1);
/// - an `argsz` of 32 or more (the kernel then writes 32 bytes) in a shorter buffer;
/// - a non-zero `ddw` block without the `DDW` flag (the kernel zeroes it), or a `DDW`
///   flag with no page size, no window or no table level.
pub fn decode_spapr_tce_with_order(
    buf: &[u8],
    order: ByteOrder,
) -> Result<SpaprTceInfo, DecodeError> {
    let err = |offset: usize, kind: DecodeErrorKind| {
        Err(DecodeError::new(offset, kind).in_structure(STRUCTURE))
    };
    let reader = Reader::new(buf, order);
    let Some(fixed) = reader.fields::<{ spapr_tce_info::MIN_SIZE }>(0) else {
        return err(
            buf.len(),
            DecodeErrorKind::TooShort {
                len: buf.len(),
                needed: spapr_tce_info::MIN_SIZE,
            },
        );
    };
    let argsz = fixed.u32(spapr_tce_info::ARGSZ);
    let flags = fixed.u32(spapr_tce_info::FLAGS);
    if (argsz as usize) < spapr_tce_info::MIN_SIZE {
        return err(
            spapr_tce_info::ARGSZ,
            DecodeErrorKind::BadField {
                field: "argsz",
                value: u64::from(argsz),
                reason: "below 16, the kernel's minimum: it refuses such a call with EINVAL and writes nothing",
            },
        );
    }
    if flags & !uapi::VFIO_IOMMU_SPAPR_INFO_DDW != 0 {
        return err(
            spapr_tce_info::FLAGS,
            DecodeErrorKind::BadField {
                field: "flags",
                value: u64::from(flags),
                reason: "only VFIO_IOMMU_SPAPR_INFO_DDW (bit 0) is defined (a type1 buffer sets CAPS, bit 1: decode it as type1)",
            },
        );
    }
    let ddw_flag = flags & uapi::VFIO_IOMMU_SPAPR_INFO_DDW != 0;
    let mut info = SpaprTceInfo {
        argsz,
        flags,
        dma32_window_start: fixed.u32(spapr_tce_info::DMA32_WINDOW_START),
        dma32_window_size: fixed.u32(spapr_tce_info::DMA32_WINDOW_SIZE),
        ddw: if ddw_flag {
            Ddw::NotReturned { argsz }
        } else {
            Ddw::Unsupported
        },
    };
    if (argsz as usize) < spapr_tce_info::SIZE {
        // The kernel wrote 16 bytes; what follows is the caller's.
        return Ok(info);
    }
    let Some(ddw) = reader.fields::<16>(spapr_tce_info::DDW_PGSIZES) else {
        return err(
            spapr_tce_info::DDW_PGSIZES,
            DecodeErrorKind::Truncated {
                what: "the ddw block (bytes 16..32)",
                argsz,
                len: buf.len(),
            },
        );
    };
    let at = |o: usize| o - spapr_tce_info::DDW_PGSIZES;
    let pgsizes = ddw.u64(at(spapr_tce_info::DDW_PGSIZES));
    let windows = ddw.u32(at(spapr_tce_info::DDW_MAX_DYNAMIC_WINDOWS));
    let levels = ddw.u32(at(spapr_tce_info::DDW_LEVELS));
    if !ddw_flag {
        if let Some((offset, field, value)) = [
            (spapr_tce_info::DDW_PGSIZES, "ddw.pgsizes", pgsizes),
            (
                spapr_tce_info::DDW_MAX_DYNAMIC_WINDOWS,
                "ddw.max_dynamic_windows_supported",
                u64::from(windows),
            ),
            (spapr_tce_info::DDW_LEVELS, "ddw.levels", u64::from(levels)),
        ]
        .into_iter()
        .find(|&(_, _, v)| v != 0)
        {
            return err(
                offset,
                DecodeErrorKind::BadField {
                    field,
                    value,
                    reason:
                        "non-zero while the DDW flag is clear: the kernel zeroes the ddw block then",
                },
            );
        }
        return Ok(info);
    }
    for (offset, field, value, reason) in [
        (
            spapr_tce_info::DDW_PGSIZES,
            "ddw.pgsizes",
            pgsizes,
            "the DDW flag is set yet no page size is offered",
        ),
        (
            spapr_tce_info::DDW_MAX_DYNAMIC_WINDOWS,
            "ddw.max_dynamic_windows_supported",
            u64::from(windows),
            "the DDW flag is set yet no window is supported (the kernel sets the flag only when there are windows)",
        ),
        (
            spapr_tce_info::DDW_LEVELS,
            "ddw.levels",
            u64::from(levels),
            "the DDW flag is set yet a TCE table may have no level",
        ),
    ] {
        if value == 0 {
            return err(
                offset,
                DecodeErrorKind::BadField {
                    field,
                    value,
                    reason,
                },
            );
        }
    }
    info.ddw = Ddw::Supported(DdwInfo {
        page_sizes: PageSizes(pgsizes),
        max_dynamic_windows: windows,
        levels,
    });
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::encode_spapr_tce::SpaprTceState;

    fn pseries() -> SpaprTceState {
        SpaprTceState::pseries_6_12()
    }

    #[test]
    fn the_real_pseries_answer_decodes_at_every_argsz() {
        let k = pseries();
        let full = decode_spapr_tce(&k.encode_into_len(32, 0xAA)).unwrap();
        assert_eq!(full.default_window(), IovaRange::new(0, 0x3fff_ffff));
        let ddw = full.ddw.info().unwrap();
        assert_eq!(ddw.page_sizes, PageSizes(0x1211000));
        assert_eq!(ddw.page_sizes.to_string(), "4K 64K 2M 16M");
        assert_eq!((ddw.max_dynamic_windows, ddw.levels), (2, 1));
        // argsz 4096: the kernel still writes 32 bytes; the canaries after are ignored.
        let big = decode_spapr_tce(&k.encode_into_len(4096, 0xAA)).unwrap();
        assert_eq!(big.ddw, full.ddw);
        assert_eq!(big.argsz, 4096);
        // argsz 16 (and up to 31): the DDW flag, but no block.
        for argsz in 16..32 {
            let short = decode_spapr_tce(&k.encode_into_len(argsz, 0xAA)).unwrap();
            assert_eq!(
                short.ddw,
                Ddw::NotReturned {
                    argsz: argsz as u32
                }
            );
            assert_eq!(short.default_window(), full.default_window());
        }
    }

    #[test]
    fn a_v1_container_has_no_ddw_and_a_zero_block() {
        let mut k = pseries();
        k.ddw = None;
        let info = decode_spapr_tce(&k.encode()).unwrap();
        assert_eq!(info.ddw, Ddw::Unsupported);
        assert_eq!(info.flags, 0);
    }

    #[test]
    fn malformed_buffers_name_the_offset() {
        let k = pseries();
        let e = decode_spapr_tce(&k.encode()[..15]).unwrap_err();
        assert_eq!((e.offset, e.structure), (15, STRUCTURE));
        // argsz 32 says 32 bytes were written; a 24-byte buffer is cut short.
        let e = decode_spapr_tce(&k.encode()[..24]).unwrap_err();
        assert_eq!(e.offset, 16);
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::Truncated {
                    argsz: 32,
                    len: 24,
                    ..
                }
            ),
            "{e}"
        );
        let mut b = k.encode();
        b[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert_eq!(decode_spapr_tce(&b).unwrap_err().offset, 0);
        let mut b = k.encode();
        b[4..8].copy_from_slice(&3u32.to_ne_bytes());
        let e = decode_spapr_tce(&b).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.to_string().contains("type1"), "{e}");
        for (at, name) in [
            (16, "ddw.pgsizes"),
            (24, "ddw.max_dynamic_windows_supported"),
            (28, "ddw.levels"),
        ] {
            let mut b = k.encode();
            b[at..at + 4].fill(0);
            if at == 16 {
                b[20..24].fill(0);
            }
            let e = decode_spapr_tce(&b).unwrap_err();
            assert_eq!(e.offset, at, "{e}");
            assert!(e.to_string().contains(name), "{e}");
        }
        // A block without the flag.
        let mut b = k.encode();
        b[4..8].copy_from_slice(&0u32.to_ne_bytes());
        let e = decode_spapr_tce(&b).unwrap_err();
        assert_eq!(e.offset, 16);
        assert!(e.to_string().contains("DDW flag is clear"), "{e}");
    }

    #[test]
    fn big_endian_captures_decode_with_their_order() {
        let mut k = pseries();
        k.order = ByteOrder::Big;
        let buf = k.encode();
        let info = decode_spapr_tce_with_order(&buf, ByteOrder::Big).unwrap();
        assert_eq!(info.dma32_window_size, 0x4000_0000);
        assert_eq!(info.ddw.info().unwrap().max_dynamic_windows, 2);
    }

    #[test]
    fn a_zero_sized_default_window_is_none() {
        let mut k = pseries();
        k.dma32_window_size = 0;
        assert_eq!(
            decode_spapr_tce(&k.encode()).unwrap().default_window(),
            None
        );
        k.dma32_window_start = u32::MAX;
        k.dma32_window_size = u32::MAX;
        let w = decode_spapr_tce(&k.encode())
            .unwrap()
            .default_window()
            .unwrap();
        assert_eq!(w.end, 2 * u64::from(u32::MAX) - 1);
    }
}
