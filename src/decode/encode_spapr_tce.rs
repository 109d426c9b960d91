//! Fills `struct vfio_iommu_spapr_tce_info` buffers the way Linux does: the inverse of
//! [`decode_spapr_tce`](crate::decode::spapr_tce::decode_spapr_tce), to play an sPAPR
//! container in tests and fuzzing and to synthesise fixtures.
//!
//! The protocol is `VFIO_IOMMU_SPAPR_TCE_GET_INFO` in `tce_iommu_ioctl()`
//! (`drivers/vfio/vfio_iommu_spapr_tce.c`): `argsz` below 16 is `EINVAL`; the first 16
//! bytes are written back with `argsz` unchanged; the `DDW` flag is set whenever the
//! platform has dynamic windows on a v2 container; the 16-byte `ddw` block (zero without
//! the flag) follows only when `argsz` is 32 or more.

use crate::decode::bytes::{put_u32, put_u64, ByteOrder, Reader};
use crate::decode::spapr_tce::DdwInfo;
use crate::iova::PageSizes;
use crate::sys::uapi::{self, spapr_tce_info};

/// What a simulated sPAPR TCE container knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaprTceState {
    /// The byte order to write in.
    pub order: ByteOrder,
    /// `dma32_window_start`.
    pub dma32_window_start: u32,
    /// `dma32_window_size`.
    pub dma32_window_size: u32,
    /// Dynamic windows (`None`: a v1 container or a platform without them).
    pub ddw: Option<DdwInfo>,
}

impl SpaprTceState {
    /// What a Linux 6.12 pseries guest under QEMU 7.2 (`-M pseries -cpu power9`) answers
    /// on a v2 container: the default window [0, 1 GiB), DDW with 4K 64K 2M 16M pages,
    /// 2 windows, 1 level (values read in the lab; see tests/fixtures/spapr-tce/README.md).
    pub fn pseries_6_12() -> SpaprTceState {
        SpaprTceState {
            order: ByteOrder::Native,
            dma32_window_start: 0,
            dma32_window_size: 0x4000_0000,
            ddw: Some(DdwInfo {
                page_sizes: PageSizes(0x1000 | 0x1_0000 | 0x20_0000 | 0x100_0000),
                max_dynamic_windows: 2,
                levels: 1,
            }),
        }
    }

    /// Answers `VFIO_IOMMU_SPAPR_TCE_GET_INFO` into `buf`, whose first 4 bytes hold the
    /// caller's `argsz`, as the kernel would: `Err(EINVAL)` for an `argsz` under 16 or
    /// beyond the buffer (nothing written). Writes nothing past `min(argsz, 32)`.
    pub fn fill(&self, buf: &mut [u8]) -> Result<(), i32> {
        let order = self.order;
        let argsz = Reader::new(buf, order).u32_at(0).ok_or(libc::EINVAL)? as usize;
        if argsz < spapr_tce_info::MIN_SIZE || argsz > buf.len() {
            return Err(libc::EINVAL);
        }
        let mut out = [0u8; spapr_tce_info::SIZE];
        put_u32(&mut out, spapr_tce_info::ARGSZ, argsz as u32, order);
        let flags = if self.ddw.is_some() {
            uapi::VFIO_IOMMU_SPAPR_INFO_DDW
        } else {
            0
        };
        put_u32(&mut out, spapr_tce_info::FLAGS, flags, order);
        put_u32(
            &mut out,
            spapr_tce_info::DMA32_WINDOW_START,
            self.dma32_window_start,
            order,
        );
        put_u32(
            &mut out,
            spapr_tce_info::DMA32_WINDOW_SIZE,
            self.dma32_window_size,
            order,
        );
        if let Some(d) = self.ddw {
            put_u64(&mut out, spapr_tce_info::DDW_PGSIZES, d.page_sizes.0, order);
            put_u32(
                &mut out,
                spapr_tce_info::DDW_MAX_DYNAMIC_WINDOWS,
                d.max_dynamic_windows,
                order,
            );
            put_u32(&mut out, spapr_tce_info::DDW_LEVELS, d.levels, order);
        }
        let written = if argsz >= spapr_tce_info::SIZE {
            spapr_tce_info::SIZE
        } else {
            spapr_tce_info::MIN_SIZE
        };
        buf[..written].copy_from_slice(&out[..written]);
        Ok(())
    }

    /// A 32-byte buffer, filled as for `argsz` 32 (everything the kernel has).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_into_len(spapr_tce_info::SIZE, 0)
    }

    /// A buffer of `len` bytes (at least 16) whose bytes the kernel does not write are
    /// `fill`, answered as the kernel answers a caller passing `argsz = len`.
    pub fn encode_into_len(&self, len: usize, fill: u8) -> Vec<u8> {
        self.encode_with_argsz(len, len, fill)
    }

    /// A buffer of `len` bytes whose caller passed `argsz` (at least 16, at most `len`:
    /// a capture that saved the whole buffer, not just `argsz`), the bytes the kernel does
    /// not write being `fill`.
    pub fn encode_with_argsz(&self, argsz: usize, len: usize, fill: u8) -> Vec<u8> {
        let argsz = argsz.max(spapr_tce_info::MIN_SIZE);
        let mut buf = vec![fill; len.max(argsz)];
        put_u32(&mut buf, 0, argsz as u32, self.order);
        // A valid argsz of at least 16 that fits the buffer cannot fail.
        let _ = self.fill(&mut buf);
        buf
    }
}
