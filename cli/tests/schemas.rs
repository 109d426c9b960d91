//! The `--json` documents against their JSON Schemas (`schemas/`, draft 2020-12), and
//! their `_hex` strings against the exact integers, through serde_json and through
//! Debian's jq 1.6, on every capture in `tests/fixtures/` and on hand-built buffers.
//! A key added without its schema, a type changed, a `_hex` sibling missing or wrong:
//! each fails here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use vfio_iommu_info::encode::{CapSpec, KernelState};
use vfio_iommu_info::{IovaRange, Migration, PageSizes};

mod schema;

const TOP: u64 = u64::MAX;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vfio-iommu-info")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "bin") {
            out.push(p);
        }
    }
}

/// Buffers no kernel made: every field at its largest, the PGSIZES flag clear, an
/// unknown capability, and no capability at all.
fn hand_built() -> Vec<PathBuf> {
    // Under the target directory (kept between runs, replaced each run).
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemas-hand-built");
    std::fs::create_dir_all(&dir).unwrap();
    let r = |s, e| IovaRange::new(s, e).unwrap();
    let migration = CapSpec::Migration(Migration {
        version: 1,
        flags: u32::MAX,
        pgsize_bitmap: PageSizes(TOP & !0xfff),
        max_dirty_bitmap_size: TOP,
    });
    let unknown = CapSpec::Raw {
        id: 99,
        version: 3,
        payload: vec![0xaa; 8],
    };
    let mut no_pgsizes = KernelState::padded(0, vec![CapSpec::IovaRange(vec![r(0, TOP)])]);
    no_pgsizes.iova_pgsizes = 0;
    let buffers = [
        (
            "info-everything-at-its-largest.bin",
            KernelState::padded(
                TOP & !0xfff,
                vec![
                    migration,
                    CapSpec::DmaAvail(u32::MAX),
                    CapSpec::IovaRange(vec![
                        r(0, 0xfedf_ffff),
                        r(0xfef0_0000, 0xfc_ffff_ffff),
                        r(0x100_0000_0000, TOP),
                    ]),
                    unknown,
                ],
            )
            .encode(),
        ),
        ("info-no-pgsizes.bin", no_pgsizes.encode()),
        (
            "info-no-caps.bin",
            KernelState::padded(0x1000, vec![]).encode(),
        ),
    ];
    buffers
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

/// One run: the arguments, the exit status, the document on stdout.
struct Run {
    args: Vec<String>,
    status: i32,
    doc: Value,
}

fn run(args: Vec<String>) -> Option<Run> {
    let argv: Vec<String> = args.iter().cloned().chain(["--json".to_owned()]).collect();
    let out = Command::new(bin()).args(&argv).output().unwrap();
    let status = out.status.code().unwrap();
    if status == 2 && out.stdout.is_empty() {
        return None; // a usage error clap reports as text (a kind or order not offered)
    }
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{argv:?}: stdout is no JSON document ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Some(Run { args, status, doc })
}

/// Each lab snapshot (`tests/fixtures/*/snapshot.json`), with the groups it holds a
/// container of alone (type1 or sPAPR TCE) and the devices it opened.
fn snapshots() -> Vec<(PathBuf, Vec<String>, Vec<String>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let file = entry.unwrap().path().join("snapshot.json");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        let alone = |member: &str| -> Vec<String> {
            v[member]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| match c["groups"].as_array()?.as_slice() {
                    [g] => Some(g.to_string()),
                    _ => None,
                })
                .collect()
        };
        let mut groups = alone("containers");
        groups.extend(alone("spapr_tce"));
        let devices = v["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["address"].as_str().unwrap().to_owned())
            .collect();
        found.push((file, groups, devices));
    }
    found.sort();
    assert!(found.len() >= 20, "the lab's snapshots: {}", found.len());
    found
}

