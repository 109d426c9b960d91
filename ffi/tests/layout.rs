//! The guest layout through the C ABI: placements around the holes, conflicts that say
//! why, agreement with the core's `guest_layout`, and edge inputs that never panic.

mod common;

use std::ptr;

use ::vfio_iommu_info::layout::{guest_layout, RamRegion};
use ::vfio_iommu_info::IovaSpace;

use common::*;
use vfio_iommu_info_ffi::*;

const GIB: u64 = 1 << 30;

fn ram(len: u64) -> vfio_iommu_info_ram_region {
    vfio_iommu_info_ram_region { len, ..sized() }
}

fn fixed(len: u64, addr: u64) -> vfio_iommu_info_ram_region {
    vfio_iommu_info_ram_region {
        flags: VFIO_IOMMU_INFO_RAM_FIXED,
        addr,
        ..ram(len)
    }
}

fn r(start: u64, end: u64) -> vfio_iommu_info_range {
    vfio_iommu_info_range { start, end }
}

fn layout_of(
    space: *const vfio_iommu_info_space,
    regions: &[vfio_iommu_info_ram_region],
    dma_avail: i64,
) -> *mut vfio_iommu_info_layout {
    let mut l = ptr::null_mut();
    // SAFETY: `space` is live; `regions` is a valid array; `l` is a local.
    let rc = unsafe {
        vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), dma_avail, &mut l)
    };
    assert_eq!(rc, 0, "{}", last_error());
    l
}

fn placements(l: *const vfio_iommu_info_layout) -> Vec<vfio_iommu_info_placement> {
    let mut n = 0;
    // SAFETY: `l` is live; out-pointers are locals.
    unsafe {
        assert_eq!(vfio_iommu_info_layout_placement_count(l, &mut n), 0);
        (0..n)
            .map(|i| {
                let mut p: vfio_iommu_info_placement = sized();
                assert_eq!(vfio_iommu_info_layout_placement(l, i, &mut p), 0);
                assert_eq!(p.size as usize, std::mem::size_of_val(&p));
                p
            })
            .collect()
    }
}

fn mappings(l: *const vfio_iommu_info_layout) -> vfio_iommu_info_mappings {
    let mut m: vfio_iommu_info_mappings = sized();
    // SAFETY: `l` is live; `m` is a local with its size set.
    assert_eq!(unsafe { vfio_iommu_info_layout_mappings(l, &mut m) }, 0);
    m
}

