//! The list calls of 0.4 called the way C calls them: each lends the array its object
//! owns, equal element by element to what the count and index getters of earlier releases
//! give, on every fixture; an empty list is NULL with count 0; a NULL argument is
//! `VFIO_IOMMU_INFO_E_NULL` with the outputs untouched.

mod common;

use std::ffi::c_int;
use std::mem::{size_of, zeroed};
use std::path::{Path, PathBuf};
use std::ptr;

use ::vfio_iommu_info::encode::{CapSpec, KernelState};

use common::*;
use vfio_iommu_info_ffi::*;

/// A list call: `f(object, &items, &count)`.
type ListFn<H, T> = unsafe extern "C" fn(*const H, *mut *const T, *mut usize) -> c_int;
/// A count getter: `f(object, &count)`.
type CountFn<H> = unsafe extern "C" fn(*const H, *mut usize) -> c_int;
/// An index getter: `f(object, index, &out)`.
type IndexFn<H, T> = unsafe extern "C" fn(*const H, usize, *mut T) -> c_int;

/// The list `f` lends for `obj`, checked: 0, NULL exactly when empty, and the same array
/// on a second call (the object owns it).
fn lend<H, T: Copy>(f: ListFn<H, T>, obj: *const H) -> Vec<T> {
    let (mut items, mut n) = (ptr::null(), usize::MAX);
    let (mut again, mut m) = (ptr::null(), usize::MAX);
    // SAFETY: `obj` is live; the out-pointers are locals; a non-NULL `items` points to
    // `n` elements the object owns, alive until it is freed (after this function).
    unsafe {
        assert_eq!(f(obj, &mut items, &mut n), 0, "{}", last_error());
        assert_eq!(last_error(), "");
        assert_eq!(items.is_null(), n == 0, "NULL exactly when empty");
        assert_eq!(f(obj, &mut again, &mut m), 0, "{}", last_error());
        assert_eq!((again, m), (items, n), "a second call lends the same array");
        if n == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(items, n).to_vec()
        }
    }
}

/// The list the count and index getters give, each element made by `init` (a sized
/// struct with its `size` set) before the call.
fn by_index<H, T>(count: CountFn<H>, get: IndexFn<H, T>, obj: *const H, init: fn() -> T) -> Vec<T> {
    let mut n = 0;
    // SAFETY: `obj` is live; the out-pointers are locals.
    unsafe {
        assert_eq!(count(obj, &mut n), 0, "{}", last_error());
        (0..n)
            .map(|i| {
                let mut v = init();
                assert_eq!(get(obj, i, &mut v), 0, "{}", last_error());
                v
            })
            .collect()
    }
}

/// A plain struct, zeroed (no `size` field).
fn plain<T>() -> T {
    // SAFETY: the library's C structs are integers and pointers, valid when zeroed.
    unsafe { zeroed() }
}

/// The list and the getters agree, element by element; returns the list.
fn same<H, T: Copy + PartialEq + std::fmt::Debug>(
    list: ListFn<H, T>,
    count: CountFn<H>,
    get: IndexFn<H, T>,
    obj: *const H,
    init: fn() -> T,
    what: &str,
) -> Vec<T> {
    let lent = lend(list, obj);
    let got = by_index(count, get, obj, init);
    assert_eq!(lent, got, "{what}");
    lent
}

/// The leading `uint32_t size` of a sized struct.
fn size_field<T>(v: &T) -> usize {
    // SAFETY: every sized struct begins with its `uint32_t size`.
    unsafe { ptr::from_ref(v).cast::<u32>().read() as usize }
}

