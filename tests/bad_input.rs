//! The bad-input matrix of the Rust core: a corpus of malformed (and a few surprising but
//! valid) VFIO info buffers in `tests/bad-input/`, shared with the C, CLI and Python tests
//! through `tests/bad-input/MANIFEST.tsv`, and the host entry points fed bad arguments.
//!
//! The corpus is generated here, deterministically, from real kernel captures in
//! `tests/fixtures/`. After changing a case, regenerate it with
//! `VFIO_IOMMU_INFO_BLESS=1 cargo test --test bad_input`; without that variable the test
//! fails when a committed file differs from what it would generate.
//!
//! `MANIFEST.tsv` columns (TAB-separated, `#` lines are comments):
//! `file kind order expect offset text`: the `.bin` file, its decoder (`iommu`, `device`,
//! `region`), its byte order (`little`, `big`), `error` or `ok`, the `DecodeError` byte
//! offset (decimal; `-` for ok) and a substring of the error's message (for ok, a note).
//!
//! Host-side bad inputs already covered elsewhere (not repeated here):
//! - tests/query.rs: `query_type1` on /dev/null (ENOTTY), on a regular file, on a fd that
//!   answers as a non-type1 device; `Group::open` on a missing node (ENOENT) and a regular
//!   file, `open_and_query` of a group that is not viable.
//! - tests/sysfs.rs: `parse_reserved_regions` on most malformed lines, a PCI device without
//!   an IOMMU group, a missing device directory, malformed PCI addresses.
//! - tests/decode.rs: the malformed-buffer cases below, built from `encode`, with proptests
//!   that no input panics.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use vfio_iommu_info::cdev::IommufdDevice;
use vfio_iommu_info::device_info::decode_device_info;
use vfio_iommu_info::iommufd::Iommufd;
use vfio_iommu_info::open::open_target_group;
use vfio_iommu_info::region_info::decode_region_info;
use vfio_iommu_info::sysfs::parse_reserved_regions;
use vfio_iommu_info::{
    decode_with_order, open_and_query, query_type1, ByteOrder, Container, DecodeError, Errno,
    Error, Group, HostPaths, InfoView, PciAddress, Sysfs, Target,
};

// ---- the corpus ----

/// What a case's decoder must say.
#[derive(Debug, Clone)]
enum Expect {
    /// Success; the note says what is special.
    Ok(&'static str),
    /// A `DecodeError` at `offset`, of the `DecodeErrorKind` variant `variant`, whose
    /// message contains `text`.
    Error {
        offset: usize,
        variant: &'static str,
        text: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Iommu,
    Device,
    Region,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Iommu => "iommu",
            Kind::Device => "device",
            Kind::Region => "region",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "iommu" => Kind::Iommu,
            "device" => Kind::Device,
            "region" => Kind::Region,
            other => panic!("unknown kind {other:?}"),
        }
    }
}

struct Case {
    file: &'static str,
    kind: Kind,
    order: ByteOrder,
    bytes: Vec<u8>,
    expect: Expect,
}

fn order_name(order: ByteOrder) -> &'static str {
    match order {
        ByteOrder::Big => "big",
        _ => "little",
    }
}

fn fixture(path: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input")
}

/// Writes `v` at `at` in the byte order `order`.
fn put16(buf: &mut [u8], at: usize, v: u16, order: ByteOrder) {
    let b = match order {
        ByteOrder::Big => v.to_be_bytes(),
        _ => v.to_le_bytes(),
    };
    buf[at..at + 2].copy_from_slice(&b);
}

fn put32(buf: &mut [u8], at: usize, v: u32, order: ByteOrder) {
    let b = match order {
        ByteOrder::Big => v.to_be_bytes(),
        _ => v.to_le_bytes(),
    };
    buf[at..at + 4].copy_from_slice(&b);
}

fn put64(buf: &mut [u8], at: usize, v: u64, order: ByteOrder) {
    let b = match order {
        ByteOrder::Big => v.to_be_bytes(),
        _ => v.to_le_bytes(),
    };
    buf[at..at + 8].copy_from_slice(&b);
}

/// `buf` with a byte inserted before its chain (which starts at `chain_at`): every
/// capability lands at an odd offset. `cap_field` is the structure's `cap_offset` field,
/// `nexts` the offsets (in `buf`) of the capability headers whose `next` to shift.
fn shift_chain(
    buf: &[u8],
    chain_at: usize,
    cap_field: usize,
    nexts: &[usize],
    order: ByteOrder,
) -> Vec<u8> {
    let mut out = buf[..chain_at].to_vec();
    out.push(0);
    out.extend_from_slice(&buf[chain_at..]);
    let len = out.len() as u32;
    put32(&mut out, 0, len, order); // argsz
    put32(&mut out, cap_field, chain_at as u32 + 1, order);
    for &cap in nexts {
        let at = cap + 1 + 4;
        let next = match order {
            ByteOrder::Big => u32::from_be_bytes(out[at..at + 4].try_into().unwrap()),
            _ => u32::from_le_bytes(out[at..at + 4].try_into().unwrap()),
        };
        if next != 0 {
            put32(&mut out, at, next + 1, order);
        }
    }
    out
}

fn err(offset: usize, variant: &'static str, text: &'static str) -> Expect {
    Expect::Error {
        offset,
        variant,
        text,
    }
}

