//! Every sPAPR TCE fixture under `tests/fixtures/spapr-tce/*/` decoded and checked against
//! its directory's `meta.txt`, and every `.bin` there named in it (a capture nobody
//! describes fails, as does a description without its file).
//!
//! `meta.txt`: `key: value` lines; `byte_order: little|big` (default little, ppc64le);
//! `provenance: ...`; one line per file, `FILE: key=value ...`:
//! - `info-*.bin` (a `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer): `argsz`, `flags`,
//!   `dma32_window_start`, `dma32_window_size`, `ddw` (`supported`, `not_returned`,
//!   `unsupported`), and with `supported`: `pgsizes`, `max_windows`, `levels`;
//! - `create-*.bin` (a `struct vfio_iommu_spapr_tce_create` after the call):
//!   `page_shift`, `window_size`, `levels`, `start_addr`.
//!
//! The real captures of the lab's POWER guests (`tests/fixtures/*/` whose `meta.txt`
//! starts `capture: spapr-tce`, written by `lab/guest/capture-spapr.c` in this format)
//! are checked the same way, and the synthesized set (`synthesized-linux-6.12-pseries`)
//! must equal both what the encoder makes from the lab's values (`VFIO_IOMMU_INFO_BLESS=1`
//! rewrites it) and, byte for byte, what those real kernels wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vfio_iommu_info::decode::encode_spapr_tce::SpaprTceState;
use vfio_iommu_info::sys::uapi::spapr_tce_create;
use vfio_iommu_info::{decode_spapr_tce_with_order, ByteOrder, Ddw, Detected};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spapr-tce")
}

const SYNTH: &str = "synthesized-linux-6.12-pseries";

fn num(v: &str) -> u64 {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    }
    .unwrap_or_else(|_| panic!("{v:?} is not a number"))
}

struct Meta {
    order: ByteOrder,
    files: BTreeMap<String, BTreeMap<String, String>>,
}

fn meta(dir: &Path) -> Meta {
    let text = std::fs::read_to_string(dir.join("meta.txt"))
        .unwrap_or_else(|e| panic!("{}: meta.txt: {e}", dir.display()));
    let mut m = Meta {
        order: ByteOrder::Little,
        files: BTreeMap::new(),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, rest) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{}: meta.txt line {line:?}", dir.display()));
        if key == "byte_order" {
            m.order = rest.parse().unwrap();
        } else if key.ends_with(".bin") {
            let kv = rest
                .split_whitespace()
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("{line:?}"));
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            m.files.insert(key.to_owned(), kv);
        }
    }
    m
}

fn check_info(path: &Path, order: ByteOrder, want: &BTreeMap<String, String>) {
    let buf = std::fs::read(path).unwrap();
    let info = decode_spapr_tce_with_order(&buf, order)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut got = BTreeMap::from([
        ("argsz".to_owned(), u64::from(info.argsz)),
        ("flags".to_owned(), u64::from(info.flags)),
        (
            "dma32_window_start".to_owned(),
            u64::from(info.dma32_window_start),
        ),
        (
            "dma32_window_size".to_owned(),
            u64::from(info.dma32_window_size),
        ),
    ]);
    if let Ddw::Supported(d) = info.ddw {
        got.insert("pgsizes".into(), d.page_sizes.bits());
        got.insert("max_windows".into(), u64::from(d.max_dynamic_windows));
        got.insert("levels".into(), u64::from(d.levels));
    }
    for (k, v) in want {
        if k == "ddw" {
            assert_eq!(info.ddw.code(), v, "{}: ddw", path.display());
            continue;
        }
        assert_eq!(got.get(k), Some(&num(v)), "{}: {k}", path.display());
    }
    for k in got.keys() {
        assert!(
            want.contains_key(k),
            "{}: meta.txt lacks {k}",
            path.display()
        );
    }
    // No sPAPR answer is recognisable as such from its bytes alone.
    assert!(
        matches!(
            vfio_iommu_info::detect_iommu_info(&buf, order),
            Detected::Ambiguous { .. }
        ),
        "{}",
        path.display()
    );
}

fn check_create(path: &Path, order: ByteOrder, want: &BTreeMap<String, String>) {
    let buf = std::fs::read(path).unwrap();
    assert!(
        buf.len() >= spapr_tce_create::SIZE,
        "{}: {} bytes, a create structure has {}",
        path.display(),
        buf.len(),
        spapr_tce_create::SIZE
    );
    let u32_at = |o: usize| {
        let b: [u8; 4] = buf[o..o + 4].try_into().unwrap();
        u64::from(match order.resolve() {
            ByteOrder::Big => u32::from_be_bytes(b),
            _ => u32::from_le_bytes(b),
        })
    };
    let u64_at = |o: usize| {
        let b: [u8; 8] = buf[o..o + 8].try_into().unwrap();
        match order.resolve() {
            ByteOrder::Big => u64::from_be_bytes(b),
            _ => u64::from_le_bytes(b),
        }
    };
    let got = BTreeMap::from([
        ("page_shift", u32_at(spapr_tce_create::PAGE_SHIFT)),
        ("window_size", u64_at(spapr_tce_create::WINDOW_SIZE)),
        ("levels", u32_at(spapr_tce_create::LEVELS)),
        ("start_addr", u64_at(spapr_tce_create::START_ADDR)),
    ]);
    for (k, v) in &got {
        let w = want
            .get(*k)
            .unwrap_or_else(|| panic!("{}: meta.txt lacks {k}", path.display()));
        assert_eq!(*v, num(w), "{}: {k}", path.display());
    }
}

