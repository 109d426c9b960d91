//! The seed's platform, for real: buffers a big-endian Linux 6.12 on s390x filled for a
//! zPCI function (QEMU's virtio-rng-pci bound to vfio-pci), decoded on this host with
//! `ByteOrder::Big`.
//!
//! The capture comes from `lab/guest/capture-zpci.c`, run by the lab's s390x scenario
//! (`lab/foreign.sh`, `lab/run -s linux-6.12-s390x-zpci`). `LAB_S390X_CAPTURE` names the
//! directory of a fresh capture (lab/foreign.sh sets it and turns each test here into a
//! row of the lab's table); without it, the committed capture in
//! `tests/fixtures/linux-6.12-s390x-zpci/` (refreshed by `lab/update-fixtures`).
//!
//! The point: the DMA window the seed asked for in 2019 is reported by three interfaces
//! of the same kernel, and they agree: type1's IOVA list (`VFIO_IOMMU_GET_INFO`),
//! the device's ZPCI_BASE capability (`VFIO_DEVICE_GET_INFO`), and iommufd's
//! `IOMMU_IOAS_IOVA_RANGES`; sysfs's reserved regions are the rest of the address space.
//! Every value the library decodes is compared with the C program's own walk of the
//! same bytes (meta.txt), with sysfs, and with the values lab-recipe.md documents.

mod common;

use std::path::PathBuf;

use common::capture_meta::{self, get, num, Meta};
use vfio_iommu_info::device_info::{
    decode_device_info, DeviceCap, DeviceInfo, FLAG_CAPS, FLAG_PCI,
};
use vfio_iommu_info::iova::{self, IovaRange};
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{
    decode_with_order, Absence, ByteOrder, IommuInfo, Migration, PageSizes, RegionKind, Reported,
};

const FILL: u8 = 0xAA;
/// The window QEMU 7.2 gives a zPCI function (lab-recipe.md): 1 GiB at 4 GiB.
const WINDOW: (u64, u64) = (0x1_0000_0000, 0x1_3fff_ffff);

fn window() -> IovaRange {
    IovaRange::new(WINDOW.0, WINDOW.1).unwrap()
}

fn capture_dir() -> PathBuf {
    let dir = capture_meta::env_dir("LAB_S390X_CAPTURE")
        .unwrap_or_else(|| capture_meta::fixture("linux-6.12-s390x-zpci"));
    assert!(
        dir.join("meta.txt").is_file(),
        "{}/meta.txt is missing: run lab/run -s linux-6.12-s390x-zpci (and lab/update-fixtures \
         linux-6.12-s390x-zpci to refresh the committed capture), or point LAB_S390X_CAPTURE at \
         a capture directory",
        dir.display()
    );
    dir
}

fn read(name: &str) -> Vec<u8> {
    capture_meta::read(&capture_dir(), name, "capture-zpci")
}

/// The capture's meta.txt.
fn load_meta() -> Meta {
    let text = String::from_utf8(read("meta.txt")).expect("meta.txt is UTF-8");
    Meta::parse(capture_dir().display().to_string(), &text)
}