/// Type1 IOMMU info (Linux 6.12, amd-iommu, little-endian, 136 bytes): MIGRATION at 24
/// (next 56), DMA_AVAIL at 56 (next 72), IOVA_RANGE at 72 with nr_iovas 3 at 80, its
/// ranges at 88..136.
fn iommu_cases() -> Vec<Case> {
    let le = ByteOrder::Little;
    let base = fixture("linux-6.12-amd/group-2/info-exact.bin");
    assert_eq!(base.len(), 136);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let case = |file, bytes, expect| Case {
        file,
        kind: Kind::Iommu,
        order: le,
        bytes,
        expect,
    };
    // The s390x capture (big-endian, 104 bytes): the same chain with one range at 88.
    let be = ByteOrder::Big;
    let s390 = fixture("linux-6.12-s390x-zpci/info-exact.bin");
    assert_eq!(s390.len(), 104);
    let mut s390_overflow = s390.clone();
    put32(&mut s390_overflow, 80, 0x1000_0001, be);
    vec![
        case("iommu-valid.bin", base.clone(), Expect::Ok("the real capture, unchanged")),
        case(
            "iommu-empty.bin",
            Vec::new(),
            err(0, "TooShort", "the buffer is 0 bytes, shorter than the 16-byte fixed part"),
        ),
        case(
            "iommu-short-fixed.bin",
            base[..15].to_vec(),
            err(15, "TooShort", "the buffer is 15 bytes, shorter than the 16-byte fixed part"),
        ),
        case(
            "iommu-argsz-small.bin",
            edit(&|b| put32(b, 0, 8, le)),
            Expect::Ok("argsz 8 is below the fixed part but the buffer's length governs; only argsz > length means truncation"),
        ),
        case(
            "iommu-trunc-cap-header.bin",
            base[..60].to_vec(),
            err(28, "CapHeaderOutside", "capability header at offset 56 (8 bytes) lies outside the 60-byte buffer"),
        ),
        case(
            "iommu-trunc-cap-body.bin",
            base[..40].to_vec(),
            err(24, "CapTooShort", "MIGRATION capability (id 2) needs 32 bytes but only 16 remain"),
        ),
        case(
            "iommu-trunc-ranges.bin",
            base[..110].to_vec(),
            err(80, "RangeCountTooLarge", "nr_iovas = 3, which needs 64 bytes, but only 38 remain"),
        ),
        case(
            "iommu-self-loop.bin",
            edit(&|b| put32(b, 28, 24, le)),
            err(28, "ChainLoops", "the capability chain loops"),
        ),
        case(
            "iommu-two-cap-loop.bin",
            edit(&|b| put32(b, 60, 24, le)),
            err(60, "ChainLoops", "the capability chain loops"),
        ),
        case(
            "iommu-unknown-cap-loop.bin",
            edit(&|b| {
                put16(b, 24, 98, le);
                put16(b, 56, 99, le);
                put32(b, 60, 24, le);
            }),
            err(60, "ChainLoops", "the capability chain loops: still going after 14 capabilities"),
        ),
        case(
            "iommu-cap-offset-in-header.bin",
            edit(&|b| put32(b, 16, 8, le)),
            err(16, "CapOffsetInHeader", "capability offset 8 points into the 20-byte fixed header"),
        ),
        case(
            "iommu-cap-offset-past-end.bin",
            edit(&|b| put32(b, 16, 4000, le)),
            err(16, "CapHeaderOutside", "capability header at offset 4000 (8 bytes) lies outside the 136-byte buffer"),
        ),
        case(
            "iommu-cap-offset-past-end-argsz-larger.bin",
            edit(&|b| {
                put32(b, 0, 4096, le);
                put32(b, 16, 4000, le);
            }),
            Expect::Ok("cap_offset past the end with argsz 4096 > length: a truncated capture, caps_truncated"),
        ),
        case(
            "iommu-next-overlaps-cap.bin",
            edit(&|b| put32(b, 28, 40, le)),
            err(28, "CapOverlaps", "the capability at offset 40 overlaps the MIGRATION capability at offsets 24..56"),
        ),
        case(
            "iommu-cap-offset-unaligned.bin",
            shift_chain(&base, 24, 16, &[24, 56, 72], le),
            Expect::Ok("chain at odd offsets 25, 57, 73: read unaligned"),
        ),
        case(
            "iommu-iova-count-overflow.bin",
            edit(&|b| put32(b, 80, 0x1000_0001, le)),
            err(80, "RangeCountTooLarge", "nr_iovas = 268435457, which needs 4294967328 bytes, but only 64 remain"),
        ),
        case(
            "iommu-iova-count-too-large.bin",
            edit(&|b| put32(b, 80, 4, le)),
            err(80, "RangeCountTooLarge", "nr_iovas = 4, which needs 80 bytes, but only 64 remain"),
        ),
        case(
            "iommu-iova-inverted.bin",
            edit(&|b| put64(b, 88, u64::MAX, le)),
            err(88, "InvertedRange", "IOVA range 0 is inverted"),
        ),
        case(
            "iommu-unknown-cap.bin",
            edit(&|b| put16(b, 56, 99, le)),
            Expect::Ok("unknown cap 99 at 56 (was DMA_AVAIL): kept raw, DMA_AVAIL absent"),
        ),
        case(
            "iommu-future-version.bin",
            edit(&|b| put16(b, 26, 2, le)),
            Expect::Ok("MIGRATION version 2: its version-1 fields are read"),
        ),
        case(
            "iommu-future-version-iova-range.bin",
            edit(&|b| put16(b, 74, 2, le)),
            Expect::Ok("IOVA_RANGE version 2: read with the version-1 layout (type1 does not check versions)"),
        ),
        case(
            "iommu-duplicate-cap.bin",
            edit(&|b| put16(b, 24, 3, le)),
            err(56, "DuplicateCap", "DMA_AVAIL capability (id 3) appears twice; the first is at offset 24"),
        ),
        Case {
            file: "iommu-be-valid.bin",
            kind: Kind::Iommu,
            order: be,
            bytes: s390.clone(),
            expect: Expect::Ok("the s390x capture, big-endian, unchanged"),
        },
        Case {
            file: "iommu-be-iova-count-overflow.bin",
            kind: Kind::Iommu,
            order: be,
            bytes: s390_overflow,
            expect: err(80, "RangeCountTooLarge", "nr_iovas = 268435457, which needs 4294967328 bytes, but only 32 remain"),
        },
    ]
}

