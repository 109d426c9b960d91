//! The command fed bad input: every buffer of the shared corpus (`tests/bad-input/`, see
//! `tests/bad_input.rs` at the root, which generates it), files that are no captures, and
//! targets that do not exist. Each must fail with one clear line (what, where, what to do)
//! and the documented status, never a panic.
//!
//! Also covered in `cli.rs`: malformed type1 buffers built from `encode`, /dev/zero, `/`
//! and a missing file as the default kind, standard input, `query eth0`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `decode`: the capture is malformed or unreadable.
const EXIT_MALFORMED: i32 = 3;
/// The system or the kernel refused.
const EXIT_FAILURE: i32 = 1;
/// A bad command line.
const EXIT_USAGE: i32 = 2;

fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_vfio-iommu-info"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_no_panic(args, &out);
    out
}

fn assert_no_panic(args: &[&str], out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(!err.contains("internal error"), "{args:?}: {err}");
    assert!(
        !matches!(out.status.code(), Some(70) | Some(101) | None),
        "{args:?}: {:?} {err}",
        out.status
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad-input")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vii-cli-bad-{}-{name}", std::process::id()))
}

/// One line of MANIFEST.tsv: file, kind, order, `Some((offset, text))` for an error.
type Line = (String, String, String, Option<(usize, String)>);

fn manifest() -> Vec<Line> {
    let text = std::fs::read_to_string(corpus().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 6, "{l:?}");
            let error = (c[3] == "error").then(|| (c[4].parse().unwrap(), c[5].to_owned()));
            (c[0].to_owned(), c[1].to_owned(), c[2].to_owned(), error)
        })
        .collect()
}

#[test]
fn every_corpus_buffer_decodes_or_fails_as_the_manifest_says() {
    let lines = manifest();
    assert!(lines.len() >= 40, "the corpus is missing");
    for (file, kind, order, error) in &lines {
        let path = corpus().join(file);
        let path = path.to_str().unwrap();
        for json in [false, true] {
            let mut args = vec!["decode", "--kind", kind, "--byte-order", order, path];
            if json {
                args.push("--json");
            }
            let out = run(&args);
            let err = stderr(&out);
            match error {
                None => {
                    assert_eq!(out.status.code(), Some(0), "{file}: {err}");
                    assert!(!out.stdout.is_empty(), "{file}");
                    if json {
                        serde_json::from_slice::<serde_json::Value>(&out.stdout)
                            .unwrap_or_else(|e| panic!("{file}: {e}"));
                    }
                }
                Some((offset, text)) => {
                    assert_eq!(out.status.code(), Some(EXIT_MALFORMED), "{file}: {err}");
                    // Under --json the failure is one JSON document on stdout, stderr
                    // silent; otherwise one line on stderr, stdout empty.
                    let err = if json {
                        assert!(err.is_empty(), "{file}: {err}");
                        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
                            .unwrap_or_else(|e| panic!("{file}: {e}"));
                        assert_eq!(doc["schema_version"], 1, "{file}");
                        assert_eq!(doc["error"]["kind"], "malformed", "{file}: {doc}");
                        assert_eq!(doc["error"]["exit_status"], EXIT_MALFORMED, "{file}");
                        format!(
                            "vfio-iommu-info: {}",
                            doc["error"]["message"].as_str().unwrap()
                        )
                    } else {
                        assert!(out.stdout.is_empty(), "{file}");
                        err
                    };
                    assert_eq!(err.lines().count(), 1, "{file}: one line: {err}");
                    let prefix = format!("vfio-iommu-info: {path}: malformed struct vfio_");
                    assert!(err.starts_with(&prefix), "{file}: names the file: {err}");
                    assert!(
                        err.contains(&format!("at byte offset {offset}: ")),
                        "{file}: {err}"
                    );
                    assert!(err.contains(text.as_str()), "{file}: {err}");
                }
            }
        }
    }
}

#[test]
fn files_that_are_no_captures_fail_for_every_kind() {
    let empty = tmp("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let dir = tmp("dir");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = tmp("missing.bin");
    let (empty_s, dir_s, missing_s) = (
        empty.to_str().unwrap(),
        dir.to_str().unwrap(),
        missing.to_str().unwrap(),
    );
    for (kind, fixed) in [
        ("iommu", 16),
        ("type1", 16),
        ("spapr-tce", 16),
        ("device", 16),
        ("region", 32),
    ] {
        let cases: [(&str, String); 4] = [
            (empty_s, format!("{empty_s}: malformed struct vfio_")),
            (
                dir_s,
                format!("cannot read {dir_s}: Is a directory (EISDIR)"),
            ),
            (
                "/dev/zero",
                "/dev/zero is larger than 64 MiB: not a VFIO_IOMMU_GET_INFO buffer".to_owned(),
            ),
            (
                missing_s,
                format!("cannot read {missing_s}: No such file or directory (ENOENT)"),
            ),
        ];
        for (file, want) in cases {
            let out = run(&["decode", "--kind", kind, file]);
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(EXIT_MALFORMED),
                "{kind} {file}: {err}"
            );
            assert!(out.stdout.is_empty(), "{kind} {file}");
            assert_eq!(err.lines().count(), 1, "{kind} {file}: {err}");
            assert!(err.contains(&want), "{kind} {file}: {err}");
        }
        let err = stderr(&run(&["decode", "--kind", kind, empty_s]));
        assert!(
            err.contains(&format!(
                "at byte offset 0: the buffer is 0 bytes, shorter than the {fixed}-byte fixed part"
            )),
            "{err}"
        );
    }
    let _ = std::fs::remove_file(empty);
    let _ = std::fs::remove_dir(dir);
}

