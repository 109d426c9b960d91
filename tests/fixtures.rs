//! `decode` on buffers captured from real kernels in the lab (`tests/fixtures/`, refreshed
//! by `lab/update-fixtures`). Each capture directory holds the buffers a C program took
//! with different `argsz` values, the group's sysfs `reserved_regions`, and `meta.txt`,
//! in which that program wrote what the kernel returned and walked the chain itself.
//! The decoder must agree with that independent walk, with the kernel's fill protocol,
//! with sysfs, and with the values documented for each virtual IOMMU.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use vfio_iommu_info::iova::{self, IovaRange};
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{decode, Absence, IommuInfo, Migration, PageSizes, Reported};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every capture directory: tests/fixtures/<scenario>/<group-N | groups-N-M>/, all x86
/// (little-endian). The captures of foreign guests are kept flat in
/// tests/fixtures/<scenario>/ (no group-N/ directory) and are never one of these: s390x's
/// (big-endian) has its own tests in tests/s390x.rs, arm64's in tests/foreign.rs; nor are
/// the sPAPR TCE buffers under tests/fixtures/spapr-tce/ (`kind: spapr-tce`,
/// tests/spapr_tce_fixtures.rs).
fn capture_dirs() -> Vec<(String, PathBuf)> {
    let mut dirs = Vec::new();
    for scenario in fs::read_dir(fixtures()).unwrap() {
        let scenario = scenario.unwrap().path();
        if !scenario.is_dir() {
            continue;
        }
        for c in fs::read_dir(&scenario).unwrap() {
            let c = c.unwrap().path();
            let meta = c.join("meta.txt");
            // sPAPR TCE captures (`kind: spapr-tce`) are no type1 buffers:
            // tests/spapr_tce_fixtures.rs checks them.
            let other = fs::read_to_string(&meta).is_ok_and(|m| {
                m.lines()
                    .any(|l| l.trim() == "byte_order: big" || l.trim() == "kind: spapr-tce")
            });
            if meta.exists() && !other {
                let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
                dirs.push((name, c));
            }
        }
    }
    dirs.sort();
    dirs
}

/// What the capture program recorded.
#[derive(Debug, Default)]
struct Meta {
    fields: BTreeMap<String, String>,
    /// (id, version, offset) per capability, in chain order.
    chain: Vec<(u16, u16, usize)>,
    ranges: Vec<IovaRange>,
    avail: Option<u32>,
    migration: Option<(u32, u64, u64)>,
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap()
}

fn kv<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

fn meta(dir: &Path) -> Meta {
    let text = fs::read_to_string(dir.join("meta.txt")).unwrap();
    let mut m = Meta::default();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("cap id=") {
            m.chain.push((
                kv(t, "id").unwrap().parse().unwrap(),
                kv(t, "version").unwrap().parse().unwrap(),
                kv(t, "offset").unwrap().parse().unwrap(),
            ));
            if let Some(a) = kv(t, "avail") {
                m.avail = Some(a.parse().unwrap());
            }
            if t.contains("MIGRATION") {
                m.migration = Some((
                    hex(kv(t, "flags").unwrap()) as u32,
                    hex(kv(t, "pgsize_bitmap").unwrap()),
                    hex(kv(t, "max_dirty_bitmap_size").unwrap()),
                ));
            }
        } else if let Some(pair) = t.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            let (a, b) = pair.split_once(',').unwrap();
            m.ranges.push(IovaRange::new(hex(a), hex(b)).unwrap());
        } else if let Some((k, v)) = t.split_once(": ") {
            m.fields.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
    }
    m
}