/// Device info (Linux 6.12 s390x zPCI, big-endian, 128 bytes): ZPCI_BASE v2 at 24 (next
/// 64), ZPCI_GROUP v2 at 64 (next 112), ZPCI_PFIP v1 at 112 with a 4-byte path.
fn device_cases() -> Vec<Case> {
    let be = ByteOrder::Big;
    let base = fixture("linux-6.12-s390x-zpci/device-exact.bin");
    assert_eq!(base.len(), 128);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let case = |file, bytes, expect| Case {
        file,
        kind: Kind::Device,
        order: be,
        bytes,
        expect,
    };
    vec![
        case(
            "device-valid.bin",
            base.clone(),
            Expect::Ok("the real capture, unchanged"),
        ),
        case(
            "device-empty.bin",
            Vec::new(),
            err(
                0,
                "TooShort",
                "the buffer is 0 bytes, shorter than the 16-byte fixed part",
            ),
        ),
        case(
            "device-short-fixed.bin",
            base[..15].to_vec(),
            err(
                15,
                "TooShort",
                "the buffer is 15 bytes, shorter than the 16-byte fixed part",
            ),
        ),
        case(
            "device-argsz-small.bin",
            edit(&|b| put32(b, 0, 8, be)),
            Expect::Ok("argsz 8 is below the fixed part but the buffer's length governs"),
        ),
        case(
            "device-trunc-cap-header.bin",
            base[..68].to_vec(),
            err(
                28,
                "CapHeaderOutside",
                "capability header at offset 64 (8 bytes) lies outside the 68-byte buffer",
            ),
        ),
        case(
            "device-trunc-cap-body.bin",
            base[..90].to_vec(),
            err(
                64,
                "CapTooShort",
                "ZPCI_GROUP capability (id 2) needs 39 bytes but only 26 remain",
            ),
        ),
        case(
            "device-self-loop.bin",
            edit(&|b| put32(b, 28, 24, be)),
            err(28, "ChainLoops", "the capability chain loops"),
        ),
        case(
            "device-two-cap-loop.bin",
            edit(&|b| put32(b, 68, 24, be)),
            err(68, "ChainLoops", "the capability chain loops"),
        ),
        case(
            "device-cap-offset-in-header.bin",
            edit(&|b| put32(b, 16, 8, be)),
            err(
                16,
                "CapOffsetInHeader",
                "capability offset 8 points into the 20-byte fixed header",
            ),
        ),
        case(
            "device-cap-offset-past-end.bin",
            edit(&|b| put32(b, 16, 4000, be)),
            err(
                16,
                "CapHeaderOutside",
                "capability header at offset 4000 (8 bytes) lies outside the 128-byte buffer",
            ),
        ),
        case(
            "device-cap-offset-unaligned.bin",
            shift_chain(&base, 24, 16, &[24, 64, 112], be),
            Expect::Ok("chain at odd offsets 25, 65, 113: read unaligned"),
        ),
        case(
            "device-pfip-size-overflow.bin",
            edit(&|b| put32(b, 120, u32::MAX, be)),
            err(
                112,
                "CapTooShort",
                "ZPCI_PFIP capability (id 4) needs 4294967307 bytes but only 16 remain",
            ),
        ),
        case(
            "device-unknown-cap.bin",
            edit(&|b| put16(b, 112, 99, be)),
            Expect::Ok("unknown cap 99 at 112 (was ZPCI_PFIP): kept raw"),
        ),
        case(
            "device-future-version.bin",
            edit(&|b| put16(b, 26, 3, be)),
            Expect::Ok("ZPCI_BASE version 3: its version-2 fields are read"),
        ),
        case(
            "device-duplicate-cap.bin",
            edit(&|b| put16(b, 64, 1, be)),
            err(
                64,
                "DuplicateCap",
                "ZPCI_BASE capability (id 1) appears twice; the first is at offset 24",
            ),
        ),
    ]
}

/// Region info: the real 32-byte region-0 capture of the s390x guest (big-endian; it has
/// no capability) with a chain appended the way vfio-pci builds one: flags READ | WRITE |
/// MMAP | CAPS, size 0x10000, SPARSE_MMAP v1 at 32 (two areas, nr_areas at 40, areas
/// 48..80, next 80), TYPE v1 at 80 (type 1, subtype 1, next 0); 96 bytes.
fn region_base() -> Vec<u8> {
    let be = ByteOrder::Big;
    let real = fixture("linux-6.12-s390x-zpci/region-0.bin");
    assert_eq!(real.len(), 32);
    let mut b = real;
    b.resize(96, 0);
    put32(&mut b, 0, 96, be);
    put32(&mut b, 4, 0b1111, be);
    put32(&mut b, 12, 32, be);
    put64(&mut b, 16, 0x1_0000, be);
    // SPARSE_MMAP
    put16(&mut b, 32, 1, be);
    put16(&mut b, 34, 1, be);
    put32(&mut b, 36, 80, be);
    put32(&mut b, 40, 2, be);
    put64(&mut b, 48, 0, be);
    put64(&mut b, 56, 0x4000, be);
    put64(&mut b, 64, 0x8000, be);
    put64(&mut b, 72, 0x8000, be);
    // TYPE
    put16(&mut b, 80, 2, be);
    put16(&mut b, 82, 1, be);
    put32(&mut b, 84, 0, be);
    put32(&mut b, 88, 1, be);
    put32(&mut b, 92, 1, be);
    b
}