#[test]
fn the_64_mib_limit_is_exact() {
    // Sparse files of zeros: exactly at the limit is read and decoded (a zero buffer has
    // no CAPS flag: a pre-5.4 answer), one byte more is refused without decoding.
    let at = tmp("at-limit.bin");
    let over = tmp("over-limit.bin");
    std::fs::File::create(&at)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    std::fs::File::create(&over)
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    for kind in ["iommu", "device", "region"] {
        let out = run(&["decode", "--kind", kind, "--json", at.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
        let out = run(&["decode", "--kind", kind, over.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(EXIT_MALFORMED), "{kind}: {err}");
        assert!(
            err.contains(&format!(
                "{} is larger than 64 MiB: not a VFIO_IOMMU_GET_INFO buffer",
                over.display()
            )),
            "{kind}: {err}"
        );
    }
    // The same through standard input.
    let out = Command::new(env!("CARGO_BIN_EXE_vfio-iommu-info"))
        .args(["decode", "-"])
        .stdin(std::fs::File::open(&over).unwrap())
        .output()
        .unwrap();
    assert_no_panic(&["decode", "-"], &out);
    assert_eq!(out.status.code(), Some(EXIT_MALFORMED));
    assert!(
        stderr(&out).contains("<stdin> is larger than 64 MiB"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_file(at);
    let _ = std::fs::remove_file(over);
}

#[test]
fn an_unreadable_capture_names_the_file_and_the_errno() {
    // Root reads a mode-000 file, so the permission check needs another user; a file that
    // opens but fails to read (/proc/self/mem at offset 0: EIO) shows the read error path
    // for everyone.
    let out = run(&["decode", "/proc/self/mem"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_MALFORMED), "{err}");
    assert!(
        err.contains("cannot read /proc/self/mem: Input/output error (EIO)"),
        "{err}"
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipping the mode-000 case: running as root, which permissions do not stop");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let f = tmp("mode-000.bin");
    std::fs::write(&f, [0u8; 32]).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run(&["decode", f.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_MALFORMED), "{err}");
    assert!(
        err.contains(&format!(
            "cannot read {}: Permission denied (EACCES)",
            f.display()
        )),
        "{err}"
    );
    let _ = std::fs::remove_file(f);
}

#[test]
fn query_of_targets_that_do_not_exist() {
    let absent = "0000:99:1f.7";
    if !Path::new("/sys/bus/pci/devices").join(absent).exists() {
        // iommufd opens /dev/iommu first: without it, that is what is reported.
        let out = run(&["query", "--backend", "iommufd", absent]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{err}");
        if !Path::new("/dev/iommu").exists() {
            assert!(
                err.contains("cannot open /dev/iommu") && err.contains("CONFIG_IOMMUFD"),
                "{err}"
            );
        }
        let mut backends = vec!["auto", "type1"];
        if Path::new("/dev/iommu").exists() {
            backends.push("iommufd");
        }
        for backend in backends {
            let out = run(&["query", "--backend", backend, absent]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{backend}: {err}");
            assert!(out.stdout.is_empty(), "{backend}");
            assert!(
                err.contains(&format!(
                    "PCI device {absent} does not exist (/sys/bus/pci/devices/{absent} is missing); list devices with `lspci -D`"
                )),
                "{backend}: {err}"
            );
        }
        let out = run(&["device", absent]);
        assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{}", stderr(&out));
        assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    }
    let group = "99999";
    if !Path::new("/dev/vfio").join(group).exists() {
        let out = run(&["query", group]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{err}");
        assert!(
            err.contains(&format!(
                "cannot open /dev/vfio/{group}: No such file or directory (ENOENT)"
            )),
            "{err}"
        );
        assert!(
            err.contains("there is no IOMMU group 99999")
                || err.contains("the vfio module is not loaded"),
            "the reason: {err}"
        );
    }
    // A directory and /dev/null as group nodes.
    let dir = tmp("groupdir");
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(&["query", dir.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{err}");
    assert!(
        err.contains("is a directory, not a VFIO group node"),
        "{err}"
    );
    let _ = std::fs::remove_dir(dir);
    let out = run(&["query", "/dev/null"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{err}");
    assert!(
        err.contains("/dev/null is a character device 1:3 (mem), not a VFIO group node")
            && err.contains("refused before any read-write open or ioctl"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["query", "0000:99:1f.8"][..],
        &["query", "99:20.0"],
        &["query", "zz:00.0"],
        &["query"],
        &["query", "--backend", "iommufd", "4"],
        &["query", "--backend", "bogus", "4"],
        &["decode"],
        &["decode", "--kind", "bogus", "x.bin"],
        &["decode", "--byte-order", "middle", "x.bin"],
        &["decode", "a.bin", "b.bin"],
        &["device", "4"],
    ] {
        let out = run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!err.is_empty(), "{args:?}");
    }
    let err = stderr(&run(&["query", "0000:99:1f.8"]));
    assert!(
        err.contains("\"0000:99:1f.8\" is not a target: expected an IOMMU group number (4), a group path (/dev/vfio/4) or a PCI address"),
        "{err}"
    );
    let err = stderr(&run(&["device", "4"]));
    assert!(
        err.contains("`device` needs a PCI address, not group 4"),
        "{err}"
    );
    let err = stderr(&run(&["query", "--backend", "iommufd", "4"]));
    assert!(
        err.contains("--backend iommufd needs exactly one PCI address"),
        "{err}"
    );
}
