//! The C ABI (`libvfio_iommu_info`), called from Rust exactly as a C caller would: the
//! whole input is a buffer, copied into an allocation of exactly the length passed (a
//! prefix of it sometimes, NULL with length 0 or, documented as refused, with a length),
//! decoded by `vfio_iommu_info_decode`, `_device_info_decode` and `_region_info_decode` in
//! every `VFIO_IOMMU_INFO_BYTE_ORDER_*` and one invalid order; then every accessor of each
//! object with in-range and out-of-range indices, sized out-structs whose `size` is
//! sometimes too small, NULL out-pointers sometimes; `to_json` + `string_free`;
//! `vfio_iommu_info_check`; the facts and their JSON form; the space from the info and a
//! space of the caller's own (every space accessor, `check`, `hole_at`, `to_json`), the
//! allocator on it (alloc/release/reserve) and a guest layout (every layout accessor);
//! and the `_free` of each. Every returned string is read to its NUL, every returned byte
//! span is read whole, every failure's `strerror` and last error too. The numbers come
//! from the input read backwards.
#![no_main]

use std::ffi::{c_char, c_int, CStr};
use std::mem::{size_of, zeroed};
use std::ptr::{self, null, null_mut};

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info_ffi::*;
use vfio_iommu_info_fuzz::{Input, C_ORDERS};

/// Reads a C string the library returned (it must be NUL-terminated and readable).
fn read_str(s: *const c_char) -> usize {
    if s.is_null() {
        return 0;
    }
    // SAFETY: the library promises a NUL-terminated string (what this target checks).
    unsafe { CStr::from_ptr(s) }.to_bytes().len()
}

/// Reads a byte span the library returned.
fn read_bytes(b: *const u8, len: usize) -> u64 {
    if b.is_null() {
        assert_eq!(len, 0, "NULL bytes with a length");
        return 0;
    }
    // SAFETY: the library promises `len` readable bytes at `b` (what this target checks).
    unsafe { std::slice::from_raw_parts(b, len) }
        .iter()
        .map(|&x| u64::from(x))
        .sum()
}

/// A result code: 0 or negative, with a description and a last error when negative.
fn rc(code: c_int) -> bool {
    assert!(code <= 0, "positive return code {code}");
    if code != 0 {
        assert!(read_str(vfio_iommu_info_strerror(code)) > 0);
        read_str(vfio_iommu_info_last_error());
    }
    code == 0
}

/// A struct whose first field is `uint32_t size`, zeroed, its `size` set to `sizeof` (or,
/// sometimes, to less, which the library must refuse).
fn sized<T>(p: &mut Input<'_>) -> T {
    // SAFETY: the ABI's sized structs are plain integers and nullable pointers.
    let mut v: T = unsafe { zeroed() };
    let full = size_of::<T>() as u32;
    let size = if p.u8().is_multiple_of(16) {
        p.u32() % full
    } else {
        full
    };
    // SAFETY: every sized struct starts with `uint32_t size`.
    unsafe { ptr::from_mut(&mut v).cast::<u32>().write(size) };
    v
}

/// An out-pointer to `v`, or NULL sometimes.
fn out<T>(p: &mut Input<'_>, v: &mut T) -> *mut T {
    if p.u8().is_multiple_of(32) {
        null_mut()
    } else {
        v
    }
}

fn cap(p: &mut Input<'_>, code: c_int, c: &vfio_iommu_info_cap) {
    let _ = p;
    if code == 0 {
        read_bytes(c.bytes, c.len);
    }
}

unsafe fn to_json<T>(
    f: unsafe extern "C" fn(*const T, *mut *mut c_char) -> c_int,
    obj: *const T,
    p: &mut Input<'_>,
) {
    let mut s: *mut c_char = null_mut();
    let o = out(p, &mut s);
    // SAFETY: `obj` is live or NULL; `o` is NULL or points to `s`.
    if rc(unsafe { f(obj, o) }) {
        let len = read_str(s);
        assert!(len > 0);
        // SAFETY: a string from `f`, freed once.
        unsafe { vfio_iommu_info_string_free(s) };
    }
}