fn region_cases() -> Vec<Case> {
    let be = ByteOrder::Big;
    let base = region_base();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let case = |file, bytes, expect| Case {
        file,
        kind: Kind::Region,
        order: be,
        bytes,
        expect,
    };
    vec![
        case(
            "region-valid.bin",
            base.clone(),
            Expect::Ok("region-0 capture with SPARSE_MMAP and TYPE appended"),
        ),
        case(
            "region-empty.bin",
            Vec::new(),
            err(
                0,
                "TooShort",
                "the buffer is 0 bytes, shorter than the 32-byte fixed part",
            ),
        ),
        case(
            "region-short-fixed.bin",
            base[..31].to_vec(),
            err(
                31,
                "TooShort",
                "the buffer is 31 bytes, shorter than the 32-byte fixed part",
            ),
        ),
        case(
            "region-argsz-small.bin",
            edit(&|b| put32(b, 0, 8, be)),
            Expect::Ok("argsz 8 is below the fixed part but the buffer's length governs"),
        ),
        case(
            "region-trunc-cap-header.bin",
            base[..84].to_vec(),
            err(
                36,
                "CapHeaderOutside",
                "capability header at offset 80 (8 bytes) lies outside the 84-byte buffer",
            ),
        ),
        case(
            "region-trunc-cap-body.bin",
            base[..60].to_vec(),
            err(
                40,
                "AreaCountTooLarge",
                "nr_areas = 2, which needs 48 bytes, but only 28 remain",
            ),
        ),
        case(
            "region-trunc-type-body.bin",
            base[..90].to_vec(),
            err(
                80,
                "CapTooShort",
                "TYPE capability (id 2) needs 16 bytes but only 10 remain",
            ),
        ),
        case(
            "region-self-loop.bin",
            edit(&|b| put32(b, 36, 32, be)),
            err(36, "ChainLoops", "the capability chain loops"),
        ),
        case(
            "region-two-cap-loop.bin",
            edit(&|b| put32(b, 84, 32, be)),
            err(84, "ChainLoops", "the capability chain loops"),
        ),
        case(
            "region-cap-offset-in-header.bin",
            edit(&|b| put32(b, 12, 8, be)),
            err(
                12,
                "CapOffsetInHeader",
                "capability offset 8 points into the 32-byte fixed header",
            ),
        ),
        case(
            "region-cap-offset-past-end.bin",
            edit(&|b| put32(b, 12, 4000, be)),
            err(
                12,
                "CapHeaderOutside",
                "capability header at offset 4000 (8 bytes) lies outside the 96-byte buffer",
            ),
        ),
        case(
            "region-cap-offset-unaligned.bin",
            shift_chain(&base, 32, 12, &[32, 80], be),
            Expect::Ok("chain at odd offsets 33, 81: read unaligned"),
        ),
        case(
            "region-area-count-overflow.bin",
            edit(&|b| put32(b, 40, 0x1000_0001, be)),
            err(
                40,
                "AreaCountTooLarge",
                "nr_areas = 268435457, which needs 4294967328 bytes, but only 64 remain",
            ),
        ),
        case(
            "region-area-count-too-large.bin",
            edit(&|b| put32(b, 40, 4, be)),
            err(
                40,
                "AreaCountTooLarge",
                "nr_areas = 4, which needs 80 bytes, but only 64 remain",
            ),
        ),
        case(
            "region-unknown-cap.bin",
            edit(&|b| put16(b, 80, 99, be)),
            Expect::Ok("unknown cap 99 at 80 (was TYPE): kept raw"),
        ),
        case(
            "region-future-version.bin",
            edit(&|b| put16(b, 82, 2, be)),
            Expect::Ok("TYPE version 2: its version-1 fields are read"),
        ),
        case(
            "region-future-version-sparse.bin",
            edit(&|b| put16(b, 34, 2, be)),
            err(
                34,
                "UnsupportedCapVersion",
                "SPARSE_MMAP capability (id 1) has version 2, which this library cannot read",
            ),
        ),
        case(
            "region-version-zero.bin",
            edit(&|b| put16(b, 82, 0, be)),
            err(
                82,
                "UnsupportedCapVersion",
                "TYPE capability (id 2) has version 0, which this library cannot read",
            ),
        ),
        case(
            "region-duplicate-cap.bin",
            edit(&|b| put16(b, 32, 2, be)),
            err(
                80,
                "DuplicateCap",
                "TYPE capability (id 2) appears twice; the first is at offset 32",
            ),
        ),
    ]
}

fn cases() -> Vec<Case> {
    let mut all = iommu_cases();
    all.extend(device_cases());
    all.extend(region_cases());
    all
}

const MANIFEST_HEADER: &str = "# file\tkind\torder\texpect\toffset\ttext\n";

fn manifest(cases: &[Case]) -> String {
    let mut out = MANIFEST_HEADER.to_owned();
    for c in cases {
        let (expect, offset, text) = match &c.expect {
            Expect::Ok(note) => ("ok", "-".to_owned(), *note),
            Expect::Error { offset, text, .. } => ("error", offset.to_string(), *text),
        };
        assert!(!text.contains('\t') && !text.contains('\n'), "{}", c.file);
        out.push_str(&format!(
            "{}\t{}\t{}\t{expect}\t{offset}\t{text}\n",
            c.file,
            c.kind.name(),
            order_name(c.order)
        ));
    }
    out
}