/// A capture of iommufd's VFIO compat container (`LAB_COMPAT: 1` in meta.txt): its chain is
/// DMA_AVAIL (U32_MAX) then IOVA_RANGE, without MIGRATION.
fn is_compat(dir: &Path) -> bool {
    meta(dir).fields.get("LAB_COMPAT").map(String::as_str) == Some("1")
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

fn decode_ok(dir: &Path, name: &str) -> IommuInfo {
    decode(&read(dir, name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

#[test]
fn every_lab_scenario_left_captures() {
    let scenarios: std::collections::BTreeSet<_> =
        capture_dirs().into_iter().map(|(s, _)| s).collect();
    for expected in [
        "linux-6.1-intel-aw39",
        "linux-6.1-intel-aw48",
        "linux-6.1-amd",
        "linux-6.12-intel-aw39",
        "linux-6.12-intel-aw48",
        "linux-6.12-amd",
        "linux-6.12-virtio",
        "linux-6.12-intel-aw48-two-groups",
        "linux-6.12-intel-aw48-dma-limit",
        "linux-7.3-intel-aw48",
        "linux-7.3-amd",
        "linux-7.3-virtio",
        "linux-7.3-compat-intel-aw48",
        "linux-7.3-compat-amd",
    ] {
        assert!(
            scenarios.contains(expected),
            "no captures for {expected}: run make lab && lab/update-fixtures"
        );
    }
}

#[test]
fn whole_chains_agree_with_the_capture_programs_own_walk() {
    for (scenario, dir) in capture_dirs() {
        let m = meta(&dir);
        let needed: u32 = m.fields["needed_argsz"].parse().unwrap();
        let buf = read(&dir, "info-exact.bin");
        assert_eq!(buf.len(), needed as usize, "{scenario}");
        let info = decode_ok(&dir, "info-exact.bin");
        assert!(!info.caps_truncated, "{scenario}");
        assert_eq!(info.argsz, needed, "{scenario}");
        assert_eq!(info.flags, 3, "{scenario}: PGSIZES | CAPS");
        assert_eq!(
            info.iova_pgsizes,
            Some(PageSizes(hex(&m.fields["iova_pgsizes"]))),
            "{scenario}"
        );
        let chain: Vec<_> = info
            .chain
            .iter()
            .map(|c| (c.id, c.version, c.offset))
            .collect();
        assert_eq!(chain, m.chain, "{scenario}");
        assert_eq!(
            info.iova_ranges,
            Reported::Present(m.ranges.clone()),
            "{scenario}"
        );
        assert_eq!(info.dma_avail.present().copied(), m.avail, "{scenario}");
        if is_compat(&dir) {
            assert_eq!(m.migration, None, "{scenario}");
            assert_eq!(
                info.migration,
                Reported::Absent(Absence::NotInChain),
                "{scenario}"
            );
            assert!(info.unknown_caps.is_empty(), "{scenario}");
            continue;
        }
        let (flags, pg, max) = m.migration.unwrap();
        assert_eq!(
            info.migration,
            Reported::Present(Migration {
                version: 1,
                flags,
                pgsize_bitmap: PageSizes(pg),
                max_dirty_bitmap_size: max
            }),
            "{scenario}"
        );
        assert!(info.unknown_caps.is_empty(), "{scenario}");
    }
}

#[test]
fn linux_6_1_packs_the_iova_cap_at_68_and_6_12_pads_it_to_72() {
    for (scenario, dir) in capture_dirs() {
        let info = decode_ok(&dir, "info-exact.bin");
        let iova_cap = info.chain.iter().find(|c| c.id == 1).unwrap().offset;
        let ranges = info.iova_ranges.present().unwrap().len();
        let bytes20 = &read(&dir, "info-exact.bin")[20..24];
        if is_compat(&dir) {
            // iommufd's compat container: DMA_AVAIL (12 bytes, padded to 16) at 24, then
            // IOVA_RANGE at 40; the 24-byte fixed part written whole.
            assert_eq!(iova_cap, 40, "{scenario}");
            assert_eq!(info.argsz as usize, 56 + 16 * ranges, "{scenario}");
            assert_eq!(bytes20, &[0; 4], "{scenario}");
        } else if scenario.starts_with("linux-6.1-") {
            assert_eq!(iova_cap, 68, "{scenario}");
            assert_eq!(info.argsz as usize, 84 + 16 * ranges, "{scenario}");
            // 5.4-6.5 write back 20 bytes of the fixed part: the caller's 0xAA stays.
            assert_eq!(bytes20, &[0xAA; 4], "{scenario}");
        } else {
            assert_eq!(iova_cap, 72, "{scenario}");
            assert_eq!(info.argsz as usize, 88 + 16 * ranges, "{scenario}");
            assert_eq!(bytes20, &[0; 4], "{scenario}: the 6.6+ pad field");
        }
    }
}

#[test]
fn a_4096_byte_buffer_keeps_argsz_and_a_garbage_tail_that_is_ignored() {
    for (scenario, dir) in capture_dirs() {
        let exact = decode_ok(&dir, "info-exact.bin");
        let buf = read(&dir, "info-4096.bin");
        assert_eq!(buf.len(), 4096);
        assert!(
            buf[exact.argsz as usize..].iter().all(|&b| b == 0xAA),
            "{scenario}: the kernel left the tail"
        );
        let big = decode_ok(&dir, "info-4096.bin");
        // type1 leaves argsz alone when the chain fits; iommufd's compat container always
        // writes the size it needs.
        let want = if is_compat(&dir) { exact.argsz } else { 4096 };
        assert_eq!(
            big.argsz, want,
            "{scenario}: argsz rewritten only by the compat container"
        );
        assert_eq!(
            IommuInfo {
                argsz: exact.argsz,
                ..big
            },
            exact,
            "{scenario}"
        );
    }
}

#[test]
fn buffers_too_small_for_the_chain_say_how_much_is_needed() {
    for (scenario, dir) in capture_dirs() {
        let exact = decode_ok(&dir, "info-exact.bin");
        for name in ["info-argsz16.bin", "info-argsz24.bin", "info-short.bin"] {
            let buf = read(&dir, name);
            let info = decode_ok(&dir, name);
            assert!(info.caps_truncated, "{scenario}/{name}");
            assert_eq!(
                info.argsz, exact.argsz,
                "{scenario}/{name}: the needed size"
            );
            assert_eq!(info.iova_pgsizes, exact.iova_pgsizes, "{scenario}/{name}");
            let why = Absence::DidNotFit {
                needed: exact.argsz,
                available: buf.len(),
            };
            assert_eq!(info.iova_ranges, Reported::Absent(why), "{scenario}/{name}");
            assert_eq!(info.migration, Reported::Absent(why), "{scenario}/{name}");
            assert_eq!(info.dma_avail, Reported::Absent(why), "{scenario}/{name}");
        }
    }
}

#[test]
fn the_iova_list_is_the_aperture_minus_the_groups_reserved_regions() {
    for (scenario, dir) in capture_dirs() {
        let info = decode_ok(&dir, "info-exact.bin");
        let mut reserved = Vec::new();
        for f in fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("reserved_regions-group")
            {
                let text = fs::read_to_string(&f).unwrap();
                for r in parse_reserved_regions(&text).unwrap() {
                    if r.kind.excluded_from_iova_list() {
                        reserved.push(r.range);
                    }
                }
            }
        }
        assert!(
            !reserved.is_empty(),
            "{scenario}: every x86 group has the MSI window"
        );
        let mut ranges = info.iova_ranges.present().unwrap().clone();
        ranges.sort();
        assert_eq!(
            ranges,
            iova::subtract(info.aperture().unwrap(), &reserved),
            "{scenario}"
        );
        // Every hole is a reserved region (or a part of one).
        for h in info.holes() {
            assert!(
                reserved
                    .iter()
                    .any(|r| r.start <= h.start && h.end <= r.end),
                "{scenario}: hole {h}"
            );
        }
    }
}

#[test]
fn the_librarys_own_live_capture_decodes_like_the_c_programs() {
    let mut seen = 0;
    for scenario in fs::read_dir(fixtures()).unwrap() {
        let scenario = scenario.unwrap().path();
        let lib = scenario.join("library-capture.bin");
        if !lib.exists() {
            continue;
        }
        // tests/lab.rs captures the scenario's first group: its lowest group-N directory.
        let first_group = capture_dirs()
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| {
                d.parent() == Some(&scenario)
                    && d.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("group-")
            })
            .min_by_key(|d| {
                d.file_name().unwrap().to_string_lossy()[6..]
                    .parse::<u32>()
                    .unwrap()
            })
            .unwrap();
        let buf = fs::read(&lib).unwrap();
        assert_eq!(buf.len(), vfio_iommu_info::query::INLINE_INFO_SIZE);
        let ours = decode(&buf).unwrap();
        let exact = decode_ok(&first_group, "info-exact.bin");
        // The compat container writes its needed size into argsz (type1 leaves it).
        let want = if is_compat(&first_group) {
            exact.argsz as usize
        } else {
            buf.len()
        };
        assert_eq!(ours.argsz as usize, want, "{}", lib.display());
        assert_eq!(
            IommuInfo {
                argsz: exact.argsz,
                ..ours
            },
            exact,
            "{}",
            lib.display()
        );
        seen += 1;
    }
    assert!(seen >= 9, "only {seen} library captures");
}

fn r(start: u64, end: u64) -> IovaRange {
    IovaRange::new(start, end).unwrap()
}

/// The values documented for each virtual IOMMU (kernel-protocol.md, section 3): a check
/// that does not depend on the capture program's own walk.
#[test]
fn decoded_values_are_the_documented_ones_for_each_virtual_iommu() {
    let low = r(0, 0xfedf_ffff);
    for (scenario, dir) in capture_dirs() {
        let info = decode_ok(&dir, "info-exact.bin");
        let ranges = info.iova_ranges.present().unwrap().clone();
        let pg = info.iova_pgsizes.unwrap().0;
        let avail = *info.dma_avail.present().unwrap();
        let (want_ranges, want_pg) = match scenario.as_str() {
            s if s.contains("intel-aw39") => {
                (vec![low, r(0xfef0_0000, 0x7f_ffff_ffff)], 0x4020_1000)
            }
            s if s.contains("intel-aw48") => {
                (vec![low, r(0xfef0_0000, 0xffff_ffff_ffff)], 0x4020_1000)
            }
            // Linux 7.x sizes the AMD host table from the ACPI IVHD's EFR, which QEMU leaves
            // 0: 4 levels, 48 bits (tests/lab.rs, amd_48_bit_table).
            s if s.contains("amd") && s.starts_with("linux-7.") => (
                vec![
                    low,
                    r(0xfef0_0000, 0xfc_ffff_ffff),
                    r(0x100_0000_0000, 0xffff_ffff_ffff),
                ],
                0x0000_7f7f_ffff_f000,
            ),
            s if s.contains("amd") => (
                vec![
                    low,
                    r(0xfef0_0000, 0xfc_ffff_ffff),
                    r(0x100_0000_0000, u64::MAX),
                ],
                if s.starts_with("linux-6.1-") {
                    0xffff_ff7f_ffff_f000
                } else {
                    0x000f_ff7f_ffff_f000
                },
            ),
            s if s.contains("virtio") => {
                (vec![low, r(0xfef0_0000, u64::MAX)], 0xffff_ffff_ffff_f000)
            }
            other => panic!("no documented values for {other}"),
        };
        assert_eq!(ranges, want_ranges, "{scenario}");
        assert_eq!(pg, want_pg, "{scenario}");
        assert_eq!(
            avail,
            if is_compat(&dir) {
                u32::MAX
            } else if scenario.ends_with("dma-limit") {
                7
            } else {
                65535
            },
            "{scenario}"
        );
        assert_eq!(
            info.holes()[0],
            r(0xfee0_0000, 0xfeef_ffff),
            "{scenario}: the MSI window"
        );
        if scenario.contains("amd") {
            assert_eq!(
                info.holes()[1],
                r(0xfd_0000_0000, 0xff_ffff_ffff),
                "{scenario}: HyperTransport"
            );
            let bits = if scenario.starts_with("linux-7.") {
                48
            } else {
                64
            };
            assert_eq!(info.aperture().unwrap().size(), 1u128 << bits, "{scenario}");
        }
    }
}
