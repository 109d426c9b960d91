//! Type1 containers of real kernels of other architectures (arm64's SMMUv3 and
//! virtio-iommu today), decoded on this host by the library and checked against what the
//! guest itself recorded and what its kernel enforced.
//!
//! The captures come from `lab/guest/capture-type1.c`, run by the lab's foreign guests
//! (`lab/foreign.sh`; `lab/arch/ARCH` names this test as its `host_test`). With
//! `LAB_FOREIGN_CAPTURE` set (the lab sets it, and turns each test here into a row of its
//! table) only that directory is checked; without it, every committed capture under
//! `tests/fixtures/` whose `meta.txt` says `capture: type1` (refreshed by
//! `lab/update-fixtures`), so `cargo test` always decodes real foreign bytes.
//!
//! Each test checks every capture and names the scenario that fails.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::capture_meta::{self, get, num, Meta};
use vfio_iommu_info::iova::{self, IovaRange};
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{
    check_span, decode_with_order, Absence, Arch, ByteOrder, IommuInfo, Migration, PageSizes,
    RegionKind, Reported, SpanProblem,
};

const FILL: u8 = 0xAA;

/// One capture directory and its meta.txt.
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
    fn load(dir: &Path) -> Capture {
        let path = dir.join("meta.txt");
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (capture-type1 did not finish?)", path.display()));
        let mut c = Capture {
            dir: dir.to_owned(),
            meta: Meta::parse(dir.display().to_string(), &text),
        };
        c.meta.what = c.name();
        c
    }

    /// The scenario, as the guest recorded it (the directory when meta.txt lacks it).
    fn name(&self) -> String {
        match self.meta.fields.get("LAB_SCENARIO") {
            Some(s) => s.clone(),
            None => self.dir.display().to_string(),
        }
    }

    fn read(&self, name: &str) -> Vec<u8> {
        capture_meta::read(&self.dir, name, "capture-type1")
    }

    fn order(&self) -> ByteOrder {
        match self.field("byte_order") {
            "little" => ByteOrder::Little,
            "big" => ByteOrder::Big,
            other => panic!("{}: byte_order '{other}'", self.name()),
        }
    }

    fn iommu(&self, file: &str) -> IommuInfo {
        decode_with_order(&self.read(file), self.order())
            .unwrap_or_else(|e| panic!("{}: {file}: {e}", self.name()))
    }

    fn ld32(&self, buf: &[u8], at: usize) -> u32 {
        let b: [u8; 4] = buf[at..at + 4].try_into().unwrap();
        if self.order() == ByteOrder::Big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn arch(&self) -> Arch {
        Arch::from_name(self.field("uname_m"))
    }

    /// The QEMU machine's GIC version (arm64), from the scenario's machine options.
    fn gic_version(&self) -> Option<u32> {
        self.field("LAB_MACHINE")
            .split(',')
            .find_map(|kv| kv.strip_prefix("gic-version="))
            .map(|v| v.parse().expect("gic-version is a number"))
    }
}

/// The captures to check: the lab's fresh one, or every committed type1 capture of a
/// foreign guest.
fn captures() -> Vec<Capture> {
    if let Some(dir) = capture_meta::env_dir("LAB_FOREIGN_CAPTURE") {
        return vec![Capture::load(&dir)];
    }
    let dirs = capture_meta::fixture_dirs(|d| {
        fs::read_to_string(d.join("meta.txt"))
            .is_ok_and(|t| t.lines().next() == Some("capture: type1"))
    });
    assert!(
        dirs.len() >= 4,
        "only {} foreign type1 captures under {} (expected the arm64 scenarios' four): run \
         lab/run -s SCENARIO and lab/update-fixtures SCENARIO",
        dirs.len(),
        capture_meta::fixtures_root().display()
    );
    dirs.iter().map(|d| Capture::load(d)).collect()
}

fn ranges(c: &Capture, info: &IommuInfo) -> Vec<IovaRange> {
    match &info.iova_ranges {
        Reported::Present(r) => r.clone(),
        other => panic!("{}: no IOVA ranges: {other:?}", c.name()),
    }
}

