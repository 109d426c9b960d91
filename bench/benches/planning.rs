//! `cargo bench -p vfio-iommu-info-bench` (or `make bench`): decode against the unchecked
//! C walk of the same real capture, and allocator pairs at 1K, 16K and 64K live
//! allocations against a linear scan. `bench/report` turns the results into ratios.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use vfio_iommu_info::{IovaAllocator, IovaRange, IovaSpace, PageSizes};
use vfio_iommu_info_bench::{c_walk, checked_walk, LinearAllocator};

const CAPTURE: &[u8] = include_bytes!("../../tests/fixtures/linux-6.12-amd/group-2/info-exact.bin");
const PAGE: u64 = 4096;

fn decode(c: &mut Criterion) {
    // Both walks must read the same facts before either is timed.
    assert_eq!(checked_walk(CAPTURE), Some(c_walk(CAPTURE)));
    let mut g = c.benchmark_group("decode-6.12-amd");
    g.bench_function("c-unchecked-walk", |b| {
        b.iter(|| c_walk(black_box(CAPTURE)))
    });
    g.bench_function("rust-infoview", |b| {
        b.iter(|| checked_walk(black_box(CAPTURE)))
    });
    g.bench_function("rust-decode-owned", |b| {
        b.iter(|| vfio_iommu_info::decode(black_box(CAPTURE)))
    });
    g.finish();
}

fn intel39() -> IovaSpace {
    IovaSpace::new(
        &[
            IovaRange::new(0, 0xfedf_ffff).unwrap(),
            IovaRange::new(0xfef0_0000, 0x7f_ffff_ffff).unwrap(),
        ],
        Some(PageSizes(0x4020_1000)),
    )
}

fn alloc_pairs(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc-free-pair");
    for live in [1024usize, 16 * 1024, 64 * 1024] {
        let mut a = IovaAllocator::new(&intel39());
        for _ in 0..live {
            a.alloc(PAGE, 0, u64::MAX).unwrap();
        }
        g.bench_with_input(BenchmarkId::new("iova-allocator", live), &live, |b, _| {
            b.iter(|| {
                let iova = a.alloc(black_box(PAGE), 0, u64::MAX).unwrap();
                a.free(iova).unwrap()
            })
        });
        let mut l = LinearAllocator::new(0, 0xfedf_ffff);
        for _ in 0..live {
            l.alloc(PAGE, PAGE).unwrap();
        }
        g.bench_with_input(BenchmarkId::new("linear-scan", live), &live, |b, _| {
            b.iter(|| {
                let iova = l.alloc(black_box(PAGE), PAGE).unwrap();
                l.free(iova)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = decode, alloc_pairs
}
criterion_main!(benches);
