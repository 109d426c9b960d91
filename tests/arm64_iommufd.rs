//! arm64 iommufd, for real: buffers a Linux 7.3 arm64 kernel filled for QEMU's edu device
//! behind the virt machine's SMMUv3 (and behind virtio-iommu), decoded on this host.
//!
//! The captures come from `lab/guest/capture-iommufd.c`, run by the lab's scenarios
//! `linux-7.3-arm64-iommufd` (SMMUv3) and `linux-7.3-arm64-iommufd-virtio` (`lab/run -s
//! NAME`; kernel `lab/build-kernel linux-7.3-arm64-iommufd`, 4 KiB pages; lab/arch/aarch64's
//! `*.7.3-arm64-iommufd` lines). `LAB_ARM64_CAPTURE` names the directory of a fresh capture
//! (lab/foreign.sh sets it, with `LAB_SCENARIO`, and turns each test into a row); without
//! it, the committed captures in `tests/fixtures/linux-7.3-arm64-iommufd/` (SMMUv3) and
//! `tests/fixtures/linux-7.3-arm64-iommufd-virtio/` (refreshed by `lab/update-fixtures`).
//!
//! The point: `IOMMU_GET_HW_INFO` on SMMUv3 hands over IDR registers that allow every
//! granule (4K, 16K, 64K: 0x62215000), but the kernel's domain uses ONE granule, the
//! kernel's page size's: type1's `iova_pgsizes` (the domain's `pgsize_bitmap`) says
//! 0x40201000 on that same kernel, iommufd's alignment says 4K, and `IOMMU_IOAS_MAP`
//! enforces it. The library must read the registers with the guest's page size (from
//! meta.txt), not the host's and not as "every granule".

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use common::capture_meta::{self, get, num, Meta};
use vfio_iommu_info::facts::DmaFacts;
use vfio_iommu_info::hw_info::{HwData, HwInfo, CAPABILITY_NAMES};
use vfio_iommu_info::iommufd::IoasRanges;
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{decode_with_order, ByteOrder, IommuInfo, IovaRange, IovaSpace, PageSizes};

const FILL: u8 = 0xAA;
const CANARY: usize = 16;
const SMMU: &str = "linux-7.3-arm64-iommufd";
const VIRTIO: &str = "linux-7.3-arm64-iommufd-virtio";

/// The captures to check: the fresh one, or both committed ones.
fn captures() -> Vec<Capture> {
    match capture_meta::env_dir("LAB_ARM64_CAPTURE") {
        Some(d) => vec![Capture::load(d)],
        None => [SMMU, VIRTIO]
            .iter()
            .map(|d| Capture::load(capture_meta::fixture(d)))
            .collect(),
    }
}

struct Capture {
    dir: PathBuf,
    meta: Meta,
}

impl std::ops::Deref for Capture {
    type Target = Meta;

    fn deref(&self) -> &Meta {
        &self.meta
    }
}