/// A NULL object, items or count: `VFIO_IOMMU_INFO_E_NULL`, the other outputs untouched,
/// a last error naming the function and the argument.
fn null_checks<H, T>(f: ListFn<H, T>, name: &str, obj: *const H, obj_name: &str) {
    const SENTINEL: usize = 0xA5A5_A5A5_A5A5_A5A5;
    let cases: [(*const H, bool, bool, &str); 3] = [
        (ptr::null(), true, true, obj_name),
        (obj, false, true, "items"),
        (obj, true, false, "count"),
    ];
    for (o, with_items, with_count, arg) in cases {
        let mut items = SENTINEL as *const T;
        let mut n = SENTINEL;
        let items_p: *mut *const T = if with_items {
            &mut items
        } else {
            ptr::null_mut()
        };
        let n_p: *mut usize = if with_count { &mut n } else { ptr::null_mut() };
        // SAFETY: `obj` is live or NULL; the non-NULL out-pointers are locals.
        let rc = unsafe { f(o, items_p, n_p) };
        assert_eq!(rc, VFIO_IOMMU_INFO_E_NULL, "{name} with {arg} NULL");
        assert_eq!(
            (items as usize, n),
            (SENTINEL, SENTINEL),
            "{name} with {arg} NULL wrote an output"
        );
        assert_eq!(last_error(), format!("{name}: {arg} is NULL"));
    }
}

/// Every capture of an info buffer under tests/fixtures, with its byte order.
fn info_captures() -> Vec<(PathBuf, u32)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("fixtures") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "bin") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("info-") || name == "library-capture.bin" {
                    out.push(p);
                }
            }
        }
    }
    let mut paths = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures"),
        &mut paths,
    );
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let big = p.to_string_lossy().contains("s390x");
            let order = if big {
                VFIO_IOMMU_INFO_BYTE_ORDER_BIG
            } else {
                VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE
            };
            (p, order)
        })
        .collect()
}

/// Decodes with `f`; `None` when the buffer is refused (a truncated capture).
fn decode_with<H>(
    f: unsafe extern "C" fn(*const u8, usize, u32, *mut *mut H) -> c_int,
    buf: &[u8],
    order: u32,
) -> Option<*mut H> {
    let mut out = ptr::null_mut();
    // SAFETY: a valid buffer and out-pointer.
    let rc = unsafe { f(buf.as_ptr(), buf.len(), order, &mut out) };
    (rc == 0).then_some(out)
}

fn cap() -> vfio_iommu_info_cap {
    sized()
}

/// The info lists of one object, against the getters; returns (unknown, chain) lengths.
fn check_info(info: *const vfio_iommu_info, what: &str) -> (usize, usize) {
    let unknown = same(
        vfio_iommu_info_unknown_caps,
        vfio_iommu_info_unknown_cap_count,
        vfio_iommu_info_unknown_cap,
        info,
        cap,
        what,
    );
    let chain = same(
        vfio_iommu_info_chain,
        vfio_iommu_info_chain_length,
        vfio_iommu_info_chain_entry,
        info,
        cap,
        what,
    );
    for c in unknown.iter().chain(&chain) {
        assert_eq!(size_field(c), size_of::<vfio_iommu_info_cap>(), "{what}");
    }
    (unknown.len(), chain.len())
}

#[test]
fn info_lists_equal_the_getters_on_every_capture() {
    let mut decoded = 0;
    let mut chains = 0;
    for (path, order) in info_captures() {
        let buf = std::fs::read(&path).expect("fixture");
        let Some(info) = decode_with(vfio_iommu_info_decode, &buf, order) else {
            continue;
        };
        let (_, chain) = check_info(info, &path.display().to_string());
        decoded += 1;
        chains += usize::from(chain > 0);
        // SAFETY: `info` is live and freed once.
        unsafe { vfio_iommu_info_free(info) };
    }
    assert!(decoded >= 60, "only {decoded} captures decoded");
    assert!(chains >= 30, "only {chains} captures have a chain");
}

