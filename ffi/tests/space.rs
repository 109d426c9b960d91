//! The IOVA space through the C ABI: its ranges, holes and reserved regions, spans
//! checked against it, a space of the caller's ranges.

mod common;

use std::ptr;

use ::vfio_iommu_info::IovaSpace;
use common::*;
use vfio_iommu_info_ffi::*;

fn r(start: u64, end: u64) -> vfio_iommu_info_range {
    vfio_iommu_info_range { start, end }
}

/// Every list of a space, read through the C functions.
struct Read {
    ranges: Vec<vfio_iommu_info_range>,
    holes: Vec<vfio_iommu_info_hole>,
    reserved: Vec<vfio_iommu_info_range>,
}

fn read(space: *const vfio_iommu_info_space) -> Read {
    // SAFETY: `space` is live; out-pointers are locals.
    unsafe {
        let mut n = 0usize;
        assert_eq!(vfio_iommu_info_space_range_count(space, &mut n), 0);
        let ranges = (0..n)
            .map(|i| {
                let mut x = r(1, 1);
                assert_eq!(vfio_iommu_info_space_range(space, i, &mut x), 0);
                x
            })
            .collect();
        assert_eq!(vfio_iommu_info_space_hole_count(space, &mut n), 0);
        let holes = (0..n)
            .map(|i| {
                let mut h: vfio_iommu_info_hole = sized();
                assert_eq!(vfio_iommu_info_space_hole(space, i, &mut h), 0);
                h
            })
            .collect();
        assert_eq!(vfio_iommu_info_space_reserved_count(space, &mut n), 0);
        let reserved = (0..n)
            .map(|i| {
                let mut x = r(1, 1);
                assert_eq!(vfio_iommu_info_space_reserved(space, i, &mut x), 0);
                x
            })
            .collect();
        Read {
            ranges,
            holes,
            reserved,
        }
    }
}

fn check(space: *const vfio_iommu_info_space, iova: u64, len: u64) -> vfio_iommu_info_verdict {
    let mut v: vfio_iommu_info_verdict = sized();
    // SAFETY: `space` is live; `v` is a local with its size set.
    assert_eq!(
        unsafe { vfio_iommu_info_space_check(space, iova, len, &mut v) },
        0
    );
    v
}

fn hole_at(space: *const vfio_iommu_info_space, iova: u64) -> usize {
    let mut i = 7;
    // SAFETY: `space` is live; `i` is a local.
    assert_eq!(
        unsafe { vfio_iommu_info_space_hole_at(space, iova, &mut i) },
        0
    );
    i
}