impl Capture {
    fn load(dir: PathBuf) -> Capture {
        let path = dir.join("meta.txt");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run lab/run -s linux-7.3-arm64-iommufd[-virtio] (and lab/update-fixtures \
                 linux-7.3-arm64-iommufd[-virtio] to refresh the committed captures), or point \
                 LAB_ARM64_CAPTURE at a capture directory",
                path.display()
            )
        });
        let c = Capture {
            meta: Meta::parse(dir.display().to_string(), &text),
            dir,
        };
        assert_eq!(
            c.field("complete"),
            "yes",
            "{}: capture-iommufd did not finish",
            c.dir.display()
        );
        c
    }

    /// The scenario: the fixture directory's name, or for a fresh capture (whose directory
    /// is target/lab/out/SCENARIO/capture) lab/foreign.sh's `LAB_SCENARIO`.
    fn name(&self) -> String {
        let dir = self.dir.file_name().unwrap_or_default().to_string_lossy();
        match std::env::var("LAB_SCENARIO") {
            Ok(s) if std::env::var_os("LAB_ARM64_CAPTURE").is_some() => format!("{s} ({dir})"),
            _ => dir.into_owned(),
        }
    }

    fn read(&self, name: &str) -> Vec<u8> {
        capture_meta::read(&self.dir, name, "capture-iommufd")
    }

    fn record<'a>(&'a self, kind: &'a str, key: &str, value: &str) -> &'a BTreeMap<String, String> {
        self.records(kind)
            .find(|r| r.get(key).map(String::as_str) == Some(value))
            .unwrap_or_else(|| panic!("{}: no '{kind} {key}={value}' record", self.name()))
    }

    fn page_size(&self) -> u64 {
        self.num("page_size")
    }

    /// The `exact` IOMMU_GET_HW_INFO as the library's HwInfo, with the guest's page size.
    fn hw_info(&self, call: &str) -> HwInfo {
        let r = self.record("hw_info", "name", call);
        let len = get(r, "len") as usize;
        let st = self.read(&format!("hw-info-{call}.bin"));
        let data = self.read(&format!("hw-data-{call}.bin"));
        assert_eq!(
            st.len(),
            40,
            "hw-info-{call}.bin: struct iommu_hw_info is 40 bytes"
        );
        assert_eq!(data.len(), len + CANARY, "hw-data-{call}.bin");
        let data_len = le32(&st, 12);
        HwInfo {
            data_type: le32(&st, 24),
            data_len,
            data: data[..len.min(data_len as usize)].to_vec(),
            capabilities: Some(le64(&st, 32)),
            max_pasid_log2: st[28],
            kernel_page_size: self.page_size(),
            byte_order: ByteOrder::Native,
        }
    }

    fn type1(&self) -> IommuInfo {
        decode_with_order(&self.read("info-exact.bin"), ByteOrder::Little)
            .unwrap_or_else(|e| panic!("{}: info-exact.bin: {e}", self.name()))
    }

    /// IOMMU_IOAS_IOVA_RANGES after the attach, read from the raw struct and array.
    fn ioas(&self, file: &str) -> IoasRanges {
        let st = self.read(&format!("{file}.bin"));
        let array = self.read(&format!("{file}-array.bin"));
        assert_eq!((st.len(), array.len()), (32, 256), "{file}");
        let n = le32(&st, 8) as usize;
        assert!(n <= 16, "{file}: {n} ranges, room for 16");
        let ranges = (0..n)
            .map(|i| IovaRange::new(le64(&array, 16 * i), le64(&array, 16 * i + 8)).unwrap())
            .collect();
        // Past the ranges, the array is as the program filled it.
        assert!(array[16 * n..].iter().all(|&b| b == FILL), "{file}: tail");
        IoasRanges {
            ranges,
            alignment: le64(&st, 24),
            calls: 1,
        }
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[test]
fn captures_are_linux_7_3_arm64_little_endian() {
    for c in captures() {
        assert!(
            c.field("uname").starts_with("Linux 7.3."),
            "{}: {}",
            c.name(),
            c.field("uname")
        );
        assert_eq!(c.field("machine"), "aarch64");
        assert_eq!(c.field("byte_order"), "little");
        assert!(c.page_size().is_power_of_two(), "{}", c.name());
    }
}

#[test]
fn fixtures_cover_smmuv3_and_virtio_iommu() {
    let smmu = Capture::load(capture_meta::fixture(SMMU));
    let virtio = Capture::load(capture_meta::fixture(VIRTIO));
    assert!(
        smmu.field("iommu").starts_with("smmu3."),
        "{}",
        smmu.field("iommu")
    );
    assert_eq!(smmu.hw_info("exact").type_name(), "arm-smmuv3");
    assert_eq!(virtio.hw_info("exact").type_name(), "none");
    // Provenance: the machine each was captured on (lab/update-fixtures' qemu-options).
    for (c, vdev) in [
        (&smmu, "iommu=smmuv3"),
        (&virtio, "-device virtio-iommu-pci"),
    ] {
        let qemu = fs::read_to_string(c.dir.join("qemu-options")).unwrap();
        assert!(
            qemu.contains(vdev) && qemu.contains("-device edu"),
            "{qemu}"
        );
    }
    // Both kernels ran with 4 KiB pages: the case the old decoder got wrong.
    assert_eq!((smmu.page_size(), virtio.page_size()), (4096, 4096));
}

/// Every length: the kernel copied min(len, data_len) bytes, zeroed the rest of the
/// buffer it was given, left the canary past it, and always said its own length.
#[test]
fn hw_info_buffers_at_every_length() {
    for c in captures() {
        let exact = c.hw_info("exact");
        let kernel_len = c.num("hw_info_data_len") as usize;
        assert_eq!(exact.data.len(), kernel_len);
        for r in c.records("hw_info") {
            let call = r["name"].as_str();
            let len = get(r, "len") as usize;
            let hw = c.hw_info(call);
            let raw = c.read(&format!("hw-data-{call}.bin"));
            assert_eq!(hw.data_len as usize, kernel_len, "{call}: data_len");
            assert_eq!(u64::from(hw.data_len), get(r, "data_len"), "{call}");
            assert_eq!(u64::from(hw.data_type), get(r, "out_data_type"), "{call}");
            assert_eq!(hw.capabilities, Some(get(r, "out_capabilities")), "{call}");
            let copied = len.min(kernel_len);
            assert_eq!(raw[..copied], exact.data[..copied], "{call}: the data");
            assert!(raw[copied..len].iter().all(|&b| b == 0), "{call}: cleared");
            assert!(raw[len..].iter().all(|&b| b == FILL), "{call}: canary");
            // Short buffers are truncation, caught; full ones decode to the same registers.
            assert_eq!(hw.truncated(), len < kernel_len, "{call}");
            match hw.decode() {
                Ok(d) => assert_eq!(d, exact.decode().unwrap(), "{call}"),
                Err(e) => assert!(hw.truncated(), "{call}: {e}"),
            }
        }
    }
}

/// The library's decode of the SMMUv3 registers is the C program's own.
#[test]
fn smmuv3_registers_decode_as_capture_iommufd_read_them() {
    for c in captures() {
        let hw = c.hw_info("exact");
        let HwData::ArmSmmuV3(s) = hw.decode().unwrap() else {
            continue;
        };
        let m = c.field("smmuv3");
        let want: BTreeMap<&str, u64> = m
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k, num(v)))
            .collect();
        for i in 0..6 {
            assert_eq!(
                u64::from(s.idr[i]),
                want[format!("idr{i}").as_str()],
                "idr{i}"
            );
        }
        assert_eq!(
            (u64::from(s.iidr), u64::from(s.aidr), u64::from(s.flags)),
            (want["iidr"], want["aidr"], want["flags"])
        );
        let idr5: BTreeMap<&str, u64> = c
            .field("smmuv3_idr5")
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k, num(v)))
            .collect();
        let mut every = 0;
        for (g, sizes) in [
            ("gran4k", 0x4020_1000u64),
            ("gran16k", 0x200_4000),
            ("gran64k", 0x2001_0000),
        ] {
            if idr5[g] == 1 {
                every |= sizes;
            }
        }
        assert_eq!(s.hardware_page_sizes(), Some(PageSizes(every)));
        let (s1, s2) = s.stages();
        assert_eq!(
            c.field("smmuv3_idr0"),
            format!(
                "s2p={} s1p={} httu={}",
                u8::from(s2),
                u8::from(s1),
                u8::from(s.dirty_tracking_hardware()) * 2
            )
        );
        // QEMU's SMMU (7.2): stage 1 only, 44-bit OAS, every granule.
        assert_eq!(s.output_address_bits(), Some(44));
        assert_eq!(s.hardware_page_sizes(), Some(PageSizes(0x6221_5000)));
    }
}