fn iommu(name: &str) -> IommuInfo {
    decode_with_order(&read(name), ByteOrder::Big).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn device(name: &str) -> DeviceInfo {
    decode_device_info(&read(name), ByteOrder::Big).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(buf[at..at + 4].try_into().unwrap())
}

fn be64(buf: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(buf[at..at + 8].try_into().unwrap())
}

fn zpci_base(info: &DeviceInfo) -> &vfio_iommu_info::device_info::ZpciBase {
    info.zpci_base()
        .unwrap_or_else(|| panic!("device-exact.bin: no ZPCI_BASE among {:?}", info.caps))
}

#[test]
fn the_capture_is_from_a_big_endian_s390x_linux_6_12() {
    let m = load_meta();
    assert_eq!(m.field("uname_m"), "s390x");
    assert!(
        m.field("uname_r").starts_with("6.12."),
        "{}",
        m.field("uname_r")
    );
    assert_eq!(
        m.field("byte_order"),
        "big",
        "capture-zpci's own probe of the CPU"
    );
    // The same bytes read as little-endian are not a plausible answer: the byte order
    // the tests below rely on is the one that matters.
    let exact = read("info-exact.bin");
    assert_eq!(be32(&exact, 0) as usize, exact.len());
    let little = decode_with_order(&exact, ByteOrder::Little);
    assert!(
        little
            .as_ref()
            .map_or(true, |i| i.argsz as usize != exact.len()),
        "info-exact.bin decodes alike in both byte orders: {little:?}"
    );
}

/// THE question of the seed, answered by all three interfaces of one kernel.
#[test]
fn the_iova_list_the_zpci_window_and_iommufds_ranges_are_one_window() {
    let info = iommu("info-exact.bin");
    let dev = device("device-exact.bin");
    let dma = dev
        .dma_window()
        .expect("ZPCI_BASE with start_dma <= end_dma");
    assert_eq!(
        info.iova_ranges,
        Reported::Present(vec![dma]),
        "type1's IOVA list against ZPCI_BASE [start_dma, end_dma]"
    );
    assert_eq!(info.aperture(), Some(dma));
    assert!(info.holes().is_empty(), "holes {:?}", info.holes());

    // iommufd (IOMMU_IOAS_IOVA_RANGES, struct then array, big-endian; decoded by hand
    // until the library has an iommufd decoder).
    let st = read("ioas-iova-ranges.bin");
    let array = read("ioas-iova-ranges-array.bin");
    assert_eq!(st.len(), 32);
    assert_eq!(be32(&st, 0), 32, "size");
    let n = be32(&st, 8) as usize;
    assert_eq!(n, 1, "num_iovas");
    let ranges: Vec<_> = (0..n)
        .map(|i| IovaRange::new(be64(&array, 16 * i), be64(&array, 16 * i + 8)).unwrap())
        .collect();
    assert_eq!(
        ranges,
        vec![dma],
        "iommufd's allowed IOVA ranges against ZPCI_BASE"
    );
    assert!(
        array[16 * n..].iter().all(|&b| b == FILL),
        "the kernel wrote past num_iovas ranges"
    );
    // And as lab-recipe.md recorded them.
    assert_eq!(dma, window());
}

#[test]
fn iommu_info_decodes_as_the_c_walk_and_lab_recipe_say() {
    let m = load_meta();
    let exact = read("info-exact.bin");
    let needed = m.num("iommu_needed_argsz");
    assert_eq!(exact.len() as u64, needed);
    let info = iommu("info-exact.bin");
    assert!(!info.caps_truncated);
    assert_eq!(u64::from(info.argsz), needed);
    assert_eq!(u64::from(info.flags), m.num("iommu_flags"));
    assert_eq!(info.flags, 3, "PGSIZES | CAPS");
    assert_eq!(info.iova_pgsizes, Some(PageSizes(m.num("iommu_pgsizes"))));
    assert_eq!(info.iova_pgsizes, Some(PageSizes(0x1000)), "4K only");
    assert_eq!(
        info.cap_offset.map(u64::from),
        Some(m.num("iommu_cap_offset"))
    );

    // The chain, cap by cap, as capture-zpci walked it.
    let walk: Vec<_> = m
        .records("iommu_cap")
        .map(|r| {
            (
                get(r, "id") as u16,
                get(r, "version") as u16,
                get(r, "offset") as usize,
            )
        })
        .collect();
    let chain: Vec<_> = info
        .chain
        .iter()
        .map(|c| (c.id, c.version, c.offset))
        .collect();
    assert_eq!(chain, walk);
    assert_eq!(walk.len(), 3, "MIGRATION, DMA_AVAIL, IOVA_RANGE");
    let ranges: Vec<_> = m
        .records("iommu_iova_range")
        .map(|r| IovaRange::new(get(r, "start"), get(r, "end")).unwrap())
        .collect();
    assert_eq!(info.iova_ranges, Reported::Present(ranges));
    assert_eq!(info.iova_ranges, Reported::Present(vec![window()]));
    let avail = m
        .records("iommu_cap")
        .find_map(|r| r.get("avail").map(|a| num(a) as u32));
    assert_eq!(info.dma_avail.present().copied(), avail);
    assert_eq!(
        info.dma_avail,
        Reported::Present(65535),
        "the default dma_entry_limit"
    );
    let mig = m
        .records("iommu_cap")
        .find(|r| r.get("name").map(String::as_str) == Some("MIGRATION"))
        .expect("a MIGRATION cap in meta.txt");
    assert_eq!(
        info.migration,
        Reported::Present(Migration {
            version: 1,
            flags: get(mig, "flags") as u32,
            pgsize_bitmap: PageSizes(get(mig, "pgsize_bitmap")),
            max_dirty_bitmap_size: get(mig, "max_dirty_bitmap_size"),
        })
    );
    assert!(info.unknown_caps.is_empty(), "{:?}", info.unknown_caps);
    // 6.6+: the 24-byte fixed part with its zeroed pad, caps padded to 8 bytes.
    assert_eq!(&exact[20..24], &[0; 4], "the 6.6+ pad field");
    assert_eq!(exact.len(), 88 + 16, "88 + 16 n, one range");
}

#[test]
fn iommu_info_buffers_too_small_follow_the_fill_protocol() {
    let m = load_meta();
    let exact = iommu("info-exact.bin");
    for (name, len) in [
        ("info-argsz16.bin", 16),
        ("info-argsz24.bin", 24),
        ("info-short.bin", exact.argsz as usize - 8),
    ] {
        let buf = read(name);
        assert_eq!(buf.len(), len, "{name}");
        let info = iommu(name);
        assert!(info.caps_truncated, "{name}");
        assert_eq!(
            info.argsz, exact.argsz,
            "{name}: argsz says the needed size"
        );
        assert_eq!(
            u64::from(info.argsz),
            m.field_kv(name, "argsz_out"),
            "{name}"
        );
        assert_eq!(info.iova_pgsizes, exact.iova_pgsizes, "{name}");
        let why = Absence::DidNotFit {
            needed: exact.argsz,
            available: len,
        };
        assert_eq!(info.iova_ranges, Reported::Absent(why), "{name}");
        assert_eq!(info.migration, Reported::Absent(why), "{name}");
        assert_eq!(info.dma_avail, Reported::Absent(why), "{name}");
        if len > 24 {
            assert_eq!(be32(&buf, 16), 0, "{name}: cap_offset");
            assert!(
                buf[24..].iter().all(|&b| b == FILL),
                "{name}: the kernel wrote caps that did not fit"
            );
        }
    }
    let big = read("info-4096.bin");
    assert_eq!(big.len(), 4096);
    assert!(
        big[exact.argsz as usize..].iter().all(|&b| b == FILL),
        "the tail is left alone"
    );
    let info = iommu("info-4096.bin");
    assert_eq!(
        info.argsz, 4096,
        "argsz is not rewritten when the chain fits"
    );
    assert_eq!(
        IommuInfo {
            argsz: exact.argsz,
            ..info
        },
        exact
    );
    assert_eq!(m.field("get_info_before_set_iommu_errno"), "EINVAL (22)");
    assert_eq!(m.field("get_info_argsz8_errno"), "EINVAL (22)");
}

#[test]
fn device_info_decodes_zpci_caps_as_the_c_walk_and_sysfs_say() {
    let m = load_meta();
    let exact = read("device-exact.bin");
    let needed = m.num("device_needed_argsz");
    assert_eq!(exact.len() as u64, needed);
    let info = device("device-exact.bin");
    assert!(!info.caps_truncated);
    assert_eq!(u64::from(info.argsz), needed);
    assert_eq!(u64::from(info.flags), m.num("device_flags"));
    assert_eq!(
        info.flags & (FLAG_PCI | FLAG_CAPS),
        FLAG_PCI | FLAG_CAPS,
        "flags {:#x}",
        info.flags
    );
    assert_eq!(u64::from(info.num_regions), m.num("device_num_regions"));
    assert_eq!(u64::from(info.num_irqs), m.num("device_num_irqs"));
    assert_eq!(
        info.cap_offset.map(u64::from),
        Some(m.num("device_cap_offset"))
    );
    assert_eq!(info.cap_offset, Some(24), "the 6.6+ 24-byte fixed part");

    let walk: Vec<_> = m.records("device_cap").collect();
    assert_eq!(
        info.caps.iter().map(|c| c.name()).collect::<Vec<_>>(),
        walk.iter().map(|r| r["name"].as_str()).collect::<Vec<_>>(),
        "the chain in order"
    );
    for (cap, r) in info.caps.iter().zip(&walk) {
        match cap {
            DeviceCap::ZpciBase(b) => {
                assert_eq!(b.version as u64, get(r, "version"));
                assert_eq!(b.version, 2, "fh since v2");
                assert_eq!(b.start_dma, get(r, "start_dma"));
                assert_eq!(b.end_dma, get(r, "end_dma"));
                assert_eq!(u64::from(b.pchid), get(r, "pchid"));
                assert_eq!(u64::from(b.vfn), get(r, "vfn"));
                assert_eq!(u64::from(b.fmb_length), get(r, "fmb_length"));
                assert_eq!(u64::from(b.pft), get(r, "pft"));
                assert_eq!(u64::from(b.gid), get(r, "gid"));
                assert_eq!(b.fh.map(u64::from), Some(get(r, "fh")));
            }
            DeviceCap::ZpciGroup(g) => {
                assert_eq!(g.version as u64, get(r, "version"));
                assert_eq!(g.version, 2, "imaxstbl since v2");
                assert_eq!(g.dasm, get(r, "dasm"));
                assert_eq!(g.msi_addr, get(r, "msi_addr"));
                assert_eq!(g.flags, get(r, "flags"));
                assert_eq!(u64::from(g.mui), get(r, "mui"));
                assert_eq!(u64::from(g.noi), get(r, "noi"));
                assert_eq!(u64::from(g.maxstbl), get(r, "maxstbl"));
                assert_eq!(u64::from(g.zpci_version), get(r, "zpci_version"));
                assert_eq!(g.imaxstbl.map(u64::from), Some(get(r, "imaxstbl")));
            }
            DeviceCap::ZpciPfip { version, pfip }
            | DeviceCap::ZpciUtil {
                version,
                util_str: pfip,
            } => {
                assert_eq!(u64::from(*version), get(r, "version"));
                assert_eq!(pfip.len() as u64, get(r, "size"));
                let hex: String = pfip.iter().map(|b| format!("{b:02x}")).collect();
                let want = if pfip.is_empty() { "-" } else { hex.as_str() };
                assert_eq!(r["bytes"], want);
            }
            other => panic!("a capability capture-zpci did not expect: {other:?}"),
        }
    }
    for want in ["ZPCI_BASE", "ZPCI_GROUP", "ZPCI_PFIP"] {
        assert!(
            info.caps.iter().any(|c| c.name() == want),
            "no {want} in {:?}",
            info.caps
        );
    }
    // Where each cap sits, as the C program walked the chain.
    let located: Vec<_> = info
        .chain
        .iter()
        .map(|c| (u64::from(c.id), u64::from(c.version), c.offset as u64))
        .collect();
    let walked: Vec<_> = walk
        .iter()
        .map(|r| (get(r, "id"), get(r, "version"), get(r, "offset")))
        .collect();
    assert_eq!(located, walked);
    let offsets: Vec<_> = walked.iter().map(|w| w.2).collect();
    assert_eq!(offsets[0], 24);
    assert!(
        offsets.iter().all(|o| o % 8 == 0),
        "6.6+ pads caps to 8 bytes: {offsets:?}"
    );

    // The same function seen through sysfs (arch/s390/pci/pci_sysfs.c).
    let b = zpci_base(&info);
    assert_eq!(u64::from(b.pchid), m.num("sysfs_pchid"));
    assert_eq!(u64::from(b.vfn), m.num("sysfs_vfn"));
    assert_eq!(u64::from(b.pft), m.num("sysfs_pft"));
    assert_eq!(u64::from(b.gid), m.num("sysfs_pfgid"));
    assert_eq!(b.fh.map(u64::from), Some(m.num("sysfs_function_handle")));
    let pfip = info
        .caps
        .iter()
        .find_map(|c| match c {
            DeviceCap::ZpciPfip { pfip, .. } => Some(pfip.clone()),
            _ => None,
        })
        .unwrap();
    let segments: Vec<u8> = (0..4)
        .map(|i| m.num(&format!("sysfs_pfip_segment{i}")) as u8)
        .collect();
    assert_eq!(pfip, segments, "PFIP against sysfs pfip/segment0..3");
}

#[test]
fn device_info_buffers_too_small_follow_the_fill_protocol() {
    let m = load_meta();
    let exact = device("device-exact.bin");
    for (name, len, cap_offset) in [
        ("device-argsz16.bin", 16, None),
        ("device-argsz20.bin", 20, Some(0)),
        ("device-argsz24.bin", 24, Some(0)),
        ("device-short.bin", exact.argsz as usize - 8, Some(0)),
    ] {
        let buf = read(name);
        assert_eq!(buf.len(), len, "{name}");
        let info = device(name);
        assert!(info.caps_truncated, "{name}");
        assert!(info.caps.is_empty(), "{name}");
        assert_eq!(
            info.argsz, exact.argsz,
            "{name}: argsz says the needed size"
        );
        assert_eq!(
            u64::from(info.argsz),
            m.field_kv(name, "argsz_out"),
            "{name}"
        );
        assert_eq!(
            (info.flags, info.num_regions, info.num_irqs),
            (exact.flags, exact.num_regions, exact.num_irqs),
            "{name}"
        );
        assert_eq!(info.cap_offset, cap_offset, "{name}");
        if len >= 24 {
            assert_eq!(&buf[20..24], &[0; 4], "{name}: the pad, written since 6.6");
        }
        if len > 24 {
            assert!(
                buf[24..].iter().all(|&b| b == FILL),
                "{name}: the kernel wrote caps that did not fit"
            );
        }
    }
    let big = read("device-4096.bin");
    assert!(
        big[exact.argsz as usize..].iter().all(|&b| b == FILL),
        "the tail is left alone"
    );
    let info = device("device-4096.bin");
    assert_eq!(
        info.argsz, 4096,
        "argsz is not rewritten when the chain fits"
    );
    assert_eq!(
        DeviceInfo {
            argsz: exact.argsz,
            ..info
        },
        exact
    );
    assert_eq!(m.field("device_info_argsz8_errno"), "EINVAL (22)");
}

#[test]
fn the_reserved_regions_are_the_complement_of_the_window() {
    let m = load_meta();
    let group = m.num("group");
    let text = String::from_utf8(read(&format!("reserved_regions-group{group}"))).unwrap();
    let regions = parse_reserved_regions(&text)
        .unwrap_or_else(|(line, l, why)| panic!("reserved_regions line {line} '{l}': {why}"));
    assert!(!regions.is_empty());
    assert!(
        regions.iter().all(|r| r.kind == RegionKind::Reserved),
        "s390 reserves with type 'reserved': {regions:?}"
    );
    let reserved: Vec<_> = regions.iter().map(|r| r.range).collect();
    let info = iommu("info-exact.bin");
    let win = zpci_base(&device("device-exact.bin")).dma_window().unwrap();
    // Below the window from 0, above it up to the end of the domain's aperture: what is
    // left of [0, last reserved address] is exactly the window, which is type1's list.
    let top = reserved.iter().map(|r| r.end).max().unwrap();
    let base = IovaRange::new(0, top).unwrap();
    assert_eq!(iova::subtract(base, &reserved), vec![win]);
    assert_eq!(
        info.iova_ranges,
        Reported::Present(iova::subtract(base, &reserved))
    );
    let mut sorted = reserved.clone();
    sorted.sort();
    assert_eq!(sorted.first().map(|r| r.start), Some(0), "from address 0");
    assert!(
        sorted.windows(2).all(|w| w[0].end < w[1].start),
        "disjoint: {sorted:?}"
    );
    // As lab-recipe.md recorded them for group 0 under QEMU 7.2.
    assert_eq!(group, 0);
    assert_eq!(
        sorted,
        vec![
            IovaRange::new(0, 0xffff_ffff).unwrap(),
            IovaRange::new(0x1_4000_0000, 0x3ff_ffff_ffff).unwrap()
        ]
    );
}

#[test]
fn iommufd_reports_before_and_after_the_attach_as_the_c_program_saw() {
    let m = load_meta();
    // Before the attach the IOAS has no domain: everything, byte-aligned.
    assert_eq!(m.field_kv("ioas_iova_ranges_before_attach", "num_iovas"), 1);
    assert_eq!(
        m.field_kv("ioas_iova_ranges_before_attach", "out_iova_alignment"),
        1
    );
    let before: Vec<_> = m
        .records("ioas_range")
        .filter(|r| r["when"] == "before_attach")
        .map(|r| (get(r, "start"), get(r, "last")))
        .collect();
    assert_eq!(before, vec![(0, u64::MAX)]);
    // No room for the array: EMSGSIZE, with the count.
    assert!(m
        .field("ioas_iova_ranges_no_room")
        .starts_with("errno=EMSGSIZE "));
    let no_room = read("ioas-iova-ranges-no-room.bin");
    assert_eq!(be32(&no_room, 8), 1, "num_iovas on EMSGSIZE");
    // Attached: the window, aligned to the domain's page size.
    let st = read("ioas-iova-ranges.bin");
    let array = read("ioas-iova-ranges-array.bin");
    assert_eq!(
        u64::from(be32(&st, 8)),
        m.field_kv("ioas_iova_ranges_attached", "num_iovas")
    );
    assert_eq!(
        be64(&st, 24),
        m.field_kv("ioas_iova_ranges_attached", "out_iova_alignment")
    );
    let pgsizes = iommu("info-exact.bin").iova_pgsizes.unwrap().0;
    assert_eq!(
        be64(&st, 24),
        1 << pgsizes.trailing_zeros(),
        "alignment = smallest page"
    );
    let after: Vec<_> = m
        .records("ioas_range")
        .filter(|r| r["when"] == "attached")
        .map(|r| (get(r, "start"), get(r, "last")))
        .collect();
    assert_eq!(after, vec![(be64(&array, 0), be64(&array, 8))]);
}

/// Not decoded yet (the region-info decoder is being written): the bytes are there and
/// say what capture-zpci saw.
#[test]
fn region_info_buffers_were_captured_for_every_region() {
    let m = load_meta();
    let nregions = m.num("device_num_regions");
    let regions: Vec<_> = m.records("region").collect();
    let mut indexes: Vec<_> = regions.iter().map(|r| get(r, "index")).collect();
    indexes.dedup();
    assert_eq!(
        indexes,
        (0..nregions).collect::<Vec<_>>(),
        "every index once"
    );
    let mut files = 0;
    for r in &regions {
        let index = get(r, "index");
        if let Some(e) = r.get("errno") {
            // Only the VGA region (index 8) of a device without VGA is refused.
            assert_eq!((index, e.as_str()), (8, "EINVAL"), "{r:?}");
            continue;
        }
        let file = &r["file"];
        let buf = read(file);
        assert_eq!(buf.len() as u64, get(r, "argsz_in"), "{file}");
        assert_eq!(
            u64::from(be32(&buf, 0)),
            get(r, "argsz_out"),
            "{file}: argsz"
        );
        assert_eq!(u64::from(be32(&buf, 4)), get(r, "flags"), "{file}: flags");
        assert_eq!(u64::from(be32(&buf, 8)), index, "{file}: index");
        assert_eq!(be64(&buf, 16), get(r, "size"), "{file}: size");
        assert_eq!(be64(&buf, 24), get(r, "offset"), "{file}: offset");
        // vfio-pci's region offsets: the index in bits 40 and up.
        assert_eq!(be64(&buf, 24), index << 40, "{file}");
        if be32(&buf, 4) & (1 << 3) == 0 {
            // Without the CAPS flag the kernel copies back the caller's own cap_offset.
            assert_eq!(
                be32(&buf, 12),
                0xAAAA_AAAA,
                "{file}: cap_offset left as written"
            );
        }
        files += 1;
    }
    assert!(files >= 3, "only {files} region buffers");
}

/// The snapshot the guest took (lab/guest/snapshot.c) decodes here, big-endian, as the
/// capture says; and the seed's DMA window is in it twice: the container's one IOVA range
/// and the device's ZPCI_BASE.
#[cfg(feature = "json")] // Snapshot reading (the lab builds with it)
#[test]
fn the_guests_snapshot_decodes_here_with_the_zpci_window() {
    let m = load_meta();
    let guest = common::guest_snapshot::Guest {
        arch: m.field("uname_m"),
        byte_order: ByteOrder::Big,
        page_size: None,
        bdf: m.field("bdf"),
        group: m.num("group") as u32,
        type1: true,
    };
    let s = common::guest_snapshot::check(&capture_dir(), &guest);
    assert_eq!(s.kernel_release().as_deref(), Some(m.field("uname_r")));
    let c = s.container(&[guest.group]).unwrap();
    assert_eq!(c.info.aperture(), Some(window()));
    let d = s.device(&guest.bdf.parse().unwrap()).unwrap();
    let base = zpci_base(&d.info);
    assert_eq!((base.start_dma, base.end_dma), WINDOW);
}
