//! POWER for real: what Debian's ppc64le kernels (QEMU's pseries machine, the sPAPR TCE
//! IOMMU) answered and enforced in the lab, decoded on this host by the library.
//!
//! The captures come from `lab/guest/capture-spapr.c`, run by the lab's POWER scenarios
//! (`lab/arch/ppc64le`, `lab/run -s linux-6.12-ppc64le-spapr`). `LAB_SPAPR_CAPTURE` names
//! the directory of one fresh capture: lab/foreign.sh sets it and runs the module that fits
//! the scenario (lab/arch/ppc64le's `host_test_filter`: `bound::` where vfio-pci binds,
//! `probe_failure::` on Linux 6.1, whose probe fails), each test a row of the lab's table.
//! Without it, every committed capture under `tests/fixtures/` (refreshed by
//! `lab/update-fixtures`): those whose `meta.txt` starts `capture: spapr-tce` for `bound::`,
//! those with an `outcome.txt` saying `outcome: probe-fails` for `probe_failure::`.
//!
//! `meta.txt` holds what the C program decoded itself, by offset (`key: value`), and every
//! enforcement call's outcome (`ok` or the errno's name). The library's decoder
//! (`decode_spapr_tce_with_order`) and its facts (`DmaFacts::from_spapr_tce`) are held
//! against both: the same fields, and every MAP_DMA the facts call usable succeeded, every
//! other failed (ENXIO outside every window; an IOVA off the 4K TCE page is refused with
//! the ioctl *returning 1*, Linux 6.12's iommu_tce_put_param_check() being a boolean macro).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::capture_meta::{self, Meta};
use vfio_iommu_info::facts::{Backend, DmaFacts, Source};
use vfio_iommu_info::{
    check_span, decode_spapr_tce_with_order, ByteOrder, Ddw, IovaRange, PageSizes, SpanProblem,
    SpaprTceInfo,
};

const FILL: u8 = 0xAA;
/// offsetofend(struct vfio_iommu_spapr_tce_info, dma32_window_size) and sizeof(it).
const FIXED: usize = 16;
const WITH_DDW: usize = 32;

/// One capture directory: meta.txt (capture-spapr) or outcome.txt (init-foreign, when the
/// probe failed as expected), as `key: value` lines.
struct Capture {
    dir: PathBuf,
    kv: BTreeMap<String, String>,
}

impl Capture {
    fn load(dir: &Path) -> Capture {
        let mut meta = Meta::parse(dir.display().to_string(), "");
        for name in ["outcome.txt", "meta.txt"] {
            if let Ok(text) = fs::read_to_string(dir.join(name)) {
                meta.add(&text);
            }
        }
        Capture {
            dir: dir.to_owned(),
            kv: meta.fields,
        }
    }

    fn is_capture(&self) -> bool {
        self.kv.get("capture").map(String::as_str) == Some("spapr-tce")
    }

    fn is_probe_failure(&self) -> bool {
        self.kv
            .get("outcome")
            .is_some_and(|o| o.starts_with("probe-fails "))
    }

    fn name(&self) -> String {
        match self.kv.get("LAB_SCENARIO") {
            Some(s) if !s.is_empty() => s.clone(),
            _ => self.dir.display().to_string(),
        }
    }

    fn get(&self, key: &str) -> &str {
        self.kv.get(key).unwrap_or_else(|| {
            panic!(
                "{}: neither meta.txt nor outcome.txt has '{key}: ' (capture-spapr stopped early? the lab's capture row shows its output)",
                self.dir.display()
            )
        })
    }

    fn num(&self, key: &str) -> u64 {
        let s = self.get(key).trim();
        match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16),
            None => s.parse(),
        }
        .unwrap_or_else(|e| panic!("{}: {key}: {s} is not a number: {e}", self.name()))
    }

    fn read(&self, file: &str) -> Vec<u8> {
        capture_meta::read(&self.dir, file, "capture-spapr")
    }

    /// The outcome of an enforcement call: "ok" or the errno's name.
    fn outcome(&self, call: &str) -> &str {
        self.get(call)
    }

    /// The library's decoding of one of the capture's buffers (little-endian: ppc64le).
    fn decode(&self, file: &str) -> SpaprTceInfo {
        decode_spapr_tce_with_order(&self.read(file), ByteOrder::Little)
            .unwrap_or_else(|e| panic!("{}/{file}: the library refused it: {e}", self.name()))
    }
}

