//! Fills `struct vfio_iommu_type1_info` buffers the way Linux does: the inverse of
//! [`decode`](fn@crate::decode), used to play a kernel in tests (including tests of programs
//! built on this library) and to synthesise buffers.
//!
//! The fill protocol follows `vfio_iommu_type1_get_info()` in
//! `drivers/vfio/vfio_iommu_type1.c`: `argsz` below 16 is `EINVAL`; the fixed part is
//! written back up to `min(argsz, sizeof)`; capabilities start at offset 24 when they
//! fit, and otherwise only the needed size comes back in `argsz` with `cap_offset` 0;
//! `argsz` is not rewritten when everything fits.

use crate::decode::bytes::{put_u16, put_u32, put_u64, ByteOrder, Reader};
use crate::decode::type1::Migration;
use crate::iova::IovaRange;
use crate::sys::uapi::{
    self, cap_dma_avail, cap_header, cap_iova_range, cap_migration, type1_info,
};

/// The kernel generations, which fill the buffer differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelLayout {
    /// Before Linux 5.4: a 16-byte structure, no capability chain.
    Legacy,
    /// Linux 5.4 to 6.5: capabilities from offset 24 at their raw sizes (after MIGRATION
    /// and DMA_AVAIL the IOVA_RANGE capability sits at offset 68, 4-byte aligned); bytes
    /// 20..24 are left as the caller wrote them.
    Packed,
    /// Linux 6.6 and later: every capability padded to 8 bytes (IOVA_RANGE at offset 72).
    Padded,
}

/// One capability the simulated kernel reports, in chain order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapSpec {
    /// IOVA_RANGE with these ranges.
    IovaRange(Vec<IovaRange>),
    /// MIGRATION.
    Migration(Migration),
    /// DMA_AVAIL with this count.
    DmaAvail(u32),
    /// Any capability, given by id, version and the bytes after its 8-byte header.
    Raw {
        /// The capability id.
        id: u16,
        /// Its version.
        version: u16,
        /// Its payload (after the header).
        payload: Vec<u8>,
    },
}

impl CapSpec {
    fn raw_size(&self) -> usize {
        cap_header::SIZE
            + match self {
                CapSpec::IovaRange(r) => 8 + r.len() * cap_iova_range::RANGE_SIZE,
                CapSpec::Migration(_) => cap_migration::SIZE - cap_header::SIZE,
                CapSpec::DmaAvail(_) => cap_dma_avail::SIZE - cap_header::SIZE,
                CapSpec::Raw { payload, .. } => payload.len(),
            }
    }

    fn size(&self, layout: KernelLayout) -> usize {
        match layout {
            KernelLayout::Padded => self.raw_size().next_multiple_of(8),
            _ => self.raw_size(),
        }
    }

    fn write(&self, buf: &mut [u8], at: usize, next: u32, order: ByteOrder) {
        let (id, version) = match self {
            CapSpec::IovaRange(_) => (uapi::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1),
            CapSpec::Migration(m) => (uapi::VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, m.version),
            CapSpec::DmaAvail(_) => (uapi::VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1),
            CapSpec::Raw { id, version, .. } => (*id, *version),
        };
        put_u16(buf, at + cap_header::ID, id, order);
        put_u16(buf, at + cap_header::VERSION, version, order);
        put_u32(buf, at + cap_header::NEXT, next, order);
        match self {
            CapSpec::IovaRange(ranges) => {
                put_u32(
                    buf,
                    at + cap_iova_range::NR_IOVAS,
                    ranges.len() as u32,
                    order,
                );
                put_u32(buf, at + cap_iova_range::RESERVED, 0, order);
                for (i, r) in ranges.iter().enumerate() {
                    let p = at + cap_iova_range::RANGES + i * cap_iova_range::RANGE_SIZE;
                    put_u64(buf, p, r.start, order);
                    put_u64(buf, p + 8, r.end, order);
                }
            }
            CapSpec::Migration(m) => {
                put_u32(buf, at + cap_migration::FLAGS, m.flags, order);
                put_u32(buf, at + cap_migration::FLAGS + 4, 0, order);
                put_u64(
                    buf,
                    at + cap_migration::PGSIZE_BITMAP,
                    m.pgsize_bitmap.0,
                    order,
                );
                put_u64(
                    buf,
                    at + cap_migration::MAX_DIRTY_BITMAP_SIZE,
                    m.max_dirty_bitmap_size,
                    order,
                );
            }
            CapSpec::DmaAvail(n) => put_u32(buf, at + cap_dma_avail::AVAIL, *n, order),
            CapSpec::Raw { payload, .. } => buf
                [at + cap_header::SIZE..at + cap_header::SIZE + payload.len()]
                .copy_from_slice(payload),
        }
    }
}