/// Every accessor of a space, then an allocator and a layout on it.
unsafe fn space(sp: *const vfio_iommu_info_space, p: &mut Input<'_>) {
    unsafe {
        let mut n = 0usize;
        let ranges = if rc(vfio_iommu_info_space_range_count(sp, &mut n)) {
            n
        } else {
            0
        };
        let mut near = Vec::new();
        for _ in 0..3 {
            let mut r = vfio_iommu_info_range { start: 0, end: 0 };
            let i = p.index(ranges);
            if rc(vfio_iommu_info_space_range(sp, i, out(p, &mut r))) {
                assert!(i < ranges && r.start <= r.end);
                near.extend([r.start, r.end]);
            }
        }
        let (mut bits, mut granule) = (0u64, 0u64);
        rc(vfio_iommu_info_space_page_sizes(sp, out(p, &mut bits)));
        if rc(vfio_iommu_info_space_granule(sp, out(p, &mut granule))) {
            assert!(granule.is_power_of_two());
        }
        let mut r = vfio_iommu_info_range { start: 0, end: 0 };
        rc(vfio_iommu_info_space_aperture(sp, out(p, &mut r)));
        let mut holes = 0usize;
        if !rc(vfio_iommu_info_space_hole_count(sp, &mut holes)) {
            holes = 0;
        }
        for _ in 0..3 {
            let mut h: vfio_iommu_info_hole = sized(p);
            let i = p.index(holes);
            let causes = if rc(vfio_iommu_info_space_hole(sp, i, out(p, &mut h))) {
                near.push(h.range.start);
                h.cause_count
            } else {
                0
            };
            let mut reg: vfio_iommu_info_reserved_region = sized(p);
            let c = p.index(causes);
            if rc(vfio_iommu_info_space_hole_cause(sp, i, c, out(p, &mut reg))) {
                read_str(reg.kind_name);
            }
        }
        let mut at = 0usize;
        rc(vfio_iommu_info_space_hole_at(
            sp,
            p.address(&near),
            out(p, &mut at),
        ));
        let mut reserved = 0usize;
        if !rc(vfio_iommu_info_space_reserved_count(sp, &mut reserved)) {
            reserved = 0;
        }
        let mut r = vfio_iommu_info_range { start: 0, end: 0 };
        rc(vfio_iommu_info_space_reserved(
            sp,
            p.index(reserved),
            out(p, &mut r),
        ));
        for _ in 0..2 {
            let mut v: vfio_iommu_info_verdict = sized(p);
            if rc(vfio_iommu_info_space_check(
                sp,
                p.address(&near),
                p.size(),
                out(p, &mut v),
            )) {
                assert!(read_str(vfio_iommu_info_span_problem_str(v.problem)) > 0);
            }
        }
        to_json(vfio_iommu_info_space_to_json, sp, p);

        let mut a: *mut vfio_iommu_info_allocator = null_mut();
        if rc(vfio_iommu_info_allocator_new(sp, out(p, &mut a))) {
            let mut live = Vec::new();
            for _ in 0..(p.u8() % 6) {
                match p.u8() % 3 {
                    0 => {
                        let mut iova = 0u64;
                        let align = 1u64 << (p.u8() % 64);
                        let (size, limit) = (p.size(), p.u64());
                        let o = out(p, &mut iova);
                        if rc(vfio_iommu_info_allocator_alloc(a, size, align, limit, o)) {
                            live.push(iova);
                        }
                    }
                    1 => {
                        let (iova, len) = (p.address(&near), p.size());
                        if rc(vfio_iommu_info_allocator_reserve(a, iova, len)) {
                            live.push(iova);
                        }
                    }
                    _ => {
                        let i = p.index(live.len());
                        let iova = live.get(i).copied().unwrap_or_else(|| p.u64());
                        let mut len = 0u64;
                        if rc(vfio_iommu_info_allocator_release(a, iova, out(p, &mut len))) {
                            live.retain(|&x| x != iova);
                        }
                    }
                }
                let mut count = 0usize;
                if rc(vfio_iommu_info_allocator_live_count(a, &mut count)) {
                    assert_eq!(count, live.len());
                }
            }
            let mut g = 0u64;
            rc(vfio_iommu_info_allocator_granule(a, out(p, &mut g)));
            vfio_iommu_info_allocator_free(a);
        }

        let mut regions: Vec<vfio_iommu_info_ram_region> = (0..(p.u8() % 5))
            .map(|_| {
                let mut r: vfio_iommu_info_ram_region = sized(p);
                r.flags = if p.u8().is_multiple_of(16) {
                    p.u32()
                } else {
                    u32::from(p.bool())
                };
                r.len = p.size();
                r.addr = p.address(&near);
                r
            })
            .collect();
        // Every element's `size` is the stride the library reads: never more than ours.
        if let Some(first) = regions.first().map(|r| r.size) {
            for r in &mut regions[1..] {
                if !p.u8().is_multiple_of(16) {
                    r.size = first;
                }
            }
        }
        let regions_ptr = if regions.is_empty() && p.bool() {
            null()
        } else {
            regions.as_ptr()
        };
        let dma_avail = match p.u8() % 4 {
            0 => VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN,
            1 => p.u64() as i64,
            _ => i64::from(p.u32()),
        };
        let mut l: *mut vfio_iommu_info_layout = null_mut();
        let o = out(p, &mut l);
        if rc(vfio_iommu_info_layout_new(
            sp,
            regions_ptr,
            regions.len(),
            dma_avail,
            o,
        )) {
            let mut n = 0usize;
            let placements = if rc(vfio_iommu_info_layout_placement_count(l, &mut n)) {
                n
            } else {
                0
            };
            assert_eq!(placements, regions.len());
            for _ in 0..3 {
                let mut pl: vfio_iommu_info_placement = sized(p);
                let i = p.index(placements);
                let causes = if rc(vfio_iommu_info_layout_placement(l, i, out(p, &mut pl))) {
                    pl.hole_cause_count
                } else {
                    0
                };
                let mut reg: vfio_iommu_info_reserved_region = sized(p);
                let c = p.index(causes);
                if rc(vfio_iommu_info_layout_hole_cause(l, i, c, out(p, &mut reg))) {
                    read_str(reg.kind_name);
                }
            }
            let mut m: vfio_iommu_info_mappings = sized(p);
            rc(vfio_iommu_info_layout_mappings(l, out(p, &mut m)));
            let mut n = 0usize;
            let pages = if rc(vfio_iommu_info_layout_page_count(l, &mut n)) {
                n
            } else {
                0
            };
            let mut mc = vfio_iommu_info_mapping_count {
                page_size: 0,
                entries: 0,
            };
            rc(vfio_iommu_info_layout_page(
                l,
                p.index(pages),
                out(p, &mut mc),
            ));
            to_json(vfio_iommu_info_layout_to_json, l, p);
            vfio_iommu_info_layout_free(l);
        }
    }
}