/// The captures of one kind: the lab's fresh one (which must be of that kind), or every
/// committed one.
fn captures(kind: fn(&Capture) -> bool, what: &str, at_least: usize) -> Vec<Capture> {
    if let Some(dir) = capture_meta::env_dir("LAB_SPAPR_CAPTURE") {
        let c = Capture::load(&dir);
        assert!(
            kind(&c),
            "LAB_SPAPR_CAPTURE={} is no {what} (meta.txt 'capture: spapr-tce' or outcome.txt \
             'outcome: probe-fails ERRNO'): lab/arch/ppc64le's host_test_filter and outcome \
             disagree with what the guest did",
            dir.display()
        );
        if let Ok(s) = std::env::var("LAB_SCENARIO") {
            assert_eq!(c.get("LAB_SCENARIO"), s, "{}", c.dir.display());
        }
        return vec![c];
    }
    let dirs = capture_meta::fixture_dirs(Path::is_dir);
    let picked: Vec<Capture> = dirs.iter().map(|d| Capture::load(d)).filter(kind).collect();
    assert!(
        picked.len() >= at_least,
        "{} {what}(s) under {}, expected at least {at_least}: run lab/run -s \
         linux-6.12-ppc64le-spapr -s linux-6.12-64k-ppc64le-spapr -s linux-6.1-ppc64le-spapr \
         and lab/update-fixtures with those names",
        picked.len(),
        capture_meta::fixtures_root().display()
    );
    picked
}

fn le32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().unwrap())
}

/// powerpc's _IO(';', nr): its _IOC_NONE is 1 (in bits 29-31), unlike x86's 0.
fn powerpc_io(nr: u32) -> u64 {
    (1 << 29) | (u64::from(b';') << 8) | u64::from(nr)
}

/// The GET_INFO buffers capture-spapr took: (file, meta.txt prefix, argsz passed, bytes kept).
const BUFFERS: [(&str, &str, usize, usize); 4] = [
    ("info-argsz16.bin", "info_argsz16", 16, 64),
    ("info-argsz24.bin", "info_argsz24", 24, 64),
    ("info-exact.bin", "info_exact", 32, 64),
    ("info-4096.bin", "info_4096", 4096, 4096),
];

/// MAP_DMA calls into and around the default window (capture-spapr's map_default_*), each
/// with a vaddr aligned to the page: their outcome depends on the IOVA span alone.
/// (None runs across the window's end: Linux 6.12 oopses on that, see lab/README.md.)
const DEFAULT_WINDOW_MAPS: [&str; 6] = [
    "map_default_first",
    "map_default_in",
    "map_default_last",
    "map_default_end",
    "map_default_beyond",
    "map_default_half_page",
];

mod bound {
    use super::*;

    fn bound() -> Vec<Capture> {
        // Both 6.12 flavours (4 KiB and 64 KiB pages) when reading the fixtures.
        captures(Capture::is_capture, "sPAPR TCE capture", 2)
    }

    #[test]
    fn the_capture_is_a_little_endian_ppc64le_pseries_guest() {
        for c in bound() {
            let n = c.name();
            assert_eq!(
                c.get("kind"),
                "spapr-tce",
                "{n}: the type1 readers skip by it"
            );
            assert_eq!(c.get("uname_m"), "ppc64le", "{n}");
            assert_eq!(c.get("byte_order"), "little", "{n}");
            let release = c.get("uname_r");
            assert!(release.starts_with("6.12."), "{n}: {release}");
            // Debian's -64k flavour runs with 64 KiB pages, the other with 4 KiB.
            let page = if release.ends_with("-64k") {
                65536
            } else {
                4096
            };
            assert_eq!(c.num("page_size"), page, "{n}: {release}");
            assert_eq!(c.get("driver"), "vfio-pci", "{n}");
            assert_eq!(c.num("group_flags") & 1, 1, "{n}: group not viable");
            // sysfs: an sPAPR group has no reserved regions and no default domain type.
            let g = c.num("group");
            assert_eq!(c.read(&format!("reserved_regions-group{g}")), b"", "{n}");
            assert_eq!(
                c.read(&format!("iommu_group_type-group{g}")),
                b"unknown\n",
                "{n}"
            );
            // The C program used powerpc's ioctl encoding (a direction bit in _IO), which
            // is the library's for powerpc64 too.
            assert_eq!(c.num("ioctl_get_info"), powerpc_io(100 + 12), "{n}");
            assert_eq!(c.num("ioctl_map_dma"), powerpc_io(100 + 13), "{n}");
            assert_eq!(c.num("ioctl_group_get_status"), powerpc_io(100 + 3), "{n}");
            let ppc = vfio_iommu_info::ioc::IocEncoding::ThreeBitDir;
            assert_eq!(
                c.num("ioctl_get_info"),
                u64::from(ppc.io(b';', 100 + 12)),
                "{n}"
            );
            assert_eq!(
                c.num("ioctl_map_dma"),
                u64::from(ppc.io(b';', 100 + 13)),
                "{n}"
            );
            assert_eq!(c.get("complete"), "1", "{n}: capture-spapr did not finish");
        }
    }