/// Every document the command prints on the captures and the hand-built buffers, and on
/// this host (live targets: their outputs or their error documents), run once.
fn outputs() -> &'static [Run] {
    static RUNS: OnceLock<Vec<Run>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let mut captures = Vec::new();
        files(&fixtures(), &mut captures);
        captures.sort();
        assert!(captures.len() >= 100, "fixtures missing");
        captures.extend(hand_built());
        let mut argvs: Vec<Vec<String>> = Vec::new();
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        for c in &captures {
            let c = c.to_str().unwrap();
            for kind in ["auto", "type1", "spapr-tce", "device", "region"] {
                for order in ["little", "big"] {
                    argvs.push(s(&["decode", "--kind", kind, "--byte-order", order, c]));
                }
            }
            if c.rsplit('/').next().unwrap().starts_with("info-") {
                argvs.push(s(&["plan", "--capture", c]));
                argvs.push(s(&[
                    "plan",
                    "--capture",
                    c,
                    "--ram",
                    "1G",
                    "--ram",
                    "4G@0xfd00000000",
                    "--ram",
                    "2M@0xfee00000",
                    "--alloc",
                    "64K",
                    "--alloc",
                    "1T",
                    "--dma-bits",
                    "28",
                    "--check",
                    "0xfee00000:0x1000",
                    "--check",
                    "0x1000:0x1000",
                    "--check",
                    "0x1001:0x1000",
                ]));
            }
        }
        // The lab's snapshots, x86 and foreign (s390x, arm64, POWER), every command they answer.
        for (file, groups, devices) in snapshots() {
            let f = file.to_str().unwrap();
            argvs.push(s(&["list", "--snapshot", f]));
            for t in groups.iter().chain(&devices) {
                argvs.push(s(&["query", t, "--snapshot", f]));
                argvs.push(s(&["explain", t, "--snapshot", f]));
                argvs.push(s(&["plan", t, "--ram", "1G", "--snapshot", f]));
            }
            for d in &devices {
                argvs.push(s(&["device", d, "--snapshot", f]));
            }
        }
        argvs.push(s(&["decode", "/nonexistent/capture.bin"]));
        argvs.push(s(&["list"]));
        // This test's own process: it holds no VFIO fd (the error document).
        argvs.push(vec!["inspect".to_owned(), std::process::id().to_string()]);
        for t in ["0000:00:03.0", "1"] {
            argvs.push(s(&["explain", t]));
            argvs.push(s(&["explain", t, "--iova", "0xfee00000", "--size", "4096"]));
            argvs.push(s(&["query", t]));
            argvs.push(s(&["device", "0000:00:03.0"]));
            argvs.push(s(&["guest", t, "--ram", "1G"]));
            argvs.push(s(&["budget", t, "--needed", "1G"]));
            argvs.push(s(&["plan", t, "--ram", "1G"]));
        }
        argvs.into_iter().filter_map(run).collect()
    })
}