#[test]
fn unknown_capabilities_are_lent_with_their_bytes() {
    let raw = |id, fill| CapSpec::Raw {
        id,
        version: 3,
        payload: vec![fill; 12],
    };
    let buf = KernelState::padded(
        0x1000,
        vec![raw(42, 0xab), CapSpec::DmaAvail(9), raw(77, 0xcd)],
    )
    .encode();
    let info = decode(&buf);
    assert_eq!(check_info(info, "synthetic"), (2, 3));
    let unknown = lend(vfio_iommu_info_unknown_caps, info);
    let chain = lend(vfio_iommu_info_chain, info);
    assert_eq!(unknown[0], chain[0]);
    assert_eq!(unknown[1], chain[2]);
    assert_eq!(
        (chain[1].id, chain[1].bytes, chain[1].len),
        (3, ptr::null(), 0),
        "a known capability has no bytes"
    );
    for (c, (id, fill)) in unknown.iter().zip([(42u16, 0xab), (77, 0xcd)]) {
        // SAFETY: the bytes are owned by `info`, still alive.
        let bytes = unsafe { std::slice::from_raw_parts(c.bytes, c.len) };
        assert_eq!(u16::from_ne_bytes([bytes[0], bytes[1]]), id);
        assert!(bytes[8..20].iter().all(|&b| b == fill), "{bytes:?}");
    }
    null_checks(
        vfio_iommu_info_unknown_caps,
        "vfio_iommu_info_unknown_caps",
        info,
        "info",
    );
    null_checks(vfio_iommu_info_chain, "vfio_iommu_info_chain", info, "info");
    // SAFETY: `info` is live and freed once.
    unsafe { vfio_iommu_info_free(info) };
}

#[test]
fn an_info_without_a_chain_lends_null_and_zero() {
    // A kernel before 5.4: 16 bytes, no CAPS flag.
    let mut buf = vec![0u8; 16];
    buf[0..4].copy_from_slice(&16u32.to_ne_bytes());
    let info = decode(&buf);
    assert_eq!(check_info(info, "bare"), (0, 0));
    // SAFETY: `info` is live and freed once.
    unsafe { vfio_iommu_info_free(info) };
}

/// A little-endian `struct vfio_region_info` with the MMAP flag (when `mmap`) and the
/// capabilities `caps` ((id, version, payload after the header)), placed from 32.
fn region_buf(mmap: bool, size: u64, caps: &[(u16, u16, Vec<u8>)]) -> Vec<u8> {
    let len = 32 + caps.iter().map(|c| 8 + c.2.len()).sum::<usize>();
    let mut b = vec![0u8; len];
    let flags = 3 | if mmap { 4 } else { 0 } | if caps.is_empty() { 0 } else { 8 };
    b[0..4].copy_from_slice(&(len as u32).to_le_bytes());
    b[4..8].copy_from_slice(&(flags as u32).to_le_bytes());
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    b[12..16].copy_from_slice(&(if caps.is_empty() { 0u32 } else { 32 }).to_le_bytes());
    b[16..24].copy_from_slice(&size.to_le_bytes());
    b[24..32].copy_from_slice(&(2u64 << 40).to_le_bytes());
    let mut at = 32;
    for (i, (id, version, payload)) in caps.iter().enumerate() {
        let end = at + 8 + payload.len();
        let next = if i + 1 == caps.len() { 0 } else { end as u32 };
        b[at..at + 2].copy_from_slice(&id.to_le_bytes());
        b[at + 2..at + 4].copy_from_slice(&version.to_le_bytes());
        b[at + 4..at + 8].copy_from_slice(&next.to_le_bytes());
        b[at + 8..end].copy_from_slice(payload);
        at = end;
    }
    b
}

/// SPARSE_MMAP with `areas` (offset, size).
fn sparse(areas: &[(u64, u64)]) -> (u16, u16, Vec<u8>) {
    let mut p = vec![0u8; 8];
    p[0..4].copy_from_slice(&(areas.len() as u32).to_le_bytes());
    for (offset, size) in areas {
        p.extend_from_slice(&offset.to_le_bytes());
        p.extend_from_slice(&size.to_le_bytes());
    }
    (1, 1, p)
}

fn check_region(r: *const vfio_iommu_info_region_info, what: &str) -> (usize, usize) {
    let areas = same(
        vfio_iommu_info_region_info_mmap_areas,
        vfio_iommu_info_region_info_mmap_area_count,
        vfio_iommu_info_region_info_mmap_area,
        r,
        sized,
        what,
    );
    let chain = same(
        vfio_iommu_info_region_info_chain,
        vfio_iommu_info_region_info_chain_length,
        vfio_iommu_info_region_info_chain_entry,
        r,
        cap,
        what,
    );
    for a in &areas {
        assert_eq!(
            size_field(a),
            size_of::<vfio_iommu_info_mmap_area>(),
            "{what}"
        );
    }
    for c in &chain {
        assert_eq!(size_field(c), size_of::<vfio_iommu_info_cap>(), "{what}");
    }
    (areas.len(), chain.len())
}