    #[test]
    fn the_container_offers_spapr_tce_and_no_type1() {
        for c in bound() {
            let n = c.name();
            assert_eq!(
                c.num("ext_spapr_tce_v2"),
                1,
                "{n}: VFIO_SPAPR_TCE_v2_IOMMU (7)"
            );
            assert_eq!(
                c.num("ext_spapr_tce_v1"),
                1,
                "{n}: VFIO_SPAPR_TCE_IOMMU (2)"
            );
            assert_eq!(c.num("ext_type1"), 0, "{n}: VFIO_TYPE1_IOMMU (1)");
            assert_eq!(c.num("ext_type1v2"), 0, "{n}: VFIO_TYPE1v2_IOMMU (3)");
            assert_eq!(c.outcome("info_before_set_iommu"), "EINVAL", "{n}");
        }
    }

    /// The raw bytes, argsz by argsz, as vfio_iommu_spapr_tce.c writes them: never argsz,
    /// 16 bytes from argsz 16 with the DDW flag already set, the ddw block from argsz 32.
    #[test]
    fn get_info_writes_16_bytes_then_ddw_only_from_argsz_32() {
        for c in bound() {
            let n = c.name();
            assert_eq!(c.outcome("info_argsz8_ret"), "EINVAL", "{n}");
            assert_eq!(c.outcome("info_argsz12_ret"), "EINVAL", "{n}");
            for (file, key, argsz, keep) in BUFFERS {
                let buf = c.read(file);
                assert_eq!(
                    buf.len(),
                    keep,
                    "{n}/{file}: capture-spapr keeps {keep} bytes"
                );
                assert_eq!(c.outcome(&format!("{key}_ret")), "ok", "{n}/{file}");
                assert_eq!(le32(&buf, 0) as usize, argsz, "{n}/{file}: argsz rewritten");
                assert_eq!(le32(&buf, 4), 1, "{n}/{file}: flags (DDW at every argsz)");
                let written = if argsz >= WITH_DDW { WITH_DDW } else { FIXED };
                if written > FIXED {
                    assert!(
                        buf[FIXED..written].iter().any(|&b| b != FILL),
                        "{n}/{file}: bytes {FIXED}..{written} should hold the ddw block"
                    );
                }
                if let Some(i) = buf[written..].iter().position(|&b| b != FILL) {
                    panic!(
                        "{n}/{file}: byte {} is {:#04x}: the kernel wrote past {written} bytes with argsz {argsz}",
                        written + i,
                        buf[written + i]
                    );
                }
                assert_eq!(
                    c.num(&format!("{key}_untouched_from")) as usize,
                    written,
                    "{n}/{file}"
                );
            }
        }
    }

