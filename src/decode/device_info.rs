//! `struct vfio_device_info` and its capability chain (`VFIO_DEVICE_GET_INFO`), decoded by
//! the same walker as the IOMMU info: the s390 zPCI capabilities (ZPCI_BASE carries the
//! seed's per-function DMA window since Linux 5.10) and PCI_ATOMIC_COMP.
//!
//! The fixed part is 16 bytes before Linux 5.10, 20 with `cap_offset` (5.10-6.5) and 24
//! with a trailing pad (6.6+); capabilities start after it, so at offset 20 at the
//! earliest.

use crate::decode::bytes::{ByteOrder, Reader};
use crate::decode::chain::{self, CapChain, RawCap};
use crate::decode::chain::{CapLocation, UnknownCap};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::iova::IovaRange;

const STRUCTURE: &str = "struct vfio_device_info";
/// `argsz`, `flags`, `num_regions`, `num_irqs`: what every kernel fills.
const MIN_SIZE: usize = 16;
/// Where `cap_offset` is, and where capabilities may start at the earliest.
const CAP_OFFSET: usize = 16;
const CAPS_START: usize = 20;

/// `VFIO_DEVICE_FLAGS_RESET`: the device supports `VFIO_DEVICE_RESET`.
pub const FLAG_RESET: u32 = 1 << 0;
/// `VFIO_DEVICE_FLAGS_PCI`: a vfio-pci device.
pub const FLAG_PCI: u32 = 1 << 1;
/// `VFIO_DEVICE_FLAGS_CAPS`: `cap_offset` is valid.
pub const FLAG_CAPS: u32 = 1 << 7;

