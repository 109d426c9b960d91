//! The device-info and region-info exports (since 0.3) called the way C calls them, on
//! buffers laid out as the kernel fills them, against the core's decode.

use std::ffi::{c_int, CStr};
use std::mem::{size_of, zeroed};
use std::ptr;

use ::vfio_iommu_info::device_info::decode_device_info;
use ::vfio_iommu_info::region_info::decode_region_info;
use ::vfio_iommu_info::ByteOrder;
use vfio_iommu_info_ffi::*;

fn last_error() -> String {
    // SAFETY: never NULL; valid until the next call on this thread.
    unsafe { CStr::from_ptr(vfio_iommu_info_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A byte buffer written field by field in one byte order.
struct Buf {
    bytes: Vec<u8>,
    big: bool,
}

impl Buf {
    fn new(len: usize, big: bool) -> Buf {
        Buf {
            bytes: vec![0; len],
            big,
        }
    }
    fn put(&mut self, at: usize, v: u64, width: usize) {
        let b = if self.big {
            v.to_be_bytes()[8 - width..].to_vec()
        } else {
            v.to_le_bytes()[..width].to_vec()
        };
        self.bytes[at..at + width].copy_from_slice(&b);
    }
    fn u8(&mut self, at: usize, v: u8) {
        self.bytes[at] = v;
    }
    fn u16(&mut self, at: usize, v: u16) {
        self.put(at, v.into(), 2);
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.put(at, v.into(), 4);
    }
    fn u64(&mut self, at: usize, v: u64) {
        self.put(at, v, 8);
    }
    fn header(&mut self, at: usize, id: u16, version: u16, next: u32) {
        self.u16(at, id);
        self.u16(at + 2, version);
        self.u32(at + 4, next);
    }
}

/// Linux 6.12's `VFIO_DEVICE_GET_INFO` for a virtio PCI function on s390x (big-endian,
/// 24-byte fixed part, capabilities 8-aligned): ZPCI_BASE v2 @24 (36 bytes), ZPCI_GROUP
/// v2 @64 (42), ZPCI_UTIL @112 ("ABC"), ZPCI_PFIP @128 (2 bytes), an unknown id 9 @144.
fn s390_device_info() -> Vec<u8> {
    let mut b = Buf::new(160, true);
    b.u32(0, 160);
    b.u32(4, 0x82 | 1); // CAPS | PCI | RESET
    b.u32(8, 9);
    b.u32(12, 5);
    b.u32(16, 24);
    b.header(24, 1, 2, 64);
    b.u64(32, 0x1_0000_0000);
    b.u64(40, 0x1_3fff_ffff);
    b.u16(48, 0x42);
    b.u16(50, 3);
    b.u16(52, 0x20);
    b.u8(54, 1);
    b.u8(55, 0xff);
    b.u32(56, 0x0800_0000);
    b.header(64, 2, 2, 112);
    b.u64(72, (1 << 62) - 1);
    b.u64(80, 0xfe00_0000);
    b.u64(88, 1);
    b.u16(96, 0x6e);
    b.u16(98, 2048);
    b.u16(100, 0x800);
    b.u8(102, 1);
    b.u16(104, 0x400);
    b.header(112, 3, 1, 128);
    b.u32(120, 3);
    b.bytes[124..127].copy_from_slice(&[0xc1, 0xc2, 0xc3]); // "ABC" in EBCDIC
    b.header(128, 4, 1, 144);
    b.u32(136, 2);
    b.bytes[140..142].copy_from_slice(&[0x12, 0x34]);
    b.header(144, 9, 1, 0);
    b.u64(152, 0x1122_3344_5566_7788);
    b.bytes
}

/// vfio-pci's answer for an x86 device: 24 bytes, no capabilities.
fn x86_device_info() -> Vec<u8> {
    let mut b = Buf::new(24, false);
    b.u32(0, 24);
    b.u32(4, 3);
    b.u32(8, 9);
    b.u32(12, 5);
    b.bytes
}

/// A 16 KiB BAR 2 with MMAP and the region capabilities `caps` ((id, version, payload)
/// after the header), placed from 32 as the kernel does.
fn region_info(
    big: bool,
    index: u32,
    flags: u32,
    size: u64,
    caps: &[(u16, u16, Vec<u8>)],
) -> Vec<u8> {
    let len = 32 + caps.iter().map(|c| 8 + c.2.len()).sum::<usize>();
    let mut b = Buf::new(len.max(64), big);
    b.u32(0, b.bytes.len() as u32);
    b.u32(4, flags | if caps.is_empty() { 0 } else { 8 });
    b.u32(8, index);
    b.u32(12, if caps.is_empty() { 0 } else { 32 });
    b.u64(16, size);
    b.u64(24, u64::from(index) << 40);
    let mut at = 32;
    for (i, (id, version, payload)) in caps.iter().enumerate() {
        let end = at + 8 + payload.len();
        b.header(
            at,
            *id,
            *version,
            if i + 1 == caps.len() { 0 } else { end as u32 },
        );
        b.bytes[at + 8..end].copy_from_slice(payload);
        at = end;
    }
    b.bytes
}

fn sparse(big: bool, areas: &[(u64, u64)]) -> (u16, u16, Vec<u8>) {
    let mut b = Buf::new(8 + 16 * areas.len(), big);
    b.u32(0, areas.len() as u32);
    for (i, (offset, size)) in areas.iter().enumerate() {
        b.u64(8 + 16 * i, *offset);
        b.u64(16 + 16 * i, *size);
    }
    (1, 1, b.bytes)
}

fn sized<T>() -> T {
    // SAFETY: the sized structs are plain integers and pointers, valid when zeroed.
    let mut v: T = unsafe { zeroed() };
    // SAFETY: every sized struct starts with `uint32_t size`.
    unsafe {
        ptr::from_mut(&mut v)
            .cast::<u32>()
            .write(size_of::<T>() as u32)
    };
    v
}

fn device(buf: &[u8], order: u32) -> *mut vfio_iommu_info_device_info {
    let mut out = ptr::null_mut();
    // SAFETY: a valid buffer and out-pointer.
    let rc =
        unsafe { vfio_iommu_info_device_info_decode(buf.as_ptr(), buf.len(), order, &mut out) };
    assert_eq!(rc, 0, "{}", last_error());
    out
}

fn region(buf: &[u8], order: u32) -> *mut vfio_iommu_info_region_info {
    let mut out = ptr::null_mut();
    // SAFETY: a valid buffer and out-pointer.
    let rc =
        unsafe { vfio_iommu_info_region_info_decode(buf.as_ptr(), buf.len(), order, &mut out) };
    assert_eq!(rc, 0, "{}", last_error());
    out
}

#[test]
fn the_s390_dma_window_and_every_zpci_capability_from_c() {
    let buf = s390_device_info();
    let model = decode_device_info(&buf, ByteOrder::Big).unwrap();
    let dev = device(&buf, VFIO_IOMMU_INFO_BYTE_ORDER_BIG);
    // SAFETY (whole test): `dev` is live until freed; out-pointers are locals.
    unsafe {
        let mut h: vfio_iommu_info_device_header = sized();
        assert_eq!(vfio_iommu_info_device_info_header(dev, &mut h), 0);
        assert_eq!(
            (
                h.size,
                h.argsz,
                h.flags,
                h.num_regions,
                h.num_irqs,
                h.cap_offset,
                h.caps_truncated
            ),
            (28, 160, 0x83, 9, 5, 24, 0)
        );
        let mut w = vfio_iommu_info_range { start: 0, end: 0 };
        assert_eq!(vfio_iommu_info_device_info_dma_window(dev, &mut w), 0);
        let want = model.dma_window().unwrap();
        assert_eq!((w.start, w.end), (want.start, want.end));
        assert_eq!((w.start, w.end), (0x1_0000_0000, 0x1_3fff_ffff));

        let mut base: vfio_iommu_info_zpci_base = sized();
        assert_eq!(vfio_iommu_info_device_info_zpci_base(dev, &mut base), 0);
        assert_eq!(
            (
                base.size,
                base.version,
                base.pchid,
                base.vfn,
                base.fmb_length,
                base.pft,
                base.gid
            ),
            (56, 2, 0x42, 3, 0x20, 1, 0xff)
        );
        assert_eq!((base.has_fh, base.fh, base.reserved), (1, 0x0800_0000, 0));
        let mut g: vfio_iommu_info_zpci_group = sized();
        assert_eq!(vfio_iommu_info_device_info_zpci_group(dev, &mut g), 0);
        assert_eq!(
            (
                g.version,
                g.dasm,
                g.msi_addr,
                g.flags,
                g.mui,
                g.noi,
                g.maxstbl,
                g.zpci_version
            ),
            (2, (1 << 62) - 1, 0xfe00_0000, 1, 0x6e, 2048, 0x800, 1)
        );
        assert_eq!((g.has_imaxstbl, g.imaxstbl), (1, 0x400));

        let (mut bytes, mut len) = (ptr::null(), 0usize);
        assert_eq!(
            vfio_iommu_info_device_info_zpci_util(dev, &mut bytes, &mut len),
            0
        );
        assert_eq!(std::slice::from_raw_parts(bytes, len), &[0xc1, 0xc2, 0xc3]);
        assert_eq!(
            vfio_iommu_info_device_info_zpci_pfip(dev, &mut bytes, &mut len),
            0
        );
        assert_eq!(std::slice::from_raw_parts(bytes, len), &[0x12, 0x34]);
        let mut flags = 77u32;
        assert_eq!(
            vfio_iommu_info_device_info_atomic_comp(dev, &mut flags),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert_eq!(flags, 77, "written on failure");
        assert!(
            last_error().contains("the chain holds no PCI_ATOMIC_COMP"),
            "{}",
            last_error()
        );

        let mut n = 0usize;
        assert_eq!(vfio_iommu_info_device_info_chain_length(dev, &mut n), 0);
        assert_eq!(n, 5);
        let mut at = Vec::new();
        for i in 0..n {
            let mut e: vfio_iommu_info_cap = sized();
            assert_eq!(vfio_iommu_info_device_info_chain_entry(dev, i, &mut e), 0);
            at.push((e.id, e.version, e.offset, e.len));
            assert_eq!(e.offset as usize, model.chain[i].offset);
            if e.id == 9 {
                let raw = std::slice::from_raw_parts(e.bytes, e.len);
                assert_eq!(&raw[8..], &0x1122_3344_5566_7788u64.to_be_bytes());
            } else {
                assert!(e.bytes.is_null());
            }
        }
        assert_eq!(
            at,
            vec![
                (1, 2, 24, 0),
                (2, 2, 64, 0),
                (3, 1, 112, 0),
                (4, 1, 128, 0),
                (9, 1, 144, 16)
            ]
        );
        let mut e: vfio_iommu_info_cap = sized();
        e.id = 0xbeef;
        assert_eq!(
            vfio_iommu_info_device_info_chain_entry(dev, n, &mut e),
            VFIO_IOMMU_INFO_E_RANGE
        );
        assert_eq!(e.id, 0xbeef);
        vfio_iommu_info_device_info_free(dev);
    }
}

#[test]
fn an_x86_device_has_no_window_and_says_why() {
    let dev = device(&x86_device_info(), VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE);
    // SAFETY (whole test): `dev` is live until freed; out-pointers are locals.
    unsafe {
        let mut w = vfio_iommu_info_range { start: 7, end: 7 };
        assert_eq!(
            vfio_iommu_info_device_info_dma_window(dev, &mut w),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert_eq!((w.start, w.end), (7, 7));
        assert!(
            last_error().contains("ZPCI_BASE is absent: the CAPS flag is clear (flags 0x3)"),
            "{}",
            last_error()
        );
        let mut base: vfio_iommu_info_zpci_base = sized();
        assert_eq!(
            vfio_iommu_info_device_info_zpci_base(dev, &mut base),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        let mut n = 9usize;
        assert_eq!(vfio_iommu_info_device_info_chain_length(dev, &mut n), 0);
        assert_eq!(n, 0);
        vfio_iommu_info_device_info_free(dev);
    }

    // The chain did not fit: CAPS set, cap_offset 0, argsz what the kernel needs.
    let mut b = Buf::new(24, false);
    b.bytes.copy_from_slice(&x86_device_info());
    b.u32(0, 160);
    b.u32(4, 0x83);
    let dev = device(&b.bytes, VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE);
    // SAFETY: as above.
    unsafe {
        let mut h: vfio_iommu_info_device_header = sized();
        assert_eq!(vfio_iommu_info_device_info_header(dev, &mut h), 0);
        assert_eq!((h.argsz, h.cap_offset, h.caps_truncated), (160, 0, 1));
        let mut w = vfio_iommu_info_range { start: 0, end: 0 };
        assert_eq!(
            vfio_iommu_info_device_info_dma_window(dev, &mut w),
            VFIO_IOMMU_INFO_E_ABSENT
        );
        assert!(
            last_error().contains("query again with argsz 160 bytes"),
            "{}",
            last_error()
        );
        vfio_iommu_info_device_info_free(dev);
    }
}

#[test]
fn regions_mmap_areas_type_and_msix_from_c() {
    for (big, order) in [
        (false, VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE),
        (true, VFIO_IOMMU_INFO_BYTE_ORDER_BIG),
    ] {
        // Before Linux 4.16: the MSI-X table's page left out of a 16 KiB BAR.
        let buf = region_info(
            big,
            2,
            7,
            0x4000,
            &[sparse(big, &[(0, 0x2000), (0x3000, 0x1000)])],
        );
        let r = region(&buf, order);
        // SAFETY (whole loop body): `r` is live until freed; out-pointers are locals.
        unsafe {
            let mut h: vfio_iommu_info_region_header = sized();
            assert_eq!(vfio_iommu_info_region_info_header(r, &mut h), 0);
            assert_eq!(
                (
                    h.size,
                    h.argsz,
                    h.flags,
                    h.index,
                    h.cap_offset,
                    h.caps_truncated,
                    h.region_size,
                    h.offset
                ),
                (40, 80, 0xf, 2, 32, 0, 0x4000, 2 << 40)
            );
            let mut n = 0usize;
            assert_eq!(vfio_iommu_info_region_info_mmap_area_count(r, &mut n), 0);
            assert_eq!(n, 2);
            let mut a: vfio_iommu_info_mmap_area = sized();
            assert_eq!(vfio_iommu_info_region_info_mmap_area(r, 1, &mut a), 0);
            assert_eq!(
                (a.size, a.within_region, a.offset, a.len),
                (24, 1, 0x3000, 0x1000)
            );
            assert_eq!(
                vfio_iommu_info_region_info_mmap_area(r, 2, &mut a),
                VFIO_IOMMU_INFO_E_RANGE
            );
            let mut m = 9u32;
            assert_eq!(vfio_iommu_info_region_info_msix_mappable(r, &mut m), 0);
            assert_eq!(m, 0);
            let mut t: vfio_iommu_info_region_type = sized();
            assert_eq!(
                vfio_iommu_info_region_info_type(r, &mut t),
                VFIO_IOMMU_INFO_E_ABSENT
            );
            assert!(
                last_error().contains("region 2 holds no TYPE"),
                "{}",
                last_error()
            );
            vfio_iommu_info_region_info_free(r);
        }

        // Linux 4.16+: MSIX_MAPPABLE, the whole BAR mmappable; an area past the end.
        let caps = [sparse(big, &[(0x3000, 0x2000)]), (3, 1, Vec::new())];
        let r = region(&region_info(big, 2, 7, 0x4000, &caps), order);
        // SAFETY: as above.
        unsafe {
            let mut m = 0u32;
            assert_eq!(vfio_iommu_info_region_info_msix_mappable(r, &mut m), 0);
            assert_eq!(m, 1);
            let mut a: vfio_iommu_info_mmap_area = sized();
            assert_eq!(vfio_iommu_info_region_info_mmap_area(r, 0, &mut a), 0);
            assert_eq!(
                (a.within_region, a.offset, a.len),
                (0, 0x3000, 0x2000),
                "outside, reported"
            );
            let mut e: vfio_iommu_info_cap = sized();
            assert_eq!(vfio_iommu_info_region_info_chain_entry(r, 1, &mut e), 0);
            assert_eq!(
                (e.id, e.version, e.offset, e.bytes.is_null()),
                (3, 1, 32 + 8 + 8 + 16, true)
            );
            vfio_iommu_info_region_info_free(r);
        }

        // An Intel IGD OpRegion (vfio-pci region 9) and an unknown vendor type.
        for (region_type, subtype, name, type_name, vendor) in [
            (
                0x8000_8086,
                1,
                Some("INTEL_IGD_OPREGION"),
                Some("PCI_VENDOR"),
                0x8086,
            ),
            (0x8000_1af4, 5, None, Some("PCI_VENDOR"), 0x1af4),
            (
                2,
                2,
                Some("CCW_SCHIB"),
                Some("CCW"),
                VFIO_IOMMU_INFO_NO_PCI_VENDOR,
            ),
            (0x44, 2, None, None, VFIO_IOMMU_INFO_NO_PCI_VENDOR),
        ] {
            let mut p = Buf::new(8, big);
            p.u32(0, region_type);
            p.u32(4, subtype);
            let buf = region_info(big, 9, 1, 0x2000, &[(2, 1, p.bytes)]);
            let model = decode_region_info(
                &buf,
                if big {
                    ByteOrder::Big
                } else {
                    ByteOrder::Little
                },
            )
            .unwrap();
            let r = region(&buf, order);
            // SAFETY: as above; the names are static strings.
            unsafe {
                let mut t: vfio_iommu_info_region_type = sized();
                assert_eq!(vfio_iommu_info_region_info_type(r, &mut t), 0);
                let s = |p: *const std::ffi::c_char| {
                    (!p.is_null()).then(|| CStr::from_ptr(p).to_str().unwrap())
                };
                assert_eq!(
                    (t.size, t.version, t.region_type, t.subtype, t.pci_vendor),
                    (40, 1, region_type, subtype, vendor)
                );
                assert_eq!((s(t.name), s(t.type_name)), (name, type_name));
                assert_eq!(s(t.name), model.region_type().unwrap().name());
                let mut n = 5usize;
                assert_eq!(vfio_iommu_info_region_info_mmap_area_count(r, &mut n), 0);
                assert_eq!(n, 0, "no MMAP flag");
                vfio_iommu_info_region_info_free(r);
            }
        }
    }
}

#[test]
fn malformed_buffers_null_pointers_and_sizes_are_codes() {
    // SAFETY (whole test): every pointer is NULL, a local, or a live object.
    unsafe {
        let mut out = ptr::null_mut();
        let buf = s390_device_info();
        assert_eq!(
            vfio_iommu_info_device_info_decode(buf.as_ptr(), 12, 2, &mut out),
            VFIO_IOMMU_INFO_E_MALFORMED
        );
        assert!(
            last_error().contains("struct vfio_device_info at byte offset 12"),
            "{}",
            last_error()
        );
        assert_eq!(
            vfio_iommu_info_device_info_decode(buf.as_ptr(), buf.len(), 7, &mut out),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!(
            vfio_iommu_info_device_info_decode(ptr::null(), 8, 0, &mut out),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_device_info_decode(buf.as_ptr(), buf.len(), 2, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(out.is_null(), "out written on failure");

        // nr_areas whose areas would overflow 32-bit arithmetic.
        let mut b = Buf::new(64, false);
        b.bytes.copy_from_slice(&region_info(
            false,
            0,
            7,
            0x4000,
            &[sparse(false, &[(0, 0x1000)])],
        ));
        b.u32(40, 0x1000_0000);
        let mut r = ptr::null_mut();
        let rc: c_int = vfio_iommu_info_region_info_decode(b.bytes.as_ptr(), 64, 1, &mut r);
        assert_eq!(rc, VFIO_IOMMU_INFO_E_MALFORMED);
        assert!(
            last_error()
                .contains("byte offset 40: SPARSE_MMAP capability declares nr_areas = 268435456"),
            "{}",
            last_error()
        );
        assert!(r.is_null());
        assert_eq!(
            vfio_iommu_info_region_info_decode(ptr::null(), 0, 0, &mut r),
            VFIO_IOMMU_INFO_E_MALFORMED
        );

        let dev = device(&buf, 2);
        let reg = region(&region_info(false, 0, 7, 0x4000, &[]), 0);
        let mut w = vfio_iommu_info_range { start: 0, end: 0 };
        assert_eq!(
            vfio_iommu_info_device_info_dma_window(ptr::null(), &mut w),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_device_info_dma_window(dev, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        let mut bytes = ptr::null();
        assert_eq!(
            vfio_iommu_info_device_info_zpci_util(dev, &mut bytes, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert!(bytes.is_null());
        assert_eq!(
            vfio_iommu_info_region_info_mmap_area_count(reg, ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );
        assert_eq!(
            vfio_iommu_info_region_info_msix_mappable(ptr::null(), ptr::null_mut()),
            VFIO_IOMMU_INFO_E_NULL
        );

        // A sized struct from a caller that did not set `size`.
        let mut base: vfio_iommu_info_zpci_base = zeroed();
        base.size = 8;
        base.pchid = 77;
        assert_eq!(
            vfio_iommu_info_device_info_zpci_base(dev, &mut base),
            VFIO_IOMMU_INFO_E_INVALID
        );
        assert_eq!((base.size, base.pchid), (8, 77));
        assert!(last_error().contains("out->size is 8"), "{}", last_error());
        let mut h: vfio_iommu_info_region_header = zeroed();
        assert_eq!(
            vfio_iommu_info_region_info_header(reg, &mut h),
            VFIO_IOMMU_INFO_E_INVALID
        );
        // A caller built against a later, larger struct gets what this version fills.
        let mut big = [0u64; 8];
        big[0] = 64;
        let p = big.as_mut_ptr().cast::<vfio_iommu_info_region_header>();
        assert_eq!(vfio_iommu_info_region_info_header(reg, p), 0);
        assert_eq!(
            (*p).size as usize,
            size_of::<vfio_iommu_info_region_header>()
        );
        assert_eq!(big[5..], [0; 3], "wrote past its struct");

        vfio_iommu_info_device_info_free(dev);
        vfio_iommu_info_region_info_free(reg);
        vfio_iommu_info_device_info_free(ptr::null_mut());
        vfio_iommu_info_region_info_free(ptr::null_mut());
    }
}