/// The lab's real sPAPR TCE captures: `tests/fixtures/<scenario>/` with a `meta.txt`
/// whose first line is `capture: spapr-tce`.
fn real_captures() -> Vec<PathBuf> {
    let fixtures = root().parent().unwrap().to_owned();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| {
            std::fs::read_to_string(d.join("meta.txt"))
                .is_ok_and(|t| t.lines().next() == Some("capture: spapr-tce"))
        })
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 2,
        "{} real sPAPR TCE captures under {} (expected the two 6.12 POWER scenarios'): run \
         lab/run -s linux-6.12-ppc64le-spapr -s linux-6.12-64k-ppc64le-spapr and \
         lab/update-fixtures with those names",
        dirs.len(),
        fixtures.display()
    );
    dirs
}

#[test]
fn every_fixture_decodes_as_its_meta_says() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.extend(real_captures());
    assert!(
        !dirs.is_empty(),
        "no fixture directories under {}",
        root().display()
    );
    let mut files = 0;
    for dir in dirs {
        let m = meta(&dir);
        let mut bins: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".bin"))
            .collect();
        bins.sort();
        let described: Vec<String> = m.files.keys().cloned().collect();
        assert_eq!(bins, described, "{}: files vs meta.txt", dir.display());
        for (name, want) in &m.files {
            let path = dir.join(name);
            if name.starts_with("create-") {
                check_create(&path, m.order, want);
            } else {
                check_info(&path, m.order, want);
            }
            files += 1;
        }
    }
    assert!(files >= 16, "only {files} fixtures");
}

/// The synthesized set: what the encoder makes from the values read in the lab.
fn synthesized() -> Vec<(&'static str, Vec<u8>)> {
    let k = SpaprTceState {
        order: ByteOrder::Little,
        ..SpaprTceState::pseries_6_12()
    };
    let mut v1 = k.clone();
    v1.ddw = None;
    let mut create = vec![0u8; spapr_tce_create::SIZE];
    create[0..4].copy_from_slice(&(spapr_tce_create::SIZE as u32).to_le_bytes());
    create[spapr_tce_create::PAGE_SHIFT..][..4].copy_from_slice(&16u32.to_le_bytes());
    create[spapr_tce_create::WINDOW_SIZE..][..8].copy_from_slice(&(4u64 << 30).to_le_bytes());
    create[spapr_tce_create::LEVELS..][..4].copy_from_slice(&1u32.to_le_bytes());
    create[spapr_tce_create::START_ADDR..][..8].copy_from_slice(&(1u64 << 59).to_le_bytes());
    vec![
        ("info-argsz16.bin", k.encode_into_len(16, 0)),
        // The whole 4096-byte buffer of an argsz-16 call, 0xAA where the kernel wrote nothing.
        (
            "info-argsz16-of-4096.bin",
            k.encode_with_argsz(16, 4096, 0xAA),
        ),
        ("info-exact.bin", k.encode_into_len(32, 0)),
        ("info-4096.bin", k.encode_into_len(4096, 0xAA)),
        ("info-v1.bin", v1.encode_into_len(32, 0)),
        ("create-64K-4G.bin", create),
    ]
}

#[test]
fn the_synthesized_set_is_the_encoders() {
    let dir = root().join(SYNTH);
    let bless = std::env::var("VFIO_IOMMU_INFO_BLESS").as_deref() == Ok("1");
    for (name, bytes) in synthesized() {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: make it with VFIO_IOMMU_INFO_BLESS=1",
                path.display()
            )
        });
        assert_eq!(
            on_disk,
            bytes,
            "{} differs from the encoder's",
            path.display()
        );
    }
}

/// The synthesized buffers agree, byte for byte, with what Linux 6.12 (4 KiB and 64 KiB
/// pages) wrote in the lab: each real buffer is 0xAA-filled past what the kernel wrote,
/// as the synthesized ones with canaries are; the exact and v1 answers are compared over
/// the 32 bytes the kernel writes, the argsz 16 one over the 64 bytes captured.
#[test]
fn the_synthesized_set_agrees_with_the_real_captures() {
    let synth: BTreeMap<&str, Vec<u8>> = synthesized().into_iter().collect();
    for dir in real_captures() {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
        };
        for (real, synthesized, len) in [
            ("info-4096.bin", "info-4096.bin", 4096),
            ("info-argsz16.bin", "info-argsz16-of-4096.bin", 64),
            ("info-exact.bin", "info-exact.bin", 32),
            ("info-v1-exact.bin", "info-v1.bin", 32),
            (
                "create-ddw.bin",
                "create-64K-4G.bin",
                spapr_tce_create::SIZE,
            ),
        ] {
            let got = read(real);
            let want = &synth[synthesized];
            assert!(
                got.len() >= len && want.len() >= len,
                "{}/{real}",
                dir.display()
            );
            assert_eq!(
                got[..len],
                want[..len],
                "{}/{real} differs from the synthesized {synthesized} in its first {len} bytes",
                dir.display()
            );
        }
    }
}
