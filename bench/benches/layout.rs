//! `cargo bench -p vfio-iommu-info-bench --bench layout`: `guest_layout` at 2k, 20k and
//! 200k regions (issue 18), so the growth from one size to the next shows: ~10x per step
//! is n log n, ~100x was the quadratic scan.
//! - `fixed-unplaceable/N`: the audit's input. N fixed pages, one every other page of a
//!   range of 2N pages, then N regions of two pages that fit nowhere.
//! - `ram-regions/N`: N regions of 4K to 64M for the layout to place, all placed, in the
//!   amd-iommu space of Linux 6.12 (three ranges to 2^64-1).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vfio_iommu_info::{guest_layout, IovaRange, IovaSpace, PageSizes, RamRegion};

const PAGE: u64 = 4096;
const SIZES: [usize; 3] = [2_000, 20_000, 200_000];

fn fixed_unplaceable(n: usize) -> (IovaSpace, Vec<RamRegion>) {
    let n = n as u64;
    let space = IovaSpace::new(
        &[IovaRange::new(0, 2 * n * PAGE - 1).unwrap()],
        Some(PageSizes(0x4020_1000)),
    );
    let mut regions: Vec<RamRegion> = (0..n)
        .map(|i| RamRegion {
            size: PAGE,
            at: Some(2 * i * PAGE),
        })
        .collect();
    regions.extend((0..n).map(|_| RamRegion {
        size: 2 * PAGE,
        at: None,
    }));
    (space, regions)
}

fn ram_regions(n: usize) -> (IovaSpace, Vec<RamRegion>) {
    let space = IovaSpace::new(
        &[
            IovaRange::new(0, 0xfedf_ffff).unwrap(),
            IovaRange::new(0xfef0_0000, 0xfc_ffff_ffff).unwrap(),
            IovaRange::new(0x100_0000_0000, u64::MAX).unwrap(),
        ],
        Some(PageSizes(0x000f_ff7f_ffff_f000)),
    );
    let sizes = [PAGE, 3 * PAGE, 0x20_0000, 0x50_0000, 0x400_0000];
    let regions = (0..n)
        .map(|i| RamRegion {
            size: sizes[i % sizes.len()],
            at: None,
        })
        .collect();
    (space, regions)
}

fn layout(c: &mut Criterion) {
    let mut g = c.benchmark_group("guest-layout");
    // The big sizes run a few times only: the point is the growth, not the last digit.
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, make) in [
        (
            "fixed-unplaceable",
            fixed_unplaceable as fn(usize) -> (IovaSpace, Vec<RamRegion>),
        ),
        ("ram-regions", ram_regions),
    ] {
        for n in SIZES {
            let (space, regions) = make(n);
            let layout = guest_layout(&space, &regions, None).unwrap();
            // Each input is what it says before it is timed: n placed (the fixed regions
            // or all), the audit's n others nowhere.
            assert_eq!(layout.per_region, n as u64);
            assert_eq!(layout.all_placed(), name == "ram-regions");
            g.throughput(Throughput::Elements(regions.len() as u64));
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| guest_layout(black_box(&space), black_box(&regions), None))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, layout);
criterion_main!(benches);