/// The corpus on disk is what `cases()` generates (or, with VFIO_IOMMU_INFO_BLESS set,
/// becomes it).
#[test]
fn committed_corpus_matches_the_generator() {
    let dir = corpus_dir();
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.file).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "file names are unique");
    let manifest = manifest(&cases);
    if std::env::var_os("VFIO_IOMMU_INFO_BLESS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        for c in &cases {
            fs::write(dir.join(c.file), &c.bytes).unwrap();
        }
        fs::write(dir.join("MANIFEST.tsv"), &manifest).unwrap();
    }
    let mut stale = Vec::new();
    for c in &cases {
        if fs::read(dir.join(c.file)).ok().as_deref() != Some(&c.bytes[..]) {
            stale.push(c.file);
        }
    }
    if fs::read_to_string(dir.join("MANIFEST.tsv")).ok().as_deref() != Some(&manifest[..]) {
        stale.push("MANIFEST.tsv");
    }
    assert!(
        stale.is_empty(),
        "tests/bad-input/ is stale ({stale:?}): run VFIO_IOMMU_INFO_BLESS=1 cargo test --test bad_input and commit it"
    );
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "MANIFEST.tsv" || names.contains(&name.as_str()),
            "tests/bad-input/{name} is not generated by tests/bad_input.rs: remove it"
        );
    }
}

// ---- the manifest, through the decoders ----

/// A file of the corpus as committed; while blessing (which rewrites them concurrently),
/// as generated.
fn corpus_file(name: &str) -> Vec<u8> {
    if std::env::var_os("VFIO_IOMMU_INFO_BLESS").is_some() {
        let cases = cases();
        if name == "MANIFEST.tsv" {
            return manifest(&cases).into_bytes();
        }
        let case = cases.into_iter().find(|c| c.file == name).unwrap();
        return case.bytes;
    }
    fs::read(corpus_dir().join(name)).unwrap_or_else(|e| panic!("tests/bad-input/{name}: {e}"))
}

/// One line of MANIFEST.tsv.
struct Line {
    file: String,
    kind: Kind,
    order: ByteOrder,
    error: Option<(usize, String)>,
}

fn read_manifest() -> Vec<Line> {
    let text = String::from_utf8(corpus_file("MANIFEST.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 6, "{l:?}");
            let order = match cols[2] {
                "big" => ByteOrder::Big,
                "little" => ByteOrder::Little,
                o => panic!("order {o:?}"),
            };
            let error = match cols[3] {
                "ok" => {
                    assert_eq!(cols[4], "-");
                    None
                }
                "error" => Some((cols[4].parse().unwrap(), cols[5].to_owned())),
                e => panic!("expect {e:?}"),
            };
            Line {
                file: cols[0].to_owned(),
                kind: Kind::parse(cols[1]),
                order,
                error,
            }
        })
        .collect()
}

/// Decodes `buf` with the decoder of `kind`, keeping only the error.
fn decode_as(kind: Kind, buf: &[u8], order: ByteOrder) -> Result<(), DecodeError> {
    match kind {
        Kind::Iommu => decode_with_order(buf, order).map(drop),
        Kind::Device => decode_device_info(buf, order).map(drop),
        Kind::Region => decode_region_info(buf, order).map(drop),
    }
}