    /// The library's decoding of every buffer equals the C program's own, and the ddw
    /// block is reported exactly when the kernel wrote it: at argsz 16 and 24 the flag is
    /// set and the block is the caller's bytes, which the core calls `Ddw::NotReturned`.
    #[test]
    fn the_librarys_decoding_matches_the_guests() {
        for c in bound() {
            let n = c.name();
            for (file, key, argsz, _) in BUFFERS {
                let info = c.decode(file);
                assert_eq!(info.argsz as usize, argsz, "{n}/{file}");
                assert_eq!(
                    u64::from(info.flags),
                    c.num(&format!("{key}_flags")),
                    "{n}/{file}"
                );
                assert_eq!(
                    u64::from(info.dma32_window_start),
                    c.num(&format!("{key}_dma32_start")),
                    "{n}/{file}: dma32 start"
                );
                assert_eq!(
                    u64::from(info.dma32_window_size),
                    c.num(&format!("{key}_dma32_size")),
                    "{n}/{file}: dma32 size"
                );
                if argsz >= WITH_DDW {
                    let d = *info
                        .ddw
                        .info()
                        .unwrap_or_else(|| panic!("{n}/{file}: ddw {:?}", info.ddw));
                    assert_eq!(
                        (
                            d.page_sizes.bits(),
                            u64::from(d.max_dynamic_windows),
                            u64::from(d.levels)
                        ),
                        (
                            c.num(&format!("{key}_ddw_pgsizes")),
                            c.num(&format!("{key}_ddw_max_windows")),
                            c.num(&format!("{key}_ddw_levels"))
                        ),
                        "{n}/{file}: ddw"
                    );
                } else {
                    assert_eq!(
                        info.ddw,
                        Ddw::NotReturned {
                            argsz: argsz as u32
                        },
                        "{n}/{file}: argsz {argsz} < 32: the flag is set, the ddw bytes are the caller's"
                    );
                }
            }
            // What QEMU's pseries PHB offers: the 32-bit window [0, 1 GiB), DDW with 4K,
            // 64K, 2M and 16M pages, two windows, one level.
            let info = c.decode("info-exact.bin");
            assert_eq!(
                info.default_window(),
                IovaRange::new(0, (1 << 30) - 1),
                "{n}"
            );
            let d = info.ddw.info().copied().unwrap();
            assert_eq!(
                (d.page_sizes, d.max_dynamic_windows, d.levels),
                (PageSizes(1 << 12 | 1 << 16 | 1 << 21 | 1 << 24), 2, 1),
                "{n}"
            );
            // Cut short, the real answer is refused, never a panic or a guess.
            let exact = c.read("info-exact.bin");
            for len in [0, 4, 15, 16, 20, 31] {
                assert!(
                    decode_spapr_tce_with_order(&exact[..len], ByteOrder::Little).is_err(),
                    "{n}: argsz 32 in {len} bytes"
                );
            }
        }
    }

    /// A v1 container (VFIO_SPAPR_TCE_IOMMU) has no DDW: flags 0, the ddw block written as
    /// zeroes (argsz 32), which the library calls `Ddw::Unsupported`.
    #[test]
    fn a_v1_container_reports_no_ddw() {
        for c in bound() {
            let n = c.name();
            let buf = c.read("info-v1-exact.bin");
            assert_eq!(le32(&buf, 0), 32, "{n}");
            assert_eq!(le32(&buf, 4), 0, "{n}: flags");
            assert!(
                buf[FIXED..WITH_DDW].iter().all(|&b| b == 0),
                "{n}: {:02x?}",
                &buf[..WITH_DDW]
            );
            assert!(buf[WITH_DDW..].iter().all(|&b| b == FILL), "{n}");
            let info = c.decode("info-v1-exact.bin");
            assert_eq!(info.ddw, Ddw::Unsupported, "{n}");
            assert_eq!(
                (
                    u64::from(info.dma32_window_start),
                    u64::from(info.dma32_window_size)
                ),
                (
                    c.num("info_v1_exact_dma32_start"),
                    c.num("info_v1_exact_dma32_size")
                ),
                "{n}"
            );
            let facts = DmaFacts::from_spapr_tce(&info);
            assert!(facts.dynamic_windows.is_none(), "{n}");
        }
    }

