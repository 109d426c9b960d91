//! What the fuzz targets share: a cursor that turns the fuzz input into the numbers a
//! caller would pass (indices, spans, sizes), and [`exercise_space`], everything a user
//! does with an [`IovaSpace`] once a decoder has produced one (checks, holes, the
//! allocator, a guest layout, the JSON forms), with the invariants those promise.

use std::alloc::{GlobalAlloc, Layout, System};

use vfio_iommu_info::json;
use vfio_iommu_info::{guest_layout, ByteOrder, IovaAllocator, IovaSpace, Placement, RamRegion};

/// The largest single allocation allowed, as libFuzzer's `-malloc_limit_mb=512` would
/// enforce it if it could: without a sanitizer runtime libFuzzer has no malloc hooks, so
/// this allocator (every target's, through this crate) aborts instead, which libFuzzer
/// reports as a crash and saves the input of.
pub const MALLOC_LIMIT: usize = 512 << 20;

/// The system allocator, aborting on an allocation larger than [`MALLOC_LIMIT`].
pub struct LimitedAlloc;

fn check_size(size: usize) {
    if size > MALLOC_LIMIT {
        let msg = b"==fuzz== an allocation exceeds the 512 MiB malloc limit (-malloc_limit_mb)\n";
        // SAFETY: writes a static buffer to stderr; no allocation while the allocator runs.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        std::process::abort();
    }
}

// SAFETY: forwards to `System` unchanged, after a check that allocates nothing.
unsafe impl GlobalAlloc for LimitedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check_size(new_size);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: LimitedAlloc = LimitedAlloc;

/// Every byte order a decoder accepts: a capture is decoded in each, whatever its origin.
pub const ORDERS: [ByteOrder; 3] = [ByteOrder::Native, ByteOrder::Little, ByteOrder::Big];

/// The C ABI's codes for [`ORDERS`] (`VFIO_IOMMU_INFO_BYTE_ORDER_*`), and one it refuses.
pub const C_ORDERS: [u32; 4] = [0, 1, 2, 3];

/// Reads fuzz bytes as numbers; past the end it yields zeros, so every input is usable.
pub struct Input<'a> {
    data: &'a [u8],
    from_end: bool,
}

impl<'a> Input<'a> {
    /// Reads `data` from its start.
    pub fn new(data: &'a [u8]) -> Self {
        Input {
            data,
            from_end: false,
        }
    }

    /// Reads `data` backwards from its end: the parameters of a target whose whole input
    /// is also the decoder's buffer (a capture's unused tail is where they come from).
    pub fn from_end(data: &'a [u8]) -> Self {
        Input {
            data,
            from_end: true,
        }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let out;
        if self.from_end {
            let (rest, taken) = self.data.split_at(self.data.len() - n);
            out = taken;
            self.data = rest;
        } else {
            let (taken, rest) = self.data.split_at(n);
            out = taken;
            self.data = rest;
        }
        out
    }

    /// The bytes not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }

    fn word<const N: usize>(&mut self) -> [u8; N] {
        let mut w = [0u8; N];
        let b = self.bytes(N);
        w[..b.len()].copy_from_slice(b);
        w
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.word::<1>()[0]
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.word())
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.word())
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.word())
    }

    /// A bool.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    /// An index for a collection of `count` items: usually in range, sometimes just past
    /// it or absurd, as a careless caller would pass.
    pub fn index(&mut self, count: usize) -> usize {
        let b = self.u8();
        match b % 8 {
            0 => count,
            1 => count.wrapping_add(1),
            2 => usize::MAX,
            _ if count == 0 => 0,
            _ => usize::from(b / 8) % count,
        }
    }

    /// A size: small, page-like or anything, so the interesting ones come up often.
    pub fn size(&mut self) -> u64 {
        let b = self.u8();
        match b % 4 {
            0 => u64::from(self.u16()),
            1 => u64::from(self.u8()) << (12 + (b >> 2) % 40),
            2 => 1u64 << (b >> 2),
            _ => self.u64(),
        }
    }

    /// An address near something of interest (a range's start or end) or anywhere.
    pub fn address(&mut self, near: &[u64]) -> u64 {
        let b = self.u8();
        if near.is_empty() || b.is_multiple_of(2) {
            return self.u64();
        }
        let base = near[usize::from(b / 2) % near.len()];
        base.wrapping_add(u64::from(self.u16()).wrapping_sub(0x8000))
    }
}