#[test]
fn device_and_region_lists_equal_the_getters() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/linux-6.12-s390x-zpci");
    let (mut devices, mut regions, mut device_chains) = (0, 0, 0);
    for e in std::fs::read_dir(&dir).expect("fixtures") {
        let path = e.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let buf = std::fs::read(&path).expect("fixture");
        let order = VFIO_IOMMU_INFO_BYTE_ORDER_BIG;
        if name.starts_with("device-") {
            let Some(d) = decode_with(vfio_iommu_info_device_info_decode, &buf, order) else {
                continue;
            };
            let chain = same(
                vfio_iommu_info_device_info_chain,
                vfio_iommu_info_device_info_chain_length,
                vfio_iommu_info_device_info_chain_entry,
                d,
                cap,
                &name,
            );
            assert!(chain
                .iter()
                .all(|c| size_field(c) == size_of::<vfio_iommu_info_cap>()));
            devices += 1;
            device_chains += usize::from(!chain.is_empty());
            // SAFETY: `d` is live and freed once.
            unsafe { vfio_iommu_info_device_info_free(d) };
        } else if name.starts_with("region-") {
            let r = decode_with(vfio_iommu_info_region_info_decode, &buf, order)
                .unwrap_or_else(|| panic!("{name}: {}", last_error()));
            check_region(r, &name);
            regions += 1;
            // SAFETY: `r` is live and freed once.
            unsafe { vfio_iommu_info_region_info_free(r) };
        }
    }
    assert!(
        devices >= 3 && device_chains >= 2 && regions == 8,
        "{devices} {device_chains} {regions}"
    );

    // A BAR with a sparse mmap (one area past the region's end) and an unknown
    // capability: areas and chain with bytes.
    let buf = region_buf(
        true,
        0x4000,
        &[
            sparse(&[(0, 0x1000), (0x3000, 0x1000), (0x3000, 0x2000)]),
            (99, 1, vec![0x5a; 8]),
        ],
    );
    let r = decode_with(vfio_iommu_info_region_info_decode, &buf, 0).expect("region");
    assert_eq!(check_region(r, "sparse"), (3, 2));
    let areas = lend(vfio_iommu_info_region_info_mmap_areas, r);
    assert_eq!(
        areas.iter().map(|a| a.within_region).collect::<Vec<_>>(),
        [1, 1, 0]
    );
    let chain = lend(vfio_iommu_info_region_info_chain, r);
    assert_eq!(
        (chain[0].bytes, chain[1].id, chain[1].len),
        (ptr::null(), 99, 16)
    );
    null_checks(
        vfio_iommu_info_region_info_mmap_areas,
        "vfio_iommu_info_region_info_mmap_areas",
        r,
        "info",
    );
    null_checks(
        vfio_iommu_info_region_info_chain,
        "vfio_iommu_info_region_info_chain",
        r,
        "info",
    );
    // SAFETY: `r` is live and freed once.
    unsafe { vfio_iommu_info_region_info_free(r) };

    // A region without the MMAP flag or capabilities: both lists NULL and 0.
    let r = decode_with(
        vfio_iommu_info_region_info_decode,
        &region_buf(false, 0x100, &[]),
        0,
    )
    .expect("region");
    assert_eq!(check_region(r, "plain"), (0, 0));
    // SAFETY: `r` is live and freed once.
    unsafe { vfio_iommu_info_region_info_free(r) };

    // An x86 device: 24 bytes, no capabilities.
    let mut buf = vec![0u8; 24];
    buf[0..4].copy_from_slice(&24u32.to_le_bytes());
    buf[4..8].copy_from_slice(&3u32.to_le_bytes());
    let d = decode_with(vfio_iommu_info_device_info_decode, &buf, 0).expect("device");
    assert!(lend(vfio_iommu_info_device_info_chain, d).is_empty());
    null_checks(
        vfio_iommu_info_device_info_chain,
        "vfio_iommu_info_device_info_chain",
        d,
        "info",
    );
    // SAFETY: `d` is live and freed once.
    unsafe { vfio_iommu_info_device_info_free(d) };
}

