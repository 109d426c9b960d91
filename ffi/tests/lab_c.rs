//! The C examples, linked against the installed libvfio_iommu_info.so.0, against live
//! kernels: run inside the lab's guests (`make lab`, after `make c-build`), where `LAB=1`
//! and `LAB_*` describe the scenario; skipped elsewhere.

use std::path::PathBuf;
use std::process::{Command, Output};

use vfio_iommu_info::{check_span, open_and_query, Target};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn words(name: &str) -> Vec<String> {
    env(name)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The edu groups, or `None` outside the lab.
fn lab() -> Option<Vec<String>> {
    if env("LAB").as_deref() != Some("1") {
        eprintln!("skipped: not in the lab (make lab runs these inside QEMU guests)");
        return None;
    }
    Some(words("LAB_EDU_GROUPS"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The C test programs (ffi/tests/c), built into target/c-tests; the others are the
/// examples (c-examples), in target/c-examples.
const C_TESTS: &[&str] = &[
    "planning-test",
    "device-test",
    "threads",
    "bad-input-test",
    "hardening-test",
    "own-fds-test",
];

/// Where `make c-build` put a C program (`query`, `asan-threads`...).
fn c_path(program: &str) -> PathBuf {
    let name = program
        .strip_prefix("asan-")
        .or_else(|| program.strip_prefix("static-"))
        .unwrap_or(program);
    let dir = if C_TESTS.contains(&name) {
        "target/c-tests"
    } else {
        "target/c-examples"
    };
    repo().join(dir).join(program)
}

/// Runs a C example or test program (`query`, `asan-threads`...) with the staged library.
fn c(program: &str, args: &[&str]) -> Output {
    c_with(Command::new(c_path(program)), args)
}

fn c_with(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args)
        .env("LD_LIBRARY_PATH", repo().join("target/c-stage/usr/lib"))
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (make c-build builds the C examples and tests)"))
}

fn stdout_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The lines of `text` starting with `key `, without the key.
fn lines<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .collect()
}

fn hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

#[test]
fn lab_c_query_agrees_with_the_library_and_its_checks_with_check_span() {
    let Some(groups) = lab() else { return };
    assert!(!groups.is_empty(), "no edu group in this scenario");
    let group = &groups[0];
    // The library's own answer first (the group is closed again before the C program).
    let (container, info) = open_and_query(&group.parse::<Target>().unwrap()).unwrap();
    drop(container);
    let ranges = info
        .iova_ranges
        .present()
        .expect("a live container reports ranges")
        .clone();
    let holes = info.holes();
    let page = info.iova_pgsizes.and_then(|p| p.smallest()).unwrap();

    let mut args = vec![group.as_str(), "--check", "0x100000", "0x1000"];
    let hole_start = holes.first().map(|h| hex(h.start));
    if let Some(start) = &hole_start {
        args.extend(["--check", start, "0x1000"]);
    }
    let top = hex(u64::MAX - 0xfff);
    args.extend(["--check", &top, "0x1000"]);
    let text = stdout_ok(&c("query", &args), "query");

    let want: Vec<String> = ranges
        .iter()
        .map(|r| format!("{} {}", hex(r.start), hex(r.end)))
        .collect();
    assert_eq!(lines(&text, "range"), want, "{text}");
    let want: Vec<String> = holes
        .iter()
        .map(|r| format!("{} {}", hex(r.start), hex(r.end)))
        .collect();
    assert_eq!(lines(&text, "hole"), want, "{text}");
    assert_eq!(
        lines(&text, "pgsizes"),
        [hex(info.iova_pgsizes.unwrap().bits())]
    );
    assert_eq!(
        lines(&text, "group")[0],
        format!(
            "{group} fd {}",
            lines(&text, "group")[0].rsplit(' ').next().unwrap()
        )
    );
    // DMA_AVAIL is per container: a fresh one reports the same.
    assert_eq!(
        lines(&text, "dma_avail"),
        [info.dma_avail.present().unwrap().to_string()]
    );

    // Each verdict of the C check is check_span's.
    let checks = lines(&text, "check");
    assert_eq!(
        checks.len(),
        2 + usize::from(hole_start.is_some()),
        "{text}"
    );
    for line in checks {
        let mut f = line.split_whitespace();
        let iova = u64::from_str_radix(f.next().unwrap().trim_start_matches("0x"), 16).unwrap();
        let len = u64::from_str_radix(f.next().unwrap().trim_start_matches("0x"), 16).unwrap();
        let verdict = f.next().unwrap().trim_end_matches(':');
        let rust = check_span(&ranges, info.iova_pgsizes, iova, len);
        assert_eq!(verdict == "ok", rust.is_ok(), "{line} vs {rust:?}");
        if hole_start.is_some() && iova == holes[0].start {
            assert!(line.contains("inside a reserved hole"), "{line}");
        }
    }
    assert_eq!(page % 4096, 0);
}

#[test]
fn lab_c_query_by_pci_address_and_all_groups_in_one_container() {
    let Some(groups) = lab() else { return };
    let bdfs = words("LAB_EDU_BDFS");
    let by_group = stdout_ok(&c("query", &[groups[0].as_str()]), "query group");
    let by_bdf = stdout_ok(&c("query", &[bdfs[0].as_str()]), "query bdf");
    assert_eq!(lines(&by_bdf, "range"), lines(&by_group, "range"));
    assert_eq!(lines(&by_bdf, "group").len(), 1);
    // Every edu device in one container, each group attached once.
    let all: Vec<&str> = bdfs
        .iter()
        .chain(groups.iter())
        .map(String::as_str)
        .collect();
    let text = stdout_ok(&c("query", &all), "query all");
    assert_eq!(lines(&text, "group").len(), groups.len(), "{text}");
}

#[test]
fn lab_c_a_busy_group_is_the_kernels_errno_with_the_detail() {
    let Some(groups) = lab() else { return };
    let group = &groups[0];
    // While this process holds the group in a container, the C program cannot open it.
    let (_container, _info) = open_and_query(&group.parse::<Target>().unwrap()).unwrap();
    let out = c("query", &[group.as_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("-{} (EBUSY", libc::EBUSY)), "{err}");
    assert!(err.contains(&format!("/dev/vfio/{group}")), "{err}");
}

/// As an unprivileged user (the group node is root's), the C program's open fails with
/// -EACCES, and the last error names the node and the fix.
#[test]
fn lab_c_without_permission_is_eacces_naming_the_node() {
    use std::os::unix::process::CommandExt;

    let Some(groups) = lab() else { return };
    let mut cmd = Command::new(repo().join("target/c-examples/query"));
    cmd.uid(65534).gid(65534);
    let out = c_with(cmd, &[groups[0].as_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("-{} (EACCES", libc::EACCES)), "{err}");
    assert!(err.contains(&format!("/dev/vfio/{}", groups[0])), "{err}");
    assert!(
        err.contains("run as root or give this user access"),
        "{err}"
    );
}

#[test]
fn lab_c_guest_layout_places_ram_where_the_kernel_allows() {
    let Some(groups) = lab() else { return };
    let bdf = words("LAB_EDU_BDFS").remove(0);
    let (container, info) = open_and_query(&groups[0].parse::<Target>().unwrap()).unwrap();
    drop(container);
    let ranges = info.iova_ranges.present().unwrap().clone();
    let out = c(
        "guest-layout",
        &["--target", &bdf, "2G", "64M", "1G@0x100000000"],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let placed = lines(&text, "place");
    assert_eq!(
        placed.len(),
        3,
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in placed {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or(0);
        let (size, start) = (num(f[0]), num(f[2]));
        assert_eq!(
            check_span(&ranges, info.iova_pgsizes, start, size),
            Ok(()),
            "{line}"
        );
    }
    assert!(out.status.success(), "{text}");
}

#[test]
fn lab_c_query_is_clean_under_asan_and_valgrind() {
    let Some(groups) = lab() else { return };
    let plain = stdout_ok(&c("query", &[groups[0].as_str()]), "query");
    let asan = c("asan-query", &[groups[0].as_str()]);
    assert_eq!(stdout_ok(&asan, "asan-query"), plain);
    let out = memcheck("query", &[groups[0].as_str()]);
    assert_eq!(stdout_ok(&out, "valgrind query"), plain);
}

/// The same as the core's threads test, through the C ABI (ffi/tests/c/threads.c): three
/// threads query one container (through the handle and through its fd) while the main
/// thread maps and unmaps; every answer is a whole snapshot, no call fails, nothing hangs
/// (the program is killed by the lab's timeout otherwise). Plain, under ASan+UBSan, and
/// (see `memcheck_here`) under valgrind, with fewer rounds: it runs the threads one at a
/// time.
#[test]
fn lab_c_threads_query_one_container_while_another_maps() {
    let Some(groups) = lab() else { return };
    for (program, rounds) in [("threads", "40"), ("asan-threads", "20")] {
        let out = c(program, &[groups[0].as_str(), "3", rounds, "4"]);
        let text = stdout_ok(&out, program);
        let summary: Vec<u64> = line(&text, "threads")
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(summary[0], 3, "{text}");
        assert!(
            summary[1] >= 3 * 20,
            "each reader queries 20 times at least: {text}"
        );
        eprintln!(
            "{program}: {} queries, {} with mappings held",
            summary[1], summary[2]
        );
    }
    if !memcheck_here() {
        return;
    }
    let out = memcheck("threads", &[groups[0].as_str(), "2", "5", "2"]);
    let text = stdout_ok(&out, "valgrind threads");
    assert!(text.starts_with("threads 2 "), "{text}");
}

/// ffi/tests/c/bad-input-test's lab mode: the C entry points given what a confused caller
/// has on a real VFIO host (a group fd as a container, a container without an IOMMU model,
/// a group already held, a device on another driver, NULL out-parameters of a live
/// container), each a specific code and message with the out-parameters untouched; plain,
/// under ASan+UBSan and (see `memcheck_here`) under valgrind. The q35 ISA bridge 00:1f.0
/// is on lpc_ich.
#[test]
fn lab_c_bad_inputs_on_a_real_vfio_host_fail_cleanly() {
    let Some(groups) = lab() else { return };
    let args = ["lab", groups[0].as_str(), "0000:00:1f.0"];
    let check = |out: &Output, what: &str| {
        let text = stdout_ok(out, what);
        let summary = line(&text, "bad-input-test:");
        assert!(summary.ends_with(" passed, 0 failed"), "{what}: {text}");
        let problems: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("FAIL ") || l.starts_with("skip "))
            .collect();
        assert!(problems.is_empty(), "{what}: {problems:?}");
        eprintln!("{what}: {summary}");
    };
    check(&c("bad-input-test", &args), "bad-input-test");
    check(&c("asan-bad-input-test", &args), "asan-bad-input-test");
    if !memcheck_here() {
        return;
    }
    let out = memcheck("bad-input-test", &args);
    check(&out, "valgrind bad-input-test");
}

/// The first line of `text` starting with `key `, without the key.
fn line<'a>(text: &'a str, key: &str) -> &'a str {
    lines(text, key)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {key:?} line in\n{text}"))
}

/// Whether this scenario runs the valgrind leg of the threads and bad-input programs:
/// valgrind under TCG costs about 7 s a run, so they run under it once per kernel (6.1,
/// 6.12 and the lab's 6.12-iommufd: their amd scenarios), and under ASan everywhere.
fn memcheck_here() -> bool {
    env("LAB_VIOMMU").as_deref() == Some("amd")
}

/// Runs a C example under valgrind memcheck (errors and every kind of leak fail it) and
/// asserts that valgrind said nothing but its notes on the ioctls it does not know
/// (VFIO's and iommufd's carry no size in their numbers).
fn memcheck(program: &str, args: &[&str]) -> Output {
    let mut vg = Command::new("valgrind");
    vg.args([
        "-q",
        "--error-exitcode=99",
        "--leak-check=full",
        "--show-leak-kinds=all",
        "--errors-for-leak-kinds=all",
    ])
    .arg(c_path(program));
    let out = c_with(vg, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            !(l.contains("Warning: noted but unhandled ioctl 0x3b")
                || l.contains("This could cause spurious value errors")
                || l.contains("See README_MISSING_SYSCALL_OR_IOCTL"))
        })
        .collect();
    assert!(complaints.is_empty(), "valgrind {program}: {stderr}");
    out
}

