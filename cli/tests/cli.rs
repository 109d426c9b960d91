//! The command on the host: `decode` on captures from real kernels and on malformed
//! buffers, the JSON contract, exit codes, help. (`tests/lab_cli.rs` runs the rest inside
//! the lab's guests.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vfio_iommu_info::encode::{CapSpec, KernelState};
use vfio_iommu_info::{ByteOrder, IovaRange};

mod readme;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vfio-iommu-info"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Every `info-exact.bin` with the values its capture program recorded in meta.txt.
fn exact_captures() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(fixtures()).unwrap() {
        let scenario = scenario.unwrap().path();
        for c in std::fs::read_dir(&scenario).into_iter().flatten() {
            let c = c.unwrap().path();
            // sPAPR TCE buffers are no type1 captures (tests/spapr_tce_fixtures.rs).
            let spapr = std::fs::read_to_string(c.join("meta.txt"))
                .is_ok_and(|m| m.lines().any(|l| l.trim() == "kind: spapr-tce"));
            if c.join("meta.txt").exists() && !spapr {
                out.push((
                    c.join("info-exact.bin"),
                    std::fs::read_to_string(c.join("meta.txt")).unwrap(),
                ));
            }
        }
    }
    assert!(out.len() >= 9, "fixtures missing");
    out
}