fn variant_name(e: &DecodeError) -> String {
    let debug = format!("{:?}", e.kind);
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_manifest_line_decodes_as_recorded() {
    let lines = read_manifest();
    let cases = cases();
    assert_eq!(lines.len(), cases.len());
    for kind in [Kind::Iommu, Kind::Device, Kind::Region] {
        assert!(lines.iter().any(|l| l.kind == kind && l.error.is_some()));
    }
    for line in &lines {
        let buf = corpus_file(&line.file);
        let got = decode_as(line.kind, &buf, line.order);
        let case = cases.iter().find(|c| c.file == line.file).unwrap();
        match (&line.error, got) {
            (None, Ok(())) => {}
            (None, Err(e)) => panic!("{}: expected success, got {e}", line.file),
            (Some((offset, _)), Ok(())) => {
                panic!("{}: expected an error at {offset}, decoded", line.file)
            }
            (Some((offset, text)), Err(e)) => {
                let message = e.to_string();
                assert_eq!(e.offset, *offset, "{}: {message}", line.file);
                assert!(message.contains(text.as_str()), "{}: {message}", line.file);
                assert!(
                    message.contains(&format!("at byte offset {offset}: ")),
                    "{}: {message}",
                    line.file
                );
                let structure = match line.kind {
                    Kind::Iommu => "struct vfio_iommu_type1_info",
                    Kind::Device => "struct vfio_device_info",
                    Kind::Region => "struct vfio_region_info",
                };
                assert_eq!(e.structure, structure, "{}", line.file);
                let Expect::Error { variant, .. } = case.expect else {
                    unreachable!()
                };
                assert_eq!(variant_name(&e), variant, "{}: {e:?}", line.file);
            }
        }
    }
}

/// The ok cases decode to what their note says.
#[test]
fn ok_cases_decode_to_what_they_note() {
    use vfio_iommu_info::device_info::DeviceCap;
    use vfio_iommu_info::region_info::RegionCap;
    let read = corpus_file;
    let le = ByteOrder::Little;
    let be = ByteOrder::Big;

    let valid = decode_with_order(&read("iommu-valid.bin"), le).unwrap();
    assert_eq!(valid.iova_ranges.present().unwrap().len(), 3);
    let small = decode_with_order(&read("iommu-argsz-small.bin"), le).unwrap();
    assert_eq!(small.argsz, 8);
    assert!(!small.caps_truncated);
    assert_eq!(small.iova_ranges, valid.iova_ranges);
    let t = decode_with_order(&read("iommu-cap-offset-past-end-argsz-larger.bin"), le).unwrap();
    assert!(t.caps_truncated);
    let u = decode_with_order(&read("iommu-cap-offset-unaligned.bin"), le).unwrap();
    assert_eq!(u.iova_ranges, valid.iova_ranges);
    assert_eq!(
        u.chain.iter().map(|c| c.offset).collect::<Vec<_>>(),
        [25, 57, 73]
    );
    let unk = decode_with_order(&read("iommu-unknown-cap.bin"), le).unwrap();
    assert_eq!((unk.unknown_caps.len(), unk.unknown_caps[0].id), (1, 99));
    assert!(unk.dma_avail.absence().is_some());
    let f = decode_with_order(&read("iommu-future-version.bin"), le).unwrap();
    assert_eq!(f.migration.present().unwrap().version, 2);
    assert_eq!(
        f.migration.present().unwrap().pgsize_bitmap,
        valid.migration.present().unwrap().pgsize_bitmap
    );
    let f = decode_with_order(&read("iommu-future-version-iova-range.bin"), le).unwrap();
    assert_eq!(f.iova_ranges, valid.iova_ranges);
    let b = decode_with_order(&read("iommu-be-valid.bin"), be).unwrap();
    assert_eq!(b.iova_ranges.present().unwrap().len(), 1);

    let valid = decode_device_info(&read("device-valid.bin"), be).unwrap();
    assert_eq!(valid.caps.len(), 3);
    assert_eq!(
        decode_device_info(&read("device-argsz-small.bin"), be)
            .unwrap()
            .caps,
        valid.caps
    );
    let u = decode_device_info(&read("device-cap-offset-unaligned.bin"), be).unwrap();
    assert_eq!(u.caps, valid.caps);
    let unk = decode_device_info(&read("device-unknown-cap.bin"), be).unwrap();
    assert!(matches!(&unk.caps[2], DeviceCap::Unknown(c) if c.id == 99 && c.offset == 112));
    let f = decode_device_info(&read("device-future-version.bin"), be).unwrap();
    assert_eq!(f.zpci_base().unwrap().version, 3);
    assert_eq!(f.dma_window(), valid.dma_window());

    let valid = decode_region_info(&read("region-valid.bin"), be).unwrap();
    assert_eq!(valid.sparse_mmap().unwrap().len(), 2);
    assert_eq!(valid.region_type().unwrap().region_type, 1);
    assert_eq!(
        decode_region_info(&read("region-argsz-small.bin"), be)
            .unwrap()
            .caps,
        valid.caps
    );
    let u = decode_region_info(&read("region-cap-offset-unaligned.bin"), be).unwrap();
    assert_eq!(u.caps, valid.caps);
    let unk = decode_region_info(&read("region-unknown-cap.bin"), be).unwrap();
    assert!(matches!(&unk.caps[1], RegionCap::Unknown(c) if c.id == 99));
    let f = decode_region_info(&read("region-future-version.bin"), be).unwrap();
    assert_eq!(f.region_type().unwrap().version, 2);
}

/// Every file of the corpus through the zero-copy view, in both byte orders and as every
/// kind: no panic, and for the type1 lines the same answer as `decode_with_order`.
#[test]
fn every_file_through_info_view_parse_and_every_decoder() {
    for line in read_manifest() {
        let buf = corpus_file(&line.file);
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let view = InfoView::parse(&buf, order).map(|v| v.to_info());
            let full = decode_with_order(&buf, order);
            assert_eq!(view, full, "{}", line.file);
            for kind in [Kind::Iommu, Kind::Device, Kind::Region] {
                if let Err(e) = decode_as(kind, &buf, order) {
                    assert!(e.offset <= buf.len(), "{}: {e}", line.file);
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        if line.kind == Kind::Iommu {
            let view = InfoView::parse(&buf, line.order);
            match (&line.error, view) {
                (None, Ok(_)) => {}
                (Some((offset, text)), Err(e)) => {
                    assert_eq!(e.offset, *offset, "{}", line.file);
                    assert!(e.to_string().contains(text.as_str()), "{}: {e}", line.file);
                }
                (want, got) => panic!("{}: {want:?} vs {got:?}", line.file),
            }
        }
    }
}

// ---- the host entry points, fed bad arguments ----

/// An empty host under a temporary root: no PCI device, group 5 in sysfs with no node in
/// `dev/vfio`, no `dev/iommu`.
struct EmptyHost {
    root: PathBuf,
}

impl EmptyHost {
    fn new(name: &str) -> EmptyHost {
        let root =
            std::env::temp_dir().join(format!("vii-bad-input-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("sys/bus/pci/devices")).unwrap();
        fs::create_dir_all(root.join("sys/kernel/iommu_groups/5/devices")).unwrap();
        fs::create_dir_all(root.join("dev/vfio")).unwrap();
        EmptyHost { root }
    }

    fn paths(&self) -> HostPaths {
        HostPaths {
            vfio_dir: self.root.join("dev/vfio"),
            sysfs: Sysfs::new(self.root.join("sys")),
            iommufd: self.root.join("dev/iommu"),
            ..HostPaths::default()
        }
    }
}

impl Drop for EmptyHost {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

const ABSENT: &str = "0000:99:1f.7";

fn absent() -> PciAddress {
    ABSENT.parse().unwrap()
}

fn assert_no_such_device(e: &Error, root: &Path) {
    let text = e.to_string();
    assert!(
        matches!(e, Error::NoSuchDevice { address, .. } if address == ABSENT),
        "{text}"
    );
    assert!(
        text.contains(&format!("PCI device {ABSENT} does not exist")),
        "{text}"
    );
    let path = root.join(format!("bus/pci/devices/{ABSENT}"));
    assert!(
        text.contains(&format!("{} is missing", path.display())),
        "{text}"
    );
    assert!(text.contains("lspci -D"), "the fix: {text}");
}

#[test]
fn a_pci_address_that_does_not_exist_is_named_by_every_opener() {
    let host = EmptyHost::new("absent");
    let paths = host.paths();
    let sys = host.root.join("sys");
    let target = Target::Device(absent());
    assert_no_such_device(
        &Container::open_targets(std::slice::from_ref(&target), &paths).unwrap_err(),
        &sys,
    );
    assert_no_such_device(&open_target_group(&target, &paths).unwrap_err(), &sys);
    // iommufd's path opens /dev/iommu first (as the C ABI documents): without it, that is
    // the error; a node that is not iommufd's is refused before it is opened.
    let e = IommufdDevice::open(&absent(), &paths).unwrap_err();
    assert!(
        matches!(&e, Error::Open { path, errno: Errno(libc::ENOENT), .. } if *path == paths.iommufd),
        "{e}"
    );
    assert!(e.to_string().contains("CONFIG_IOMMUFD"), "{e}");
    let mut with_node = paths.clone();
    with_node.iommufd = PathBuf::from("/dev/null");
    let e = IommufdDevice::open(&absent(), &with_node).unwrap_err();
    assert!(
        matches!(&e, Error::WrongNode { what, errno: Errno(libc::ENOTTY), .. } if what.as_path() == Path::new("/dev/null")),
        "{e}"
    );
    assert_no_such_device(
        &paths
            .sysfs
            .reserved_regions_of_device(&absent())
            .unwrap_err(),
        &sys,
    );
    // open_and_query looks at the real /sys.
    if !Path::new("/sys/bus/pci/devices").join(ABSENT).exists() {
        assert_no_such_device(&open_and_query(&target).unwrap_err(), Path::new("/sys"));
    }
}

#[test]
fn malformed_pci_addresses_and_targets_say_what_is_expected() {
    for bad in [
        "0000:99:1f.8",
        "99:20.0",
        "zz:00.0",
        "0000:03:00",
        "",
        "03:00.0 ",
    ] {
        let e = bad.parse::<PciAddress>().unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{bad:?} is not a PCI address")),
            "{text}"
        );
        assert!(text.contains("DDDD:BB:DD.F"), "{text}");
        if !bad.is_empty() {
            let e = bad.parse::<Target>().unwrap_err();
            assert!(
                matches!(&e, Error::BadTarget { text } if text == bad),
                "{e}"
            );
            assert!(e.to_string().contains("expected an IOMMU group number (4), a group path (/dev/vfio/4) or a PCI address"), "{e}");
        }
    }
    // A number that is too large for a group is not a group: it is no PCI address either.
    let e = "4294967296".parse::<Target>().unwrap_err();
    assert!(matches!(e, Error::BadTarget { .. }), "{e}");
}

#[test]
fn a_group_without_a_node_is_named_with_the_reason() {
    let host = EmptyHost::new("nonode");
    let paths = host.paths();
    // Group 5 exists in sysfs (no device of it on vfio-pci); group 6 nowhere.
    for (n, why) in [
        (
            5,
            "IOMMU group 5 exists but no device of it is bound to vfio-pci",
        ),
        (
            6,
            "there is no IOMMU group 6 (see /sys/kernel/iommu_groups)",
        ),
    ] {
        let e = Group::open(n, &paths).unwrap_err();
        let node = host.root.join(format!("dev/vfio/{n}"));
        assert!(
            matches!(&e, Error::Open { path, errno: Errno(libc::ENOENT), .. } if *path == node),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("cannot open {}: ", node.display())),
            "{text}"
        );
        assert!(text.contains(why), "{text}");
        let e = Container::open_targets(&[Target::Group(n)], &paths).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
    // Through open_and_query on the real host: a group no kernel numbers.
    let n = u32::MAX;
    if !Path::new("/dev/vfio").join(n.to_string()).exists() {
        let e = open_and_query(&Target::Group(n)).unwrap_err();
        assert!(matches!(&e, Error::Open { .. }), "{e}");
        assert!(e.to_string().contains(&format!("/dev/vfio/{n}")), "{e}");
    }
}

#[test]
fn a_directory_or_a_character_device_is_no_group_node() {
    let host = EmptyHost::new("notgroup");
    let paths = host.paths();
    let dir = host.root.join("dev/vfio");
    // Refused on what the path is, before any read-write open (opening a device node
    // can act: /dev/watchdog arms on open), with the errno an open or ioctl would give.
    let e = Group::open_path(&dir, &paths).unwrap_err();
    assert!(
        matches!(&e, Error::WrongNode { what, errno: Errno(libc::EISDIR), .. } if *what == dir),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "{} is a directory, not a VFIO group node",
            dir.display()
        )),
        "the fix: {text}"
    );
    for (dev, numbers) in [("/dev/null", "1:3 (mem)"), ("/dev/zero", "1:5 (mem)")] {
        let e = Group::open_path(Path::new(dev), &paths).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::WrongNode {
                    errno: Errno(libc::ENOTTY),
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains(&format!(
                "{dev} is a character device {numbers}, not a VFIO group node"
            )),
            "{text}"
        );
        let e = Container::open_targets(&[Target::GroupPath(dev.into())], &paths).unwrap_err();
        assert!(e.to_string().contains(dev), "{e}");
    }
}

#[test]
fn query_type1_on_a_closed_fd_names_the_fd() {
    // A fd number far above any other test's: the kernel hands out the lowest free
    // number, so nothing reopens it between the close and the query.
    let file = fs::File::open("/dev/null").unwrap();
    // SAFETY: F_DUPFD on an open fd has no memory effects.
    let raw = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 900) };
    assert!(raw >= 900);
    // SAFETY: `raw` is ours, closed once.
    assert_eq!(unsafe { libc::close(raw) }, 0);
    // SAFETY: deliberately a closed fd: the kernel answers EBADF; nothing uses it after.
    let closed = unsafe { BorrowedFd::borrow_raw(raw) };
    let e = query_type1(closed).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Ioctl {
                ioctl: "fstat",
                errno: Errno(libc::EBADF),
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("fstat on fd {raw} failed")),
        "{text}"
    );
    assert!(
        text.contains(&format!("fd {raw} is not an open file descriptor")),
        "{text}"
    );
    // /dev/null: refused before the ioctl, with ENOTTY and the fix.
    let e = query_type1(file.as_fd()).unwrap_err();
    assert_eq!(e.errno(), Some(Errno(libc::ENOTTY)), "{e}");
    assert!(
        e.to_string()
            .contains("pass the /dev/vfio/vfio fd a group was attached to"),
        "{e}"
    );
}