    /// The library's facts, held against what the kernel enforced: each MAP_DMA that the
    /// facts' usable range and page size allow succeeded, each other failed (ENXIO outside
    /// every window: no TCE table covers the IOVA; an IOVA off the 4K TCE: return value 1).
    #[test]
    fn map_dma_succeeds_exactly_where_the_facts_say() {
        for c in bound() {
            let n = c.name();
            let info = c.decode("info-exact.bin");
            let facts = DmaFacts::from_spapr_tce(&info);
            assert_eq!(facts.backend, Backend::SpaprTce, "{n}");
            let ranges = facts
                .iova_ranges
                .as_ref()
                .unwrap_or_else(|| panic!("{n}: no ranges"));
            assert_eq!(ranges.source, Source::SpaprDefaultWindow, "{n}");
            // The aperture is the default window.
            assert_eq!(Some(ranges.value[0]), info.default_window(), "{n}");
            assert_eq!(ranges.value.len(), 1, "{n}");
            let pages = facts
                .page_sizes
                .as_ref()
                .unwrap_or_else(|| panic!("{n}: no page size"));
            assert_eq!(
                pages.value,
                PageSizes(4096),
                "{n}: the default window's TCEs"
            );
            assert_eq!(c.outcome("register_memory"), "ok", "{n}: REGISTER_MEMORY");
            assert_eq!(
                c.outcome("register_memory_again"),
                "EBUSY",
                "{n}: the same memory twice"
            );
            let (mut inside, mut outside) = (0, 0);
            for call in DEFAULT_WINDOW_MAPS {
                let iova = c.num(&format!("{call}_iova"));
                let len = c.num(&format!("{call}_size"));
                let got = c.outcome(call);
                match check_span(&ranges.value, Some(pages.value), iova, len) {
                    Ok(()) => {
                        inside += 1;
                        assert_eq!(got, "ok", "{n}: {call} [{iova:#x}, +{len:#x}) is usable by the facts; the kernel said {got}");
                        assert_eq!(c.outcome(&format!("un{call}")), "ok", "{n}: un{call}");
                    }
                    Err(p @ SpanProblem::BeyondAperture { .. }) => {
                        outside += 1;
                        assert_eq!(got, "ENXIO", "{n}: {call} [{iova:#x}, +{len:#x}): {p}; the kernel said {got}");
                    }
                    Err(p @ SpanProblem::Misaligned { .. }) => {
                        outside += 1;
                        // Refused, but not with an errno: 6.12 returns the 1 of the macro
                        // iommu_tce_put_param_check() (`a || b`), which libc passes on as
                        // a non-negative ioctl result. Nothing was mapped: the page the
                        // IOVA falls in maps right after.
                        assert_eq!(got, "returned 1", "{n}: {call} [{iova:#x}, +{len:#x}): {p}; the kernel said {got}");
                        assert_eq!(c.outcome("map_default_after_half_page"), "ok", "{n}: the page under {iova:#x} was mapped after all");
                    }
                    Err(p) => panic!("{n}: {call} [{iova:#x}, +{len:#x}): {p}: capture-spapr asked nothing of that kind"),
                }
            }
            assert!(
                inside >= 3 && outside >= 3,
                "{n}: {inside} usable spans, {outside} others"
            );
            // The window's edges were probed: its first and last page, and its end.
            let w = info.default_window().unwrap();
            assert_eq!(c.num("map_default_first_iova"), w.start, "{n}");
            assert_eq!(
                c.num("map_default_last_iova") + c.num("map_default_last_size"),
                w.end + 1,
                "{n}"
            );
            assert_eq!(c.num("map_default_end_iova"), w.end + 1, "{n}");
            // A vaddr off the page: EINVAL whatever the IOVA.
            assert_eq!(c.outcome("map_default_unaligned_vaddr"), "EINVAL", "{n}");
        }
    }

    /// A dynamic window, held against the facts' `dynamic_windows` (page sizes, how many):
    /// created at 2^59 (QEMU's pseries; the core's DDW_EXPECTED_START), a second one beyond
    /// max_dynamic_windows refused, a page shift not in the page sizes refused, MAP_DMA
    /// confined to it, REMOVE once.
    #[test]
    fn a_dynamic_window_is_created_enforced_and_removed() {
        for c in bound() {
            let n = c.name();
            let facts = DmaFacts::from_spapr_tce(&c.decode("info-exact.bin"));
            let ddw = facts
                .dynamic_windows
                .as_ref()
                .unwrap_or_else(|| panic!("{n}: no DDW"));
            assert_eq!(ddw.source, Source::SpaprDdw, "{n}");
            let ddw = ddw.value;
            assert_eq!(
                c.outcome("ddw_create"),
                "ok",
                "{n}: VFIO_IOMMU_SPAPR_TCE_CREATE"
            );
            let shift = c.num("ddw_create_page_shift");
            assert!(
                ddw.page_sizes.supports(1 << shift),
                "{n}: page shift {shift} not in {}",
                ddw.page_sizes
            );
            let start = c.num("ddw_create_start");
            let size = c.num("ddw_create_window_size");
            assert_eq!(
                start,
                vfio_iommu_info::decode::spapr_tce::DDW_EXPECTED_START,
                "{n}"
            );
            assert_eq!(
                start,
                1 << 59,
                "{n}: QEMU's pseries puts the 64-bit window at 2^59"
            );
            // The default window and this one are max_dynamic_windows (2): no third.
            assert_eq!(ddw.max_dynamic_windows, 2, "{n}");
            assert_eq!(
                c.outcome("ddw_create_second"),
                "ENOSPC",
                "{n}: a third window"
            );
            let bad = c.num("ddw_create_bad_shift_page_shift");
            assert!(!ddw.page_sizes.supports(1 << bad), "{n}");
            assert_eq!(
                c.outcome("ddw_create_bad_shift"),
                "EINVAL",
                "{n}: page shift {bad}"
            );
            // A 64K IOMMU page needs memory pinned in pages at least that large: normal
            // pages of a 4 KiB kernel are refused (EINVAL), hugetlbfs pages map.
            let small = if c.num("page_size") >= 1 << shift {
                "ok"
            } else {
                "EINVAL"
            };
            assert_eq!(
                c.outcome("ddw_map_small_pages"),
                small,
                "{n}: page_size {}",
                c.num("page_size")
            );
            assert!(c.num("nr_hugepages") >= 1, "{n}: no huge pages reserved");
            assert_eq!(
                c.outcome("ddw_map_huge"),
                "ok",
                "{n}: hugetlbfs memory, first page"
            );
            assert_eq!(c.num("ddw_map_huge_iova"), start, "{n}");
            assert_eq!(
                c.outcome("ddw_map_last"),
                "ok",
                "{n}: the window's last page"
            );
            assert_eq!(
                c.num("ddw_map_last_iova") + c.num("ddw_map_last_size"),
                start + size,
                "{n}"
            );
            assert_eq!(c.num("ddw_map_end_iova"), start + size, "{n}");
            assert_eq!(
                c.outcome("ddw_map_end"),
                "ENXIO",
                "{n}: just past the window"
            );
            assert!(c.num("ddw_map_below_iova") < start, "{n}");
            assert_eq!(
                c.outcome("ddw_map_below"),
                "ENXIO",
                "{n}: just below the window"
            );
            assert_eq!(
                c.outcome("ddw_remove"),
                "ok",
                "{n}: VFIO_IOMMU_SPAPR_TCE_REMOVE"
            );
            assert_eq!(
                c.outcome("ddw_remove_again"),
                "EINVAL",
                "{n}: the same window twice"
            );
        }
    }