fn tmpfile(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("vfio-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn decode_json_of_real_captures_is_one_object_with_the_contract_keys() {
    for (file, meta) in exact_captures() {
        let out = run(&["decode", "--json", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty());
        let v: Value =
            serde_json::from_slice(&out.stdout).expect("exactly one JSON object on stdout");
        assert!(v.is_object());
        let needed: u64 = meta
            .lines()
            .find_map(|l| l.strip_prefix("needed_argsz: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(v["argsz"], needed);
        assert_eq!(v["flags"], 3);
        assert_eq!(v["caps_truncated"], false);
        let pg = meta
            .lines()
            .find_map(|l| l.strip_prefix("iova_pgsizes: "))
            .unwrap();
        assert_eq!(
            v["iova_pgsizes"].as_u64(),
            Some(u64::from_str_radix(&pg[2..], 16).unwrap())
        );
        // The ranges as the capture program listed them, in the kernel's order.
        let ranges: Vec<(u64, u64)> = meta
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix('[')?
                    .strip_suffix(']')?
                    .split_once(", ")
                    .map(|(a, b)| {
                        (
                            u64::from_str_radix(&a[2..], 16).unwrap(),
                            u64::from_str_radix(&b[2..], 16).unwrap(),
                        )
                    })
            })
            .collect();
        let got: Vec<(u64, u64)> = v["iova_ranges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, ranges, "{}", file.display());
        if meta.lines().any(|l| l.trim() == "LAB_COMPAT: 1") {
            // iommufd's VFIO compat container has no MIGRATION capability.
            assert!(v["migration"].is_null(), "{}", file.display());
            assert_eq!(v["absent"]["migration"]["code"], "not_in_chain");
        } else {
            assert_eq!(v["migration"]["pgsize_bitmap"], 0x1000);
            assert_eq!(v["migration"]["max_dirty_bitmap_size"], 0x1000_0000);
        }
        let avail: u64 = meta
            .lines()
            .find_map(|l| l.split("avail=").nth(1))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(v["dma_avail"], avail);
        assert_eq!(v["unknown_caps"], Value::Array(vec![]));
    }
}

#[test]
fn integers_up_to_2_pow_64_minus_1_are_exact_in_the_json_text() {
    let file = fixtures().join("linux-6.12-amd/group-2/info-exact.bin");
    let out = run(&["decode", "--json", file.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"end\": 18446744073709551615"), "{text}");
    assert!(!text.contains("e+"), "no floating point");
}

#[test]
fn truncated_captures_report_caps_truncated_and_null_items() {
    let file = fixtures().join("linux-6.12-intel-aw39/group-2/info-short.bin");
    let v: Value =
        serde_json::from_slice(&run(&["decode", "--json", file.to_str().unwrap()]).stdout).unwrap();
    assert_eq!(v["caps_truncated"], true);
    assert_eq!(v["argsz"], 120);
    for key in ["iova_ranges", "migration", "dma_avail"] {
        assert_eq!(v[key], Value::Null, "{key}");
        assert_eq!(v["absent"][key]["code"], "did_not_fit");
    }
}

#[test]
fn big_endian_captures_need_and_take_the_byte_order() {
    let k = KernelState {
        layout: vfio_iommu_info::encode::KernelLayout::Padded,
        order: ByteOrder::Big,
        iova_pgsizes: 0x1000,
        caps: vec![CapSpec::IovaRange(vec![IovaRange::new(
            0x1_0000_0000,
            0x1_3fff_ffff,
        )
        .unwrap()])],
    };
    let f = tmpfile("s390.bin", &k.encode());
    let out = run(&[
        "decode",
        "--json",
        "--byte-order",
        "big",
        f.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["iova_ranges"][0]["start"], 0x1_0000_0000u64);
    assert_eq!(v["iova_pgsizes"], 0x1000);
    let text = run(&["decode", "--byte-order", "big", f.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("big-endian"));
    let _ = std::fs::remove_file(f);
}

/// A malformed buffer: one line on stderr naming the offset, nothing on stdout, exit 3.
fn assert_malformed(bytes: &[u8], offset: usize, problem: &str) {
    let f = tmpfile(&format!("bad-{offset}-{}", bytes.len()), bytes);
    for json in [false, true] {
        let mut args = vec!["decode", f.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = run(&args);
        let mut err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(3), "{err}");
        if json {
            // One JSON document on stdout, with the same message; stderr silent.
            assert!(err.is_empty(), "{err}");
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["error"]["kind"], "malformed", "{doc}");
            assert_eq!(doc["error"]["exit_status"], 3, "{doc}");
            assert_eq!(doc["error"]["errno"], Value::Null, "{doc}");
            err = format!(
                "vfio-iommu-info: {}\n",
                doc["error"]["message"].as_str().unwrap()
            );
        } else {
            assert!(
                out.stdout.is_empty(),
                "stdout: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("byte offset {offset}")) && err.contains(problem),
            "{err}"
        );
    }
    let _ = std::fs::remove_file(f);
}

#[test]
fn malformed_buffers_fail_with_one_line_naming_the_offset() {
    assert_malformed(&[0u8; 10], 10, "shorter than the 16-byte fixed part");
    let good = KernelState::padded(
        0x1000,
        vec![CapSpec::IovaRange(vec![IovaRange::new(0, 0xfff).unwrap()])],
    )
    .encode();
    let mut looping = good.clone();
    looping[28..32].copy_from_slice(&24u32.to_ne_bytes());
    assert_malformed(&looping, 28, "loops");
    let mut outside = good.clone();
    outside[16..20].copy_from_slice(&4000u32.to_ne_bytes());
    assert_malformed(&outside, 16, "header at offset 4000 (8 bytes) lies outside");
    let mut count = good.clone();
    count[32..36].copy_from_slice(&0x1000_0001u32.to_ne_bytes());
    assert_malformed(&count, 32, "nr_iovas = 268435457");
    let mut into_header = good;
    into_header[16..20].copy_from_slice(&8u32.to_ne_bytes());
    assert_malformed(&into_header, 16, "capability offset 8 points into the");
}

#[test]
fn unreadable_captures_fail_cleanly() {
    for (file, problem) in [
        ("/dev/zero", "larger than 64 MiB"),
        ("/", "Is a directory"),
        ("/no/such/capture", "No such file"),
    ] {
        let out = run(&["decode", file]);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(3), "{file}: {err}");
        assert!(err.contains(problem), "{file}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn decode_reads_standard_input() {
    let file = fixtures().join("linux-6.1-intel-aw39/group-2/info-4096.bin");
    let out = bin()
        .args(["decode", "--json", "-"])
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["argsz"], 4096);
    assert_eq!(v["iova_ranges"][1]["end"], 0x7f_ffff_ffffu64);
}

#[test]
fn help_has_examples_and_exit_codes_and_bad_usage_exits_2() {
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    for needle in [
        "list",
        "query",
        "decode",
        "explain",
        "Examples:",
        "Exit status:",
        "--byte-order big",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    assert_eq!(
        run(&["explain", "3", "--iova", "0x1000"]).status.code(),
        Some(2),
        "--iova needs --size"
    );
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    let out = run(&["query", "eth0"]);
    assert_eq!(out.status.code(), Some(2), "a bad target is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a target"));
    assert_eq!(
        run(&["explain", "3", "--iova", "0x1000", "--size", "0"])
            .status
            .code(),
        Some(2),
        "a 0-byte span"
    );
}

#[test]
fn list_works_without_root_or_vfio() {
    let out = run(&["list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&run(&["list", "--json"]).stdout).unwrap();
    assert!(v.is_array());
    if v.as_array().unwrap().is_empty() {
        assert!(String::from_utf8_lossy(&out.stdout).contains("no IOMMU groups"));
    }
}

#[test]
fn a_capture_of_the_other_byte_order_decoded_natively_gets_a_hint() {
    let k = KernelState {
        layout: vfio_iommu_info::encode::KernelLayout::Padded,
        order: if cfg!(target_endian = "little") {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        },
        iova_pgsizes: 0x1000,
        caps: vec![CapSpec::DmaAvail(5)],
    };
    let f = tmpfile("other-order.bin", &k.encode());
    let out = run(&["decode", "--json", f.to_str().unwrap()]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("hint:") && err.contains("--byte-order"),
        "{err}"
    );
    let out = run(&[
        "decode",
        "--json",
        "--byte-order",
        if cfg!(target_endian = "little") {
            "big"
        } else {
            "little"
        },
        f.to_str().unwrap(),
    ]);
    assert!(out.stderr.is_empty(), "no hint with the right order");
    let _ = std::fs::remove_file(f);
}

#[test]
fn empty_and_truncated_inputs() {
    let empty = tmpfile("empty.bin", b"");
    let out = run(&["decode", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("byte offset 0"));
    let out = bin()
        .args(["decode", "-"])
        .stdin(std::fs::File::open(&empty).unwrap())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("<stdin>: malformed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(empty);
    let short = fixtures().join("linux-6.1-amd/group-2/info-argsz24.bin");
    let out = run(&["decode", "--json", short.to_str().unwrap()]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "a truncated chain is an answer, not an error"
    );
    let text = String::from_utf8(run(&["decode", short.to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("the kernel needs 132 bytes"), "{text}");
}

fn plan_json(args: &[&str]) -> (Value, Option<i32>) {
    let out = run(&[&["plan", "--json"], args].concat());
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code())
}

#[test]
fn plan_from_an_amd_capture_finds_the_hypertransport_hole_and_places_ram_around_it() {
    let amd = fixtures().join("linux-6.12-amd/group-2/info-exact.bin");
    let amd = amd.to_str().unwrap();
    let (v, code) = plan_json(&[
        "--capture",
        amd,
        "--ram",
        "1010G",
        "--ram",
        "4G",
        "--ram",
        "4G@0xfd00000000",
    ]);
    assert_eq!(code, Some(1), "a conflict is a failed plan: {v}");
    let holes = v["space"]["holes"].as_array().unwrap();
    assert_eq!(holes.len(), 2);
    assert_eq!(holes[1]["start"], 0xfd_0000_0000u64);
    assert_eq!(holes[1]["end"], 0xff_ffff_ffffu64);
    // What a virtio-iommu must advertise: exactly the holes (the aperture is the whole space).
    assert_eq!(
        v["space"]["reserved"],
        Value::Array(
            holes
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "start": h["start"], "start_hex": h["start_hex"],
                        "end": h["end"], "end_hex": h["end_hex"],
                    })
                })
                .collect()
        )
    );
    let p = v["layout"]["placements"].as_array().unwrap();
    // 1010 GiB does not fit below the MSI hole nor in the 1008 GiB range below the
    // HyperTransport hole: it goes above 1 TiB. 4 GiB fits below.
    assert_eq!(p[0]["result"], "placed");
    assert!(p[0]["start"].as_u64().unwrap() >= 0x100_0000_0000, "{v}");
    assert_eq!(p[1]["result"], "placed");
    assert!(p[1]["end"].as_u64().unwrap() < 0xfd_0000_0000);
    assert_eq!(p[2]["result"], "conflict");
    assert_eq!(p[2]["problem"]["code"], "in_hole");
    assert_eq!(p[2]["problem"]["range"]["start"], 0xfd_0000_0000u64);
    assert_eq!(v["layout"]["mappings"]["per_region"], 2);
    assert_eq!(v["layout"]["mappings"]["dma_avail"], 65535);
    assert_eq!(v["layout"]["mappings"]["fits"], true);
}

#[test]
fn plan_names_the_region_a_fixed_one_overlaps_and_refuses_the_top_page() {
    // AMD's last range runs to 2^64-1: the kernel's ranges allow the top page.
    let amd = fixtures().join("linux-6.12-amd/group-2/info-exact.bin");
    let amd = amd.to_str().unwrap();
    let args = [
        "--capture",
        amd,
        "--ram",
        "1G@0",
        "--ram",
        "1G@0x20000000",
        "--ram",
        "4K@0xfffffffffffff000",
    ];
    let (v, code) = plan_json(&args);
    assert_eq!(code, Some(1));
    let p = v["layout"]["placements"].as_array().unwrap();
    assert_eq!(p[0]["result"], "placed");
    assert_eq!(p[1]["result"], "conflict");
    assert_eq!(p[1]["problem"]["code"], "overlaps_region");
    assert_eq!(p[1]["problem"]["region"], 0);
    assert_eq!(p[1]["problem"]["range"]["end"], 0x3fff_ffffu64);
    assert_eq!(p[2]["problem"]["code"], "top_page");
    assert_eq!(p[2]["end"], u64::MAX);
    let out = run(&[&["plan"], &args[..]].concat());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("conflict: it overlaps region 0 at [0x0, 0x3fffffff]"),
        "{text}"
    );
    assert!(
        text.contains("conflict: it reaches the last page of the 64-bit space"),
        "{text}"
    );
}

#[test]
fn plan_allocates_below_a_dma_mask_and_checks_spans_against_real_captures() {
    for (capture, _) in exact_captures() {
        let c = capture.to_str().unwrap();
        let (v, code) = plan_json(&[
            "--capture",
            c,
            "--dma-bits",
            "28",
            "--alloc",
            "64K",
            "--alloc",
            "1M",
            "--alloc",
            "4K",
            "--check",
            "0xfee00000:4K",
            "--check",
            "0x10000:4K",
        ]);
        let has_msi_hole = v["space"]["holes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["start"] == 0xfee0_0000u64);
        if v["space"]["ranges"].as_array().unwrap().is_empty() {
            continue;
        }
        let mut spans = Vec::new();
        for a in v["allocations"].as_array().unwrap() {
            let iova = a["iova"].as_u64().unwrap_or_else(|| panic!("{c}: {a}"));
            let size = a["size"].as_u64().unwrap();
            assert_eq!(iova % 4096, 0);
            assert!(iova + size <= 1 << 28, "{c}: {a}");
            spans.push((iova, size));
        }
        spans.sort();
        assert!(
            spans.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0),
            "{c}: {spans:?}"
        );
        let checks = v["checks"].as_array().unwrap();
        assert_eq!(checks[0]["ok"], !has_msi_hole, "{c}");
        if has_msi_hole {
            assert_eq!(checks[0]["problem"]["code"], "in_hole");
            assert_eq!(code, Some(1));
        }
        assert_eq!(checks[1]["ok"], true, "{c}");
    }
}

#[test]
fn plan_reports_what_cannot_be_done_and_refuses_bad_arguments() {
    let intel = fixtures().join("linux-6.12-intel-aw39/group-2/info-exact.bin");
    let intel = intel.to_str().unwrap();
    // 600 GiB does not fit a 39-bit (512 GiB) IOMMU; an allocation beyond it fails too.
    let (v, code) = plan_json(&["--capture", intel, "--ram", "600G", "--alloc", "1T"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["layout"]["placements"][0]["result"], "no_room");
    assert_eq!(v["layout"]["placements"][0]["align"], 1u64 << 30);
    assert_eq!(v["allocations"][0]["error"]["code"], "no_room");
    assert_eq!(v["space"]["reserved"][1]["start"], 1u64 << 39);
    // Everything that fits: exit 0, and the text names the DMA window.
    let out = run(&[
        "plan",
        "--capture",
        intel,
        "--ram",
        "2G",
        "--alloc",
        "2M",
        "--dma-bits",
        "32",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("0x0000007fffffffff  (512G: the DMA window)"),
        "{text}"
    );
    assert!(text.contains("fits"), "{text}");
    for bad in [
        vec!["plan"],
        vec!["plan", "--capture", intel, "--ram", "0"],
        vec!["plan", "--capture", intel, "--check", "0x1000"],
        vec!["plan", "--capture", intel, "--dma-bits", "65"],
        vec!["plan", "--capture", intel, "--alloc", "17000000T"],
        vec!["plan", "4", "--capture", intel],
        // What-if needs the live container and sysfs, not a capture.
        vec!["plan", "--capture", intel, "--attach", "3"],
        vec!["plan", "4", "--attach", "not-a-target"],
    ] {
        let out = run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    // A capture without IOVA ranges has nothing to plan in: exit 1 with the reason.
    let pre = KernelState {
        layout: vfio_iommu_info::encode::KernelLayout::Legacy,
        ..KernelState::padded(0x1000, vec![])
    };
    let f = tmpfile("plan-pre-5.4.bin", &pre.encode());
    let out = run(&["plan", "--capture", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no IOVA ranges to plan in"));
}

#[test]
fn decode_kind_device_and_region_read_the_real_s390x_capture() {
    let dir = fixtures().join("linux-6.12-s390x-zpci");
    let path = |f: &str| dir.join(f).display().to_string();
    let out = run(&[
        "decode",
        "--kind",
        "device",
        &path("device-exact.bin"),
        "--byte-order",
        "big",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["flags"], 0x82);
    assert_eq!(
        (v["num_regions"].as_u64(), v["num_irqs"].as_u64()),
        (Some(9), Some(5))
    );
    assert_eq!(v["dma_window"]["start"], 0x1_0000_0000_u64);
    assert_eq!(v["dma_window"]["end"], 0x1_3fff_ffff_u64);
    let names: Vec<&str> = v["caps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ZPCI_BASE", "ZPCI_GROUP", "ZPCI_PFIP"]);
    assert_eq!(v["caps"][0]["fh"], 0x8002_0000_u64);
    let text = String::from_utf8(
        run(&[
            "decode",
            "--kind",
            "device",
            &path("device-exact.bin"),
            "--byte-order",
            "big",
        ])
        .stdout,
    )
    .unwrap();
    assert!(
        text.contains("zPCI window  0x0000000100000000 - 0x000000013fffffff"),
        "{text}"
    );
    assert!(
        text.contains("ZPCI_BASE v2 (fh 0x80020000, gid 255)"),
        "{text}"
    );
    // The same buffer read in the wrong byte order: nonsense counts, no window, and a hint.
    let out = run(&[
        "decode",
        "--kind",
        "device",
        &path("device-exact.bin"),
        "--byte-order",
        "little",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("other byte order: try --byte-order big"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("zPCI window  none"));
    // A region: BAR1 of the virtio-rng, 4 KiB, no mmap on s390.
    let out = run(&[
        "decode",
        "--kind",
        "region",
        &path("region-1.bin"),
        "--byte-order",
        "big",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["index"].as_u64(), v["size"].as_u64(), v["flags"].as_u64()),
        (Some(1), Some(0x1000), Some(3))
    );
    assert_eq!(
        v["cap_offset"],
        Value::Null,
        "no CAPS flag: the field is not read"
    );
    // A truncated device-info buffer (argsz 16 fixed part only) says so.
    let out = run(&[
        "decode",
        "--kind",
        "device",
        &path("device-argsz16.bin"),
        "--byte-order",
        "big",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dma_window"], Value::Null);
    assert!(v["caps"].as_array().unwrap().is_empty());
}

/// `generate man DIR`: one page per subcommand, made from the command's definition, each
/// created new (a second run is refused naming the file, `--force` replaces); `generate
/// completions SHELL` prints a script naming every subcommand; `--version` names the
/// library.
#[test]
fn generated_man_pages_and_completions_follow_the_definition() {
    let dir = std::env::temp_dir().join(format!("vfio-cli-{}-man", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let out = run(&["generate", "man", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(out.stdout).unwrap();
    let subs = [
        "list", "query", "device", "decode", "explain", "plan", "guest", "inspect", "budget",
        "generate", "snapshot",
    ];
    assert_eq!(listed.lines().count(), subs.len() + 1, "{listed}");
    for sub in subs {
        let page = format!("vfio-iommu-info-{sub}");
        let roff = std::fs::read_to_string(dir.join(format!("{page}.1"))).unwrap();
        assert!(roff.contains(&format!(".TH {page} 1")), "{page}: {roff}");
        let help = run(&[sub, "--help"]);
        let first = String::from_utf8(help.stdout).unwrap();
        let about = first
            .lines()
            .next()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        assert!(
            roff.contains(&about[..about.len().min(30)]),
            "{page} lacks {about}"
        );
    }
    let again = run(&["generate", "man", d]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to write"));
    assert!(run(&["generate", "man", d, "--force"]).status.success());
    std::fs::remove_dir_all(&dir).unwrap();

    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(run(&["generate", "completions", shell]).stdout).unwrap();
        for sub in subs {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let version = String::from_utf8(run(&["--version"]).stdout).unwrap();
    assert_eq!(
        version.trim(),
        format!(
            "vfio-iommu-info {0} (library vfio-iommu-info {0}, C ABI libvfio_iommu_info.so.0)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

/// The README's samples of commands on files in the tree are what the command prints
/// (the live samples are checked in their lab scenarios, `lab_cli.rs`), and every lab
/// scenario a sample names exists, so that no sample goes unchecked.
#[test]
fn readme_samples_of_captures_are_what_the_command_prints() {
    let root = readme::repo_root();
    let cli = Path::new(env!("CARGO_BIN_EXE_vfio-iommu-info"));
    let checked = readme::check(cli, "host", &root.join("target/readme-samples"));
    assert!(
        checked >= 2,
        "README.md has {checked} host samples, expected plan and decode"
    );
    let text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let scenarios = std::fs::read_to_string(root.join("lab/scenarios")).unwrap();
    let mut lab = 0;
    for line in text.lines() {
        if let Some(source) = line.trim().strip_prefix("<!-- samples: lab ") {
            let name = source.trim_end_matches("-->").trim();
            assert!(
                scenarios
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(name)),
                "README.md names the lab scenario {name:?}, which lab/scenarios lacks"
            );
            assert!(!readme::samples(&text, &format!("lab {name}")).is_empty());
            lab += 1;
        }
    }
    assert!(
        lab >= 2,
        "README.md has {lab} lab sample blocks, expected type1 and iommufd"
    );
}

#[test]
fn readme_sample_comparison_takes_gaps_and_nothing_else() {
    let shown = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let real = "a\nb  \nc\nd\n";
    assert!(readme::compare(&shown(&["a", "b", "c", "d"]), real).is_ok());
    assert!(readme::compare(&shown(&["a", "...", "d"]), real).is_ok());
    assert!(readme::compare(&shown(&["...", "c", "d"]), real).is_ok());
    assert!(readme::compare(&shown(&["a", "b", "..."]), real).is_ok());
    assert!(readme::compare(&shown(&["...", "b", "...", "d"]), real).is_ok());
    // A changed, missing, extra or reordered line is drift.
    assert!(readme::compare(&shown(&["a", "b", "c", "e"]), real).is_err());
    assert!(readme::compare(&shown(&["a", "b", "c"]), real).is_err());
    assert!(readme::compare(&shown(&["b", "c", "d"]), real).is_err());
    assert!(readme::compare(&shown(&["a", "...", "c", "b"]), real).is_err());
    assert!(readme::compare(&shown(&["a", "b", "c", "d", "e"]), real).is_err());
}

fn spapr(name: &str) -> PathBuf {
    fixtures()
        .join("spapr-tce/synthesized-linux-6.12-pseries")
        .join(name)
}

#[test]
fn decode_kind_spapr_tce_reads_the_default_window_and_ddw() {
    let exact = spapr("info-exact.bin");
    let out = run(&["decode", "--kind", "spapr-tce", exact.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out.stderr));
    for want in [
        "window       0x0000000000000000 - 0x000000003fffffff  (1G: the default 32-bit DMA window, 4K TCEs",
        "DDW          2 dynamic windows, page sizes 4K 64K 2M 16M, up to 1 TCE table level",
        "expected 0x800000000000000 (2^59)",
        "[spapr:ddw]",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert!(!text.contains("4E"), "{text}");
    let out = run(&[
        "decode",
        "--kind",
        "spapr-tce",
        "--json",
        exact.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "spapr-tce");
    assert_eq!(v["default_window"]["end"], 0x3fff_ffffu64);
    assert_eq!(v["ddw"]["state"], "supported");
    assert_eq!(v["ddw"]["page_sizes"], 0x1211000u64);
    assert_eq!(v["ddw_expected_start"], 1u64 << 59);
    // argsz 16: DDW flagged, its block not returned.
    let short = spapr("info-argsz16.bin");
    let out = run(&[
        "decode",
        "--kind",
        "spapr-tce",
        "--json",
        short.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["flags"].as_u64(), v["ddw"]["state"].as_str()),
        (Some(1), Some("not_returned"))
    );
}

fn stderr(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn decode_without_kind_refuses_to_guess_between_type1_and_spapr() {
    for name in [
        "info-exact.bin",
        "info-argsz16.bin",
        "info-4096.bin",
        "info-v1.bin",
    ] {
        let f = spapr(name);
        let out = run(&["decode", f.to_str().unwrap()]);
        let err = stderr(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(
            err.contains("the bytes cannot say which IOMMU filled this buffer"),
            "{err}"
        );
        assert!(err.contains("--kind type1 or --kind spapr-tce"), "{err}");
    }
    // Read as type1 on purpose, it is what it was before (the 4E "page size").
    let f = spapr("info-exact.bin");
    let out = run(&["decode", "--kind", "type1", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains("4E"));
    // A type1 capture with a chain is no question: decoded as before, with or without --kind.
    let amd = fixtures().join("linux-6.12-amd/group-2/info-exact.bin");
    let a = run(&["decode", amd.to_str().unwrap()]);
    let b = run(&["decode", "--kind", "iommu", amd.to_str().unwrap()]);
    assert_eq!((a.status.code(), b.status.code()), (Some(0), Some(0)));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn a_cut_spapr_capture_names_the_offset() {
    let buf = std::fs::read(spapr("info-exact.bin")).unwrap();
    let f = tmpfile("spapr-cut.bin", &buf[..24]);
    let out = run(&["decode", "--kind", "spapr-tce", f.to_str().unwrap()]);
    let err = stderr(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("malformed struct vfio_iommu_spapr_tce_info at byte offset 16: argsz 32 says the kernel wrote the ddw block"),
        "{err}"
    );
    let mut flags = buf.clone();
    flags[4] = 3;
    let f = tmpfile("spapr-flags.bin", &flags);
    let err = stderr(&run(&["decode", "--kind", "spapr-tce", f.to_str().unwrap()]).stderr);
    assert!(err.contains("at byte offset 4: flags = 0x3"), "{err}");
}

#[test]
fn create_window_is_an_explicit_spapr_only_request() {
    let out = run(&["query", "3", "--create-window", "48K:4G"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out.stderr).contains("the page size 0xc000 is not a power of two"));
    let out = run(&[
        "query",
        "0000:00:03.0",
        "--backend",
        "iommufd",
        "--create-window",
        "64K:4G",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out.stderr).contains("iommufd has none to create"));
    let help = String::from_utf8(run(&["query", "--help"]).stdout).unwrap();
    assert!(
        help.contains("Nothing is created without this flag"),
        "{help}"
    );
}

#[test]
fn format_json_is_json_and_list_writes_nfd_and_prometheus() {
    let amd = fixtures().join("linux-6.12-amd/group-2/info-exact.bin");
    let amd = amd.to_str().unwrap();
    let json = run(&["decode", "--json", amd]);
    let format = run(&["decode", "--format", "json", amd]);
    assert_eq!(format.stdout, json.stdout);
    assert!(json.stdout.starts_with(b"{\n  \"schema_version\": 1,"));
    // --json and --format are one choice; nfd and prometheus only where they are offered.
    assert_eq!(
        run(&["decode", "--json", "--format", "text", amd])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["decode", "--format", "nfd", amd]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["plan", "--capture", amd, "--format", "prometheus"])
            .status
            .code(),
        Some(2)
    );
    // This host's list, whatever it has: NFD's lines and Prometheus's gauges.
    let nfd = run(&["list", "--format", "nfd"]);
    assert_eq!(nfd.status.code(), Some(0), "{}", stderr(&nfd.stderr));
    let nfd = String::from_utf8(nfd.stdout).unwrap();
    for key in ["iommu", "groups", "groups-viable"] {
        assert!(
            nfd.lines().any(|l| l.starts_with(&format!(
                "feature.node.kubernetes.io/vfio-iommu-info.{key}="
            ))),
            "{key}: {nfd}"
        );
    }
    let prom = run(&["list", "--format", "prometheus"]);
    assert_eq!(prom.status.code(), Some(0));
    let prom = String::from_utf8(prom.stdout).unwrap();
    for name in ["iommu_present", "groups", "groups_viable"] {
        assert!(
            prom.contains(&format!(
                "# TYPE vfio_iommu_info_{name} gauge\nvfio_iommu_info_{name} "
            )),
            "{name}: {prom}"
        );
    }
    // A failure under --format prometheus is text on stderr, like text's (no JSON).
    let q = run(&["query", "4242", "--format", "prometheus"]);
    assert_eq!(q.status.code(), Some(1));
    assert!(q.stdout.is_empty() && stderr(&q.stderr).contains("4242"));
}

/// `inspect` outside the lab: a process with no VFIO fd (this test) and a PID that is no
/// process are refused with exit 1 and the reason; a PID that is no PID is bad usage.
#[test]
fn inspect_refuses_a_process_without_vfio_fds_and_a_missing_one() {
    let me = std::process::id().to_string();
    for json in [false, true] {
        let mut args = vec!["inspect", me.as_str()];
        if json {
            args.push("--json");
        }
        let out = run(&args);
        let mut err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{err}");
        if json {
            // Under --json the failure is the error document on stdout.
            assert!(err.is_empty(), "{err}");
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["error"]["exit_status"], 1, "{doc}");
            err = doc["error"]["message"].as_str().unwrap().to_owned();
        } else {
            assert!(out.stdout.is_empty());
        }
        assert!(
            err.contains(&format!("process {me} (")) && err.contains("holds no VFIO container"),
            "{err}"
        );
    }
    let out = run(&["inspect", "2147483647"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/proc/2147483647/fd") && err.contains("there is no process 2147483647"),
        "{err}"
    );
    for bad in ["0", "-3", "x", "4294967296"] {
        assert_eq!(run(&["inspect", bad]).status.code(), Some(2), "{bad}");
    }
}

/// The snapshots foreign guests took in the lab (lab/guest/snapshot.c: s390x, arm64 and
/// POWER cannot run this binary) answer here, on x86, in their own byte order and pages:
/// s390x's zPCI DMA window from the container and the device, POWER's sPAPR TCE window
/// through `auto`, arm64's MSI hole; and `explain` judges each as its own architecture.
#[test]
fn a_foreign_guests_snapshot_answers_here_as_its_architecture() {
    let json = |args: &[&str]| -> Value {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let snapshot = |scenario: &str| {
        fixtures()
            .join(scenario)
            .join("snapshot.json")
            .to_str()
            .unwrap()
            .to_owned()
    };

    let s390x = snapshot("linux-6.12-s390x-zpci");
    let q = json(&["query", "0", "--json", "--snapshot", &s390x]);
    assert_eq!(q["aperture"]["start_hex"], "0x100000000", "{q}");
    assert_eq!(q["aperture"]["end_hex"], "0x13fffffff", "{q}");
    let d = json(&["device", "0001:00:00.0", "--json", "--snapshot", &s390x]);
    assert!(d.to_string().contains("ZPCI_BASE"), "{d}");
    let e = json(&["explain", "0001:00:00.0", "--json", "--snapshot", &s390x]);
    assert!(e.to_string().contains("s390x"), "{e}");
    // `guest` plans q35 under KVM, which an s390x host cannot run: named, not planned.
    let g = run(&["guest", "0", "--ram=2G", "--snapshot", &s390x]);
    assert_eq!(g.status.code(), Some(1));
    assert!(g.stdout.is_empty());
    let why = String::from_utf8_lossy(&g.stderr);
    assert!(
        why.contains("this host is s390x") && why.contains("x86_64"),
        "{why}"
    );
    // The budgets are the backend's, on any architecture: 1G in 4K pages is more mappings
    // than DMA_AVAIL's 65535 (exit 1), the memlock limit is moot with CAP_IPC_LOCK.
    let b = run(&["budget", "0", "--needed=1G", "--json", "--snapshot", &s390x]);
    assert_eq!(b.status.code(), Some(1));
    let b: Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(b["memlock"]["needed"], 1 << 30, "{b}");
    assert_eq!(b["facts"]["dma_entry_limit"], 65535, "{b}");

    let power = snapshot("linux-6.12-64k-ppc64le-spapr");
    let q = json(&["query", "0", "--json", "--snapshot", &power]);
    assert_eq!(q["backend"], "spapr-tce", "{q}");
    assert!(
        q["backend_reason"]
            .as_str()
            .unwrap()
            .contains("offers only VFIO_SPAPR_TCE_v2_IOMMU"),
        "{q}"
    );
    // type1's refusal of that container is not in the lab writer's snapshot: named.
    let t = run(&["query", "0", "--backend", "type1", "--snapshot", &power]);
    assert_eq!(t.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&t.stderr).contains("holds no such container"));

    let arm64 = snapshot("linux-6.12-arm64-smmuv3");
    let q = json(&["query", "0", "--json", "--snapshot", &arm64]);
    assert_eq!(q["holes"][0]["start_hex"], "0x8000000", "{q}");
    let e = run(&["explain", "0000:00:01.0", "--snapshot", &arm64]);
    let text = String::from_utf8_lossy(&e.stdout);
    assert!(text.contains("aarch64"), "{text}");
    let g = run(&["guest", "0", "--ram=2G", "--json", "--snapshot", &arm64]);
    assert_eq!(g.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&g.stdout).unwrap();
    assert!(doc.to_string().contains("this host is aarch64"), "{doc}");
}