/// The fix: the page sizes the library reads from the registers are those of the
/// kernel's domain, which type1 reports on the same kernel (domain->pgsize_bitmap) and
/// iommufd's alignment and IOMMU_IOAS_MAP enforce; not every granule IDR5 allows.
#[test]
fn page_sizes_are_the_kernels_domain_not_every_granule() {
    for c in captures() {
        let hw = c.hw_info("exact");
        let type1 = c.type1().iova_pgsizes.expect("type1 reports page sizes");
        assert_eq!(type1.0, c.num("type1_iova_pgsizes"));
        let ioas = c.ioas("ioas-iova-ranges");
        let facts = DmaFacts::from_iommufd(&ioas, Some(&hw));
        match hw.decode().unwrap() {
            HwData::ArmSmmuV3(s) => {
                assert_eq!(hw.page_sizes(), Some(type1), "{}", c.name());
                assert_eq!(s.page_sizes(c.page_size()), Some(type1));
                assert_ne!(s.hardware_page_sizes(), Some(type1));
                assert_eq!(type1.0, 0x4020_1000, "a 4 KiB kernel's SMMU domain");
                assert_eq!(facts.page_sizes.as_ref().map(|f| f.value), Some(type1));
                // The granule is iommufd's alignment after the attach.
                assert_eq!(Some(ioas.alignment), type1.smallest());
            }
            HwData::None => {
                // virtio-iommu: no registers, so iommufd says nothing of page sizes
                // (type1's bitmap is virtio's page mask, not a domain's block sizes).
                assert_eq!(hw.page_sizes(), None);
                assert!(facts.page_sizes.is_none());
                assert!(facts
                    .notes
                    .iter()
                    .any(|n| n.contains("IOMMU_HW_INFO_TYPE_NONE")));
                assert_eq!(type1.0, 0xffff_ffff_ffff_f000);
                assert_eq!(ioas.alignment, c.page_size());
            }
            other => panic!("{}: unexpected hw_info {other:?}", c.name()),
        }
    }
}