    /// The snapshot each guest took (lab/guest/snapshot.c) decodes here: the group, its
    /// sPAPR TCE container, its device and regions, in 4 KiB and 64 KiB pages.
    #[cfg(feature = "json")] // Snapshot reading (the lab builds with it)
    #[test]
    fn the_guests_snapshot_decodes_here_as_the_capture_says() {
        for c in bound() {
            let guest = common::guest_snapshot::Guest {
                arch: c.get("uname_m"),
                byte_order: ByteOrder::Little,
                page_size: Some(c.num("page_size")),
                bdf: c.get("bdf"),
                group: c.num("group") as u32,
                type1: false,
            };
            let s = common::guest_snapshot::check(&c.dir, &guest);
            assert_eq!(s.kernel_release().as_deref(), Some(c.get("uname_r")));
        }
    }
}

mod probe_failure {
    use super::*;

    /// Debian's 6.1 on pseries: vfio-pci's probe of the edu device fails with -22
    /// (EINVAL), so there is no VFIO group to ask. The expected outcome (lab/arch/ppc64le's
    /// outcome.6.1), checked in the kernel's own words.
    #[test]
    fn vfio_pci_fails_to_probe_as_expected() {
        for c in captures(Capture::is_probe_failure, "expected probe failure", 1) {
            let n = c.name();
            let errno = c
                .get("outcome")
                .trim_start_matches("probe-fails ")
                .to_owned();
            assert_eq!(errno, "-22", "{n}: the outcome lab/arch/ppc64le expects");
            assert!(
                c.get("uname_r").starts_with("6.1."),
                "{n}: {}",
                c.get("uname_r")
            );
            assert_eq!(c.get("uname_m"), "ppc64le", "{n}");
            assert_ne!(c.get("driver"), "vfio-pci", "{n}: bound after all");
            assert_eq!(c.get("device"), "0x1234:0x11e8", "{n}: QEMU's edu");
            let bdf = c.get("bdf");
            let msg = c.get("probe_message");
            assert_eq!(
                msg,
                format!("vfio-pci: probe of {bdf} failed with error {errno}"),
                "{n}"
            );
            let dmesg = String::from_utf8(c.read("dmesg.txt")).expect("dmesg.txt is UTF-8");
            assert!(
                dmesg.contains("Linux version 6.1."),
                "{n}: dmesg.txt is not from Linux 6.1"
            );
            assert!(dmesg.contains(msg), "{n}: dmesg.txt lacks '{msg}'");
            assert!(
                !c.dir.join("meta.txt").exists(),
                "{n}: capture-spapr ran although nothing was bound"
            );
        }
    }
}