#[test]
fn each_capture_is_from_its_scenarios_architecture_and_kernel() {
    for c in captures() {
        let n = c.name();
        if std::env::var_os("LAB_FOREIGN_CAPTURE").is_some() {
            if let Ok(s) = std::env::var("LAB_SCENARIO") {
                assert_eq!(c.field("LAB_SCENARIO"), s, "{n}");
            }
        } else {
            assert_eq!(
                c.dir.file_name().map(|d| d.to_string_lossy().into_owned()),
                Some(n.clone()),
                "the fixture's directory is its scenario"
            );
        }
        assert!(
            !matches!(c.arch(), Arch::Other(_) | Arch::X86_64),
            "{n}: uname_m {} is not a foreign architecture this test knows",
            c.field("uname_m")
        );
        let series = c.field("LAB_KERNEL");
        assert!(
            c.field("uname_r").starts_with(&format!("{series}.")),
            "{n}: uname_r {} is not Linux {series}",
            c.field("uname_r")
        );
        // The byte order the guest recorded is the one its buffers decode in: argsz is the
        // buffer's length only that way.
        let exact = c.read("info-exact.bin");
        assert_eq!(c.ld32(&exact, 0) as usize, exact.len(), "{n}");
        assert_eq!(c.field("vendor"), "0x1234", "{n}: QEMU's edu");
        assert_eq!(c.field("device"), "0x11e8", "{n}: QEMU's edu");
    }
}

#[test]
fn group_status_and_extensions_are_those_of_a_type1_host() {
    for c in captures() {
        let n = c.name();
        assert_eq!(c.num("group_status_before"), 0x1, "{n}: VIABLE");
        assert_eq!(
            c.num("group_status_after_set_container"),
            0x3,
            "{n}: VIABLE | CONTAINER_SET"
        );
        assert_eq!(c.num("group_status_after_set_iommu"), 0x3, "{n}");
        assert_eq!(
            c.field("extensions"),
            "type1=1 type1v2=1 spapr_tce=0 spapr_tce_v2=0 noiommu=0",
            "{n}"
        );
        assert_eq!(
            c.field("group_type"),
            "DMA",
            "{n}: a DMA domain for vfio-pci"
        );
        assert_eq!(c.field("get_info_before_set_iommu_errno"), "EINVAL", "{n}");
        assert_eq!(c.field("get_info_argsz8_errno"), "EINVAL", "{n}");
    }
}

#[test]
fn iommu_info_decodes_as_the_c_walk_says() {
    for c in captures() {
        let n = c.name();
        let exact = c.read("info-exact.bin");
        let needed = c.num("needed_argsz");
        assert_eq!(exact.len() as u64, needed, "{n}");
        let info = c.iommu("info-exact.bin");
        assert!(!info.caps_truncated, "{n}");
        assert_eq!(u64::from(info.argsz), needed, "{n}");
        assert_eq!(u64::from(info.flags), c.num("flags"), "{n}");
        assert_eq!(info.flags, 3, "{n}: PGSIZES | CAPS");
        assert_eq!(
            info.iova_pgsizes,
            Some(PageSizes(c.num("iova_pgsizes"))),
            "{n}"
        );
        assert_eq!(
            info.cap_offset.map(u64::from),
            Some(c.num("cap_offset")),
            "{n}"
        );
        let walk: Vec<_> = c
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
            .map(|x| (x.id, x.version, x.offset))
            .collect();
        assert_eq!(chain, walk, "{n}: the chain, cap by cap");
        let walked: Vec<_> = c
            .records("iommu_iova_range")
            .map(|r| IovaRange::new(get(r, "start"), get(r, "end")).unwrap())
            .collect();
        assert!(!walked.is_empty(), "{n}: the C walk found no range");
        assert_eq!(info.iova_ranges, Reported::Present(walked), "{n}");
        let avail = c
            .records("iommu_cap")
            .find_map(|r| r.get("avail").map(|a| num(a) as u32));
        assert_eq!(info.dma_avail.present().copied(), avail, "{n}");
        assert_eq!(
            info.dma_avail,
            Reported::Present(65535),
            "{n}: the default dma_entry_limit"
        );
        let mig = c
            .records("iommu_cap")
            .find(|r| r.get("name").map(String::as_str) == Some("MIGRATION"))
            .unwrap_or_else(|| panic!("{n}: no MIGRATION cap in meta.txt"));
        assert_eq!(
            info.migration,
            Reported::Present(Migration {
                version: 1,
                flags: get(mig, "flags") as u32,
                pgsize_bitmap: PageSizes(get(mig, "pgsize_bitmap")),
                max_dirty_bitmap_size: get(mig, "max_dirty_bitmap_size"),
            }),
            "{n}"
        );
        assert!(info.unknown_caps.is_empty(), "{n}: {:?}", info.unknown_caps);
        // The two layouts: 6.1 packs (84 + 16 n), 6.6+ pads (88 + 16 n).
        let nr = walk.len();
        assert_eq!(nr, 3, "{n}: MIGRATION, DMA_AVAIL, IOVA_RANGE");
        let per = 16 * ranges(&c, &info).len();
        let want = if c.field("LAB_KERNEL") == "6.1" {
            84
        } else {
            88
        } + per;
        assert_eq!(exact.len(), want, "{n}: the kernel's layout");
    }
}