/// IOVA ranges: before the attach everything, after it type1's list (the same kernel
/// computes both from the group's reserved regions), its holes the reserved regions, and
/// the SMMU's aperture the width the registers give (48 bits: stage 1 without VAX).
#[test]
fn ioas_ranges_type1_ranges_and_reserved_regions_agree() {
    for c in captures() {
        let before = c.ioas("ioas-iova-ranges-before");
        assert_eq!(
            (before.ranges.as_slice(), before.alignment),
            (&[IovaRange::FULL][..], 1)
        );
        let after = c.ioas("ioas-iova-ranges");
        let meta: Vec<IovaRange> = c
            .records("ioas_range")
            .filter(|r| r["when"] == "after")
            .map(|r| IovaRange::new(get(r, "start"), get(r, "last")).unwrap())
            .collect();
        assert_eq!(after.ranges, meta);
        let type1 = c.type1();
        assert_eq!(type1.iova_ranges.present(), Some(&after.ranges));
        let group = c.field("group");
        let text = String::from_utf8(c.read(&format!("reserved_regions-group{group}"))).unwrap();
        let regions = parse_reserved_regions(&text).unwrap();
        let space = IovaSpace::new(&after.ranges, None);
        for r in &regions {
            let hole = space
                .hole_at(r.range.start)
                .expect("a reserved region is a hole");
            assert!(hole.range.start <= r.range.start && r.range.end <= hole.range.end);
        }
        let hw = c.hw_info("exact");
        if let Ok(d @ HwData::ArmSmmuV3(_)) = hw.decode() {
            let last = after.ranges.last().unwrap().end;
            assert_eq!(Some(64 - last.leading_zeros() as u8), d.address_width());
            assert_eq!(d.address_width(), Some(48));
        }
    }
}