/// Capability ids of the device-info chain (their own namespace: device-info id 1 is not
/// IOMMU-info id 1).
mod id {
    pub const ZPCI_BASE: u16 = 1;
    pub const ZPCI_GROUP: u16 = 2;
    pub const ZPCI_UTIL: u16 = 3;
    pub const ZPCI_PFIP: u16 = 4;
    pub const PCI_ATOMIC_COMP: u16 = 5;
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_BASE`: where an s390 PCI function may DMA, and who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZpciBase {
    /// The capability's version (2 adds `fh`).
    pub version: u16,
    /// First IOVA of the function's DMA window.
    pub start_dma: u64,
    /// Last IOVA of the window (inclusive).
    pub end_dma: u64,
    /// Physical channel id.
    pub pchid: u16,
    /// Virtual function number.
    pub vfn: u16,
    /// Function measurement block length.
    pub fmb_length: u16,
    /// PCI function type.
    pub pft: u8,
    /// Function group id.
    pub gid: u8,
    /// Function handle (version 2 and later).
    pub fh: Option<u32>,
}

impl ZpciBase {
    /// The DMA window `[start_dma, end_dma]`: the seed's window. `None` when the kernel
    /// reports it inverted.
    pub fn dma_window(&self) -> Option<IovaRange> {
        IovaRange::new(self.start_dma, self.end_dma)
    }
}

/// `VFIO_DEVICE_INFO_CAP_ZPCI_GROUP`: what the function's group supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZpciGroup {
    /// The capability's version (2 adds `imaxstbl`).
    pub version: u16,
    /// DMA address space mask.
    pub dasm: u64,
    /// MSI address.
    pub msi_addr: u64,
    /// `VFIO_DEVICE_INFO_ZPCI_FLAG_*`.
    pub flags: u64,
    /// Measurement update interval.
    pub mui: u16,
    /// Maximum number of MSIs.
    pub noi: u16,
    /// Maximum store block length.
    pub maxstbl: u16,
    /// The zPCI architecture version.
    pub zpci_version: u8,
    /// Maximum interpreted store block length (version 2 and later).
    pub imaxstbl: Option<u16>,
}

/// A capability of the device-info chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceCap {
    /// `ZPCI_BASE` (id 1).
    ZpciBase(ZpciBase),
    /// `ZPCI_GROUP` (id 2).
    ZpciGroup(ZpciGroup),
    /// `ZPCI_UTIL` (id 3): the utility string, EBCDIC, as the kernel gives it.
    ZpciUtil {
        /// The capability's version.
        version: u16,
        /// The string's bytes.
        util_str: Vec<u8>,
    },
    /// `ZPCI_PFIP` (id 4): the PCI function's path, raw.
    ZpciPfip {
        /// The capability's version.
        version: u16,
        /// The path's bytes.
        pfip: Vec<u8>,
    },
    /// `PCI_ATOMIC_COMP` (id 5): the atomic completers the root port supports.
    PciAtomicComp {
        /// The capability's version.
        version: u16,
        /// `VFIO_PCI_ATOMIC_COMP32` (1), `_COMP64` (2), `_COMP128` (4).
        flags: u32,
    },
    /// A capability this library does not know, kept raw.
    Unknown(UnknownCap),
}

impl DeviceCap {
    /// The capability's short name: `ZPCI_BASE`, ..., or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceCap::ZpciBase(_) => "ZPCI_BASE",
            DeviceCap::ZpciGroup(_) => "ZPCI_GROUP",
            DeviceCap::ZpciUtil { .. } => "ZPCI_UTIL",
            DeviceCap::ZpciPfip { .. } => "ZPCI_PFIP",
            DeviceCap::PciAtomicComp { .. } => "PCI_ATOMIC_COMP",
            DeviceCap::Unknown(_) => "unknown",
        }
    }
}

/// What `VFIO_DEVICE_GET_INFO` said about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `argsz` as found (the size the kernel needs when the chain did not fit).
    pub argsz: u32,
    /// `VFIO_DEVICE_FLAGS_*`.
    pub flags: u32,
    /// How many regions the device has (`VFIO_DEVICE_GET_REGION_INFO` indexes).
    pub num_regions: u32,
    /// How many interrupt types it has (`VFIO_DEVICE_GET_IRQ_INFO` indexes).
    pub num_irqs: u32,
    /// `cap_offset` as found, when the `CAPS` flag is set and the buffer holds the field.
    pub cap_offset: Option<u32>,
    /// The kernel had capabilities that did not fit the buffer (query again with `argsz`
    /// bytes).
    pub caps_truncated: bool,
    /// The capabilities in chain order.
    pub caps: Vec<DeviceCap>,
    /// Where each capability of `caps` sits, in the same order.
    pub chain: Vec<CapLocation>,
}

impl DeviceInfo {
    /// Why the capability `name` (`ZPCI_BASE`, `PCI_ATOMIC_COMP`, ...) is not in
    /// [`DeviceInfo::caps`], in words for a message (the caller checked it is not).
    pub fn cap_absence(&self, name: &str) -> String {
        chain::cap_absence(
            self.caps_truncated,
            self.argsz,
            self.flags & FLAG_CAPS != 0,
            || {
                format!(
                "the CAPS flag is clear (flags {:#x}): the device reports no capability (ZPCI_* only on s390 PCI functions, since Linux 5.10; PCI_ATOMIC_COMP since 6.4 where the root port completes atomics)",
                self.flags
            )
            },
            || format!("the chain holds no {name} capability"),
        )
    }

    /// The ZPCI_BASE capability, on s390.
    pub fn zpci_base(&self) -> Option<&ZpciBase> {
        self.caps.iter().find_map(|c| match c {
            DeviceCap::ZpciBase(b) => Some(b),
            _ => None,
        })
    }

    /// The s390 function's DMA window (ZPCI_BASE's `[start_dma, end_dma]`).
    pub fn dma_window(&self) -> Option<IovaRange> {
        self.zpci_base()?.dma_window()
    }
}

/// Decodes a `struct vfio_device_info` buffer as a kernel filled it (its length is the
/// buffer's size), in the given byte order.
pub fn decode_device_info(buf: &[u8], order: ByteOrder) -> Result<DeviceInfo, DecodeError> {
    decode(buf, order).map_err(|e| e.in_structure(STRUCTURE))
}

fn decode(buf: &[u8], order: ByteOrder) -> Result<DeviceInfo, DecodeError> {
    let reader = Reader::new(buf, order);
    let Some(fixed) = reader.fields::<MIN_SIZE>(0) else {
        return Err(DecodeError::new(
            buf.len(),
            DecodeErrorKind::TooShort {
                len: buf.len(),
                needed: MIN_SIZE,
            },
        ));
    };
    let mut info = DeviceInfo {
        argsz: fixed.u32(0),
        flags: fixed.u32(4),
        num_regions: fixed.u32(8),
        num_irqs: fixed.u32(12),
        cap_offset: None,
        caps_truncated: false,
        caps: Vec::new(),
        chain: Vec::new(),
    };
    if info.flags & FLAG_CAPS == 0 {
        return Ok(info);
    }
    info.cap_offset = reader.u32_at(CAP_OFFSET);
    let first = match info.cap_offset {
        Some(first) if first != 0 && (first as usize) < buf.len() => first,
        // The kernel zeroes cap_offset and raises argsz when the chain does not fit.
        _ if info.argsz as usize > buf.len() => {
            info.caps_truncated = true;
            return Ok(info);
        }
        None | Some(0) => return Ok(info),
        Some(first) => first,
    };
    let (caps, chain) = chain::walk_caps(
        buf,
        CapChain::new(buf, order, CAP_OFFSET, first, CAPS_START),
        decode_cap,
    )?;
    info.caps = caps;
    info.chain = chain;
    Ok(info)
}

/// One capability and the bytes of it this library reads (for the overlap check).
fn decode_cap(cap: &RawCap<'_>) -> Result<(DeviceCap, usize), DecodeError> {
    Ok(match cap.id {
        id::ZPCI_BASE => {
            let f = cap.fields::<32>("ZPCI_BASE")?;
            let fh = if cap.version >= 2 {
                Some(cap.fields::<36>("ZPCI_BASE")?.u32(32))
            } else {
                None
            };
            let base = ZpciBase {
                version: cap.version,
                start_dma: f.u64(8),
                end_dma: f.u64(16),
                pchid: f.u16(24),
                vfn: f.u16(26),
                fmb_length: f.u16(28),
                pft: f.u8(30),
                gid: f.u8(31),
                fh,
            };
            (
                DeviceCap::ZpciBase(base),
                if fh.is_some() { 36 } else { 32 },
            )
        }
        id::ZPCI_GROUP => {
            let f = cap.fields::<39>("ZPCI_GROUP")?;
            let imaxstbl = if cap.version >= 2 {
                Some(cap.fields::<42>("ZPCI_GROUP")?.u16(40))
            } else {
                None
            };
            let group = ZpciGroup {
                version: cap.version,
                dasm: f.u64(8),
                msi_addr: f.u64(16),
                flags: f.u64(24),
                mui: f.u16(32),
                noi: f.u16(34),
                maxstbl: f.u16(36),
                zpci_version: f.u8(38),
                imaxstbl,
            };
            (
                DeviceCap::ZpciGroup(group),
                if imaxstbl.is_some() { 42 } else { 39 },
            )
        }
        id::ZPCI_UTIL | id::ZPCI_PFIP => {
            let name = if cap.id == id::ZPCI_UTIL {
                "ZPCI_UTIL"
            } else {
                "ZPCI_PFIP"
            };
            let size = cap.fields::<12>(name)?.u32(8);
            let needed = 12 + u64::from(size);
            let bytes = usize::try_from(needed)
                .ok()
                .and_then(|n| cap.tail().get(12..n))
                .ok_or_else(|| cap.too_short(needed, name))?
                .to_vec();
            let decoded = if cap.id == id::ZPCI_UTIL {
                DeviceCap::ZpciUtil {
                    version: cap.version,
                    util_str: bytes,
                }
            } else {
                DeviceCap::ZpciPfip {
                    version: cap.version,
                    pfip: bytes,
                }
            };
            (decoded, needed as usize)
        }
        id::PCI_ATOMIC_COMP => {
            let f = cap.fields::<12>("PCI_ATOMIC_COMP")?;
            let decoded = DeviceCap::PciAtomicComp {
                version: cap.version,
                flags: f.u32(8),
            };
            (decoded, 12)
        }
        _ => (
            DeviceCap::Unknown(UnknownCap {
                id: cap.id,
                version: cap.version,
                offset: cap.offset,
                bytes: Vec::new(),
            }),
            crate::sys::uapi::cap_header::SIZE,
        ),
    })
}

/// How the shared chain walk sees a capability: known ones by name, unknown ones
/// getting their bytes.
impl chain::ChainCap for DeviceCap {
    fn known_name(&self) -> Option<&'static str> {
        (!matches!(self, DeviceCap::Unknown(_))).then(|| self.name())
    }

    fn unknown_mut(&mut self) -> Option<&mut UnknownCap> {
        match self {
            DeviceCap::Unknown(u) => Some(u),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::bytes::{put_u16, put_u32, put_u64};
    use proptest::prelude::*;

    /// A device-info buffer as a kernel fills it: the fixed part (`fixed` bytes), then
    /// each `(id, version, payload)` capability, chained in order: packed right after the
    /// 20-byte fixed part of 5.10-6.5 (unaligned), 8-byte aligned after 6.6's 24 bytes.
    fn encode(order: ByteOrder, fixed: usize, caps: &[(u16, u16, Vec<u8>)]) -> Vec<u8> {
        let mut buf = vec![0u8; fixed];
        let align = if fixed == 24 { 8 } else { 1 };
        let mut at = fixed;
        let mut pointer = CAP_OFFSET;
        for (id, version, payload) in caps {
            buf.resize(at + 8 + payload.len(), 0);
            put_u32(&mut buf, pointer, at as u32, order);
            put_u16(&mut buf, at, *id, order);
            put_u16(&mut buf, at + 2, *version, order);
            buf[at + 8..at + 8 + payload.len()].copy_from_slice(payload);
            pointer = at + 4;
            at = buf.len().next_multiple_of(align);
        }
        let len = buf.len() as u32;
        put_u32(&mut buf, 0, len, order);
        let flags = FLAG_PCI | if caps.is_empty() { 0 } else { FLAG_CAPS };
        put_u32(&mut buf, 4, flags, order);
        put_u32(&mut buf, 8, 9, order);
        put_u32(&mut buf, 12, 5, order);
        buf
    }

    /// The caps Linux 6.12 reports for QEMU's virtio-rng-pci on s390x (lab-recipe.md):
    /// ZPCI_BASE v2, ZPCI_GROUP v2, ZPCI_PFIP.
    fn s390_caps(order: ByteOrder) -> Vec<(u16, u16, Vec<u8>)> {
        let mut base = vec![0u8; 28];
        put_u64(&mut base, 0, 0x1_0000_0000, order);
        put_u64(&mut base, 8, 0x1_3fff_ffff, order);
        put_u16(&mut base, 16, 0x42, order);
        put_u16(&mut base, 18, 0, order);
        put_u16(&mut base, 20, 0x20, order);
        base[22] = 1;
        base[23] = 0xff;
        put_u32(&mut base, 24, 0x0800_0000, order);
        let mut group = vec![0u8; 34];
        put_u64(&mut group, 0, (1 << 62) - 1, order);
        put_u64(&mut group, 8, 0xfe00_0000, order);
        put_u64(&mut group, 16, 1, order);
        put_u16(&mut group, 24, 0x6e, order);
        put_u16(&mut group, 26, 2048, order);
        put_u16(&mut group, 28, 0x800, order);
        group[30] = 1;
        put_u16(&mut group, 32, 0x800, order);
        let mut pfip = vec![0u8; 4 + 5];
        put_u32(&mut pfip, 0, 5, order);
        pfip[4..].copy_from_slice(&[1, 2, 3, 4, 5]);
        vec![(1, 2, base), (2, 2, group), (4, 1, pfip)]
    }

    #[test]
    fn the_s390_window_in_both_orders_and_both_fixed_parts() {
        for order in [ByteOrder::Big, ByteOrder::Little] {
            for fixed in [20, 24] {
                let buf = encode(order, fixed, &s390_caps(order));
                let info = decode_device_info(&buf, order).unwrap();
                assert_eq!((info.flags, info.num_regions, info.num_irqs), (0x82, 9, 5));
                assert_eq!(info.cap_offset, Some(fixed as u32));
                // ZPCI_BASE v2 is 36 bytes, ZPCI_GROUP v2 42: packed after 20 bytes,
                // 8-aligned after 24.
                let at: Vec<(u16, usize)> = info.chain.iter().map(|c| (c.id, c.offset)).collect();
                let want = if fixed == 20 {
                    [(1, 20), (2, 56), (4, 98)]
                } else {
                    [(1, 24), (2, 64), (4, 112)]
                };
                assert_eq!(at, want, "{order} {fixed}");
                assert_eq!(
                    info.dma_window(),
                    Some(IovaRange::new(0x1_0000_0000, 0x1_3fff_ffff).unwrap()),
                    "{order} {fixed}"
                );
                let base = info.zpci_base().unwrap();
                assert_eq!(
                    (base.pchid, base.fmb_length, base.pft, base.gid),
                    (0x42, 0x20, 1, 0xff)
                );
                assert_eq!(base.fh, Some(0x0800_0000));
                match &info.caps[1] {
                    DeviceCap::ZpciGroup(g) => {
                        assert_eq!((g.msi_addr, g.noi, g.zpci_version), (0xfe00_0000, 2048, 1));
                        assert_eq!(g.imaxstbl, Some(0x800));
                    }
                    other => panic!("{other:?}"),
                }
                assert_eq!(
                    info.caps[2],
                    DeviceCap::ZpciPfip {
                        version: 1,
                        pfip: vec![1, 2, 3, 4, 5]
                    }
                );
            }
        }
    }

    /// `s390_caps` against what a real Linux 6.12 on s390x returned for QEMU's
    /// virtio-rng-pci (tests/fixtures/linux-6.12-s390x-zpci/device-exact.bin, captured by
    /// the lab's s390x scenario): the same caps, versions and offsets, and the same window.
    /// (Its field values are invented; the real PFIP is 4 bytes, not 5.)
    #[test]
    fn the_synthesized_s390_buffer_is_shaped_like_a_real_capture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/linux-6.12-s390x-zpci/device-exact.bin"
        );
        let real = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let real = decode_device_info(&real, ByteOrder::Big).unwrap();
        let synth = encode(ByteOrder::Big, 24, &s390_caps(ByteOrder::Big));
        let synth = decode_device_info(&synth, ByteOrder::Big).unwrap();
        let shape = |i: &DeviceInfo| {
            let chain: Vec<_> = i
                .chain
                .iter()
                .map(|c| (c.id, c.version, c.offset))
                .collect();
            (i.flags, i.num_regions, i.num_irqs, i.cap_offset, chain)
        };
        assert_eq!(shape(&synth), shape(&real));
        assert_eq!(synth.dma_window(), real.dma_window());
    }

    #[test]
    fn version_1_caps_have_no_appended_fields_and_unknown_caps_are_kept() {
        let order = ByteOrder::Little;
        let mut caps = s390_caps(order);
        caps[0].1 = 1;
        caps[0].2.truncate(24);
        caps.push((0x99, 3, vec![7; 8]));
        caps.push((5, 1, vec![6, 0, 0, 0]));
        let buf = encode(order, 24, &caps);
        let info = decode_device_info(&buf, order).unwrap();
        assert_eq!(info.zpci_base().unwrap().fh, None);
        match &info.caps[3] {
            DeviceCap::Unknown(u) => {
                assert_eq!((u.id, u.version), (0x99, 3));
                assert_eq!(&u.bytes[8..], &[7; 8], "up to the next cap");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            info.caps[4],
            DeviceCap::PciAtomicComp {
                version: 1,
                flags: 6
            }
        );
    }

    #[test]
    fn older_kernels_and_a_chain_that_did_not_fit() {
        // Before 5.10: 16 bytes, no CAPS flag.
        let mut buf = encode(ByteOrder::Native, 16, &[]);
        buf.truncate(16);
        let info = decode_device_info(&buf, ByteOrder::Native).unwrap();
        assert_eq!(
            (info.cap_offset, info.caps_truncated, info.caps.len()),
            (None, false, 0)
        );
        // The kernel had 64 bytes of caps for a 24-byte buffer: CAPS set, cap_offset 0,
        // argsz the size it needs.
        let mut buf = encode(ByteOrder::Native, 24, &[]);
        put_u32(&mut buf, 0, 88, ByteOrder::Native);
        put_u32(&mut buf, 4, FLAG_PCI | FLAG_CAPS, ByteOrder::Native);
        let info = decode_device_info(&buf, ByteOrder::Native).unwrap();
        assert!(info.caps_truncated);
        assert_eq!(info.argsz, 88);
    }

    #[test]
    fn malformed_buffers_say_what_and_where() {
        let order = ByteOrder::Big;
        let kind = |buf: &[u8]| decode_device_info(buf, order).unwrap_err();
        let e = kind(&[0u8; 12]);
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::TooShort {
                    len: 12,
                    needed: 16
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("struct vfio_device_info"), "{e}");
        // ZPCI_BASE v2 cut at 32 bytes: fh is missing.
        let mut caps = s390_caps(order);
        caps.truncate(1);
        caps[0].2.truncate(24);
        let e = kind(&encode(order, 24, &caps));
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::CapTooShort {
                    name: "ZPCI_BASE",
                    needed: 36,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.offset, 24);
        // A PFIP whose size would run 4 GiB past the buffer.
        let mut pfip = vec![0u8; 4];
        put_u32(&mut pfip, 0, u32::MAX, order);
        let e = kind(&encode(order, 24, &[(4, 1, pfip)]));
        assert!(
            matches!(e.kind, DecodeErrorKind::CapTooShort { name: "ZPCI_PFIP", needed, .. } if needed == 12 + u64::from(u32::MAX)),
            "{e}"
        );
        // ZPCI_BASE twice.
        let caps = s390_caps(order);
        let e = kind(&encode(order, 24, &[caps[0].clone(), caps[0].clone()]));
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::DuplicateCap {
                    name: "ZPCI_BASE",
                    first_offset: 24,
                    ..
                }
            ),
            "{e}"
        );
        // A second cap whose header starts inside ZPCI_BASE's fields, and a self-loop.
        let mut buf = encode(order, 24, &caps[..1]);
        put_u32(&mut buf, 28, 40, order);
        let e = kind(&buf);
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::CapOverlaps {
                    name: "ZPCI_BASE",
                    other_offset: 24,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.offset, 28, "reported at the next field that points there");
        put_u32(&mut buf, 28, 24, order);
        assert!(matches!(
            kind(&buf).kind,
            DecodeErrorKind::ChainLoops { hops: 1 }
        ));
        // cap_offset into the fixed part.
        put_u32(&mut buf, 16, 8, order);
        assert!(matches!(
            kind(&buf).kind,
            DecodeErrorKind::CapOffsetInHeader { .. }
        ));
    }

    proptest! {
        /// Whatever the bytes, in either order: an answer or an error, never a panic.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
            cut in any::<usize>(),
            big in any::<bool>(),
        ) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let mut buf = encode(order, 24, &s390_caps(order));
            for (at, byte) in flips {
                let i = at % buf.len();
                buf[i] = byte;
            }
            buf.truncate(cut % (buf.len() + 1));
            let _ = decode_device_info(&buf, order);
        }
    }
}