#[test]
fn buffers_too_small_follow_the_fill_protocol() {
    for c in captures() {
        let n = c.name();
        let exact = c.iommu("info-exact.bin");
        for (file, len) in [
            ("info-argsz16.bin", 16),
            ("info-argsz24.bin", 24),
            ("info-short.bin", exact.argsz as usize - 8),
        ] {
            let buf = c.read(file);
            assert_eq!(buf.len(), len, "{n}: {file}");
            let info = c.iommu(file);
            assert!(info.caps_truncated, "{n}: {file}");
            assert_eq!(
                info.argsz, exact.argsz,
                "{n}: {file}: argsz says the needed size"
            );
            assert_eq!(
                u64::from(info.argsz),
                c.field_kv(file, "argsz_out"),
                "{n}: {file}"
            );
            assert_eq!(info.iova_pgsizes, exact.iova_pgsizes, "{n}: {file}");
            let why = Absence::DidNotFit {
                needed: exact.argsz,
                available: len,
            };
            assert_eq!(info.iova_ranges, Reported::Absent(why), "{n}: {file}");
            if len > 24 {
                assert!(
                    buf[24..].iter().all(|&b| b == FILL),
                    "{n}: {file}: the kernel wrote caps that did not fit"
                );
            }
        }
        let big = c.read("info-4096.bin");
        assert!(
            big[exact.argsz as usize..].iter().all(|&b| b == FILL),
            "{n}: the tail is left alone"
        );
        let info = c.iommu("info-4096.bin");
        assert_eq!(
            info.argsz, 4096,
            "{n}: argsz is not rewritten when the chain fits"
        );
        assert_eq!(
            IommuInfo {
                argsz: exact.argsz,
                ..info
            },
            exact,
            "{n}"
        );
    }
}

#[test]
fn the_holes_are_the_groups_msi_regions() {
    for c in captures() {
        let n = c.name();
        let info = c.iommu("info-exact.bin");
        let group = c.num("group");
        let text = String::from_utf8(c.read(&format!("reserved_regions-group{group}"))).unwrap();
        let regions = parse_reserved_regions(&text).unwrap_or_else(|(line, l, why)| {
            panic!("{n}: reserved_regions line {line} '{l}': {why}")
        });
        let walked: Vec<_> = c
            .records("reserved")
            .map(|r| (get(r, "start"), get(r, "end"), r["type"].clone()))
            .collect();
        assert_eq!(
            regions
                .iter()
                .map(|r| (r.range.start, r.range.end, r.kind.name().to_owned()))
                .collect::<Vec<_>>(),
            walked,
            "{n}: sysfs as the library and the C program read it"
        );
        // On arm64 the one hole is the MSI window the kernel reserves for the device's
        // doorbell (software MSI for SMMUv3, the ITS doorbell for virtio-iommu).
        assert!(
            regions.iter().all(|r| r.kind == RegionKind::Msi),
            "{n}: {regions:?}"
        );
        let aperture = info
            .aperture()
            .unwrap_or_else(|| panic!("{n}: no aperture"));
        let msi: Vec<_> = regions.iter().map(|r| r.range).collect();
        assert_eq!(info.holes(), msi, "{n}: the holes between the ranges");
        assert_eq!(
            info.iova_ranges,
            Reported::Present(iova::subtract(aperture, &msi)),
            "{n}: the ranges are the aperture minus the MSI regions"
        );
    }
}