fn ram(len: u64, fixed_at: Option<u64>) -> vfio_iommu_info_ram_region {
    vfio_iommu_info_ram_region {
        flags: if fixed_at.is_some() {
            VFIO_IOMMU_INFO_RAM_FIXED
        } else {
            0
        },
        len,
        addr: fixed_at.unwrap_or(0),
        ..sized()
    }
}

fn layout(
    space: *const vfio_iommu_info_space,
    regions: &[vfio_iommu_info_ram_region],
) -> *mut vfio_iommu_info_layout {
    let mut l = ptr::null_mut();
    // SAFETY: `space` is live; `regions` is a valid array; `l` is a local.
    let rc = unsafe {
        vfio_iommu_info_layout_new(space, regions.as_ptr(), regions.len(), 65535, &mut l)
    };
    assert_eq!(rc, 0, "{}", last_error());
    l
}

fn check_layout(l: *const vfio_iommu_info_layout, what: &str) -> (usize, usize) {
    let placements = same(
        vfio_iommu_info_layout_placements,
        vfio_iommu_info_layout_placement_count,
        vfio_iommu_info_layout_placement,
        l,
        sized,
        what,
    );
    assert!(placements
        .iter()
        .all(|p| size_field(p) == size_of::<vfio_iommu_info_placement>()));
    let pages = same(
        vfio_iommu_info_layout_pages,
        vfio_iommu_info_layout_page_count,
        vfio_iommu_info_layout_page,
        l,
        plain,
        what,
    );
    (placements.len(), pages.len())
}

#[test]
fn layout_lists_equal_the_getters() {
    const GIB: u64 = 1 << 30;
    let regions = [
        ram(3 * GIB, None),
        ram(1008 * GIB, Some(4 * GIB)),
        ram(8 * GIB, Some(1012 * GIB)), // AMD's HyperTransport hole
        ram(64 * GIB, None),
        ram(1 << 50, None), // no room below 2^39 on Intel
    ];
    for scenario in [AMD, INTEL39] {
        let space = space_of(scenario);
        let l = layout(space, &regions);
        let (placements, pages) = check_layout(l, scenario);
        assert_eq!(placements, regions.len());
        assert!(pages >= 2, "{scenario}: {pages} page sizes");
        null_checks(
            vfio_iommu_info_layout_placements,
            "vfio_iommu_info_layout_placements",
            l,
            "layout",
        );
        null_checks(
            vfio_iommu_info_layout_pages,
            "vfio_iommu_info_layout_pages",
            l,
            "layout",
        );
        // No regions: no placements, NULL and 0.
        let empty = layout(space, &[]);
        assert_eq!(check_layout(empty, scenario).0, 0);
        // SAFETY: each handle is live and freed once.
        unsafe {
            vfio_iommu_info_layout_free(l);
            vfio_iommu_info_layout_free(empty);
            vfio_iommu_info_space_free(space);
        }
    }
    // Unknown page sizes: no mapping counts, NULL and 0.
    let range = vfio_iommu_info_range {
        start: 0,
        end: (1 << 40) - 1,
    };
    let mut space = ptr::null_mut();
    // SAFETY: one valid range and a local out-pointer.
    assert_eq!(
        unsafe { vfio_iommu_info_space_new(&range, 1, 0, &mut space) },
        0
    );
    let l = layout(space, &regions[..1]);
    assert_eq!(check_layout(l, "no page sizes"), (1, 0));
    // SAFETY: each handle is live and freed once.
    unsafe {
        vfio_iommu_info_layout_free(l);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn a_null_container_is_a_code() {
    let mut items: *const vfio_iommu_info_group = ptr::dangling();
    let mut n = 7usize;
    // SAFETY: a NULL handle and local out-pointers.
    let rc = unsafe { vfio_iommu_info_container_groups(ptr::null(), &mut items, &mut n) };
    assert_eq!(rc, VFIO_IOMMU_INFO_E_NULL);
    assert_eq!((items, n), (ptr::dangling(), 7));
    assert_eq!(
        last_error(),
        "vfio_iommu_info_container_groups: container is NULL"
    );
    // The element is sized: `size`, then the fd and the number, 16 bytes.
    assert_eq!(size_of::<vfio_iommu_info_group>(), 16);
}