/// Every accessor of a type1 info object, its facts, and its space.
unsafe fn info(info: *const vfio_iommu_info, p: &mut Input<'_>) {
    unsafe {
        let mut h: vfio_iommu_info_header = sized(p);
        rc(vfio_iommu_info_header(info, out(p, &mut h)));
        let mut bits = 0u64;
        rc(vfio_iommu_info_page_sizes(info, out(p, &mut bits)));
        let mut n = 0usize;
        let ranges = if rc(vfio_iommu_info_iova_range_count(info, &mut n)) {
            n
        } else {
            0
        };
        let mut range_list = Vec::new();
        for _ in 0..3 {
            let mut r = vfio_iommu_info_range { start: 0, end: 0 };
            let i = p.index(ranges);
            if rc(vfio_iommu_info_iova_range(info, i, out(p, &mut r))) {
                assert!(i < ranges && r.start <= r.end);
                range_list.push(r);
            }
        }
        let mut r = vfio_iommu_info_range { start: 0, end: 0 };
        rc(vfio_iommu_info_aperture(info, out(p, &mut r)));
        let mut n = 0usize;
        let holes = if rc(vfio_iommu_info_hole_count(info, &mut n)) {
            n
        } else {
            0
        };
        let mut r = vfio_iommu_info_range { start: 0, end: 0 };
        rc(vfio_iommu_info_hole(info, p.index(holes), out(p, &mut r)));
        let mut m: vfio_iommu_info_migration = sized(p);
        rc(vfio_iommu_info_migration(info, out(p, &mut m)));
        let mut avail = 0u32;
        rc(vfio_iommu_info_dma_avail(info, out(p, &mut avail)));
        for cap_id in [1, 2, 3, p.u32()] {
            let (mut reason, mut text) = (0u32, null::<c_char>());
            let t = if p.bool() { null_mut() } else { &mut text };
            if rc(vfio_iommu_info_absence(
                info,
                cap_id,
                out(p, &mut reason),
                t,
            )) {
                read_str(text);
            }
        }
        let mut n = 0usize;
        let unknown = if rc(vfio_iommu_info_unknown_cap_count(info, &mut n)) {
            n
        } else {
            0
        };
        let mut c: vfio_iommu_info_cap = sized(p);
        let code = vfio_iommu_info_unknown_cap(info, p.index(unknown), out(p, &mut c));
        cap(p, code, &c);
        rc(code);
        let mut n = 0usize;
        let chain = if rc(vfio_iommu_info_chain_length(info, &mut n)) {
            n
        } else {
            0
        };
        for _ in 0..2 {
            let mut c: vfio_iommu_info_cap = sized(p);
            let code = vfio_iommu_info_chain_entry(info, p.index(chain), out(p, &mut c));
            cap(p, code, &c);
            rc(code);
        }
        to_json(vfio_iommu_info_to_json, info, p);
        let near: Vec<u64> = range_list.iter().flat_map(|r| [r.start, r.end]).collect();
        let mut v: vfio_iommu_info_verdict = sized(p);
        if rc(vfio_iommu_info_check(
            info,
            p.address(&near),
            p.size(),
            out(p, &mut v),
        )) {
            assert!(read_str(vfio_iommu_info_span_problem_str(v.problem)) > 0);
        }
        for backend in [
            VFIO_IOMMU_INFO_BACKEND_TYPE1,
            VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT,
            p.u32(),
        ] {
            let mut f: vfio_iommu_info_facts = sized(p);
            if rc(vfio_iommu_info_facts_type1(info, backend, out(p, &mut f))) {
                assert!(read_str(vfio_iommu_info_backend_str(f.backend)) > 0);
                for s in [
                    f.iova_ranges_source,
                    f.page_sizes_source,
                    f.mapping_limit_source,
                ] {
                    assert!(read_str(vfio_iommu_info_source_str(s)) > 0);
                }
            }
            let mut s: *mut c_char = null_mut();
            if rc(vfio_iommu_info_facts_type1_to_json(
                info,
                backend,
                out(p, &mut s),
            )) {
                read_str(s);
                vfio_iommu_info_string_free(s);
            }
        }
        let mut sp: *mut vfio_iommu_info_space = null_mut();
        if rc(vfio_iommu_info_space_from_info(info, out(p, &mut sp))) {
            space(sp, p);
            vfio_iommu_info_space_free(sp);
        }
        // A space of the caller's own: the info's ranges and one from the input.
        range_list.push(vfio_iommu_info_range {
            start: p.u64(),
            end: p.u64(),
        });
        let n = p.index(range_list.len() + 1).min(range_list.len());
        let mut sp: *mut vfio_iommu_info_space = null_mut();
        let o = out(p, &mut sp);
        if rc(vfio_iommu_info_space_new(range_list.as_ptr(), n, bits, o)) {
            space(sp, p);
            vfio_iommu_info_space_free(sp);
        }
    }
}

