//! What the benchmarks compare: the checked decode against the unchecked C walk of the
//! same buffer (built by build.rs), and the IOVA allocator against a linear scan; and
//! [`big_host`], the large SR-IOV host of the `list --snapshot` benchmark.

pub mod big_host;

use vfio_iommu_info::{ByteOrder, InfoView};

/// The facts both walks read (the C side's `struct walk_summary`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WalkSummary {
    /// `iova_pgsizes`.
    pub pgsizes: u64,
    /// The sum of every range's start and end, so that no read is optimised away.
    pub range_sum: u64,
    /// `nr_iovas`.
    pub nr_iovas: u32,
    /// DMA_AVAIL.
    pub dma_avail: u32,
    /// MIGRATION's `pgsize_bitmap`.
    pub dirty_pgsizes: u64,
}

extern "C" {
    fn unchecked_walk(buf: *const u8, len: usize, out: *mut WalkSummary);
}

/// The C floor: no bounds, loop or overlap check. Only for buffers known to be well
/// formed (the benchmark's real capture).
pub fn c_walk(buf: &[u8]) -> WalkSummary {
    let mut out = WalkSummary::default();
    // SAFETY: the C function reads `buf` through the chain's offsets without checks; it
    // is only ever given well-formed captures (checked by `checked_walk` agreeing with it
    // in the benchmark before timing), whose offsets all lie inside `buf`.
    unsafe { unchecked_walk(buf.as_ptr(), buf.len(), &mut out) };
    out
}

/// The library's borrowed path: `InfoView::parse` checks every offset, header, count and
/// range, allocates nothing, and the accessors read the buffer.
pub fn checked_walk(buf: &[u8]) -> Option<WalkSummary> {
    let v = InfoView::parse(buf, ByteOrder::Native).ok()?;
    let mut out = WalkSummary {
        pgsizes: v.iova_pgsizes().map_or(0, |p| p.0),
        ..WalkSummary::default()
    };
    if let Some(ranges) = v.iova_ranges().present() {
        out.nr_iovas = ranges.len() as u32;
        for r in ranges.clone() {
            out.range_sum = out.range_sum.wrapping_add(r.start.wrapping_add(r.end));
        }
    }
    out.dma_avail = v.dma_avail().present().copied().unwrap_or(0);
    out.dirty_pgsizes = v.migration().present().map_or(0, |m| m.pgsize_bitmap.0);
    Some(out)
}

/// A first-fit allocator that scans its sorted live spans for a gap: the linear
/// baseline of the allocator benchmark (the shape of simple user-space IOVA allocators).
#[derive(Debug, Default)]
pub struct LinearAllocator {
    base: u64,
    end: u64,
    live: Vec<(u64, u64)>,
}

impl LinearAllocator {
    /// Allocates in `[base, end]` (inclusive).
    pub fn new(base: u64, end: u64) -> LinearAllocator {
        LinearAllocator {
            base,
            end,
            live: Vec::new(),
        }
    }

    /// The lowest `size`-byte gap, aligned to `align` (a power of two).
    pub fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        let mut at = self.base;
        let mut index = self.live.len();
        for (i, &(s, l)) in self.live.iter().enumerate() {
            let aligned = at.checked_add(align - 1)? & !(align - 1);
            if aligned.checked_add(size)? <= s {
                at = aligned;
                index = i;
                break;
            }
            at = s + l;
        }
        let aligned = at.checked_add(align - 1)? & !(align - 1);
        if index == self.live.len() && aligned.checked_add(size - 1)? > self.end {
            return None;
        }
        self.live.insert(index, (aligned, size));
        Some(aligned)
    }

    /// Frees the span at `iova`.
    pub fn free(&mut self, iova: u64) -> bool {
        match self.live.binary_search_by_key(&iova, |&(s, _)| s) {
            Ok(i) => {
                self.live.remove(i);
                true
            }
            Err(_) => false,
        }
    }
}