/// What the kernel did with each MAP_DMA the guest tried, against what the library says
/// of the same span: mappable exactly where `check_span` on the decoded ranges says so.
#[test]
fn the_kernel_enforces_the_decoded_ranges() {
    for c in captures() {
        let n = c.name();
        let info = c.iommu("info-exact.bin");
        let ranges = ranges(&c, &info);
        let maps: Vec<_> = c.records("map").collect();
        let mut ok = 0;
        let mut refused = Vec::new();
        for m in &maps {
            let (iova, size) = (get(m, "iova"), get(m, "size"));
            let why = &m["name"];
            match check_span(&ranges, info.iova_pgsizes, iova, size) {
                Ok(()) => {
                    assert_eq!(
                        m["errno"], "0",
                        "{n}: MAP_DMA {why} [{iova:#x}, +{size:#x}] is in a range: {m:?}"
                    );
                    assert_eq!(m["unmap_errno"], "0", "{n}: {m:?}");
                    assert_eq!(get(m, "unmapped"), size, "{n}: UNMAP_DMA {why}");
                    ok += 1;
                }
                Err(problem) => {
                    assert_eq!(
                        m["errno"], "EINVAL",
                        "{n}: MAP_DMA {why} [{iova:#x}, +{size:#x}]: the library says {problem}, the kernel {}",
                        m["errno"]
                    );
                    refused.push((why.as_str(), problem));
                }
            }
        }
        assert!(
            ok >= 3,
            "{n}: only {ok} mappings inside the ranges: {maps:?}"
        );
        // Every kind of refusal was tried where the ranges have it.
        let has = |name: &str| refused.iter().any(|(w, _)| *w == name);
        assert!(
            !info.holes().is_empty(),
            "{n}: an arm64 container has an MSI hole"
        );
        for want in ["hole_start", "hole_last_page", "across_hole_start"] {
            assert!(has(want), "{n}: no refused MAP_DMA '{want}' in {refused:?}");
        }
        assert!(
            refused
                .iter()
                .any(|(_, p)| matches!(p, SpanProblem::InHole { .. })),
            "{n}: {refused:?}"
        );
        if info.aperture().unwrap().end == u64::MAX {
            assert!(!has("past_aperture"), "{n}");
            c.field("past_aperture");
        } else {
            assert!(
                has("past_aperture") && has("across_aperture_end"),
                "{n}: {refused:?}"
            );
            assert!(
                refused
                    .iter()
                    .any(|(_, p)| matches!(p, SpanProblem::BeyondAperture { .. })),
                "{n}: {refused:?}"
            );
        }
    }
}