unsafe fn device(d: *const vfio_iommu_info_device_info, p: &mut Input<'_>) {
    unsafe {
        let mut h: vfio_iommu_info_device_header = sized(p);
        rc(vfio_iommu_info_device_info_header(d, out(p, &mut h)));
        let mut w = vfio_iommu_info_range { start: 0, end: 0 };
        if rc(vfio_iommu_info_device_info_dma_window(d, out(p, &mut w))) {
            assert!(w.start <= w.end);
        }
        let mut b: vfio_iommu_info_zpci_base = sized(p);
        rc(vfio_iommu_info_device_info_zpci_base(d, out(p, &mut b)));
        let mut g: vfio_iommu_info_zpci_group = sized(p);
        rc(vfio_iommu_info_device_info_zpci_group(d, out(p, &mut g)));
        for f in [
            vfio_iommu_info_device_info_zpci_util,
            vfio_iommu_info_device_info_zpci_pfip,
        ] {
            let (mut bytes, mut len) = (null::<u8>(), 0usize);
            let o = out(p, &mut bytes);
            if rc(f(d, o, out(p, &mut len))) {
                read_bytes(bytes, len);
            }
        }
        let mut flags = 0u32;
        rc(vfio_iommu_info_device_info_atomic_comp(
            d,
            out(p, &mut flags),
        ));
        let mut n = 0usize;
        let chain = if rc(vfio_iommu_info_device_info_chain_length(d, &mut n)) {
            n
        } else {
            0
        };
        for _ in 0..2 {
            let mut c: vfio_iommu_info_cap = sized(p);
            let code = vfio_iommu_info_device_info_chain_entry(d, p.index(chain), out(p, &mut c));
            cap(p, code, &c);
            rc(code);
        }
    }
}