/// What a simulated type1 container knows; [`KernelState::fill`] answers
/// `VFIO_IOMMU_GET_INFO` from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelState {
    /// Which kernel generation to imitate.
    pub layout: KernelLayout,
    /// The byte order to write in.
    pub order: ByteOrder,
    /// The page-size bitmap.
    pub iova_pgsizes: u64,
    /// The capabilities, in the order the kernel builds them (real kernels: MIGRATION,
    /// DMA_AVAIL, IOVA_RANGE).
    pub caps: Vec<CapSpec>,
}

impl KernelState {
    /// A Linux 6.6+ container in this machine's byte order with these capabilities.
    pub fn padded(iova_pgsizes: u64, caps: Vec<CapSpec>) -> Self {
        KernelState {
            layout: KernelLayout::Padded,
            order: ByteOrder::Native,
            iova_pgsizes,
            caps,
        }
    }

    fn caps_size(&self) -> usize {
        match self.layout {
            KernelLayout::Legacy => 0,
            _ => self.caps.iter().map(|c| c.size(self.layout)).sum(),
        }
    }

    /// The `argsz` a caller needs for the whole chain.
    pub fn needed_size(&self) -> usize {
        match self.layout {
            KernelLayout::Legacy => type1_info::MIN_SIZE,
            _ if self.caps.is_empty() => type1_info::PADDED_SIZE,
            _ => type1_info::PADDED_SIZE + self.caps_size(),
        }
    }

    /// Answers `VFIO_IOMMU_GET_INFO` into `buf`, whose first 4 bytes hold the caller's
    /// `argsz`, exactly as the kernel would: returns `Err(EINVAL)` for an `argsz` under 16
    /// (nothing written). Writes nothing past `argsz`; `buf` must hold `argsz` bytes.
    pub fn fill(&self, buf: &mut [u8]) -> Result<(), i32> {
        let order = self.order;
        let argsz = Reader::new(buf, order).u32_at(0).ok_or(libc::EINVAL)? as usize;
        if argsz < type1_info::MIN_SIZE || argsz > buf.len() {
            return Err(libc::EINVAL);
        }
        let struct_size = match self.layout {
            KernelLayout::Legacy => type1_info::MIN_SIZE,
            KernelLayout::Packed => type1_info::PACKED_SIZE,
            KernelLayout::Padded => type1_info::PADDED_SIZE,
        };
        // Linux 5.4-6.5 write back the 16-byte fixed part, or 20 bytes (with cap_offset) when
        // argsz has room for it; 6.6+ write min(argsz, 24).
        let written = match self.layout {
            KernelLayout::Packed if argsz < type1_info::PACKED_SIZE => type1_info::MIN_SIZE,
            _ => argsz.min(struct_size),
        };
        let mut fixed = [0u8; type1_info::PADDED_SIZE];
        let mut flags = uapi::VFIO_IOMMU_INFO_PGSIZES;
        let mut out_argsz = argsz;
        let mut cap_offset = 0u32;
        if self.layout != KernelLayout::Legacy && !self.caps.is_empty() {
            flags |= uapi::VFIO_IOMMU_INFO_CAPS;
            let needed = self.needed_size();
            if argsz < needed {
                out_argsz = needed;
            } else {
                let mut at = type1_info::PADDED_SIZE;
                for (i, cap) in self.caps.iter().enumerate() {
                    let next = if i + 1 == self.caps.len() {
                        0
                    } else {
                        (at + cap.size(self.layout)) as u32
                    };
                    cap.write(buf, at, next, order);
                    // The kernel builds the chain in a zeroed allocation: padding is 0.
                    buf[at + cap.raw_size()..at + cap.size(self.layout)].fill(0);
                    at += cap.size(self.layout);
                }
                cap_offset = type1_info::PADDED_SIZE as u32;
            }
        }
        put_u32(&mut fixed, type1_info::ARGSZ, out_argsz as u32, order);
        put_u32(&mut fixed, type1_info::FLAGS, flags, order);
        put_u64(
            &mut fixed,
            type1_info::IOVA_PGSIZES,
            self.iova_pgsizes,
            order,
        );
        put_u32(&mut fixed, type1_info::CAP_OFFSET, cap_offset, order);
        buf[..written].copy_from_slice(&fixed[..written]);
        Ok(())
    }

    /// A buffer of exactly the needed size, filled (the chain fits; `argsz` = its size).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_into_len(self.needed_size(), 0)
    }

    /// A buffer of `len` bytes (at least 16) whose bytes the kernel does not write are
    /// `fill`, answered as the kernel answers a caller passing `argsz = len`.
    pub fn encode_into_len(&self, len: usize, fill: u8) -> Vec<u8> {
        let len = len.max(type1_info::MIN_SIZE);
        let mut buf = vec![fill; len];
        put_u32(&mut buf, 0, len as u32, self.order);
        // A valid argsz of at least 16 that fits the buffer cannot fail.
        let _ = self.fill(&mut buf);
        buf
    }
}