/// Without MSI isolation (arm64: a GICv2, which has no ITS) VFIO_SET_IOMMU is EPERM until
/// `allow_unsafe_interrupts` is on; with a GICv3 ITS it succeeds at once. The library's
/// advice for that EPERM must be the architecture's own.
#[test]
fn set_iommu_is_eperm_without_msi_isolation_and_the_advice_fits_the_architecture() {
    let mut eperm = 0;
    for c in captures() {
        let n = c.name();
        let arch = c.arch();
        match (arch.clone(), c.gic_version()) {
            (Arch::Aarch64, Some(2)) => {
                assert_eq!(c.field("allow_unsafe_interrupts_at_start"), "N", "{n}");
                assert_eq!(c.field("set_iommu_errno"), "EPERM", "{n}: GICv2 has no ITS");
                assert_eq!(c.field("allow_unsafe_interrupts_after_write"), "Y", "{n}");
                assert_eq!(
                    c.field("set_iommu_unsafe_errno"),
                    "0",
                    "{n}: allowed once unsafe"
                );
                eperm += 1;
                let hint = arch.unsafe_interrupts_hint("vfio_iommu_type1");
                assert!(hint.contains("allow_unsafe_interrupts=1"), "{n}: {hint}");
                assert!(hint.contains("GICv3 with an ITS"), "{n}: {hint}");
                for x86 in [
                    "intremap",
                    "intel-iommu",
                    "amd-iommu",
                    "interrupt remapping)",
                ] {
                    assert!(
                        !hint.contains(x86),
                        "{n}: x86 advice '{x86}' on arm64: {hint}"
                    );
                }
            }
            (Arch::Aarch64, Some(3)) => {
                assert_eq!(
                    c.field("set_iommu_errno"),
                    "0",
                    "{n}: the GICv3 ITS isolates MSIs"
                );
                assert!(!c.fields.contains_key("set_iommu_unsafe_errno"), "{n}");
            }
            (a, gic) => panic!("{n}: no expectation for {a} with GIC {gic:?}"),
        }
    }
    if std::env::var_os("LAB_FOREIGN_CAPTURE").is_none() {
        assert!(
            eperm >= 1,
            "no committed capture of the EPERM case (linux-6.12-arm64-smmuv3-gic2)"
        );
    }
}

/// The values lab-recipe.md and issue 21 recorded for QEMU 7.2's SMMUv3 and virtio-iommu
/// on arm64 (Debian's 6.1 and 6.12), so a change of QEMU or kernel shows up here.
#[test]
fn arm64_reports_what_was_recorded_for_each_viommu() {
    for c in captures() {
        let n = c.name();
        if c.arch() != Arch::Aarch64 {
            continue;
        }
        let info = c.iommu("info-exact.bin");
        let r = |s, e| IovaRange::new(s, e).unwrap();
        match c.field("LAB_VIOMMU") {
            "smmuv3" => {
                assert_eq!(
                    ranges(&c, &info),
                    vec![r(0, 0x7ff_ffff), r(0x810_0000, (1 << 48) - 1)],
                    "{n}"
                );
                assert_eq!(
                    info.holes(),
                    vec![r(0x800_0000, 0x80f_ffff)],
                    "{n}: software MSI"
                );
                assert_eq!(
                    info.iova_pgsizes,
                    Some(PageSizes(0x4020_1000)),
                    "{n}: 4K 2M 1G"
                );
            }
            "virtio" => {
                assert_eq!(
                    info.holes(),
                    vec![r(0x809_0000, 0x809_ffff)],
                    "{n}: the ITS doorbell"
                );
                assert_eq!(info.aperture(), Some(r(0, u64::MAX)), "{n}");
                assert_eq!(
                    info.iova_pgsizes,
                    Some(PageSizes(0xffff_ffff_ffff_f000)),
                    "{n}: every size from 4K"
                );
            }
            other => panic!("{n}: no recorded values for viommu {other}"),
        }
    }
}

/// The snapshot each guest took (lab/guest/snapshot.c) decodes here as its capture says.
#[cfg(feature = "json")] // Snapshot reading (the lab builds with it)
#[test]
fn the_guests_snapshot_decodes_here_as_the_capture_says() {
    for c in captures() {
        let guest = common::guest_snapshot::Guest {
            arch: c.field("uname_m"),
            byte_order: c.order(),
            page_size: Some(c.num("page_size")),
            bdf: c.field("bdf"),
            group: c.num("group") as u32,
            type1: true,
        };
        let s = common::guest_snapshot::check(&c.dir, &guest);
        assert_eq!(s.kernel_release().as_deref(), Some(c.field("uname_r")));
    }
}