#[test]
fn the_amd_capture_has_the_hypertransport_hole() {
    let space = space_of(AMD);
    let got = read(space);
    assert_eq!(
        got.ranges,
        [
            r(0, 0xfedf_ffff),
            r(0xfef0_0000, 0xfc_ffff_ffff),
            r(0x100_0000_0000, u64::MAX)
        ]
    );
    let holes: Vec<_> = got
        .holes
        .iter()
        .map(|h| (h.range, h.cause_count, h.cause_types))
        .collect();
    assert_eq!(
        holes,
        [
            (r(0xfee0_0000, 0xfeef_ffff), 0, 0),
            (r(0xfd_0000_0000, 0xff_ffff_ffff), 0, 0)
        ],
        "a space from an info object knows no reserved regions"
    );
    assert_eq!(
        got.holes[0].size as usize,
        std::mem::size_of::<vfio_iommu_info_hole>()
    );
    // The ranges reach 2^64-1: nothing above the aperture to reserve.
    assert_eq!(
        got.reserved,
        [
            r(0xfee0_0000, 0xfeef_ffff),
            r(0xfd_0000_0000, 0xff_ffff_ffff)
        ]
    );
    assert_eq!(hole_at(space, 0xfd_8000_0000), 1);
    assert_eq!(hole_at(space, 0xff_ffff_ffff), 1);
    assert_eq!(hole_at(space, 0x100_0000_0000), VFIO_IOMMU_INFO_NO_HOLE);
    assert_eq!(hole_at(space, 0), VFIO_IOMMU_INFO_NO_HOLE);
    let v = check(space, 0xfd_0000_0000, 0x20_0000);
    assert_eq!(
        (v.problem, v.range),
        (
            VFIO_IOMMU_INFO_SPAN_IN_HOLE,
            r(0xfd_0000_0000, 0xff_ffff_ffff)
        )
    );
    assert_eq!(
        check(space, u64::MAX - 0xfff, 0x1000).problem,
        VFIO_IOMMU_INFO_SPAN_OK
    );
    // SAFETY: `space` is live until freed; out-pointers are locals.
    unsafe {
        let (mut granule, mut bitmap, mut aperture) = (0, 0, r(1, 1));
        assert_eq!(vfio_iommu_info_space_granule(space, &mut granule), 0);
        assert_eq!(vfio_iommu_info_space_page_sizes(space, &mut bitmap), 0);
        assert_eq!(vfio_iommu_info_space_aperture(space, &mut aperture), 0);
        assert_eq!(
            (granule, bitmap, aperture),
            (0x1000, 0x000f_ff7f_ffff_f000, r(0, u64::MAX))
        );
        let mut json = ptr::null_mut();
        assert_eq!(vfio_iommu_info_space_to_json(space, &mut json), 0);
        let model =
            IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(AMD)).unwrap()).unwrap();
        assert_eq!(
            c_str(json),
            ::vfio_iommu_info::json::space_to_json(&model).to_string()
        );
        vfio_iommu_info_string_free(json);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn the_intel_39_bit_aperture_ends_at_2_39_minus_1() {
    let space = space_of(INTEL39);
    let got = read(space);
    let top = (1u64 << 39) - 1;
    assert_eq!(got.ranges.last().unwrap().end, top);
    // A virtual IOMMU must reserve everything above the aperture.
    assert_eq!(got.reserved.last(), Some(&r(top + 1, u64::MAX)));
    let v = check(space, top - 0xfff, 0x2000);
    assert_eq!(
        (v.problem, v.range),
        (VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE, r(0, top))
    );
    assert_eq!(
        hole_at(space, top + 1),
        VFIO_IOMMU_INFO_NO_HOLE,
        "above the aperture is no hole"
    );
    // SAFETY: freed once.
    unsafe { vfio_iommu_info_space_free(space) };
}