/// What the kernel enforced, predicted by the library's IovaSpace of the iommufd facts.
#[test]
fn map_enforcement_is_what_the_library_predicts() {
    for c in captures() {
        let hw = c.hw_info("exact");
        let ioas = c.ioas("ioas-iova-ranges");
        let facts = DmaFacts::from_iommufd(&ioas, Some(&hw));
        // Without hardware page sizes (virtio-iommu), the IOAS alignment is the granule.
        let pages = facts
            .page_sizes
            .as_ref()
            .map(|f| f.value)
            .unwrap_or(PageSizes(ioas.alignment));
        let space = IovaSpace::new(&ioas.ranges, Some(pages));
        let mut seen = Vec::new();
        for r in c.records("map") {
            let what = r["what"].as_str();
            let (iova, len, errno) = (get(r, "iova"), get(r, "length"), r["errno"].as_str());
            seen.push(what.to_owned());
            if what == "twice" {
                assert_eq!(errno, "EEXIST");
                continue;
            }
            let predicted = space.check(iova, len);
            assert_eq!(
                predicted.is_ok(),
                errno == "OK",
                "{}: map {what} at {iova:#x}+{len:#x}: kernel {errno}, library {predicted:?}",
                c.name()
            );
            if predicted.is_err() {
                assert_eq!(errno, "EINVAL", "{what}");
            }
        }
        for want in [
            "usable",
            "twice",
            "iova-half-alignment",
            "length-half-alignment",
            "hole",
        ] {
            assert!(
                seen.iter().any(|s| s == want),
                "{}: no map {want}",
                c.name()
            );
        }
        if ioas.ranges.last().unwrap().end != u64::MAX {
            assert!(seen.iter().any(|s| s == "past-aperture"), "{}", c.name());
        }
    }
}

/// `out_capabilities`: 7.3 sets bit 3, `IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED`, for the edu
/// device (it has no ATS capability), on SMMUv3 and virtio-iommu alike (iommufd asks
/// `device_iommu_capable(dev, IOMMU_CAP_PCI_ATS_SUPPORTED)` of every driver). Every bit the
/// kernel set is one the library names, in the text's and the JSON's words.
#[test]
fn hw_capabilities_the_kernel_set_are_named() {
    for c in captures() {
        for r in c.records("hw_info") {
            let call = r["name"].as_str();
            let hw = c.hw_info(call);
            let caps = get(r, "out_capabilities");
            assert_eq!(hw.capabilities, Some(caps), "{}: {call}", c.name());
            assert_eq!(
                hw.unknown_capabilities(),
                0,
                "{}: {call}: out_capabilities {caps:#x} has bits the library does not name",
                c.name()
            );
            let named = hw.capability_names();
            let bits = named.iter().fold(0, |a, n| {
                a | CAPABILITY_NAMES.iter().find(|(_, m)| m == n).unwrap().0
            });
            assert_eq!(bits, caps, "{}: {call}: {named:?}", c.name());
            assert!(
                named.contains(&"pci-ats-not-supported"),
                "{}: {call}: {caps:#x} names {named:?}",
                c.name()
            );
            assert_eq!(hw.ats_not_supported(), Some(true));
            assert_eq!(hw.dirty_tracking(), Some(false), "QEMU's SMMU has no HTTU");
            #[cfg(feature = "json")]
            {
                let j = vfio_iommu_info::json::hw_info_to_json(&hw);
                assert_eq!(j["capabilities"].as_u64(), Some(caps));
                let names: Vec<&str> = j["capability_names"]
                    .as_array()
                    .expect("capability_names is a list")
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(names, named, "{j}");
                assert_eq!(j["unknown_capabilities"].as_u64(), Some(0));
            }
        }
    }
}

/// The snapshot each guest took (lab/guest/snapshot.c) decodes here as its capture says:
/// Linux 7.3's type1 container (this kernel keeps the legacy one beside iommufd).
#[cfg(feature = "json")] // Snapshot reading (the lab builds with it)
#[test]
fn the_guests_snapshot_decodes_here_as_the_capture_says() {
    for c in captures() {
        let guest = common::guest_snapshot::Guest {
            arch: c.field("machine"),
            byte_order: ByteOrder::Little,
            page_size: Some(c.page_size()),
            bdf: c.field("bdf"),
            group: c.num("group") as u32,
            type1: true,
        };
        common::guest_snapshot::check(&c.dir, &guest);
    }
}