unsafe fn region(r: *const vfio_iommu_info_region_info, p: &mut Input<'_>) {
    unsafe {
        let mut h: vfio_iommu_info_region_header = sized(p);
        rc(vfio_iommu_info_region_info_header(r, out(p, &mut h)));
        let mut t: vfio_iommu_info_region_type = sized(p);
        if rc(vfio_iommu_info_region_info_type(r, out(p, &mut t))) {
            read_str(t.name);
            read_str(t.type_name);
        }
        let mut m = 0u32;
        rc(vfio_iommu_info_region_info_msix_mappable(r, out(p, &mut m)));
        let mut n = 0usize;
        let areas = if rc(vfio_iommu_info_region_info_mmap_area_count(r, &mut n)) {
            n
        } else {
            0
        };
        for _ in 0..2 {
            let mut a: vfio_iommu_info_mmap_area = sized(p);
            rc(vfio_iommu_info_region_info_mmap_area(
                r,
                p.index(areas),
                out(p, &mut a),
            ));
        }
        let mut n = 0usize;
        let chain = if rc(vfio_iommu_info_region_info_chain_length(r, &mut n)) {
            n
        } else {
            0
        };
        for _ in 0..2 {
            let mut c: vfio_iommu_info_cap = sized(p);
            let code = vfio_iommu_info_region_info_chain_entry(r, p.index(chain), out(p, &mut c));
            cap(p, code, &c);
            rc(code);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut p = Input::from_end(data);
    assert!(read_str(vfio_iommu_info_version_string()) > 0);
    let _ = vfio_iommu_info_version();
    // The buffer: all of the input, or a prefix, in an allocation of exactly that length.
    let len = match p.u8() % 8 {
        0 => data.len().saturating_sub(usize::from(p.u16())),
        _ => data.len(),
    };
    let buf: Box<[u8]> = data[..len].into();
    let (ptr, len) = match p.u8() % 32 {
        // NULL with length 0 is an empty buffer; with a length, a documented E_NULL.
        0 => (null(), 0),
        1 => (null(), len),
        _ => (buf.as_ptr(), len),
    };
    for order in C_ORDERS {
        // SAFETY (of every call below): `ptr` is NULL or points to `len` bytes of `buf`;
        // every object passed is live (or NULL) and freed once; every out-pointer is NULL
        // or points to a live value of the type the header declares.
        unsafe {
            let mut i: *mut vfio_iommu_info = null_mut();
            if rc(vfio_iommu_info_decode(ptr, len, order, out(&mut p, &mut i))) {
                info(i, &mut p);
                vfio_iommu_info_free(i);
            }
            let mut d: *mut vfio_iommu_info_device_info = null_mut();
            if rc(vfio_iommu_info_device_info_decode(
                ptr,
                len,
                order,
                out(&mut p, &mut d),
            )) {
                device(d, &mut p);
                vfio_iommu_info_device_info_free(d);
            }
            let mut r: *mut vfio_iommu_info_region_info = null_mut();
            if rc(vfio_iommu_info_region_info_decode(
                ptr,
                len,
                order,
                out(&mut p, &mut r),
            )) {
                region(r, &mut p);
                vfio_iommu_info_region_info_free(r);
            }
        }
    }
    // The NULL objects every accessor and `_free` accepts.
    unsafe {
        info(null(), &mut p);
        device(null(), &mut p);
        region(null(), &mut p);
        space(null(), &mut p);
        vfio_iommu_info_free(null_mut());
        vfio_iommu_info_string_free(null_mut());
    }
});
