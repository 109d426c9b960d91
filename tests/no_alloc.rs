//! The borrowed decode path allocates nothing: `InfoView::parse` and every accessor of a
//! real capture, counted by a global allocator (one test in this binary, so no other
//! thread allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use vfio_iommu_info::{ByteOrder, InfoView};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_borrowed_path_allocates_nothing() {
    let captures: Vec<Vec<u8>> = [
        "linux-6.12-amd/group-2",
        "linux-6.1-intel-aw39/group-2",
        "linux-6.12-virtio/group-4",
    ]
    .iter()
    .map(|s| {
        std::fs::read(format!(
            "{}/tests/fixtures/{s}/info-exact.bin",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    })
    .collect();
    let mut seen = 0u64;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for buf in &captures {
        let v = InfoView::parse(buf, ByteOrder::Native).unwrap();
        seen += v.iova_pgsizes().map_or(0, |p| p.0) & 1;
        for r in v.iova_ranges().present().unwrap().clone() {
            seen = seen.wrapping_add(r.end);
        }
        seen += u64::from(*v.dma_avail().present().unwrap());
        seen += v.migration().present().unwrap().max_dirty_bitmap_size;
        seen += v.caps().count() as u64;
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations on the borrowed path");
    assert_ne!(seen, 0);
    // The counter works: the owned model allocates.
    let _owned = vfio_iommu_info::decode(&captures[0]).unwrap();
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > after);
}