#[test]
fn every_schema_is_a_draft_2020_12_schema_and_every_subcommand_has_one() {
    let mut names: Vec<String> = std::fs::read_dir(schema::dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want: Vec<String> = schema::SUBCOMMANDS
        .iter()
        .chain(&["error", "snapshot"])
        .map(|s| format!("{s}.schema.json"))
        .collect();
    want.sort();
    assert_eq!(names, want);
    for name in schema::SUBCOMMANDS.iter().chain(&["error", "snapshot"]) {
        let s = schema::schema(name);
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        jsonschema::draft202012::meta::validate(&s)
            .unwrap_or_else(|e| panic!("schemas/{name}.schema.json: {e}"));
    }
}

#[test]
fn every_output_on_the_captures_and_hand_built_buffers_matches_its_schema() {
    let runs = outputs();
    let mut by_schema = std::collections::BTreeMap::<&str, usize>::new();
    for r in runs {
        let args: Vec<&str> = r.args.iter().map(String::as_str).collect();
        schema::assert_valid(&args, &r.doc);
        let name = schema::schema_of(args[0], &r.doc);
        if name == "error" {
            assert_eq!(r.doc["error"]["exit_status"], r.status, "{args:?}");
            assert_ne!(r.status, 0, "{args:?}");
        } else if args[0] != "plan" && args[0] != "explain" {
            assert_eq!(r.status, 0, "{args:?}");
        }
        *by_schema.entry(name).or_default() += 1;
    }
    eprintln!("validated: {by_schema:?}");
    // What the captures must exercise: each decode kind, plans, and failures.
    assert!(by_schema["decode"] >= 1000, "{by_schema:?}");
    assert!(by_schema["plan"] >= 50, "{by_schema:?}");
    assert!(by_schema["error"] >= 100, "{by_schema:?}");
    for (key, kind) in [
        ("chain", "type1"),
        ("ddw", "sPAPR TCE"),
        ("num_regions", "device"),
        ("index", "region"),
    ] {
        assert!(
            runs.iter()
                .any(|r| r.args[0] == "decode" && r.doc.get(key).is_some()),
            "no {kind} decode among the outputs"
        );
    }
    // The hand-built buffer with every field at its largest decodes, and plans.
    let largest = |cmd: &str| {
        runs.iter()
            .find(|r| {
                r.args[0] == cmd
                    && r.args
                        .iter()
                        .any(|a| a.ends_with("info-everything-at-its-largest.bin"))
                    && r.status != 3
            })
            .unwrap_or_else(|| panic!("no {cmd} of the largest buffer"))
    };
    assert_eq!(largest("decode").doc["dma_avail"], u32::MAX);
    assert_eq!(
        largest("plan").doc["space"]["ranges"][2]["end_hex"],
        "0xffffffffffffffff"
    );
}

/// Every object's `KEY_hex` strings, in jq's `..` order (an object, then what is inside
/// it, in key order), with the exact integers serde_json read for KEY.
fn hex_pairs(v: &Value, out: &mut Vec<(String, u64)>) {
    match v {
        Value::Object(map) => {
            for (k, h) in map {
                let Some(key) = k.strip_suffix("_hex") else {
                    continue;
                };
                let exact = &map[key];
                match (h, exact) {
                    (Value::String(h), Value::Number(n)) => {
                        out.push((h.clone(), n.as_u64().expect("a u64")))
                    }
                    (Value::Array(hs), Value::Array(ns)) => {
                        assert_eq!(hs.len(), ns.len(), "{k}");
                        for (h, n) in hs.iter().zip(ns) {
                            out.push((h.as_str().unwrap().to_owned(), n.as_u64().unwrap()));
                        }
                    }
                    _ => panic!("{k} is {h} beside {key}: {exact}"),
                }
            }
            map.values().for_each(|x| hex_pairs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| hex_pairs(x, out)),
        _ => {}
    }
}

/// Every integer above 2^53 (what a double cannot hold) has its `_hex` sibling, and every
/// integer under a key of `json::HEX_KEYS` too.
fn assert_siblings(v: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let big = x.as_u64().is_some_and(|n| n > 1 << 53)
                    || x.as_array()
                        .is_some_and(|a| a.iter().any(|n| n.as_u64().is_some_and(|n| n > 1 << 53)));
                let listed = vfio_iommu_info::json::HEX_KEYS.contains(&k.as_str())
                    && (x.is_u64()
                        || x.as_array()
                            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_u64)));
                if big || listed {
                    assert!(
                        map.contains_key(&format!("{k}_hex")),
                        "{at}.{k} = {x} has no {k}_hex sibling (add {k} to json::HEX_KEYS)"
                    );
                }
                assert_siblings(x, &format!("{at}.{k}"));
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                assert_siblings(x, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_large_integer_has_an_exact_hex_sibling() {
    let mut pairs = Vec::new();
    for r in outputs() {
        assert_siblings(&r.doc, &r.args.join(" "));
        hex_pairs(&r.doc, &mut pairs);
    }
    assert!(
        pairs.iter().any(|(_, n)| *n == TOP),
        "no 2^64-1 among the outputs"
    );
    for (h, n) in pairs {
        assert_eq!(h, format!("{n:#x}"));
    }
}

#[test]
fn debian_jq_1_6_reads_every_address_exactly_through_the_hex_strings() {
    let jq = Path::new("/usr/bin/jq");
    if !jq.exists() {
        eprintln!("skipped: /usr/bin/jq is absent (apt-get install jq: Debian's is 1.6, the one that rounds numbers above 2^53)");
        return;
    }
    let version = Command::new(jq).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    // Every document in one stream, jq run once over it: each `_hex` string in `..`
    // order, a list's strings one by one.
    let mut stream = String::new();
    let mut want = Vec::new();
    for r in outputs() {
        stream.push_str(&r.doc.to_string());
        stream.push('\n');
        hex_pairs(&r.doc, &mut want);
    }
    let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemas-jq-input.json");
    std::fs::write(&input, &stream).unwrap();
    let program = r#".. | objects | to_entries[] | select(.key | endswith("_hex")) | .value | if type == "array" then .[] else . end"#;
    let out = Command::new(jq)
        .args(["-r", program])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(
        got.len(),
        want.len(),
        "{version}: as many _hex strings as serde_json reads"
    );
    for (g, (h, n)) in got.iter().zip(&want) {
        assert_eq!(g, h, "{version}");
        let back = u64::from_str_radix(g.strip_prefix("0x").unwrap(), 16).unwrap();
        assert_eq!(back, *n, "{version}: {g} is not {n}");
    }
    assert!(want.iter().any(|(_, n)| *n == TOP));
    // Why the strings: jq 1.6 reads numbers as doubles, and 2^64-1 comes back as 2^64
    // (printed 18446744073709552000).
    if version == "jq-1.6" {
        let out = Command::new(jq)
            .args(["-c", ".end"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(b"{\"end\": 18446744073709551615}")?;
                c.wait_with_output()
            })
            .unwrap();
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_ne!(
            printed, "18446744073709551615",
            "{version} kept 2^64-1 exact"
        );
        assert_eq!(printed.parse::<f64>().unwrap(), 2f64.powi(64), "{version}");
    }
    let _ = std::fs::remove_file(input);
}

#[test]
fn a_document_that_drifts_from_its_schema_fails() {
    let amd = fixtures().join("linux-6.12-amd/group-2/info-exact.bin");
    let doc = run(vec!["decode".into(), amd.to_str().unwrap().into()])
        .unwrap()
        .doc;
    assert!(schema::violations("decode", &doc).is_empty());
    let drifted = |change: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        change(&mut d);
        schema::violations("decode", &d)
    };
    // A key the schema does not have, at the top and inside.
    assert!(!drifted(&|d| d["new_key"] = 1.into()).is_empty());
    assert!(!drifted(&|d| d["iova_ranges"][0]["size"] = 1.into()).is_empty());
    // A type changed: a number as a string, a list as an object.
    assert!(!drifted(&|d| d["argsz"] = "136".into()).is_empty());
    assert!(!drifted(&|d| d["holes"] = serde_json::json!({})).is_empty());
    // A key gone, a _hex sibling among them; a malformed _hex.
    assert!(!drifted(&|d| {
        d["iova_ranges"][0]
            .as_object_mut()
            .unwrap()
            .remove("end_hex");
    })
    .is_empty());
    assert!(
        !drifted(&|d| d["iova_ranges"][0]["end_hex"] = "18446744073709551615".into()).is_empty()
    );
    assert!(!drifted(&|d| {
        d.as_object_mut().unwrap().remove("schema_version");
    })
    .is_empty());
    assert!(!drifted(&|d| d["schema_version"] = 2.into()).is_empty());
    // The error document: no key beyond its five.
    let err = run(vec!["decode".into(), "/nonexistent".into()])
        .unwrap()
        .doc;
    assert!(schema::violations("error", &err).is_empty());
    let mut more = err.clone();
    more["error"]["hint"] = "x".into();
    assert!(!schema::violations("error", &more).is_empty());
}

/// The snapshot files the lab took are what `schemas/snapshot.schema.json` says, and a
/// snapshot that drifts from it (an unknown member, a path outside the roots, a file
/// with both contents and an errno) fails it.
#[test]
fn the_lab_snapshots_match_the_snapshot_schema() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let file = entry.unwrap().path().join("snapshot.json");
        if file.exists() {
            files.push(file);
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    for file in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let bad = schema::violations("snapshot", &doc);
        assert!(bad.is_empty(), "{}: {bad:#?}", file.display());
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let mut drifted = Vec::new();
    let mut unknown = doc.clone();
    unknown["secrets"] = serde_json::json!(1);
    drifted.push(unknown);
    let mut outside = doc.clone();
    outside["files"]["home/user/.ssh/id_rsa"] = serde_json::json!({ "text": "x" });
    drifted.push(outside);
    let mut both = doc.clone();
    both["files"]["proc/sys/kernel/osrelease"]["read_errno"] = serde_json::json!(2);
    drifted.push(both);
    // The iommufd path: an answered device and a refused one are what both say...
    let mut iommufd = doc.clone();
    iommufd["iommufd"] = serde_json::json!([
        {
            "device": "0000:00:03.0", "cdev": "/dev/vfio/devices/vfio0",
            "dev_id": 1, "ioas": 2, "hwpt": 3,
            "ioas_iova_ranges": {
                "allowed_iovas": "0000000000000000ffffdffe00000000",
                "out_iova_alignment": 4096, "calls": 1
            },
            "get_hw_info": {
                "out_data_type": 0, "data_len": 0, "data": "", "out_max_pasid_log2": 0
            },
            "rlimit_mode": { "process": false },
            "device_info": { "error": { "message": "x", "kind": "os", "errno": 22 } }
        },
        { "device": "0000:00:04.0", "error": { "message": "y", "kind": "os", "errno": 2 } }
    ]);
    assert!(schema::violations("snapshot", &iommufd).is_empty());
    let text = serde_json::to_string(&iommufd).unwrap();
    vfio_iommu_info::Snapshot::parse(text.as_bytes()).unwrap();
    // ...and drifting from it, neither accepts.
    let mut answer_and_error = iommufd.clone();
    answer_and_error["iommufd"][1]["hwpt"] = serde_json::json!(3);
    drifted.push(answer_and_error);
    let mut part_of_a_range = iommufd.clone();
    part_of_a_range["iommufd"][0]["ioas_iova_ranges"]["allowed_iovas"] = serde_json::json!("00");
    drifted.push(part_of_a_range);
    let mut no_rlimit_mode = iommufd.clone();
    no_rlimit_mode["iommufd"][0]
        .as_object_mut()
        .unwrap()
        .remove("rlimit_mode");
    drifted.push(no_rlimit_mode);
    let mut unaligned = doc.clone();
    unaligned["devices"][0]["config"] = serde_json::json!([{ "offset": 17, "dword": "00000000" }]);
    drifted.push(unaligned);
    let mut short = doc.clone();
    short["devices"][0]["config"] = serde_json::json!([{ "offset": 16, "dword": "000000" }]);
    drifted.push(short);
    let mut type1_mode = doc.clone();
    let c = &mut type1_mode["containers"][0];
    c["backend"] = serde_json::json!("type1");
    c.as_object_mut().unwrap().remove("compat_ioas");
    c["rlimit_mode"] = serde_json::json!(1);
    drifted.push(type1_mode);
    let mut environ = doc.clone();
    environ["taken_as"]["memlock"]["environ"] = serde_json::json!("HOME=/root");
    drifted.push(environ);
    let mut soft = doc.clone();
    soft["taken_as"]["memlock"]["rlimit"] =
        serde_json::json!({ "soft": "lots", "hard": "unlimited" });
    drifted.push(soft);
    for d in &drifted {
        assert!(
            !schema::violations("snapshot", d).is_empty(),
            "accepted: {d}"
        );
        let text = serde_json::to_string(d).unwrap();
        assert!(
            vfio_iommu_info::Snapshot::parse(text.as_bytes()).is_err(),
            "the command accepts it"
        );
    }
}