#[test]
fn holes_name_their_reserved_regions() {
    let model = IovaSpace::from_info(&::vfio_iommu_info::decode(&capture(AMD)).unwrap())
        .unwrap()
        .with_reserved_regions(&reserved_regions(AMD));
    let space = space_handle_for_tests(model);
    let got = read(space);
    assert_eq!(got.holes[0].cause_types, 1 << VFIO_IOMMU_INFO_REGION_MSI);
    assert_eq!(
        got.holes[1].cause_types,
        1 << VFIO_IOMMU_INFO_REGION_RESERVED
    );
    assert_eq!(got.holes[1].cause_count, 1);
    // SAFETY: `space` is live until freed; out-structs are locals.
    unsafe {
        let mut c: vfio_iommu_info_reserved_region = sized();
        assert_eq!(vfio_iommu_info_space_hole_cause(space, 1, 0, &mut c), 0);
        assert_eq!(
            (c.kind, c.range),
            (
                VFIO_IOMMU_INFO_REGION_RESERVED,
                r(0xfd_0000_0000, 0xff_ffff_ffff)
            )
        );
        assert_eq!(c_str(c.kind_name), "reserved");
        let before = c;
        assert_eq!(
            vfio_iommu_info_space_hole_cause(space, 1, 1, &mut c),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!(
            vfio_iommu_info_space_hole_cause(space, 2, 0, &mut c),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert!(
            last_error().contains("index 2 is past the end of a list of 2"),
            "{}",
            last_error()
        );
        c.size = 8;
        assert_eq!(
            vfio_iommu_info_space_hole_cause(space, 0, 0, &mut c),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!(
            (c.kind, c.range, c.kind_name),
            (before.kind, before.range, before.kind_name)
        );
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn a_space_of_the_callers_ranges() {
    // Out of order, duplicated, touching: sorted, deduplicated, kept apart.
    let ranges = [
        r(0x2000, 0x3fff),
        r(0, 0xfff),
        r(0x2000, 0x3fff),
        r(0x4000, 0x4fff),
    ];
    let mut space = ptr::null_mut();
    // SAFETY: valid arrays and out-pointers; `space` is freed once.
    unsafe {
        assert_eq!(
            vfio_iommu_info_space_new(ranges.as_ptr(), ranges.len(), 0x1000, &mut space),
            0
        );
        let got = read(space);
        assert_eq!(
            got.ranges,
            [r(0, 0xfff), r(0x2000, 0x3fff), r(0x4000, 0x4fff)]
        );
        assert_eq!(got.holes.len(), 1);
        assert_eq!(got.reserved, [r(0x1000, 0x1fff), r(0x5000, u64::MAX)]);
        vfio_iommu_info_space_free(space);

        // Page sizes 0: unknown; the granule is 4 KiB and alignment is not checked.
        assert_eq!(
            vfio_iommu_info_space_new(ranges.as_ptr(), 1, 0, &mut space),
            0
        );
        let mut bitmap = 5;
        assert_eq!(
            vfio_iommu_info_space_page_sizes(space, &mut bitmap),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert_eq!(bitmap, 5);
        let mut granule = 0;
        assert_eq!(vfio_iommu_info_space_granule(space, &mut granule), 0);
        assert_eq!(granule, 4096);
        assert_eq!(check(space, 0x2001, 1).problem, VFIO_IOMMU_INFO_SPAN_OK);
        vfio_iommu_info_space_free(space);

        // No ranges at all: a space where nothing can be mapped.
        assert_eq!(vfio_iommu_info_space_new(ptr::null(), 0, 0, &mut space), 0);
        let mut aperture = r(3, 3);
        assert_eq!(
            vfio_iommu_info_space_aperture(space, &mut aperture),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert_eq!(aperture, r(3, 3));
        assert_eq!(
            check(space, 0, 0x1000).problem,
            VFIO_IOMMU_INFO_SPAN_NO_RANGES
        );
        assert_eq!(read(space).reserved, [r(0, u64::MAX)]);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn bad_ranges_are_refused_and_leave_out_alone() {
    let mut space = ptr::null_mut();
    // SAFETY: valid arrays, NULLs, and local out-pointers.
    unsafe {
        let inverted = [r(0, 0xfff), r(0x3000, 0x2000)];
        assert_eq!(
            vfio_iommu_info_space_new(inverted.as_ptr(), 2, 0, &mut space),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert!(
            last_error().contains("ranges[1] is inverted"),
            "{}",
            last_error()
        );
        assert_eq!(
            vfio_iommu_info_space_new(ptr::null(), 1, 0, &mut space),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_space_new(inverted.as_ptr(), usize::MAX, 0, &mut space),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!(
            vfio_iommu_info_space_new(inverted.as_ptr(), 1, 0, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(space.is_null(), "out written on failure");

        // Overlapping ranges (no kernel reports them) are merged, from a capture or
        // from the caller: an allocator over them must not hand out an address twice.
        use ::vfio_iommu_info::encode::{CapSpec, KernelState};
        use ::vfio_iommu_info::IovaRange;
        let buf = KernelState::padded(
            0x1000,
            vec![CapSpec::IovaRange(vec![
                IovaRange::new(0, 0x1fff).unwrap(),
                IovaRange::new(0x1000, 0x2fff).unwrap(),
            ])],
        )
        .encode();
        let info = decode(&buf);
        assert_eq!(vfio_iommu_info_space_from_info(info, &mut space), 0);
        vfio_iommu_info_free(info);
        assert_eq!(read(space).ranges, [r(0, 0x2fff)]);
        vfio_iommu_info_space_free(space);
        let overlapping = [r(0x1000, 0x2fff), r(0, 0x1fff)];
        space = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_space_new(overlapping.as_ptr(), 2, 0, &mut space),
            0
        );
        assert_eq!(read(space).ranges, [r(0, 0x2fff)]);
        vfio_iommu_info_space_free(space);
        space = ptr::null_mut();

        // A pre-5.4 kernel reported no ranges: absent, with the reason.
        let mut old = [0u8; 16];
        old[0] = 16;
        old[4] = 1;
        old[8..16].copy_from_slice(&0x1000u64.to_ne_bytes());
        let mut info = ptr::null_mut();
        assert_eq!(
            vfio_iommu_info_decode(old.as_ptr(), old.len(), 0, &mut info),
            0
        );
        assert_eq!(
            vfio_iommu_info_space_from_info(info, &mut space),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert!(
            last_error().contains("no capability chain"),
            "{}",
            last_error()
        );
        vfio_iommu_info_free(info);
        assert!(space.is_null());
    }
}

#[test]
fn null_pointers_are_codes() {
    let space = space_of(AMD);
    let none: *const vfio_iommu_info_space = ptr::null();
    // SAFETY: every pointer is NULL, a local, or the live `space`.
    unsafe {
        let (mut n, mut x, mut range) = (3usize, 3u64, r(3, 3));
        let mut hole: vfio_iommu_info_hole = sized();
        let mut cause: vfio_iommu_info_reserved_region = sized();
        let mut v: vfio_iommu_info_verdict = sized();
        let mut json = ptr::null_mut();
        let mut out = ptr::null_mut();
        let codes = [
            vfio_iommu_info_space_from_info(ptr::null(), &mut out),
            vfio_iommu_info_space_from_container(ptr::null(), &mut out),
            vfio_iommu_info_space_range_count(none, &mut n),
            vfio_iommu_info_space_range_count(space, ptr::null_mut()),
            vfio_iommu_info_space_range(none, 0, &mut range),
            vfio_iommu_info_space_range(space, 0, ptr::null_mut()),
            vfio_iommu_info_space_page_sizes(none, &mut x),
            vfio_iommu_info_space_granule(space, ptr::null_mut()),
            vfio_iommu_info_space_aperture(none, &mut range),
            vfio_iommu_info_space_hole_count(none, &mut n),
            vfio_iommu_info_space_hole(none, 0, &mut hole),
            vfio_iommu_info_space_hole(space, 0, ptr::null_mut()),
            vfio_iommu_info_space_hole_cause(none, 0, 0, &mut cause),
            vfio_iommu_info_space_hole_at(none, 0, &mut n),
            vfio_iommu_info_space_hole_at(space, 0, ptr::null_mut()),
            vfio_iommu_info_space_reserved_count(none, &mut n),
            vfio_iommu_info_space_reserved(none, 0, &mut range),
            vfio_iommu_info_space_check(none, 0, 1, &mut v),
            vfio_iommu_info_space_check(space, 0, 1, ptr::null_mut()),
            vfio_iommu_info_space_to_json(none, &mut json),
            vfio_iommu_info_space_to_json(space, ptr::null_mut()),
        ];
        assert!(
            codes.iter().all(|&c| c == VFIO_IOMMU_INFO_E_NULL),
            "{codes:?}"
        );
        assert_eq!(
            (n, x, range, json, out),
            (3, 3, r(3, 3), ptr::null_mut(), ptr::null_mut())
        );
        assert_eq!(
            vfio_iommu_info_space_range(space, 3, &mut range),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!(
            vfio_iommu_info_space_reserved(space, 2, &mut range),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!(range, r(3, 3));
        hole.size = 4;
        assert_eq!(
            vfio_iommu_info_space_hole(space, 0, &mut hole),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!((hole.size, hole.range), (4, r(0, 0)));
        vfio_iommu_info_space_free(ptr::null_mut());
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn the_no_hole_define_of_the_header_is_this_constant() {
    assert_eq!(VFIO_IOMMU_INFO_NO_HOLE, usize::MAX);
    let header = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/vfio_iommu_info.h"),
    )
    .unwrap();
    assert!(header.contains("\n#define VFIO_IOMMU_INFO_NO_HOLE SIZE_MAX\n"));
}