#[test]
fn amd_ram_goes_around_the_hypertransport_hole() {
    let space = space_of(AMD);
    let regions = [
        ram(3 * GIB),
        fixed(1008 * GIB, 4 * GIB),
        fixed(8 * GIB, 1012 * GIB),
        ram(64 * GIB),
    ];
    let l = layout_of(space, &regions, 65535);
    let p = placements(l);
    let summary: Vec<_> = p
        .iter()
        .map(|p| (p.result, p.range, p.len, p.align))
        .collect();
    assert_eq!(
        summary,
        [
            (
                VFIO_IOMMU_INFO_PLACEMENT_PLACED,
                r(0, 3 * GIB - 1),
                3 * GIB,
                GIB
            ),
            (
                VFIO_IOMMU_INFO_PLACEMENT_PLACED,
                r(4 * GIB, 1012 * GIB - 1),
                1008 * GIB,
                0
            ),
            (
                VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                r(1012 * GIB, 1020 * GIB - 1),
                8 * GIB,
                0
            ),
            (
                VFIO_IOMMU_INFO_PLACEMENT_PLACED,
                r(1 << 40, (1 << 40) + 64 * GIB - 1),
                64 * GIB,
                GIB
            ),
        ]
    );
    assert_eq!(
        (p[2].problem, p[2].problem_range, p[2].hole_cause_count),
        (
            VFIO_IOMMU_INFO_SPAN_IN_HOLE,
            r(0xfd_0000_0000, 0xff_ffff_ffff),
            0
        )
    );
    assert_eq!(p[0].problem, VFIO_IOMMU_INFO_SPAN_OK);
    let m = mappings(l);
    assert_eq!(
        (
            m.all_placed,
            m.per_region,
            m.dma_avail,
            m.fits,
            m.smallest_fitting_page
        ),
        (0, 3, 65535, 1, 0x200_0000), // 1075 GiB in 32 MiB pages: 34400 mappings
    );
    // The counts and the JSON are the core's.
    let model_space =
        IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(AMD)).unwrap()).unwrap();
    let ram: Vec<RamRegion> = regions
        .iter()
        .map(|r| RamRegion {
            size: r.len,
            at: (r.flags != 0).then_some(r.addr),
        })
        .collect();
    let model = guest_layout(&model_space, &ram, Some(65535)).unwrap();
    // SAFETY: `l` is live until freed; out-pointers are locals.
    unsafe {
        let mut n = 0;
        assert_eq!(vfio_iommu_info_layout_page_count(l, &mut n), 0);
        assert_eq!(n, model.per_page.len());
        for (i, want) in model.per_page.iter().enumerate() {
            let mut c = vfio_iommu_info_mapping_count {
                page_size: 0,
                entries: 0,
            };
            assert_eq!(vfio_iommu_info_layout_page(l, i, &mut c), 0);
            assert_eq!((c.page_size, c.entries), (want.page_size, want.entries));
        }
        let mut c = vfio_iommu_info_mapping_count {
            page_size: 1,
            entries: 1,
        };
        assert_eq!(
            vfio_iommu_info_layout_page(l, n, &mut c),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!((c.page_size, c.entries), (1, 1));
        let mut json = ptr::null_mut();
        assert_eq!(vfio_iommu_info_layout_to_json(l, &mut json), 0);
        assert_eq!(
            c_str(json),
            ::vfio_iommu_info::json::layout_to_json(&model).to_string()
        );
        vfio_iommu_info_string_free(json);
        vfio_iommu_info_layout_free(l);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn conflicts_say_why_and_name_the_holes_causes() {
    let model = IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(AMD)).unwrap())
        .unwrap()
        .with_reserved_regions(&reserved_regions(AMD));
    let mut l = ptr::null_mut();
    let regions = [
        fixed(GIB, 0),
        fixed(0x1000, 0x3fff_f000),      // overlaps the first
        fixed(0x1000, u64::MAX - 0xfff), // the top page
        fixed(0x2000, 0xfd_0000_0000),   // the HyperTransport hole
        ram(0x1000),
    ];
    // SAFETY: the space is a boxed object of this module's sibling, freed once; the
    // other pointers are locals.
    unsafe {
        let space = space_handle_for_tests(model);
        assert_eq!(
            vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), -1, &mut l),
            0
        );
        vfio_iommu_info_space_free(space);
        let p = placements(l);
        let problems: Vec<_> = p.iter().map(|p| (p.result, p.problem)).collect();
        assert_eq!(
            problems,
            [
                (VFIO_IOMMU_INFO_PLACEMENT_PLACED, VFIO_IOMMU_INFO_SPAN_OK),
                (
                    VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                    VFIO_IOMMU_INFO_SPAN_OVERLAPS
                ),
                (
                    VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                    VFIO_IOMMU_INFO_SPAN_TOP_PAGE
                ),
                (
                    VFIO_IOMMU_INFO_PLACEMENT_CONFLICT,
                    VFIO_IOMMU_INFO_SPAN_IN_HOLE
                ),
                (VFIO_IOMMU_INFO_PLACEMENT_PLACED, VFIO_IOMMU_INFO_SPAN_OK),
            ]
        );
        assert_eq!(p[1].problem_range, r(0, GIB - 1), "the region it overlaps");
        assert_eq!(p[2].range, r(u64::MAX - 0xfff, u64::MAX));
        assert_eq!(
            (p[3].hole_cause_count, p[3].hole_cause_types),
            (1, 1 << VFIO_IOMMU_INFO_REGION_RESERVED)
        );
        let mut c: vfio_iommu_info_reserved_region = sized();
        assert_eq!(vfio_iommu_info_layout_hole_cause(l, 3, 0, &mut c), 0);
        assert_eq!(
            (c.kind, c.range),
            (
                VFIO_IOMMU_INFO_REGION_RESERVED,
                r(0xfd_0000_0000, 0xff_ffff_ffff)
            )
        );
        assert_eq!(c_str(c.kind_name), "reserved");
        assert_eq!(
            vfio_iommu_info_layout_hole_cause(l, 3, 1, &mut c),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!(
            vfio_iommu_info_layout_hole_cause(l, 0, 0, &mut c),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!(
            vfio_iommu_info_layout_hole_cause(l, 5, 0, &mut c),
            VFIO_IOMMU_INFO_E_RANGE
        );
        let m = mappings(l);
        assert_eq!(
            (m.dma_avail, m.fits, m.smallest_fitting_page),
            (VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN, -1, 0)
        );
        vfio_iommu_info_layout_free(l);
    }
}

