//! The command against live kernels: run inside the lab's guests (`make lab`), where
//! `LAB=1` and `LAB_*` describe the scenario; skipped elsewhere.

use std::process::{Command, Output};

use serde_json::Value;
use vfio_iommu_info::json::CONTRACT_KEYS;

mod readme;
mod schema;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// (viommu, edu groups, edu devices), or `None` outside the lab.
fn lab() -> Option<(String, Vec<String>, Vec<String>)> {
    if env("LAB").as_deref() != Some("1") {
        eprintln!("skipped: not in the lab (make lab runs these inside QEMU guests)");
        return None;
    }
    let words = |v: &str| {
        env(v)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    Some((
        env("LAB_VIOMMU").unwrap_or_default(),
        words("LAB_EDU_GROUPS"),
        words("LAB_EDU_BDFS"),
    ))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vfio-iommu-info"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `explain --json` check called `name`.
fn check(report: &Value, name: &str) -> Value {
    let checks = report["checks"]
        .as_array()
        .expect("explain --json has checks");
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
        .clone()
}

/// The JSON document `args` print, checked against its schema (`schemas/`): a live
/// output that drifts from it fails here.
fn json(args: &[&str]) -> Value {
    let v = serde_json::from_str(&ok(args)).unwrap();
    schema::assert_valid(args, &v);
    v
}

#[test]
fn lab_cli_list_shows_the_edu_groups_and_the_non_viable_isa_group() {
    let Some((_, groups, devices)) = lab() else {
        return;
    };
    let text = ok(&["list"]);
    for (g, d) in groups.iter().zip(&devices) {
        assert!(text.contains(&format!("IOMMU group {g}  (")), "{text}");
        assert!(
            text.lines().any(|l| l.contains(d.as_str())
                && l.contains("1234:11e8")
                && l.contains("vfio-pci")),
            "{text}"
        );
    }
    assert!(
        text.contains("not viable: 0000:00:1f.0 on lpc_ich"),
        "{text}"
    );
    assert!(
        text.contains("Intel Corporation")
            || !std::path::Path::new("/usr/share/misc/pci.ids").exists(),
        "pci.ids names: {text}"
    );
    let v = json(&["list", "--json"]);
    let edu = v
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"].as_u64() == groups[0].parse().ok())
        .unwrap();
    assert_eq!(edu["viable"], true);
    assert_eq!(edu["devices"][0]["driver"], "vfio-pci");
    assert_eq!(edu["devices"][0]["vendor"], 0x1234);
    assert!(edu["reserved_regions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "msi"));
}

#[test]
fn lab_cli_query_by_group_and_by_pci_address_agree_and_attribute_holes() {
    let Some((_, groups, devices)) = lab() else {
        return;
    };
    let by_group = json(&["query", "--json", &groups[0]]);
    let by_device = json(&["query", "--json", &devices[0]]);
    assert_eq!(by_group, by_device);
    assert_eq!(
        by_group,
        json(&["query", "--json", &format!("/dev/vfio/{}", groups[0])])
    );
    assert_eq!(by_group["groups"][0].as_u64(), groups[0].parse().ok());
    assert!(by_group["iova_ranges"].as_array().unwrap().len() >= 2);
    let text = ok(&["query", &devices[0]]);
    assert!(
        text.contains(&format!("msi (group {})", groups[0])),
        "{text}"
    );
    assert!(
        text.contains("page sizes") && text.contains("DMA_AVAIL"),
        "{text}"
    );
    // Every group of the scenario in one container.
    let mut args = vec!["query", "--json"];
    args.extend(groups.iter().map(String::as_str));
    assert_eq!(
        json(&args)["groups"].as_array().unwrap().len(),
        groups.len()
    );
}

#[test]
fn lab_cli_a_raw_capture_from_query_decodes_to_the_same_answer() {
    let Some((_, groups, _)) = lab() else { return };
    let raw = std::env::temp_dir().join("lab-cli-raw.bin");
    // --save-raw only creates new files.
    let _ = std::fs::remove_file(&raw);
    let q = json(&[
        "query",
        "--json",
        "--save-raw",
        raw.to_str().unwrap(),
        &groups[0],
    ]);
    let d = json(&["decode", "--json", raw.to_str().unwrap()]);
    let keys = CONTRACT_KEYS
        .iter()
        .filter(|k| **k != "argsz")
        .chain(&["holes", "aperture"]);
    for key in keys {
        assert_eq!(q[key], d[key], "{key}");
    }
}

#[test]
fn lab_cli_explain_passes_for_a_bound_device_and_catches_a_hole() {
    let Some((_, _, devices)) = lab() else { return };
    let text = ok(&["explain", &devices[0]]);
    assert!(
        !text.contains("FAIL")
            && (text.contains("all checks passed") || text.contains("no check failed")),
        "{text}"
    );
    let out = run(&[
        "explain",
        &devices[0],
        "--iova",
        "0xfee00000",
        "--size",
        "4096",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("falls in the reserved hole") && text.contains("msi"),
        "{text}"
    );
    // 2^55: beyond a 39- or 48-bit intel-iommu, inside amd's and virtio's 64-bit space.
    let far = 1u64 << 55;
    let aperture_end = json(&["query", "--json", &devices[0]])["aperture"]["end"]
        .as_u64()
        .unwrap();
    let out = run(&[
        "explain",
        "--json",
        &devices[0],
        "--iova",
        &format!("{far:#x}"),
        "--size",
        "0x1000",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let iova = check(&v, "iova");
    if far > aperture_end {
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(iova["status"], "fail");
        assert!(
            iova["detail"]
                .as_str()
                .unwrap()
                .contains("beyond the IOMMU aperture"),
            "{iova}"
        );
    } else {
        assert_eq!(out.status.code(), Some(0), "{v}");
        assert_eq!(iova["status"], "ok", "{iova}");
    }
}

#[test]
fn lab_cli_explain_names_the_driver_that_blocks_a_group() {
    let Some(_) = lab() else { return };
    let out = run(&["explain", "0000:00:1f.0"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("0000:00:1f.0 is still bound to lpc_ich"),
        "{text}"
    );
    assert!(
        text.contains("fix: echo vfio-pci > /sys/bus/pci/devices/0000:00:1f.0/driver_override"),
        "{text}"
    );
}

#[test]
fn lab_cli_explain_reports_missing_interrupt_remapping_with_the_fix() {
    let Some((viommu, _, devices)) = lab() else {
        return;
    };
    // The parameter of whoever serves /dev/vfio/vfio: iommufd's on its compat container.
    let module = if env("LAB_COMPAT").as_deref() == Some("1") {
        "iommufd"
    } else {
        "vfio_iommu_type1"
    };
    let p = format!("/sys/module/{module}/parameters/allow_unsafe_interrupts");
    let old = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, "0").unwrap();
    let out = run(&["explain", "--json", &devices[0]]);
    std::fs::write(&p, old.trim()).unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let irq = check(&v, "interrupt-remapping");
    let container = check(&v, "container");
    // No interrupt remapping with virtio-iommu on x86, nor with amd-iommu on Linux 7.x
    // (LAB_INTREMAP, checked by the guest's init against /proc/interrupts).
    if env("LAB_INTREMAP").as_deref() != Some("1") {
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(container["status"], "fail", "{v}");
        assert!(
            container["detail"].as_str().unwrap().contains("EPERM"),
            "{container}"
        );
        assert_eq!(irq["status"], "fail", "{v}");
        assert!(
            irq["fix"]
                .as_str()
                .unwrap()
                .contains(&format!("load {module} with allow_unsafe_interrupts=1")),
            "{irq}"
        );
    } else {
        assert_eq!(out.status.code(), Some(0), "{v}");
        assert_eq!(container["status"], "ok", "{v}");
        assert_eq!(irq["status"], "ok", "{viommu} remaps interrupts: {v}");
    }
}

#[test]
fn lab_cli_plan_attributes_every_hole_and_allocates_below_the_edu_dma_mask() {
    let Some((viommu, groups, devices)) = lab() else {
        return;
    };
    let out = run(&[
        "plan",
        "--json",
        &devices[0],
        "--dma-bits",
        "28",
        "--alloc",
        "64K",
        "--alloc",
        "2M",
        "--ram",
        "1G",
        "--check",
        "0x10000:4K",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    let query = json(&["query", "--json", &groups[0]]);
    assert_eq!(
        v["space"]["ranges"].as_array().unwrap().len(),
        query["iova_ranges"].as_array().unwrap().len()
    );
    let holes = v["space"]["holes"].as_array().unwrap();
    assert!(!holes.is_empty(), "{v}");
    for h in holes {
        // Every hole comes from a reserved region of the group: msi, and AMD's
        // HyperTransport window (reserved).
        let types: Vec<&str> = h["causes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert!(!types.is_empty(), "unattributed hole {h} ({viommu})");
        if h["start"] == 0xfd_0000_0000u64 {
            assert!(types.contains(&"reserved"), "{h}");
        } else {
            assert!(types.contains(&"msi"), "{h}");
        }
    }
    for a in v["allocations"].as_array().unwrap() {
        let end = a["iova"].as_u64().unwrap() + a["size"].as_u64().unwrap() - 1;
        assert!(end < 1 << 28, "{a}");
    }
    assert_eq!(v["layout"]["placements"][0]["result"], "placed");
    assert_eq!(v["layout"]["mappings"]["dma_avail"], query["dma_avail"]);
    // Inside the first hole: the check fails, and plan says so with exit status 1.
    let hole = holes[0]["start"].as_u64().unwrap();
    let out = run(&["plan", &groups[0], "--check", &format!("{hole:#x}:4K")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no: inside the reserved hole"), "{text}");
}

#[test]
fn lab_cli_query_names_its_backend_and_the_iommufd_answer_agrees_with_type1() {
    let Some((_viommu, groups, bdfs)) = lab() else {
        return;
    };
    let bdf = &bdfs[0];
    // Who serves /dev/vfio/vfio: type1, or iommufd's compat container on a kernel built
    // with it instead (LAB_COMPAT=1), which the command names.
    let container = if env("LAB_COMPAT").as_deref() == Some("1") {
        "iommufd-compat"
    } else {
        "type1"
    };
    // auto picks the container where /dev/vfio/vfio exists, and says why.
    let auto = json(&["query", bdf, "--json"]);
    assert_eq!(auto["backend"], container, "{auto}");
    assert!(
        auto["backend_reason"]
            .as_str()
            .unwrap()
            .starts_with("auto:"),
        "{auto}"
    );
    assert_eq!(
        auto["facts"]["iova_ranges"]["source"],
        "type1:iova-range-cap"
    );
    assert_eq!(auto["facts"]["page_sizes"]["source"], "type1:iova_pgsizes");
    // The groups' reserved regions, from sysfs, are a fact too: the same list as the
    // query's own `reserved_regions`, without the group numbers.
    assert_eq!(
        auto["facts"]["reserved_regions"]["source"],
        "sysfs:reserved_regions"
    );
    let plain: Vec<Value> = auto["reserved_regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("group");
            r
        })
        .collect();
    assert_eq!(
        auto["facts"]["reserved_regions"]["value"],
        Value::from(plain)
    );
    let text = ok(&["query", bdf, "--backend", "type1"]);
    assert!(
        text.contains(&format!(
            "backend      {container} (--backend type1): /dev/vfio/vfio"
        )),
        "{text}"
    );
    assert!(text.contains("[type1:iova-range-cap]"), "{text}");
    // iommufd wants one PCI address.
    let out = run(&["query", &groups[0], "--backend", "iommufd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one PCI address"));
    if env("LAB_IOMMUFD").as_deref() != Some("1") {
        let out = run(&["query", bdf, "--backend", "iommufd"]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("/dev/iommu") && err.contains("CONFIG_IOMMUFD"),
            "{err}"
        );
        return;
    }
    let fd = json(&["query", bdf, "--backend", "iommufd", "--json"]);
    assert_eq!(fd["backend"], "iommufd", "{fd}");
    assert_eq!(
        fd["iova_ranges"], auto["iova_ranges"],
        "the same device, two interfaces"
    );
    assert_eq!(fd["aperture"], auto["aperture"]);
    assert_eq!(fd["iova_alignment"], 4096);
    assert_eq!(
        fd["facts"]["iova_ranges"]["source"],
        "iommufd:ioas-iova-ranges"
    );
    assert_eq!(fd["facts"]["mapping_limit"]["value"], "unlimited");
    assert_eq!(
        fd["facts"]["reserved_regions"],
        auto["facts"]["reserved_regions"]
    );
    assert_eq!(fd["facts"]["dirty_tracking"]["value"]["hardware"], false);
    assert!(fd["holes"].as_array().unwrap().iter().any(|h| h["causes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "msi")));
    let text = ok(&["query", bdf, "--backend", "iommufd"]);
    assert!(
        text.contains("backend      iommufd (--backend iommufd): /dev/vfio/devices/vfio"),
        "{text}"
    );
    assert!(text.contains("alignment    0x1000"), "{text}");
    assert!(text.contains("[iommufd:ioas-iova-ranges]"), "{text}");
    if env("LAB_VIOMMU").as_deref() == Some("intel") {
        assert_eq!(fd["hw_info"]["type"], "intel-vtd");
        assert_eq!(fd["facts"]["page_sizes"]["value"], auto["iova_pgsizes"]);
        assert_eq!(fd["facts"]["page_sizes"]["source"], "iommufd:hw-info");
        assert!(text.contains("hw info      intel-vtd (24 bytes)"), "{text}");
    } else if env("LAB_KERNEL").is_some_and(|k| k.starts_with("6.")) {
        // Linux 6.12's AMD driver has no hw_info (IOMMU_HW_INFO_TYPE_AMD is 6.17).
        assert_eq!(fd["hw_info"]["type"], "none");
        assert!(fd["facts"]["page_sizes"].is_null());
    } else {
        // 7.x: EFR and EFR2; the library derives 64 host address bits (EFR.HATS) and no
        // page sizes.
        assert_eq!(fd["hw_info"]["type"], "amd", "{fd}");
        assert_eq!(fd["facts"]["address_width"]["value"], 64, "{fd}");
        assert!(fd["facts"]["page_sizes"].is_null());
    }
}

#[test]
fn lab_cli_device_lists_edus_regions_through_its_group_and_its_cdev() {
    let Some((_viommu, groups, bdfs)) = lab() else {
        return;
    };
    let bdf = &bdfs[0];
    let v = json(&["device", bdf, "--json"]);
    assert_eq!(v["via"], format!("/dev/vfio/{} (group)", groups[0]));
    assert_eq!(
        (
            v["info"]["num_regions"].as_u64(),
            v["info"]["num_irqs"].as_u64()
        ),
        (Some(9), Some(5))
    );
    assert_eq!(v["dma_window"], Value::Null, "x86 has no zPCI window");
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 9);
    assert_eq!(
        (regions[0]["size"].as_u64(), regions[0]["flags"].as_u64()),
        (Some(0x10_0000), Some(7))
    );
    assert_eq!(
        (regions[7]["size"].as_u64(), regions[7]["flags"].as_u64()),
        (Some(0x100), Some(3))
    );
    assert_eq!(
        regions[8]["errno"],
        libc_einval(),
        "no VGA on edu: {}",
        regions[8]
    );
    let text = ok(&["device", bdf]);
    assert!(
        text.contains("zPCI window  none (not an s390 zPCI device)"),
        "{text}"
    );
    assert!(text.contains("BAR0    1M"), "{text}");
    let cdev = run(&["device", bdf, "--backend", "iommufd", "--json"]);
    if env("LAB_IOMMUFD").as_deref() != Some("1") {
        assert_eq!(cdev.status.code(), Some(1));
        return;
    }
    assert!(
        cdev.status.success(),
        "{}",
        String::from_utf8_lossy(&cdev.stderr)
    );
    let w: Value = serde_json::from_slice(&cdev.stdout).unwrap();
    assert!(
        w["via"]
            .as_str()
            .unwrap()
            .starts_with("/dev/vfio/devices/vfio"),
        "{w}"
    );
    assert_eq!(
        w["info"], v["info"],
        "the same device info through the cdev"
    );
    // The same regions (an error's text names the fd, which differs).
    let without_text = |v: &Value| {
        let mut r = v["regions"].clone();
        for region in r.as_array_mut().unwrap() {
            region.as_object_mut().unwrap().remove("error");
        }
        r
    };
    assert_eq!(without_text(&w), without_text(&v));
}

fn libc_einval() -> Value {
    Value::from(22)
}

/// Targets the kernel refuses, each with its cause and the fix: a device on another
/// driver (its group has no VFIO node), a PCI address and a group that do not exist, and
/// an unprivileged user (the group node is root's). Exit status 1, never a panic.
#[test]
fn lab_cli_bad_targets_fail_with_the_cause_and_the_fix() {
    use std::os::unix::process::CommandExt;

    let Some((_, groups, devices)) = lab() else {
        return;
    };
    let fails = |out: Output, want: &[&str]| {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        for w in want {
            assert!(stderr.contains(w), "{w:?} not in {stderr}");
        }
    };
    for command in ["query", "device"] {
        fails(
            run(&[command, "0000:00:1f.0"]),
            &[
                "no device of it is bound to vfio-pci",
                "0000:00:1f.0 (lpc_ich)",
                "driver_override",
            ],
        );
        fails(
            run(&[command, "0000:00:1f.7"]),
            &["PCI device 0000:00:1f.7 does not exist", "lspci -D"],
        );
    }
    fails(
        run(&["query", "4095"]),
        &["/dev/vfio/4095", "there is no IOMMU group 4095"],
    );
    let as_nobody = |target: &str| {
        Command::new(env!("CARGO_BIN_EXE_vfio-iommu-info"))
            .args(["query", target])
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let node = format!("/dev/vfio/{}", groups[0]);
    for target in [groups[0].as_str(), devices[0].as_str()] {
        fails(
            as_nobody(target),
            &[
                &format!("cannot open {node}: Permission denied (EACCES)"),
                "run as root or give this user access",
            ],
        );
    }
}

/// Runs `script` under `/bin/sh` as nobody (uid and gid 65534), as an unprivileged user
/// planting traps would.
fn as_nobody(script: &str) {
    use std::os::unix::process::CommandExt;
    let out = Command::new("/bin/sh")
        .args(["-c", script])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "as nobody: {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the command, failing the test if it has not ended after 60 s (a FIFO opened for
/// writing would block it forever).
fn run_bounded(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vfio-iommu-info"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{args:?} hung for 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Sets `fs.protected_symlinks` and puts the old value back when dropped.
struct ProtectedSymlinks(String);

impl ProtectedSymlinks {
    const PATH: &'static str = "/proc/sys/fs/protected_symlinks";

    fn set(value: &str) -> ProtectedSymlinks {
        let old = std::fs::read_to_string(Self::PATH).unwrap();
        std::fs::write(Self::PATH, value).unwrap();
        ProtectedSymlinks(old.trim().to_owned())
    }
}

impl Drop for ProtectedSymlinks {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, &self.0);
    }
}

/// An inotify watch for any open, read or write of one path's inode.
struct OpenWatch(std::os::fd::OwnedFd);

impl OpenWatch {
    fn new(path: &std::path::Path) -> OpenWatch {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: inotify_init1 takes flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `fd` was just returned and is ours alone.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path alive for the call; `fd` is an inotify fd.
        let wd = unsafe {
            libc::inotify_add_watch(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                c.as_ptr(),
                libc::IN_OPEN | libc::IN_ACCESS | libc::IN_MODIFY,
            )
        };
        assert!(
            wd >= 0,
            "inotify_add_watch: {}",
            std::io::Error::last_os_error()
        );
        OpenWatch(fd)
    }

    /// How many bytes of events are queued (0: nothing opened, read or wrote the inode).
    fn events(&self) -> usize {
        let mut buf = [0u8; 4096];
        // SAFETY: `buf` is a live, writable buffer of its length; the fd is non-blocking.
        let n = unsafe {
            libc::read(
                std::os::fd::AsRawFd::as_raw_fd(&self.0),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "{e}");
            return 0;
        }
        n as usize
    }
}

#[test]
fn lab_cli_as_root_refuses_the_traps_nobody_plants() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some((_, groups, _)) = lab() else { return };
    // The lab runs as root; a run that skipped would pass too.
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the traps are for a command run as root"
    );
    let base = std::env::temp_dir().join(format!("traps-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir(&base).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A root-only file, the victim of every link.
    let vault = base.join("vault");
    std::fs::create_dir(&vault).unwrap();
    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o700)).unwrap();
    let victim = vault.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // nobody's own directory, and a sticky world-writable one owned by root (as /tmp).
    let home = base.join("nobody-home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let sticky = base.join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (h, t, v) = (home.display(), sticky.display(), victim.display());
    as_nobody(&format!(
        "ln -s {v} {h}/capture.bin && ln -s {v} {t}/capture.bin && mkfifo {h}/fifo.bin && \
         echo theirs > {h}/theirs.bin && ln {h}/theirs.bin {h}/theirs-link.bin && \
         echo theirs > {t}/theirs.bin && ln -s /dev/null {h}/group-link"
    ));
    let group = groups[0].as_str();
    let refused = |path: &std::path::Path, force: bool, what: &str| {
        let p = path.to_str().unwrap();
        let mut args = vec!["query", group, "--save-raw", p];
        if force {
            args.push("--force");
        }
        let out = run_bounded(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("refusing to write {p}: it exists ({what}")),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "{args:?}");
    };
    // Symlinks in nobody's directory and in the sticky one, with the kernel's own
    // protection on and off (containers often turn it off): never followed.
    for protected in ["1", "0"] {
        let _guard = ProtectedSymlinks::set(protected);
        for dir in [&home, &sticky] {
            for force in [false, true] {
                refused(&dir.join("capture.bin"), force, "a symbolic link to ");
            }
        }
    }
    // A FIFO: refused at once, forced or not (an open for writing would hang).
    for force in [false, true] {
        refused(&home.join("fifo.bin"), force, "a FIFO");
    }
    // Another user's file: never written into; --force replaces it with a new file of
    // root's, and the inode nobody kept a second name for still holds their bytes.
    for dir in [&home, &sticky] {
        refused(&dir.join("theirs.bin"), false, "a file of uid 65534");
        assert_eq!(std::fs::read(dir.join("theirs.bin")).unwrap(), b"theirs\n");
    }
    let theirs = home.join("theirs.bin");
    let out = run_bounded(&[
        "query",
        group,
        "--save-raw",
        theirs.to_str().unwrap(),
        "--force",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::symlink_metadata(&theirs).unwrap();
    assert_eq!((meta.uid(), meta.file_type().is_file()), (0, true));
    assert_eq!(
        std::fs::read(home.join("theirs-link.bin")).unwrap(),
        b"theirs\n"
    );
    assert_eq!(
        std::fs::metadata(home.join("theirs-link.bin"))
            .unwrap()
            .uid(),
        65534
    );
    ok(&["decode", theirs.to_str().unwrap()]);
    // A new name is created, root's, 0644 before the umask, with the capture.
    let fresh = home.join("fresh.bin");
    ok(&["query", group, "--save-raw", fresh.to_str().unwrap()]);
    let meta = std::fs::metadata(&fresh).unwrap();
    // SAFETY: umask is read and put back at once.
    let umask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o644 & !umask));
    ok(&["decode", fresh.to_str().unwrap()]);
    // A device node that is not VFIO's, given as a group (root made it: nobody cannot
    // mknod): refused on its device number without being opened, which inotify would see.
    let node = base.join("not-vfio");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a NUL-terminated path alive for the call.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(made, 0, "mknod: {}", std::io::Error::last_os_error());
    let watch = OpenWatch::new(&node);
    let link = home.join("group-link");
    for (target, shown) in [
        (&node, &node),
        (&link, &link),
        (&home.join("fifo.bin"), &home.join("fifo.bin")),
    ] {
        let out = run_bounded(&["query", target.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{} is a ", shown.display()))
                && err.contains("not a VFIO group node"),
            "{err}"
        );
    }
    assert_eq!(
        watch.events(),
        0,
        "the non-VFIO node was opened, read or written"
    );
    // The watch would have seen an open: the test can fail.
    drop(std::fs::File::open(&node).unwrap());
    assert!(watch.events() > 0, "inotify saw no open");
    eprintln!("traps refused as root (protected_symlinks 1 and 0): symlinks, FIFO, other user's files, non-VFIO node");
    let _ = std::fs::remove_dir_all(&base);
}

/// `guest` (issue 23) on the lab's devices: 64 MiB fits, named by group or by address
/// alike, and QEMU's arguments pass the device; the BARs come from the device itself (the
/// edu device's only BAR is 32-bit, the NVMe scenario's BAR0 is 64-bit and 16K); a pc-dimm
/// at the address that bounds phys-bits (the first hole above 4 GiB, or just past the
/// aperture) with phys-bits raised exits 1 with both refusals.
#[test]
fn lab_cli_guest_plans_the_lab_devices_with_their_bars() {
    let Some((_, groups, devices)) = lab() else {
        return;
    };
    let by_device = json(&[
        "guest",
        "--json",
        "--ram",
        "64M",
        "--accel",
        "tcg",
        &devices[0],
    ]);
    let by_group = json(&[
        "guest", "--json", "--ram", "64M", "--accel", "tcg", &groups[0],
    ]);
    assert_eq!(by_device["fits"], true, "{by_device}");
    assert_eq!(by_device["phys_bits"], by_group["phys_bits"]);
    assert_eq!(
        by_device["request"]["bars"],
        serde_json::json!([]),
        "{by_device}"
    );
    let args = by_device["settings"]["args"].as_array().unwrap();
    assert!(
        args.iter()
            .any(|a| a.as_str() == Some(&format!("vfio-pci,host={}", devices[0]))),
        "{by_device}"
    );
    if let Some(nvme) = env("LAB_NVME_BDF") {
        let plan = json(&["guest", "--json", "--ram", "64M", &nvme]);
        assert_eq!(
            plan["request"]["bars"],
            serde_json::json!([16384]),
            "{plan}"
        );
        eprintln!("guest: {nvme}'s 64-bit BAR0 (16K) read from the device");
    }
    let reasons = by_device["reasons"].as_array().unwrap();
    let fact = &reasons.iter().find(|r| r["item"] == "phys-bits").unwrap()["fact"];
    let bad = match fact["kind"].as_str() {
        Some("hole") => fact["hole"]["start"].as_u64().unwrap() / (2 << 20) * (2 << 20),
        Some("aperture") => fact["range"]["end"].as_u64().unwrap() + 1,
        _ => {
            eprintln!("guest: phys-bits bounded by {fact}: no bad address to try");
            return;
        }
    };
    let dimm = format!("2M@{bad:#x}");
    let out = run(&[
        "guest",
        "--json",
        "--ram",
        "64M",
        "--dimm",
        &dimm,
        "--phys-bits",
        "52",
        &devices[0],
    ]);
    assert_eq!(out.status.code(), Some(1));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items: Vec<&str> = plan["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["item"].as_str())
        .collect();
    assert!(
        items.contains(&"phys-bits") && items.contains(&"fixed[0]"),
        "{plan}"
    );
    eprintln!("guest: a pc-dimm at {bad:#x} with phys-bits 52: refused ({items:?})");
}

/// The README's live samples marked for this scenario (`<!-- samples: lab NAME -->`) are
/// what the command prints on its kernel; the real outputs land in LAB_OUT when not.
#[test]
fn lab_cli_readme_samples_of_this_scenario_are_what_the_command_prints() {
    if lab().is_none() {
        return;
    }
    let scenario = env("LAB_SCENARIO").expect("the lab sets LAB_SCENARIO");
    let out = env("LAB_OUT").map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let cli = std::path::Path::new(env!("CARGO_BIN_EXE_vfio-iommu-info"));
    let checked = readme::check(cli, &format!("lab {scenario}"), &out);
    eprintln!("{checked} README samples checked for {scenario}");
}

/// `budget --json` as root (CAP_IPC_LOCK: nothing is charged), its mappings against the
/// query's DMA_AVAIL (type1: one more than left exits 1 with ENOSPC; iommufd's compat
/// container and iommufd count none), and through iommufd its user rlimit mode.
#[test]
fn lab_cli_budget_names_who_is_charged_and_the_mappings_left() {
    let Some((_, groups, devices)) = lab() else {
        return;
    };
    let compat = env("LAB_COMPAT").as_deref() == Some("1");
    let g = groups[0].as_str();
    let b = json(&["budget", g, "--needed", "16K", "--json"]);
    assert_eq!(b["facts"]["cap_ipc_lock"], true, "{b}");
    assert_eq!(b["memlock"]["charged_to"], "nobody", "{b}");
    assert_eq!(b["memlock"]["verdict"]["why"], "cap-ipc-lock", "{b}");
    assert_eq!(b["memlock"]["needed"], 16384, "{b}");
    let q = json(&["query", g, "--json"]);
    let avail = q["dma_avail"].as_u64().expect("DMA_AVAIL");
    assert_eq!(b["mappings"]["available"].as_u64(), Some(avail), "{b}");
    if compat {
        assert_eq!(b["backend"], "iommufd-compat", "{b}");
        assert_eq!(b["facts"]["iommufd_process_mode"], true, "{b}");
        assert_eq!(b["mappings"]["verdict"]["why"], "no-entry-limit", "{b}");
    } else {
        assert_eq!(b["backend"], "type1", "{b}");
        // 4 fit even the dma_entry_limit=7 scenario.
        assert_eq!(b["mappings"]["needed"], 4, "16K in 4K pages: {b}");
        assert_eq!(b["mappings"]["used"], 0, "a fresh container: {b}");
        assert_eq!(
            b["mappings"]["verdict"],
            serde_json::json!({"kind": "fits", "spare": avail - 4}),
            "{b}"
        );
        let more = (avail + 1).to_string();
        let out = run(&["budget", g, "--mappings", &more, "--json"]);
        assert_eq!(out.status.code(), Some(1), "one mapping too many exits 1");
        let over: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(over["mappings"]["verdict"]["by"], 1, "{over}");
        assert_eq!(over["mappings"]["errno"], "ENOSPC", "{over}");
        let change = &over["mappings"]["changes"][0];
        assert_eq!(change["kind"], "dma-entry-limit", "{over}");
        assert_eq!(change["value"].as_u64(), Some(avail + 1), "{over}");
    }
    if env("LAB_IOMMUFD").as_deref() == Some("1") {
        let d = devices[0].as_str();
        let i = json(&[
            "budget",
            d,
            "--backend",
            "iommufd",
            "--needed",
            "1M",
            "--json",
        ]);
        assert_eq!(i["backend"], "iommufd", "{i}");
        assert_eq!(i["facts"]["iommufd_process_mode"], false, "{i}");
        assert_eq!(i["mappings"]["verdict"]["why"], "no-entry-limit", "{i}");
    }
}

/// What-if for hotplug from the command: `plan G1 --attach G2` predicts, without attaching,
/// the ranges `query G1 G2` then reports (the two-group scenario), named by group or by
/// the second device's PCI address.
#[test]
fn lab_cli_plan_attach_predicts_the_ranges_of_both_groups() {
    let Some((_, groups, devices)) = lab() else {
        return;
    };
    if groups.len() < 2 {
        eprintln!("skipped: one group");
        return;
    }
    let plan = json(&["plan", "--json", &groups[0], "--attach", &groups[1]]);
    let by_device = json(&["plan", "--json", &groups[0], "--attach", &devices[1]]);
    let both = json(&["query", "--json", &groups[0], &groups[1]]);
    let what_if = &plan["what_if"];
    assert_eq!(what_if, &by_device["what_if"]);
    assert_eq!(what_if["exact"], true, "{what_if}");
    assert_eq!(what_if["aperture"]["source"], "shared", "{what_if}");
    assert_eq!(what_if["refusal"], Value::Null);
    assert_eq!(
        what_if["after"]["ranges"], both["iova_ranges"],
        "predicted {what_if}\nkernel {both}"
    );
    let text = ok(&["plan", &groups[0], "--attach", &groups[1]]);
    assert!(
        text.contains(&format!("group {} attached (exact, from sysfs)", groups[1])),
        "{text}"
    );
    eprintln!("{text}");
}

/// The fleet formats on a live host, against the JSON of the same commands: `list --format
/// nfd` (IOMMU present, groups, viable groups, the address width, DMA_AVAIL), `list
/// --format prometheus` (a sample per group), `query --format prometheus` (the container's
/// DMA_AVAIL and ranges).
#[test]
fn lab_cli_fleet_formats_say_what_the_json_says() {
    let Some((_, groups, _)) = lab() else {
        return;
    };
    let listed = json(&["list", "--json"]);
    let listed = listed.as_array().unwrap();
    let nfd = ok(&["list", "--format", "nfd"]);
    let feature = |name: &str| {
        nfd.lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "feature.node.kubernetes.io/vfio-iommu-info.{name}="
                ))
            })
            .map(str::to_owned)
    };
    assert_eq!(feature("iommu").as_deref(), Some("true"), "{nfd}");
    assert_eq!(feature("groups"), Some(listed.len().to_string()), "{nfd}");
    let viable = listed.iter().filter(|g| g["viable"] == true).count();
    assert_eq!(feature("groups-viable"), Some(viable.to_string()), "{nfd}");
    let queried = json(&["query", "--json", &groups[0]]);
    if let (Some(bits), Some(ap)) = (
        feature("address-width"),
        queried["aperture"]["end"].as_u64(),
    ) {
        // The registers' width and the kernel's aperture agree (intel-iommu).
        assert_eq!(bits, (64 - ap.leading_zeros()).to_string(), "{nfd}");
    }
    let prom = ok(&["list", "--format", "prometheus"]);
    for g in &groups {
        assert!(
            prom.lines()
                .any(|l| !l.starts_with('#') && l.contains(&format!("group=\"{g}\""))),
            "group {g}: {prom}"
        );
    }
    let q = ok(&["query", &groups[0], "--format", "prometheus"]);
    // iommufd's compat container counts no mappings (DMA_AVAIL U32_MAX): said as such.
    let (metric, value) = if queried["backend"] == "iommufd-compat" {
        ("vfio_iommu_info_dma_unlimited{", 1)
    } else {
        (
            "vfio_iommu_info_dma_avail{",
            queried["dma_avail"].as_u64().unwrap(),
        )
    };
    assert!(
        q.lines()
            .any(|l| l.starts_with(metric) && l.ends_with(&format!("}} {value}"))),
        "{q}"
    );
    let ranges = queried["iova_ranges"].as_array().unwrap().len();
    assert!(
        q.lines()
            .any(|l| l.starts_with("vfio_iommu_info_iova_ranges{")
                && l.ends_with(&format!("}} {ranges}"))),
        "{q}"
    );
    eprintln!("{nfd}\n{prom}\n{q}");
}

/// `text` with the descriptor numbers in messages (`(fd 7)`) made `(fd N)`: a region's
/// error names the device by its fd, which is the snapshot's in a replay.
fn without_fds(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // `(fd 3)`, and a device node's `(0000:00:03.0, fd 4)`.
    while let Some(at) = rest.find("fd ") {
        let named = rest[..at].ends_with('(') || rest[..at].ends_with(", ");
        out.push_str(&rest[..at + 3]);
        let after = &rest[at + 3..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if named && digits > 0 && after[digits..].starts_with(')') {
            out.push('N');
            rest = &after[digits..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn lab_cli_a_snapshot_answers_as_the_host_did() {
    let Some((_, groups, bdfs)) = lab() else {
        return;
    };
    let file = std::env::temp_dir().join(format!("lab-snapshot-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let file_arg = file.to_str().unwrap();
    let taken = run(&["snapshot", "-o", file_arg]);
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    let taking_again = run(&["snapshot", "-o", file_arg]);
    assert_eq!(
        taking_again.status.code(),
        Some(1),
        "an existing file is refused"
    );
    let mut cases: Vec<Vec<String>> = ["", "--json", "--format=nfd", "--format=prometheus"]
        .iter()
        .map(|f| {
            ["list", f]
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| a.to_string())
                .collect()
        })
        .collect();
    for target in groups.iter().chain(&bdfs) {
        for format in ["--format=text", "--json", "--format=prometheus"] {
            cases.push(vec!["query".into(), target.clone(), format.into()]);
        }
        cases.push(vec![
            "query".into(),
            target.clone(),
            "--backend=type1".into(),
        ]);
        let plan = |more: &[&str]| {
            let mut args = vec!["plan".to_owned(), target.clone()];
            args.extend(more.iter().map(|a| a.to_string()));
            args
        };
        cases.push(plan(&["--ram=1G", "--alloc=64K"]));
        cases.push(plan(&["--json"]));
        // The container, its devices' BARs, the CPU's width and the process's limits.
        for more in [
            &["--ram=2G"][..],
            &["--ram=2G", "--json"],
            &["--ram=1G", "--vmm=libvirt", "--viommu=intel"],
        ] {
            let mut args = vec!["guest".to_owned(), target.clone()];
            args.extend(more.iter().map(|a| a.to_string()));
            cases.push(args);
        }
        for more in [
            &["--needed=1G"][..],
            &["--needed=1G", "--json"],
            &["--needed=64M", "--mappings=100000", "--json"],
        ] {
            let mut args = vec!["budget".to_owned(), target.clone()];
            args.extend(more.iter().map(|a| a.to_string()));
            cases.push(args);
        }
    }
    for bdf in &bdfs {
        for format in ["--format=text", "--json"] {
            cases.push(vec!["device".into(), bdf.clone(), format.into()]);
            cases.push(vec!["explain".into(), bdf.clone(), format.into()]);
            // Through the device's cdev bound to iommufd (refused alike where there is none).
            cases.push(vec![
                "device".into(),
                bdf.clone(),
                format.into(),
                "--backend=iommufd".into(),
            ]);
        }
        for format in ["--format=text", "--json", "--format=prometheus"] {
            cases.push(vec![
                "query".into(),
                bdf.clone(),
                "--backend=iommufd".into(),
                format.into(),
            ]);
        }
    }
    for group in &groups {
        let at_msi = ["explain", group, "--iova", "0xfee00000", "--size", "4096"];
        cases.push(at_msi.iter().map(|a| a.to_string()).collect());
    }
    // A group VFIO cannot use: refused live, and by the snapshot with the host's error.
    let listed = json(&["list", "--json"]);
    if let Some(g) = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["viable"] == false)
    {
        let n = g["group"].to_string();
        for format in ["--format=text", "--json"] {
            cases.push(vec!["query".into(), n.clone(), format.into()]);
            cases.push(vec!["explain".into(), n.clone(), format.into()]);
            cases.push(vec![
                "guest".into(),
                n.clone(),
                "--ram=1G".into(),
                format.into(),
            ]);
            cases.push(vec!["budget".into(), n.clone(), format.into()]);
        }
    }
    if groups.len() > 1 {
        let mut all = vec!["query".to_owned()];
        all.extend(groups.iter().rev().cloned());
        cases.push(all);
        let attach = ["plan", &groups[0], "--attach", &groups[1]];
        cases.push(attach.iter().map(|a| a.to_string()).collect());
        for (command, more) in [("guest", "--ram=2G"), ("budget", "--needed=1G")] {
            let mut both = vec![command.to_owned(), more.to_owned()];
            both.extend(groups.iter().rev().cloned());
            cases.push(both.clone());
            both.push("--json".to_owned());
            cases.push(both);
        }
    }
    let (mut compared, mut refused, mut iommufd) = (0, 0, 0);
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let live = run(&args);
        let mut offline_args = args.clone();
        offline_args.extend(["--snapshot", file_arg]);
        let offline = run(&offline_args);
        // Answers and refusals alike: the same output, the same message, the same status.
        assert_eq!(
            without_fds(&String::from_utf8_lossy(&offline.stdout)),
            without_fds(&String::from_utf8_lossy(&live.stdout)),
            "{args:?}: the snapshot answers otherwise ({})",
            String::from_utf8_lossy(&offline.stderr)
        );
        assert_eq!(
            without_fds(&String::from_utf8_lossy(&offline.stderr)),
            without_fds(&String::from_utf8_lossy(&live.stderr)),
            "{args:?}: the snapshot says otherwise"
        );
        assert_eq!(offline.status.code(), live.status.code(), "{args:?}");
        if !live.status.success() {
            refused += 1;
            let why = String::from_utf8_lossy(&live.stderr);
            eprintln!(
                "  refused alike, status {:?}: {args:?}: {}",
                live.status.code(),
                why.lines().next().unwrap_or("(see stdout)")
            );
        } else if args.contains(&"--backend=iommufd") {
            iommufd += 1;
        }
        compared += 1;
    }
    let size = std::fs::metadata(&file).unwrap().len();
    eprintln!(
        "snapshot of {size} bytes: {compared} of {} outputs compared equal ({refused} refusals, {iommufd} iommufd answers)",
        cases.len()
    );
    assert!(
        compared - refused >= 4,
        "at least list answered from the snapshot"
    );
    if let Some(out) = env("LAB_OUT") {
        // For tests/fixtures/<scenario>/snapshot.json (lab/update-fixtures).
        std::fs::copy(&file, std::path::Path::new(&out).join("snapshot.json")).unwrap();
    }
    std::fs::remove_file(&file).unwrap();
}

/// The lab's snapshot writer for guests that cannot run this binary (lab/guest/snapshot.c:
/// the s390x, arm64 and POWER guests run it cross-built, and the host decodes what it
/// wrote) records what `snapshot` records: run here beside the library, every command
/// answers the same from either file.
#[test]
fn lab_cli_the_lab_snapshot_writer_records_what_the_library_does() {
    let Some((_, groups, bdfs)) = lab() else {
        return;
    };
    let writer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/lab/snapshot");
    let dir = std::env::temp_dir();
    let ours = dir.join(format!("lab-snapshot-rust-{}.json", std::process::id()));
    let theirs = dir.join(format!("lab-snapshot-c-{}.json", std::process::id()));
    for f in [&ours, &theirs] {
        let _ = std::fs::remove_file(f);
    }
    let taken = run(&["snapshot", "-o", ours.to_str().unwrap()]);
    assert!(taken.status.success(), "{taken:?}");
    let written = Command::new(&writer)
        .arg(&theirs)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (lab/run builds it from lab/guest/snapshot.c)",
                writer.display()
            )
        });
    assert!(written.status.success(), "{written:?}");
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["list", "--format=nfd"],
        vec!["list", "--format=prometheus"],
    ];
    for target in groups.iter().chain(&bdfs) {
        cases.push(vec!["query", target]);
        cases.push(vec!["query", target, "--json"]);
        cases.push(vec!["plan", target, "--ram=1G", "--alloc=64K"]);
        cases.push(vec!["explain", target, "--json"]);
        cases.push(vec!["guest", target, "--ram=2G", "--json"]);
        cases.push(vec!["budget", target, "--needed=1G"]);
    }
    for bdf in &bdfs {
        cases.push(vec!["device", bdf]);
        cases.push(vec!["device", bdf, "--json"]);
        cases.push(vec!["explain", bdf]);
    }
    for args in &cases {
        let answer = |file: &std::path::Path| {
            let mut a = args.clone();
            a.extend(["--snapshot", file.to_str().unwrap()]);
            let out = run(&a);
            (
                without_fds(&String::from_utf8_lossy(&out.stdout)),
                without_fds(&String::from_utf8_lossy(&out.stderr)),
                out.status.code(),
            )
        };
        let (library, writer) = (answer(&ours), answer(&theirs));
        assert_eq!(
            writer, library,
            "{args:?}: lab/guest/snapshot.c's snapshot answers otherwise"
        );
    }
    eprintln!(
        "{} outputs equal from the library's snapshot and lab/guest/snapshot.c's",
        cases.len()
    );
    for f in [&ours, &theirs] {
        std::fs::remove_file(f).unwrap();
    }
}