/// The iommufd example (since 0.3): with iommufd (LAB_IOMMUFD=1), what the C program
/// prints is the library's own answer for the device (ranges, alignment, hardware info,
/// every fact with its source, the JSON), the type1 answer for the same device has the
/// same ranges, and the program is clean under ASan and valgrind; without iommufd
/// (Debian's kernels), the open fails with -ENOENT naming /dev/iommu and what to do.
#[test]
fn lab_c_iommufd_answers_as_the_library_or_fails_cleanly_without_iommufd() {
    use vfio_iommu_info::cdev::IommufdDevice;
    use vfio_iommu_info::facts::Source;
    use vfio_iommu_info::json::{facts_to_json, hw_info_to_json};
    use vfio_iommu_info::{HostPaths, PciAddress};

    let Some(_groups) = lab() else { return };
    let bdf = words("LAB_EDU_BDFS").remove(0);
    if env("LAB_IOMMUFD").as_deref() != Some("1") {
        for program in ["iommufd", "asan-iommufd"] {
            let out = c(program, &[bdf.as_str()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{program}: {err}");
            assert!(out.stdout.is_empty(), "{program} printed before failing");
            assert!(
                err.starts_with(&format!(
                    "iommufd: open: -{} (ENOENT: no such file or directory): vfio_iommu_info_iommufd_open: cannot open /dev/iommu",
                    libc::ENOENT
                )),
                "{program}: {err}"
            );
            assert!(err.contains("CONFIG_IOMMUFD"), "{program}: {err}");
        }
        return;
    }
    let viommu = env("LAB_VIOMMU").unwrap_or_default();
    // The library's answer first; the device is closed again before the C program runs.
    let address: PciAddress = bdf.parse().unwrap();
    let dev =
        IommufdDevice::open(&address, &HostPaths::default()).unwrap_or_else(|e| panic!("{e}"));
    let ranges = dev.iova_ranges().unwrap();
    let hw = dev.hw_info().unwrap();
    let facts = dev.facts(&ranges, Some(&hw), &HostPaths::default());
    drop(dev);
    assert_eq!(
        facts.reserved_regions.as_ref().map(|r| r.source),
        Some(Source::Sysfs),
        "the group's sysfs reserved regions"
    );

    let text = stdout_ok(&c("iommufd", &["--type1", bdf.as_str()]), "iommufd --type1");
    let want: Vec<String> = ranges
        .ranges
        .iter()
        .map(|r| format!("{} {}", hex(r.start), hex(r.end)))
        .collect();
    assert_eq!(lines(&text, "range"), want, "{text}");
    assert_eq!(
        lines(&text, "type1_range"),
        want,
        "the same device, two interfaces\n{text}"
    );
    assert_eq!(
        line(&text, "aperture"),
        format!(
            "{} {}",
            hex(ranges.ranges[0].start),
            hex(ranges.ranges.last().unwrap().end)
        )
    );
    assert_eq!(line(&text, "alignment"), "0x1000");
    assert!(
        line(&text, "cdev").starts_with("/dev/vfio/devices/vfio"),
        "{text}"
    );
    // 6.12 reports them, no dirty tracking; 7.x adds that the edu device cannot use ATS
    // (IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 0x8).
    let want = if std::env::var("LAB_KERNEL").is_ok_and(|k| k.starts_with("6.")) {
        "0"
    } else {
        "0x8"
    };
    assert_eq!(line(&text, "hw_capabilities"), want);
    assert_eq!(line(&text, "fact backend"), "iommufd");
    assert_eq!(
        line(&text, "fact iova_ranges"),
        format!("{} iommufd:ioas-iova-ranges", ranges.ranges.len())
    );
    assert_eq!(
        line(&text, "fact iova_alignment"),
        "0x1000 iommufd:ioas-iova-ranges"
    );
    assert_eq!(
        line(&text, "fact mapping_limit"),
        "unlimited iommufd:ioas-iova-ranges"
    );
    assert_eq!(
        line(&text, "fact dirty_tracking"),
        "hardware 0 iommufd:hw-info-capabilities"
    );
    match viommu.as_str() {
        "intel" => {
            let aw = env("LAB_AW_BITS").unwrap();
            assert_eq!(line(&text, "hw_info"), "intel-vtd 1 24 24 0");
            assert_eq!(line(&text, "hw_address_width"), aw);
            assert_eq!(line(&text, "hw_page_sizes"), "0x40201000");
            assert_eq!(line(&text, "fact page_sizes"), "0x40201000 iommufd:hw-info");
            assert_eq!(
                line(&text, "fact address_width"),
                format!("{aw} iommufd:hw-info")
            );
            let vtd: Vec<&str> = line(&text, "vtd").split(' ').collect();
            let cap = u64::from_str_radix(vtd[0].trim_start_matches("0x"), 16).unwrap();
            assert_eq!(((cap >> 16) & 0x3f) + 1, aw.parse::<u64>().unwrap(), "MGAW");
            // type1 reports the same page sizes through its own interface.
            assert_eq!(
                line(&text, "type1_fact page_sizes"),
                "0x40201000 type1:iova_pgsizes"
            );
        }
        "amd" if !env("LAB_KERNEL").is_some_and(|k| k.starts_with("6.")) => {
            // 7.x's AMD driver answers with EFR and EFR2 (16 bytes); QEMU's EFR.HATS says
            // 64 bits (the JSON below is compared whole with the library's objects).
            assert!(line(&text, "hw_info").starts_with("amd 4 16 "), "{text}");
            assert_eq!(line(&text, "hw_address_width"), "64");
        }
        "amd" => {
            // Linux 6.12's AMD driver has no hw_info (IOMMU_HW_INFO_TYPE_AMD is 6.17).
            assert_eq!(line(&text, "hw_info"), "none 0 0 0 0");
            assert_eq!(line(&text, "hw_address_width"), "0");
            assert_eq!(line(&text, "fact page_sizes"), "absent");
            assert_eq!(line(&text, "fact address_width"), "absent");
            assert!(lines(&text, "vtd").is_empty() && lines(&text, "amd").is_empty());
        }
        other => panic!("no iommufd scenario with {other}"),
    }
    // The JSON is the library's objects.
    let json: serde_json::Value = serde_json::from_str(line(&text, "json")).unwrap();
    assert_eq!(json["facts"], facts_to_json(&facts), "{json}");
    assert_eq!(json["hw_info"], hw_info_to_json(&hw));
    assert_eq!(json["device"], address.to_string());
    let ids: Vec<u64> = line(&text, "ids")
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        (
            json["dev_id"].as_u64(),
            json["ioas"].as_u64(),
            json["hwpt"].as_u64()
        ),
        (Some(ids[0]), Some(ids[1]), Some(ids[2]))
    );
    // The legacy container is the real type1, or iommufd's compat container on a kernel
    // built with it instead (LAB_COMPAT=1: no count limit).
    let compat = env("LAB_COMPAT").as_deref() == Some("1");
    let container = if compat { "iommufd-compat" } else { "type1" };
    assert_eq!(line(&text, "container_backend"), container);
    assert_eq!(line(&text, "type1_fact backend"), container);
    let limit = if compat { "unlimited" } else { "remaining " };
    assert!(
        line(&text, "type1_fact mapping_limit").starts_with(limit),
        "{text}"
    );

    // ASan+UBSan: the same answer (fd numbers aside).
    let plain = stdout_ok(&c("iommufd", &[bdf.as_str()]), "iommufd");
    let asan = stdout_ok(&c("asan-iommufd", &[bdf.as_str()]), "asan-iommufd");
    let without_fds = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("fds "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(without_fds(&asan), without_fds(&plain));
    let out = memcheck("iommufd", &[bdf.as_str()]);
    assert_eq!(
        without_fds(&stdout_ok(&out, "valgrind iommufd")),
        without_fds(&plain)
    );
}

/// The 0.4 example in QEMU's shape (c-examples/vmm.c): the container or the IOAS made the
/// VMM's way with raw ioctls, then three library calls. Its ranges, holes, page sizes and
/// DMA_AVAIL are the library's own answer; RAM sections are mapped or refused as
/// `check_span` says, a hole refused with the library's words; under ASan too.
#[test]
fn lab_c_a_vmm_asks_on_its_own_fds_in_three_calls() {
    let Some(groups) = lab() else { return };
    let group = &groups[0];
    let (container, info) = open_and_query(&group.parse::<Target>().unwrap()).unwrap();
    drop(container);
    let ranges = info.iova_ranges.present().unwrap().clone();
    let holes = info.holes();
    let mut args = vec![
        "type1".to_owned(),
        group.clone(),
        "0x100000".into(),
        "0x1000".into(),
    ];
    if let Some(h) = holes.first() {
        args.extend([hex(h.start), "0x1000".into()]);
    }
    let beyond = info.aperture().map(|a| a.end).filter(|&e| e != u64::MAX);
    if let Some(end) = beyond {
        args.extend([hex(end + 1), "0x1000".into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for program in ["vmm", "asan-vmm"] {
        let out = c(program, &args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let refusals = usize::from(!holes.is_empty()) + usize::from(beyond.is_some());
        let want_status = if refusals > 0 { 3 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(want_status),
            "{program}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want: Vec<String> = ranges
            .iter()
            .map(|r| format!("{} {}", hex(r.start), hex(r.end)))
            .collect();
        assert_eq!(lines(&text, "range"), want, "{text}");
        assert_eq!(lines(&text, "hole").len(), holes.len(), "{text}");
        assert_eq!(
            lines(&text, "page-sizes"),
            [hex(info.iova_pgsizes.unwrap().bits())]
        );
        // iommufd's compat container (LAB_COMPAT=1): DMA_AVAIL U32_MAX, no count limit.
        let compat = env("LAB_COMPAT").as_deref() == Some("1");
        let avail = if compat {
            "unlimited".to_owned()
        } else {
            info.dma_avail.present().unwrap().to_string()
        };
        assert_eq!(lines(&text, "dma-avail"), [avail]);
        let backend = if compat { "iommufd-compat" } else { "type1" };
        assert_eq!(lines(&text, "backend"), [backend], "{text}");
        let sections = lines(&text, "section");
        assert_eq!(sections[0], "0x100000+0x1000: map", "{text}");
        assert_eq!(
            sections.iter().filter(|s| s.contains("refused")).count(),
            refusals,
            "{text}"
        );
        if !holes.is_empty() {
            assert!(
                sections[1].contains("refused: inside a reserved hole"),
                "{text}"
            );
        }
    }
}

/// The same on the iommufd path where the kernel has it (the IOAS of a bound cdev, made
/// with raw ioctls): the IOAS ranges and alignment are the library's own iommufd answer.
#[test]
fn lab_c_a_vmm_asks_on_its_own_iommufd_and_ioas() {
    let Some(_) = lab() else { return };
    let bdf = words("LAB_EDU_BDFS").remove(0);
    let out = c("vmm", &["iommufd", &bdf, "0x100000", "0x1000"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if env("LAB_IOMMUFD").as_deref() != Some("1") {
        assert_eq!(out.status.code(), Some(1), "{text}{err}");
        // Whichever is missing is named: the node, its sysfs entry, or /dev/iommu.
        assert!(
            ["no VFIO device node", "/dev/vfio/devices/", "/dev/iommu"]
                .iter()
                .any(|m| err.contains(m)),
            "{err}"
        );
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    let (_device, report) = vfio_iommu_info::query::report::IommufdReport::open(
        &bdf.parse().unwrap(),
        &vfio_iommu_info::HostPaths::default(),
    )
    .unwrap();
    let want: Vec<String> = report
        .ranges
        .ranges
        .iter()
        .map(|r| format!("{} {}", hex(r.start), hex(r.end)))
        .collect();
    assert_eq!(lines(&text, "range"), want, "{text}");
    assert_eq!(lines(&text, "backend"), ["iommufd"], "{text}");
    assert_eq!(lines(&text, "dma-avail"), ["unlimited"], "{text}");
    assert_eq!(
        lines(&text, "iova-alignment"),
        [hex(report.ranges.alignment)]
    );
    assert_eq!(lines(&text, "section"), ["0x100000+0x1000: map"], "{text}");
}

/// The 0.4 calls on fds made the VMM's way (ffi/tests/c/own-fds-test.c), plain and under
/// ASan: they agree with the library's own answers, and closed fds, fds of the wrong
/// kind, an IOAS id that does not exist, a device id not bound and a region index past
/// the end each get a specific code and a message naming them, never a crash.
#[test]
fn lab_c_the_04_calls_on_a_vmms_own_fds() {
    let Some(groups) = lab() else { return };
    let bdf = words("LAB_EDU_BDFS").remove(0);
    let mut args = vec![groups[0].as_str(), bdf.as_str()];
    if env("LAB_IOMMUFD").as_deref() == Some("1") {
        args.push("iommufd");
    }
    for program in ["own-fds-test", "asan-own-fds-test"] {
        let text = stdout_ok(&c(program, &args), program);
        assert!(text.contains(", 0 failed"), "{program}: {text}");
        assert!(!text.contains("FAIL"), "{program}: {text}");
    }
}

/// What-if for hotplug through the C ABI (`vfio_iommu_info_space_what_if_attach`), in
/// the two-group scenario: the space of a container holding the first group, the second
/// group predicted from sysfs, against the space of a container holding both; a live
/// mapping in the MSI window is the one the attach could not keep.
#[test]
fn lab_c_what_if_attach_predicts_the_space_of_both_groups() {
    use ::vfio_iommu_info::{json::space_to_json, Container, HostPaths};
    use vfio_iommu_info_ffi::{
        space_handle_for_tests, vfio_iommu_info_range, vfio_iommu_info_space,
        vfio_iommu_info_space_free, vfio_iommu_info_space_what_if_attach,
        vfio_iommu_info_string_free, vfio_iommu_info_what_if, VFIO_IOMMU_INFO_APERTURE_SHARED,
    };

    let Some(groups) = lab() else { return };
    if groups.len() < 2 {
        eprintln!("skipped: one group");
        return;
    }
    let numbers: Vec<u32> = groups.iter().map(|g| g.parse().unwrap()).collect();
    let paths = HostPaths::default();
    let first = Container::open_targets(&[Target::Group(numbers[0])], &paths)
        .unwrap()
        .space(&paths)
        .unwrap()
        .unwrap();
    let space = space_handle_for_tests(first);
    let live = [
        vfio_iommu_info_range {
            start: 0,
            end: 0xfff,
        },
        vfio_iommu_info_range {
            start: 0xfee0_0000,
            end: 0xfee0_0fff,
        },
    ];
    // SAFETY: a zeroed sized struct is valid; its size is set below as the contract asks.
    let mut w: vfio_iommu_info_what_if = unsafe { std::mem::zeroed() };
    w.size = size_of::<vfio_iommu_info_what_if>() as u32;
    let mut after: *mut vfio_iommu_info_space = std::ptr::null_mut();
    let mut json: *mut std::ffi::c_char = std::ptr::null_mut();
    // SAFETY: a live space, one attached group, two live ranges, the out-pointers valid.
    let rc = unsafe {
        vfio_iommu_info_space_what_if_attach(
            space,
            &numbers[0],
            1,
            numbers[1],
            live.as_ptr(),
            live.len(),
            &mut w,
            &mut after,
            &mut json,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(
        (w.exact, w.aperture_source, w.refused_mapping),
        (1, VFIO_IOMMU_INFO_APERTURE_SHARED, 1)
    );
    assert_eq!(w.refusal_errno, libc::EINVAL, "type1 refuses the attach");
    // SAFETY: `json` is the library's NUL-terminated string, freed once below.
    let text = unsafe { std::ffi::CStr::from_ptr(json) }
        .to_str()
        .unwrap()
        .to_owned();
    let both = Container::open_targets(
        &[Target::Group(numbers[0]), Target::Group(numbers[1])],
        &paths,
    )
    .unwrap()
    .space(&paths)
    .unwrap()
    .unwrap();
    let predicted: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(predicted["after"], space_to_json(&both), "predicted {text}");
    // SAFETY: the handles and string this test received, each freed once.
    unsafe {
        vfio_iommu_info_string_free(json);
        vfio_iommu_info_space_free(after);
        vfio_iommu_info_space_free(space);
    }
}