#[test]
fn iommufd_on_a_missing_path_and_on_dev_null() {
    let host = EmptyHost::new("iommufd");
    let missing = host.root.join("dev/iommu");
    let e = Iommufd::open_path(&missing).unwrap_err();
    assert!(
        matches!(&e, Error::Open { path, errno: Errno(libc::ENOENT), .. } if *path == missing),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(
        text.contains("CONFIG_IOMMUFD") && text.contains("modprobe iommufd"),
        "{text}"
    );
    assert!(matches!(
        Iommufd::open(&host.paths()),
        Err(Error::Open { .. })
    ));
    // /dev/null is not iommufd's misc device: refused before it is opened.
    let e = Iommufd::open_path(Path::new("/dev/null")).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::WrongNode {
                errno: Errno(libc::ENOTTY),
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("/dev/null is a character device 1:3 (mem), not iommufd's node (/dev/iommu"),
        "the fix: {e}"
    );
}

#[test]
fn reserved_regions_text_errors_name_the_line_and_the_problem() {
    // (text, 1-based line, substring of the problem); tests/sysfs.rs and the unit tests of
    // src/sysfs.rs hold more.
    let cases: &[(&str, usize, &str)] = &[
        ("garbage\n", 1, "expected three fields: start end type"),
        ("0x0 0xff\n", 1, "expected three fields"),
        ("0x0 0xff msi extra\n", 1, "expected three fields"),
        ("0x0 0xff msi\n\n0x100 0x10 msi\n", 3, "start is above end"),
        ("0x0 0x10000000000000000 msi\n", 1, "at most 64 bits"),
        ("0x0 0xfffffffffffffffff msi\n", 1, "at most 64 bits"),
        ("0 0xff msi\n", 1, "0x-prefixed hex"),
        ("0x 0xff msi\n", 1, "0x-prefixed hex"),
        ("-0x1 0xff msi\n", 1, "0x-prefixed hex"),
    ];
    for &(text, line, problem) in cases {
        let (l, t, p) = parse_reserved_regions(text).unwrap_err();
        assert_eq!(l, line, "{text:?}");
        assert_eq!(Some(t.as_str()), text.lines().nth(line - 1), "{text:?}");
        assert!(p.contains(problem), "{text:?}: {p}");
    }
    // Empty lines and a file of nothing are no regions, not errors.
    assert_eq!(parse_reserved_regions("").unwrap(), vec![]);
    assert_eq!(parse_reserved_regions("\n\n  \n").unwrap(), vec![]);
    assert_eq!(
        parse_reserved_regions("\n0x0 0xff msi\n\n").unwrap().len(),
        1
    );
    assert_eq!(
        parse_reserved_regions("0x0 0xffffffffffffffff reserved").unwrap()[0]
            .range
            .end,
        u64::MAX
    );

    // Through the Sysfs reader: the path and the line.
    let host = EmptyHost::new("regions");
    let sysfs = host.paths().sysfs;
    let file = host.root.join("sys/kernel/iommu_groups/5/reserved_regions");
    fs::write(&file, "0x0 0xff msi\n0xff 0x0 msi\n").unwrap();
    let e = sysfs.reserved_regions(5).unwrap_err();
    assert!(matches!(&e, Error::SysfsFormat { line: 2, .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "{}:2: cannot parse \"0xff 0x0 msi\": start is above end",
            file.display()
        )),
        "{e}"
    );
    // Not UTF-8: a format error at the line, not an I/O error.
    fs::write(&file, b"0x0 0xff msi\n0x100 0x1ff \xffmsi\n").unwrap();
    let e = sysfs.reserved_regions(5).unwrap_err();
    assert!(matches!(&e, Error::SysfsFormat { line: 2, .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}:2: ", file.display())),
        "{text}"
    );
    assert!(text.contains("byte 25 of the file is not UTF-8"), "{text}");
    fs::write(
        host.root.join("sys/kernel/iommu_groups/5/type"),
        b"DMA\xfe\n",
    )
    .unwrap();
    let e = sysfs.default_domain_type(5).unwrap_err();
    assert!(matches!(&e, Error::SysfsFormat { line: 1, .. }), "{e}");
    // A directory where the file should be: the errno, with the path.
    fs::remove_file(&file).unwrap();
    fs::create_dir(&file).unwrap();
    let e = sysfs.reserved_regions(5).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Sysfs {
                errno: Errno(libc::EISDIR),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");
}