#[test]
fn no_room_beyond_the_intel_aperture_and_unknown_page_sizes() {
    let space = space_of(INTEL39);
    let l = layout_of(
        space,
        &[
            ram(3 * GIB),
            ram(64 * GIB),
            ram(1 << 40),
            fixed(0x1000, 1 << 39),
        ],
        2,
    );
    let p = placements(l);
    assert_eq!(
        (p[2].result, p[2].len, p[2].align, p[2].range),
        (VFIO_IOMMU_INFO_PLACEMENT_NO_ROOM, 1 << 40, GIB, r(0, 0))
    );
    assert_eq!(
        (p[3].problem, p[3].problem_range),
        (VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE, r(0, (1 << 39) - 1))
    );
    assert_eq!(p[1].range, r(4 * GIB, 68 * GIB - 1), "above the MSI window");
    let m = mappings(l);
    assert_eq!((m.per_region, m.fits), (2, 1));
    // SAFETY: freed once each.
    unsafe {
        vfio_iommu_info_layout_free(l);
        vfio_iommu_info_space_free(space);
    }
    // Without page sizes, the 4 KiB granule still applies to fixed regions.
    let mut space = ptr::null_mut();
    let ranges = [r(0, 0xffff_ffff)];
    // SAFETY: a valid array and out-pointer; freed once.
    unsafe {
        assert_eq!(
            vfio_iommu_info_space_new(ranges.as_ptr(), 1, 0, &mut space),
            0
        )
    };
    let l = layout_of(space, &[fixed(0x800, 0x800), ram(0x800)], -1);
    let p = placements(l);
    assert_eq!(
        (p[0].problem, p[0].page_size),
        (VFIO_IOMMU_INFO_SPAN_MISALIGNED, 0x1000)
    );
    assert_eq!(
        (p[1].result, p[1].range, p[1].len, p[1].align),
        (VFIO_IOMMU_INFO_PLACEMENT_PLACED, r(0, 0xfff), 0x800, 0x1000),
        "the granule is what gets mapped"
    );
    // SAFETY: `l` is live; freed once each.
    unsafe {
        let mut n = 9;
        assert_eq!(vfio_iommu_info_layout_page_count(l, &mut n), 0);
        assert_eq!(n, 0, "no page sizes to count mappings in");
        vfio_iommu_info_layout_free(l);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn region_arrays_are_sized_and_checked() {
    let space = space_of(INTEL39);
    let mut l = ptr::null_mut();
    // SAFETY: valid arrays (or NULL with 0), local out-pointers; freed once.
    unsafe {
        // A caller built against a later, larger struct: its stride is respected.
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Later {
            region: vfio_iommu_info_ram_region,
            extra: u64,
        }
        let mut later = [
            Later {
                region: fixed(GIB, 0),
                extra: u64::MAX,
            },
            Later {
                region: ram(GIB),
                extra: u64::MAX,
            },
        ];
        for e in &mut later {
            e.region.size = std::mem::size_of::<Later>() as u32;
        }
        let p = later.as_ptr().cast::<vfio_iommu_info_ram_region>();
        assert_eq!(
            vfio_iommu_info_layout_new(space, p, 2, -1, &mut l),
            0,
            "{}",
            last_error()
        );
        let got = placements(l);
        assert_eq!(
            (got[0].range, got[1].range),
            (r(0, GIB - 1), r(GIB, 2 * GIB - 1))
        );
        vfio_iommu_info_layout_free(l);

        // No regions at all.
        l = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_layout_new(space, ptr::null(), 0, 0, &mut l),
            0
        );
        assert!(placements(l).is_empty());
        assert_eq!(mappings(l).all_placed, 1);
        vfio_iommu_info_layout_free(l);

        l = ptr::null_mut();
        let bad = |regions: &[vfio_iommu_info_ram_region],
                   dma_avail: i64,
                   l: &mut *mut vfio_iommu_info_layout| {
            vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), dma_avail, l)
        };
        let mut small = ram(GIB);
        small.size = 16;
        assert_eq!(bad(&[small], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        assert!(
            last_error().contains("regions[0].size is 16"),
            "{}",
            last_error()
        );
        let mut odd = [ram(GIB), ram(GIB)];
        odd[1].size += 8;
        assert_eq!(bad(&odd, -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        assert!(
            last_error().contains("regions[1].size is 32, but regions[0].size is 24"),
            "{}",
            last_error()
        );
        let mut unaligned = ram(GIB);
        unaligned.size = 28;
        assert_eq!(bad(&[unaligned], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        let mut flags = ram(GIB);
        flags.flags = 2;
        assert_eq!(bad(&[flags], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        assert_eq!(bad(&[ram(0)], -1, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        assert!(
            last_error().contains("regions[0].len is 0"),
            "{}",
            last_error()
        );
        assert_eq!(bad(&[ram(GIB)], -2, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        assert_eq!(bad(&[ram(GIB)], 1 << 32, &mut l), VFIO_IOMMU_INFO_E_INVALID);
        assert_eq!(bad(&[ram(GIB)], u32::MAX.into(), &mut l), 0);
        vfio_iommu_info_layout_free(l);
        l = ptr::null_mut();
        // A stride times the count past any array: refused before reading.
        let huge = ram(GIB);
        assert_eq!(
            vfio_iommu_info_layout_new(space, &huge, usize::MAX / 8, -1, &mut l),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert!(l.is_null(), "out written on failure");

        // NULLs.
        let regions = [ram(GIB)];
        let codes = [
            vfio_iommu_info_layout_new(ptr::null(), regions.as_ptr(), 1, -1, &mut l),
            vfio_iommu_info_layout_new(space, ptr::null(), 1, -1, &mut l),
            vfio_iommu_info_layout_new(space, regions.as_ptr(), 1, -1, ptr::null_mut()),
        ];
        assert_eq!(codes, [VFIO_IOMMU_INFO_E_NULL; 3]);
        let l = layout_of(space, &regions, -1);
        let none: *const vfio_iommu_info_layout = ptr::null();
        let mut n = 5usize;
        let mut p: vfio_iommu_info_placement = sized();
        let mut m: vfio_iommu_info_mappings = sized();
        let mut c: vfio_iommu_info_reserved_region = sized();
        let mut mc = vfio_iommu_info_mapping_count {
            page_size: 0,
            entries: 0,
        };
        let mut json = ptr::null_mut();
        let codes = [
            vfio_iommu_info_layout_placement_count(none, &mut n),
            vfio_iommu_info_layout_placement_count(l, ptr::null_mut()),
            vfio_iommu_info_layout_placement(none, 0, &mut p),
            vfio_iommu_info_layout_placement(l, 0, ptr::null_mut()),
            vfio_iommu_info_layout_hole_cause(none, 0, 0, &mut c),
            vfio_iommu_info_layout_mappings(none, &mut m),
            vfio_iommu_info_layout_mappings(l, ptr::null_mut()),
            vfio_iommu_info_layout_page_count(none, &mut n),
            vfio_iommu_info_layout_page(none, 0, &mut mc),
            vfio_iommu_info_layout_to_json(none, &mut json),
            vfio_iommu_info_layout_to_json(l, ptr::null_mut()),
        ];
        assert_eq!(codes, [VFIO_IOMMU_INFO_E_NULL; 11]);
        assert_eq!((n, json), (5, ptr::null_mut()));
        assert_eq!(
            vfio_iommu_info_layout_placement(l, 1, &mut p),
            VFIO_IOMMU_INFO_E_RANGE
        );
        p.size = 8;
        assert_eq!(
            vfio_iommu_info_layout_placement(l, 0, &mut p),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!((p.size, p.len), (8, 0));
        vfio_iommu_info_layout_free(ptr::null_mut());
        vfio_iommu_info_layout_free(l);
        vfio_iommu_info_space_free(space);
    }
}

/// Inputs at every edge of the 64-bit space, through the space, the allocator and the
/// layout: no call may panic (the boundary would turn a panic into E_INTERNAL).
#[test]
fn edge_inputs_never_reach_a_panic() {
    const M: u64 = u64::MAX;
    let values = [
        0,
        1,
        0x7ff,
        0x800,
        0xfff,
        0x1000,
        0x1001,
        0x20_0000,
        GIB - 1,
        GIB,
        GIB + 1,
        0xfd_0000_0000,
        1 << 39,
        (1 << 39) - 1,
        1 << 63,
        M - 0x1fff,
        M - 0x1000,
        M - 0xfff,
        M - 1,
        M,
    ];
    let spaces = [
        (vec![r(0, M)], 0x1000),
        (vec![r(M - 0xfff, M)], 0x1000),
        (vec![r(0, 0)], 0),
        (vec![r(M, M)], 1),
        (vec![r(1, M - 1)], 1 << 63),
        (vec![r(0, 0xfff), r(0x1000, M)], M),
        (vec![], 0),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut calls = 0;
    for (ranges, pgsizes) in &spaces {
        let mut space = ptr::null_mut();
        // SAFETY: a valid array and out-pointer; every object is freed once.
        unsafe {
            assert_eq!(
                vfio_iommu_info_space_new(ranges.as_ptr(), ranges.len(), *pgsizes, &mut space),
                0
            );
            let mut a = ptr::null_mut();
            assert_eq!(vfio_iommu_info_allocator_new(space, &mut a), 0);
            for _ in 0..400 {
                let (x, y, z) = (
                    values[next(values.len())],
                    values[next(values.len())],
                    values[next(values.len())],
                );
                let mut iova = 0;
                let mut v: vfio_iommu_info_verdict = sized();
                let codes = [
                    vfio_iommu_info_allocator_alloc(a, x, y, z, &mut iova),
                    vfio_iommu_info_allocator_reserve(a, x, y),
                    vfio_iommu_info_allocator_release(a, x, ptr::null_mut()),
                    vfio_iommu_info_space_check(space, x, y, &mut v),
                ];
                assert!(
                    !codes.contains(&VFIO_IOMMU_INFO_E_INTERNAL),
                    "{x:#x} {y:#x} {z:#x}: {}",
                    last_error()
                );
                let regions: Vec<_> = (0..1 + next(4))
                    .map(|_| {
                        let len = values[next(values.len())].max(1);
                        if next(2) == 0 {
                            ram(len)
                        } else {
                            fixed(len, values[next(values.len())])
                        }
                    })
                    .collect();
                let dma = [-1, 0, 1, i64::from(u32::MAX)][next(4)];
                let mut l = ptr::null_mut();
                let rc =
                    vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), dma, &mut l);
                assert_eq!(rc, 0, "{regions:?}: {}", last_error());
                let _ = placements(l);
                let _ = mappings(l);
                let mut json = ptr::null_mut();
                assert_eq!(vfio_iommu_info_layout_to_json(l, &mut json), 0);
                vfio_iommu_info_string_free(json);
                vfio_iommu_info_layout_free(l);
                calls += 5;
            }
            vfio_iommu_info_allocator_free(a);
            vfio_iommu_info_space_free(space);
        }
    }
    assert!(calls > 10_000);
}