/// Everything a user does with a space: its accessors, `check` and `range_holding` of
/// spans, the holes, the JSON form, an allocator (alloc/free/reserve) and a guest layout,
/// asserting what they promise (an accepted span lies in one range, an allocation is
/// aligned, below its limit and inside one range, a free returns at least what was asked).
pub fn exercise_space(space: &IovaSpace, p: &mut Input<'_>) {
    let ranges = space.ranges();
    let granule = space.granule();
    assert!(granule.is_power_of_two(), "granule {granule:#x}");
    let _ = space.page_sizes();
    let aperture = space.aperture();
    assert_eq!(aperture.is_some(), !ranges.is_empty());
    let near: Vec<u64> = ranges.iter().flat_map(|r| [r.start, r.end]).collect();
    for h in space.holes() {
        let a = aperture.expect("holes without an aperture");
        assert!(a.start <= h.range.start && h.range.end <= a.end);
        assert!(space.hole_at(h.range.start).is_some());
        let _ = json::hole(h);
    }
    let _ = space.reserved();
    for _ in 0..4 {
        let iova = p.address(&near);
        let len = p.size();
        let _ = space.hole_at(iova);
        match space.check(iova, len) {
            Ok(()) => assert!(
                space.range_holding(iova, len).is_some(),
                "check accepted [{iova:#x}, +{len:#x}) outside every range"
            ),
            Err(problem) => {
                let _ = (problem.to_string(), json::span_problem(&problem));
            }
        }
    }
    let _ = json::space_to_json(space).to_string();

    let mut alloc = IovaAllocator::new(space);
    assert_eq!(alloc.granule(), granule);
    let mut live = Vec::new();
    for _ in 0..(p.u8() % 8) {
        match p.u8() % 4 {
            0 | 1 => {
                let size = p.size();
                let align = if p.bool() {
                    1u64 << (p.u8() % 64)
                } else {
                    p.u64()
                };
                let limit = if p.bool() { u64::MAX } else { p.u64() };
                match alloc.alloc(size, align, limit) {
                    Ok(at) => {
                        assert!(
                            at.is_multiple_of(granule),
                            "allocation {at:#x} not granule-aligned"
                        );
                        if align.is_power_of_two() {
                            assert!(
                                at.is_multiple_of(align),
                                "allocation {at:#x} not {align:#x}-aligned"
                            );
                        }
                        assert!(
                            space.range_holding(at, size).is_some(),
                            "allocation [{at:#x}, +{size:#x}) outside every range"
                        );
                        assert!(at.checked_add(size - 1).is_some_and(|last| last <= limit));
                        live.push((at, size));
                    }
                    Err(e) => {
                        let _ = (e.to_string(), e.code());
                    }
                }
            }
            2 => {
                let (iova, len) = (p.address(&near), p.size());
                if let Err(e) = alloc.reserve(iova, len) {
                    let _ = e.to_string();
                } else {
                    assert!(space.range_holding(iova, len).is_some());
                    live.push((iova, len));
                }
            }
            _ => {
                let i = p.index(live.len());
                let iova = live.get(i).map_or_else(|| p.u64(), |&(at, _)| at);
                match alloc.free(iova) {
                    Ok(len) => {
                        // The span that starts there (the address may come from the input).
                        let at = live.iter().position(|&(a, _)| a == iova);
                        let (_, size) = live.remove(at.expect("freed a span never allocated"));
                        assert!(len >= size, "free returned {len:#x} for {size:#x}");
                    }
                    Err(e) => {
                        assert!(live.iter().all(|&(a, _)| a != iova), "{e}");
                        let _ = e.to_string();
                    }
                }
            }
        }
        assert_eq!(alloc.live_count(), live.len());
    }
    let _ = alloc.free_extents().count();
    let _ = alloc.live().count();

    let regions: Vec<RamRegion> = (0..(p.u8() % 5))
        .map(|_| RamRegion {
            size: p.size(),
            at: p.bool().then(|| p.address(&near)),
        })
        .collect();
    let dma_avail = p.bool().then(|| p.u32());
    match guest_layout(space, &regions, dma_avail) {
        Ok(layout) => {
            assert_eq!(layout.placements.len(), regions.len());
            let _ = (
                layout.all_placed(),
                layout.fits(),
                layout.smallest_fitting_page(),
            );
            for pl in &layout.placements {
                let _ = format!("{pl:?}");
                if let Placement::Conflict { reason, .. } = pl {
                    let _ = (reason.to_string(), reason.code(), reason.problem());
                    let _ = json::conflict(reason);
                }
            }
            let _ = json::layout_to_json(&layout).to_string();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
