//! Host snapshots: taken from a fake `/sys` and `/dev/vfio` in a temporary directory,
//! replayed with the same answers and nothing read from the tree, and hostile snapshot
//! files refused with the entry at fault. The lab takes and replays snapshots of real
//! kernels (`lab_cli`).
#![cfg(feature = "json")]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use vfio_iommu_info::decode::region_info::BarKind;
use vfio_iommu_info::query::device::PciBar;
use vfio_iommu_info::snapshot::{
    take, ConfigRead, IommufdAnswers, Machine, RecordedContainer, RecordedDevice, RecordedError,
    RecordedHwInfo, RecordedIoctl, RecordedIommufd, RecordedRanges, RecordedSpaprTce, TakenAs,
    MAX_SNAPSHOT_SIZE,
};
use vfio_iommu_info::sys::limits::{LockedMemory, MemlockLimit, MemlockRlimit, ProcessMemlock};
use vfio_iommu_info::sys::view::{RecordedNode, RecordedTree};
use vfio_iommu_info::{
    ByteOrder, Error, ErrorKind, HostPaths, HostSummary, PciAddress, Snapshot, Sysfs,
};

/// Group 4: 0000:01:00.0 on vfio-pci (viable, with its node); group 7: 0000:00:1f.0 on
/// lpc_ich (not viable).
struct FakeHost {
    root: PathBuf,
}

impl FakeHost {
    fn new(name: &str) -> FakeHost {
        let root = std::env::temp_dir().join(format!("vii-snap-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let sys = root.join("sys");
        for (group, dev, driver, ids) in [
            (
                4,
                "0000:01:00.0",
                "vfio-pci",
                ("0x8086", "0x10ca", "0x020000"),
            ),
            (
                7,
                "0000:00:1f.0",
                "lpc_ich",
                ("0x8086", "0x2918", "0x060100"),
            ),
        ] {
            let g = sys.join(format!("kernel/iommu_groups/{group}"));
            fs::create_dir_all(g.join("devices")).unwrap();
            fs::write(
                g.join("reserved_regions"),
                "0x00000000fee00000 0x00000000feefffff msi\n",
            )
            .unwrap();
            fs::write(g.join("type"), "DMA\n").unwrap();
            let d = sys.join("bus/pci/devices").join(dev);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("vendor"), format!("{}\n", ids.0)).unwrap();
            fs::write(d.join("device"), format!("{}\n", ids.1)).unwrap();
            fs::write(d.join("class"), format!("{}\n", ids.2)).unwrap();
            symlink(
                format!("../../../../bus/pci/drivers/{driver}"),
                d.join("driver"),
            )
            .unwrap();
            symlink(
                format!("../../../../kernel/iommu_groups/{group}"),
                d.join("iommu_group"),
            )
            .unwrap();
            symlink(&d, g.join("devices").join(dev)).unwrap();
        }
        fs::create_dir_all(sys.join("bus/pci/drivers/vfio-pci")).unwrap();
        fs::create_dir_all(sys.join("module/vfio_iommu_type1/parameters")).unwrap();
        fs::write(
            sys.join("module/vfio_iommu_type1/parameters/dma_entry_limit"),
            "65535\n",
        )
        .unwrap();
        fs::create_dir_all(root.join("dev/vfio")).unwrap();
        fs::write(root.join("dev/vfio/4"), "").unwrap();
        fs::create_dir_all(root.join("proc/sys/kernel")).unwrap();
        fs::write(root.join("proc/sys/kernel/osrelease"), "6.12.0-test\n").unwrap();
        fs::write(
            root.join("proc/cpuinfo"),
            "processor\t: 0\nmodel name\t: Secret CPU @ 3GHz\nserial\t: 0123-4567\naddress sizes\t: 46 bits physical, 48 bits virtual\n\nprocessor\t: 1\naddress sizes\t: 46 bits physical, 48 bits virtual\n",
        )
        .unwrap();
        FakeHost { root }
    }

    fn paths(&self) -> HostPaths {
        HostPaths {
            vfio_dir: self.root.join("dev/vfio"),
            sysfs: Sysfs::new(self.root.join("sys")),
            iommufd: self.root.join("dev/iommu"),
            proc: self.root.join("proc"),
        }
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Each group's number, default domain type and whether its node exists.
type GroupAnswers = Vec<(u32, Option<String>, bool)>;

/// What `list` and the fleet formats read, as one comparable value.
fn host_answers(paths: &HostPaths) -> (HostSummary, GroupAnswers, String) {
    let summary = HostSummary::read(paths).unwrap();
    let groups = summary
        .groups
        .iter()
        .map(|g| {
            (
                g.group,
                paths.sysfs.default_domain_type(g.group).unwrap(),
                paths
                    .exists(&paths.vfio_dir.join(g.group.to_string()))
                    .unwrap(),
            )
        })
        .collect();
    let address: PciAddress = "0000:01:00.0".parse().unwrap();
    let driver = paths.sysfs.driver_of_device(&address).unwrap().unwrap();
    (summary, groups, driver)
}

#[test]
fn a_snapshot_answers_as_the_host_did_with_the_host_gone() {
    let host = FakeHost::new("replay");
    let live = host_answers(&host.paths());
    let live_refusal = vfio_iommu_info::Container::open_targets(
        &[vfio_iommu_info::Target::Group(4)],
        &host.paths(),
    )
    .unwrap_err();
    // No /dev/iommu on the fake host: the iommufd path refuses every device.
    let live_iommufd: Vec<String> = ["0000:01:00.0", "0000:00:1f.0"]
        .iter()
        .map(|a| {
            let address: PciAddress = a.parse().unwrap();
            let e = vfio_iommu_info::query::report::IommufdReport::open(&address, &host.paths())
                .unwrap_err();
            format!("{e} ({:?})", e.kind())
        })
        .collect();
    let snapshot = take(&host.paths());
    let text = snapshot.to_text();
    drop(host);
    let parsed = Snapshot::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, snapshot, "the file keeps everything");
    assert_eq!(parsed.to_text(), text, "and writes it back byte for byte");
    assert_eq!(host_answers(&parsed.paths()), live);
    assert_eq!(parsed.kernel_release().as_deref(), Some("6.12.0-test"));
    assert_eq!(live.0.dma_avail, Some(65535));
    assert_eq!(live.0.viable_groups(), 1);
    // The fake group node is no VFIO group: the host refused the container, and the
    // snapshot gives the same refusal instead of inventing an answer; group 7 (not viable)
    // was asked too, and refused.
    assert_eq!(parsed.containers.len(), 2);
    let e = parsed.container(&[4]).unwrap_err();
    assert_eq!(
        e.to_string(),
        live_refusal.to_string(),
        "the host's error, as it was"
    );
    assert_eq!(e.kind(), live_refusal.kind());
    assert!(parsed.container(&[7]).is_err());
    let replayed: Vec<String> = ["0000:01:00.0", "0000:00:1f.0"]
        .iter()
        .map(|a| {
            let e = parsed.iommufd_report(&a.parse().unwrap()).unwrap_err();
            format!("{e} ({:?})", e.kind())
        })
        .collect();
    assert_eq!(
        replayed, live_iommufd,
        "the iommufd path's refusals, as they were"
    );
    assert_eq!(
        parsed.iommufd.len(),
        2,
        "every device of every group was asked"
    );
    let e = parsed.container(&[4, 7]).unwrap_err();
    assert!(
        e.to_string()
            .contains("holds no such container (it holds [4] [7])"),
        "{e}"
    );
}

#[test]
fn a_question_the_snapshot_never_recorded_is_an_error_not_a_guess() {
    let host = FakeHost::new("unasked");
    let snapshot = take(&host.paths());
    drop(host);
    let paths = snapshot.paths();
    // Never asked while taking it: the PCI bus was never listed, so a device the
    // groups do not hold may or may not have existed.
    let e = paths
        .sysfs
        .reserved_regions_of_device(&"0000:02:00.0".parse().unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("holds no answer to exists /sys/bus/pci/devices/0000:02:00.0"),
        "{e}"
    );
    let e = paths.exists(Path::new("/dev/kvm")).unwrap_err();
    assert!(
        e.to_string().contains("holds no answer to exists /dev/kvm"),
        "{e}"
    );
    // What follows from a recorded listing is answered: group 9 is not in the groups'
    // directory, so nothing under it exists.
    let e = paths.sysfs.reserved_regions(9).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Os(vfio_iommu_info::Errno(libc::ENOENT)),
        "{e}"
    );
    assert!(!paths
        .exists(Path::new("/sys/kernel/iommu_groups/9/devices/x"))
        .unwrap());
}

fn machine() -> Machine {
    Machine {
        arch: "s390x".into(),
        byte_order: ByteOrder::Big,
        page_size: 4096,
    }
}

/// A type1 GET_INFO buffer as s390x's kernel fills it: argsz 24, flags PGSIZES,
/// iova_pgsizes 4K|1M, no capability (big-endian).
fn s390x_info() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(24u32.to_be_bytes());
    b.extend(1u32.to_be_bytes());
    b.extend(0x0010_1000u64.to_be_bytes());
    b.extend(0u32.to_be_bytes());
    b.extend(0u32.to_be_bytes());
    b
}

fn small_snapshot() -> Snapshot {
    let mut files = RecordedTree::new();
    files.insert(
        "sys/kernel/iommu_groups".into(),
        RecordedNode {
            dir: Some(Ok(vec!["0".into()])),
            ..RecordedNode::default()
        },
    );
    files.insert(
        "sys/kernel/iommu_groups/0/reserved_regions".into(),
        RecordedNode {
            file: Some(Ok(
                b"0x0000000000000000 0x00000000000fffff reserved\n".to_vec()
            )),
            ..RecordedNode::default()
        },
    );
    files.insert(
        "sys/bus/pci/devices/0000:00:00.0/config".into(),
        RecordedNode {
            file: Some(Ok(vec![0xff, 0x00, 0x80])),
            ..RecordedNode::default()
        },
    );
    Snapshot {
        taken_by: "vfio-iommu-info 0.8.0".into(),
        machine: machine(),
        taken_as: TakenAs {
            memlock_limit: Some(MemlockLimit::Bytes(8 << 20)),
            memlock: Some(memlock()),
        },
        files: std::sync::Arc::new(files),
        containers: vec![
            RecordedContainer {
                groups: vec![0],
                answer: Ok((vio_backend(), s390x_info())),
                rlimit_mode: None,
            },
            RecordedContainer {
                groups: vec![1],
                answer: Ok((compat_backend(), s390x_info())),
                rlimit_mode: Some(Ok(1)),
            },
        ],
        spapr_tce: Vec::new(),
        devices: vec![zpci_device()],
        iommufd: zpci_iommufd(),
    }
}

/// The VT-d capability register the lab's 6.12 kernel reported (aw-bits=48: MGAW 47).
const VTD_CAP: u64 = 0x00d2_008c_222f_0686;

/// The zPCI function on the iommufd path (big-endian: one range, VT-d-typed data so that
/// a misread byte order shows), and a second device refused as a host without iommufd
/// refuses it.
fn zpci_iommufd() -> Vec<RecordedIommufd> {
    let mut iovas = Vec::new();
    iovas.extend(0x1_0000_0000u64.to_be_bytes());
    iovas.extend(0x1_ffff_ffffu64.to_be_bytes());
    let mut data = vec![0u8; 8];
    data.extend(VTD_CAP.to_be_bytes());
    data.extend(0xf0_0f4au64.to_be_bytes());
    let device = zpci_device().answer.unwrap();
    vec![
        RecordedIommufd {
            address: "0001:00:00.0".parse().unwrap(),
            answer: Ok(IommufdAnswers {
                cdev: "/dev/vfio/devices/vfio0".into(),
                dev_id: 1,
                ioas: 2,
                hwpt: 3,
                iova_ranges: Ok(RecordedRanges {
                    iovas,
                    alignment: 4096,
                    calls: 1,
                }),
                hw_info: Ok(RecordedHwInfo {
                    data_type: vfio_iommu_info::uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD,
                    data_len: 24,
                    data,
                    capabilities: Some(0),
                    max_pasid_log2: 0,
                }),
                rlimit_mode: Ok(false),
                device: Ok(device),
            }),
        },
        RecordedIommufd {
            address: "0001:00:01.0".parse().unwrap(),
            answer: Err(RecordedError::of(&no_iommufd())),
        },
    ]
}

/// What opening `/dev/iommu` answers on a kernel without iommufd.
fn no_iommufd() -> Error {
    Error::Open {
        path: "/dev/iommu".into(),
        errno: vfio_iommu_info::Errno(libc::ENOENT),
        hint: Some("this kernel has no iommufd".into()),
    }
}

fn memlock() -> ProcessMemlock {
    ProcessMemlock {
        rlimit: Some(MemlockRlimit {
            soft: Some(8 << 20),
            hard: Some(64 << 20),
        }),
        cap_ipc_lock: Some(false),
        locked: LockedMemory {
            locked: Some(4096),
            pinned: Some(0),
        },
    }
}

fn compat_backend() -> vfio_iommu_info::facts::ContainerBackend {
    vfio_iommu_info::facts::ContainerBackend::IommufdCompat { ioas: Some(1) }
}

/// The s390x zPCI function the lab captured (`tests/fixtures/linux-6.12-s390x-zpci`,
/// big-endian): its info, its eight regions, and the ninth (VGA) refused with EINVAL.
fn zpci_device() -> RecordedDevice {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linux-6.12-s390x-zpci");
    let mut regions: Vec<Result<Vec<u8>, RecordedError>> = (0..8)
        .map(|i| Ok(fs::read(dir.join(format!("region-{i}.bin"))).unwrap()))
        .collect();
    regions.push(Err(RecordedError::of(&Error::Ioctl {
        ioctl: "VFIO_DEVICE_GET_REGION_INFO",
        target: "device 0001:00:00.0 (fd 7)".into(),
        errno: vfio_iommu_info::Errno(libc::EINVAL),
        hint: Some("the device has no region 8".into()),
    })));
    RecordedDevice {
        address: "0001:00:00.0".parse().unwrap(),
        group: 0,
        answer: Ok((fs::read(dir.join("device-exact.bin")).unwrap(), regions)),
        config: vec![
            ConfigRead {
                offset: 0x10,
                answer: Ok([0x0c, 0, 0, 0]),
            },
            ConfigRead {
                offset: 0x18,
                answer: Err(RecordedError::of(&Error::Ioctl {
                    ioctl: "pread",
                    target: "device 0001:00:00.0 (fd 7)".into(),
                    errno: vfio_iommu_info::Errno(libc::EIO),
                    hint: None,
                })),
            },
        ],
    }
}

fn vio_backend() -> vfio_iommu_info::facts::ContainerBackend {
    vfio_iommu_info::facts::ContainerBackend::Vfio
}

#[test]
fn a_foreign_snapshot_decodes_in_its_own_byte_order() {
    let s = Snapshot::parse(small_snapshot().to_text().as_bytes()).unwrap();
    let c = s.container(&[0]).unwrap();
    assert_eq!(c.info.iova_pgsizes.unwrap().to_string(), "4K 1M");
    let facts = c.facts(&s.paths());
    assert_eq!(
        facts.reserved_regions.as_ref().map(|r| r.value.len()),
        Some(1)
    );
    assert!(
        s.to_text().contains("\"hex\": \"ff0080\""),
        "binary contents in hex"
    );
}

#[test]
fn the_iommufd_path_replays_in_the_snapshots_byte_order() {
    let s = Snapshot::parse(small_snapshot().to_text().as_bytes()).unwrap();
    assert_eq!(s, small_snapshot(), "the file keeps the iommufd answers");
    let address: PciAddress = "0001:00:00.0".parse().unwrap();
    let r = s.iommufd_report(&address).unwrap();
    assert_eq!((r.dev_id, r.ioas, r.hwpt), (1, 2, 3));
    assert_eq!(r.cdev, Path::new("/dev/vfio/devices/vfio0"));
    assert_eq!(
        r.ranges.ranges,
        vec![vfio_iommu_info::IovaRange::new(0x1_0000_0000, 0x1_ffff_ffff).unwrap()]
    );
    assert_eq!((r.ranges.alignment, r.ranges.calls), (4096, 1));
    // The registers read big-endian, as the host wrote them; with the host's page size.
    let hw = r.hw_info.as_ref().unwrap();
    assert_eq!(hw.kernel_page_size, 4096);
    match hw.decode().unwrap() {
        vfio_iommu_info::hw_info::HwData::IntelVtd(regs) => assert_eq!(regs.cap, VTD_CAP),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.facts.address_width.map(|f| f.value), Some(48));
    assert_eq!(r.facts.iova_alignment.map(|f| f.value), Some(4096));
    // The rest of what the iommufd path asked: the rlimit mode, the device through its node.
    let replayed = s.iommufd(&address).unwrap();
    assert!(!replayed.rlimit_mode.unwrap());
    let device = replayed.device.unwrap();
    assert_eq!(device.regions.len(), 9);
    assert_eq!(device.info.num_regions, 9);
}

#[test]
fn the_iommufd_paths_refusals_replay_and_the_unasked_is_not_in_the_snapshot() {
    let s = Snapshot::parse(small_snapshot().to_text().as_bytes()).unwrap();
    let e = s
        .iommufd_report(&"0001:00:01.0".parse().unwrap())
        .unwrap_err();
    assert_eq!(e.to_string(), no_iommufd().to_string(), "the host's error");
    assert_eq!(e.kind(), no_iommufd().kind());
    let e = s
        .iommufd_report(&"0001:00:02.0".parse().unwrap())
        .unwrap_err();
    assert!(matches!(e, Error::NotInSnapshot { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("device 0001:00:02.0 on the iommufd path"),
        "{e}"
    );
    // A refused IOMMU_IOAS_IOVA_RANGES fails the report with the host's ioctl error; an
    // inverted range recorded is malformed, as the live decoder finds it.
    let refused = Error::Ioctl {
        ioctl: "IOMMU_IOAS_IOVA_RANGES",
        target: "/dev/iommu (fd 3)".into(),
        errno: vfio_iommu_info::Errno(libc::ENOENT),
        hint: Some("no IOAS 2".into()),
    };
    let mut broken = small_snapshot();
    let Ok(a) = &mut broken.iommufd[0].answer else {
        unreachable!()
    };
    a.iova_ranges = Err(RecordedError::of(&refused));
    let replayed = Snapshot::parse(broken.to_text().as_bytes()).unwrap();
    let e = replayed
        .iommufd_report(&"0001:00:00.0".parse().unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Ioctl {
                ioctl: "IOMMU_IOAS_IOVA_RANGES",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.to_string(), refused.to_string());
    let Ok(a) = &mut broken.iommufd[0].answer else {
        unreachable!()
    };
    let mut inverted = 5u64.to_be_bytes().to_vec();
    inverted.extend(4u64.to_be_bytes());
    a.iova_ranges = Ok(RecordedRanges {
        iovas: inverted,
        alignment: 1,
        calls: 1,
    });
    let replayed = Snapshot::parse(broken.to_text().as_bytes()).unwrap();
    let e = replayed
        .iommufd_report(&"0001:00:00.0".parse().unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
}

/// `text` with `from` replaced by `to` (which must occur).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the snapshot");
    text.replacen(from, to, 1)
}

#[test]
fn hostile_snapshots_are_refused_with_the_entry_at_fault() {
    let good = small_snapshot().to_text();
    let refused_device = {
        let mut s = small_snapshot();
        s.devices[0].answer = Err(RecordedError::of(&Error::NotInSnapshot {
            what: "x".into(),
            why: "y".into(),
        }));
        s.devices[0].config.clear();
        let text = s.to_text();
        assert!(Snapshot::parse(text.as_bytes()).is_ok());
        text
    };
    let cases: Vec<(String, String, &str)> = vec![
        (
            "truncated".into(),
            good[..good.len() / 2].to_owned(),
            "EOF while parsing",
        ),
        ("empty".into(), String::new(), "line 1 column 0"),
        (
            "not json".into(),
            "\u{0}\u{1}".into(),
            "not a snapshot: line 1",
        ),
        (
            "wrong format".into(),
            edit(&good, "vfio-iommu-info snapshot", "something else"),
            "not \"vfio-iommu-info snapshot\"",
        ),
        (
            "newer schema".into(),
            edit(&good, "\"schema_version\": 1", "\"schema_version\": 2"),
            "schema_version 2 is not 1",
        ),
        (
            "a newer layout".into(),
            edit(
                &edit(&good, "\"schema_version\": 1", "\"schema_version\": 2"),
                "\"files\": {",
                "\"kernels\": [], \"files\": {",
            ),
            "schema_version 2 is not 1",
        ),
        (
            "unknown member".into(),
            edit(&good, "\"files\": {", "\"secrets\": 1, \"files\": {"),
            "unknown field `secrets`",
        ),
        (
            "path escaping".into(),
            edit(
                &good,
                "sys/kernel/iommu_groups/0/reserved_regions",
                "sys/../../etc/shadow",
            ),
            "is not a path the library reads",
        ),
        (
            "absolute path".into(),
            edit(&good, "\"sys/kernel/iommu_groups\"", "\"/etc\""),
            "is not a path the library reads",
        ),
        (
            "path outside the roots".into(),
            edit(
                &good,
                "\"sys/kernel/iommu_groups\"",
                "\"home/user/.ssh/id_rsa\"",
            ),
            "is not a path the library reads",
        ),
        (
            "entry with a slash".into(),
            edit(&good, "\"0\"\n", "\"../0\"\n"),
            "is not a file name",
        ),
        (
            "entry twice".into(),
            edit(&good, "\"0\"\n", "\"0\", \"0\"\n"),
            "listed twice",
        ),
        (
            "answer and errno".into(),
            edit(
                &good,
                "\"hex\": \"ff0080\"",
                "\"hex\": \"ff0080\", \"read_errno\": 2",
            ),
            "both an answer and an errno",
        ),
        (
            "text and hex".into(),
            edit(
                &good,
                "\"hex\": \"ff0080\"",
                "\"hex\": \"ff0080\", \"text\": \"x\"",
            ),
            "both text and hex",
        ),
        (
            "odd hex".into(),
            edit(&good, "\"hex\": \"ff0080\"", "\"hex\": \"ff008\""),
            "odd number of hex digits",
        ),
        (
            "not hex".into(),
            edit(&good, "\"hex\": \"ff0080\"", "\"hex\": \"ffzz80\""),
            "not hex at digit 2",
        ),
        (
            "errno out of range".into(),
            edit(&good, "\"hex\": \"ff0080\"", "\"read_errno\": 99999"),
            "errno 99999 is no errno",
        ),
        (
            "negative page size".into(),
            edit(&good, "\"page_size\": 4096", "\"page_size\": -1"),
            "invalid value: integer `-1`",
        ),
        (
            "odd page size".into(),
            edit(&good, "\"page_size\": 4096", "\"page_size\": 4097"),
            "4097 is no page size",
        ),
        (
            "byte order".into(),
            edit(
                &good,
                "\"byte_order\": \"big\"",
                "\"byte_order\": \"middle\"",
            ),
            "is not little or big",
        ),
        (
            "group twice".into(),
            edit(
                &good,
                "\"groups\": [\n        0\n      ]",
                "\"groups\": [0, 0]",
            ),
            "a group named twice",
        ),
        (
            "no groups".into(),
            edit(&good, "\"groups\": [\n        0\n      ]", "\"groups\": []"),
            "1..65536 groups",
        ),
        (
            "group beyond u32".into(),
            edit(
                &good,
                "\"groups\": [\n        0\n      ]",
                "\"groups\": [4294967296]",
            ),
            "invalid value",
        ),
        (
            "answer and error".into(),
            edit(
                &good,
                "\"backend\": \"type1\"",
                "\"error\": {\"message\": \"x\", \"kind\": \"invalid\"}, \"backend\": \"type1\"",
            ),
            "either error, or backend and get_info",
        ),
        (
            "unknown backend".into(),
            edit(&good, "\"backend\": \"type1\"", "\"backend\": \"type2\""),
            "is not type1 or iommufd-compat",
        ),
        (
            "sPAPR TCE model".into(),
            edit(
                &good,
                "\"devices\": [",
                "\"spapr_tce\": [{\"groups\": [0], \"model\": \"VFIO_TYPE1v2_IOMMU\", \"get_info\": \"00\"}], \"devices\": [",
            ),
            "spapr_tce[0].model: \"VFIO_TYPE1v2_IOMMU\" is not VFIO_SPAPR_TCE_v2_IOMMU or VFIO_SPAPR_TCE_IOMMU",
        ),
        (
            "sPAPR TCE answer and error".into(),
            edit(
                &good,
                "\"devices\": [",
                "\"spapr_tce\": [{\"groups\": [0], \"model\": \"VFIO_SPAPR_TCE_IOMMU\", \"get_info\": \"00\", \"error\": {\"message\": \"x\", \"kind\": \"invalid\"}}], \"devices\": [",
            ),
            "spapr_tce[0]: holds either get_info or error",
        ),
        (
            "sPAPR TCE groups".into(),
            edit(
                &good,
                "\"devices\": [",
                "\"spapr_tce\": [{\"groups\": [3, 3], \"model\": \"VFIO_SPAPR_TCE_IOMMU\", \"get_info\": \"00\"}], \"devices\": [",
            ),
            "spapr_tce[0].groups: a group named twice",
        ),
        (
            "device address".into(),
            edit(
                &good,
                "\"address\": \"0001:00:00.0\"",
                "\"address\": \"../../etc\"",
            ),
            "is not a PCI address",
        ),
        (
            "device answer and error".into(),
            edit(
                &good,
                "\"address\": \"0001:00:00.0\"",
                "\"address\": \"0001:00:00.0\", \"error\": {\"message\": \"x\", \"kind\": \"invalid\"}",
            ),
            "either error, or info and regions",
        ),
        (
            "region with both".into(),
            edit(
                &good,
                "\"error\": {",
                "\"get_region_info\": \"00\", \"error\": {",
            ),
            "a region holds get_region_info or error",
        ),
        (
            "error class".into(),
            edit(&good, "\"kind\": \"os\"", "\"kind\": \"oops\""),
            "\"oops\" (errno Some(22)) is no error class",
        ),
        (
            "os without errno".into(),
            edit(&good, "\"errno\": 22,", ""),
            "is no error class",
        ),
        (
            "ioctl without target".into(),
            edit(&good, "\"target\": \"device 0001:00:00.0 (fd 7)\",", ""),
            "an ioctl's error holds ioctl and target",
        ),
        (
            "memlock limit".into(),
            edit(&good, "\"memlock_limit\": \"8388608\"", "\"memlock_limit\": \"lots\""),
            "\"lots\" is not cap_ipc_lock, unlimited or a number of bytes",
        ),
        (
            "rlimit not a number".into(),
            edit(&good, "\"soft\": \"8388608\"", "\"soft\": \"-1\""),
            "taken_as.memlock.rlimit.soft: \"-1\" is not unlimited or a number of bytes",
        ),
        (
            "soft above hard".into(),
            edit(&good, "\"soft\": \"8388608\"", "\"soft\": \"unlimited\""),
            "taken_as.memlock.rlimit: soft unlimited above hard 67108864",
        ),
        (
            "rlimit half".into(),
            edit(&good, "\"soft\": \"8388608\",", ""),
            "missing field `soft`",
        ),
        (
            "VmLck in bytes".into(),
            edit(&good, "\"vm_lck\": 4096", "\"vm_lck\": 4097"),
            "taken_as.memlock.vm_lck: 4097 is not a whole number of KiB",
        ),
        (
            "memlock unknown member".into(),
            edit(&good, "\"vm_pin\": 0", "\"vm_pin\": 0, \"environ\": \"HOME=/root\""),
            "unknown field `environ`",
        ),
        (
            "rlimit mode of type1".into(),
            edit(
                &good,
                "\"backend\": \"type1\",",
                "\"backend\": \"type1\", \"rlimit_mode\": 1,",
            ),
            "containers[0]: a type1 container has no rlimit mode",
        ),
        (
            "rlimit mode and error".into(),
            edit(
                &good,
                "\"rlimit_mode\": 1",
                "\"rlimit_mode\": 1, \"rlimit_mode_error\": {\"message\": \"x\", \"kind\": \"invalid\"}",
            ),
            "containers[1]: both rlimit_mode and rlimit_mode_error",
        ),
        (
            "rlimit mode errno".into(),
            edit(
                &good,
                "\"rlimit_mode\": 1",
                "\"rlimit_mode_error\": {\"message\": \"x\", \"kind\": \"os\", \"errno\": 4096}",
            ),
            "containers[1].rlimit_mode_error.errno: errno 4096 is no errno",
        ),
        (
            "rlimit mode of a refusal".into(),
            edit(
                &good,
                "\"backend\": \"type1\",\n      \"get_info\": \"000000180000000100000000001010000000000000000000\"",
                "\"rlimit_mode\": 0, \"error\": {\"message\": \"x\", \"kind\": \"invalid\"}",
            ),
            "containers[0]: a container holds either error, or backend and get_info",
        ),
        (
            "config offset unaligned".into(),
            edit(&good, "\"offset\": 16", "\"offset\": 17"),
            "devices[0].config[0].offset: 0x11 is no dword of configuration space",
        ),
        (
            "config offset beyond".into(),
            edit(&good, "\"offset\": 16", "\"offset\": 4096"),
            "devices[0].config[0].offset: 0x1000 is no dword",
        ),
        (
            "config offset huge".into(),
            edit(&good, "\"offset\": 16", "\"offset\": 18446744073709551612"),
            "devices[0].config[0].offset: 0xfffffffffffffffc is no dword",
        ),
        (
            "config read twice".into(),
            edit(&good, "\"offset\": 24", "\"offset\": 16"),
            "devices[0].config[1].offset: 0x10 read twice",
        ),
        (
            "config dword short".into(),
            edit(&good, "\"dword\": \"0c000000\"", "\"dword\": \"0c0000\""),
            "devices[0].config[0].dword: 3 bytes, not the 4 of a dword",
        ),
        (
            "config dword long".into(),
            edit(&good, "\"dword\": \"0c000000\"", "\"dword\": \"0c00000000\""),
            "devices[0].config[0].dword: 5 bytes, more than the 4 allowed",
        ),
        (
            "config dword and error".into(),
            edit(
                &good,
                "\"dword\": \"0c000000\"",
                "\"dword\": \"0c000000\", \"error\": {\"message\": \"x\", \"kind\": \"invalid\"}",
            ),
            "devices[0].config[0]: a read holds dword or error",
        ),
        (
            "config neither".into(),
            edit(&good, ",\n          \"dword\": \"0c000000\"", ""),
            "devices[0].config[0]: a read holds dword or error",
        ),
        (
            "config too many".into(),
            edit(
                &good,
                "\"config\": [",
                &format!(
                    "\"config\": [{}",
                    (0..64)
                        .map(|i| format!("{{\"offset\": {}, \"dword\": \"00000000\"}}, ", 256 + 4 * i))
                        .collect::<String>()
                ),
            ),
            "devices[0].config: 66 reads, more than the 64 allowed",
        ),
        (
            "config unknown member".into(),
            edit(&good, "\"offset\": 16", "\"offset\": 16, \"vendor\": 1"),
            "unknown field `vendor`",
        ),
        (
            "config of a device not opened".into(),
            edit(&refused_device, "\"error\": {", "\"config\": [], \"error\": {"),
            "devices[0]: a device holds either error, or info and regions (and config)",
        ),
        (
            "region errno".into(),
            edit(&good, "\"errno\": 22", "\"errno\": 0"),
            "errno 0 is no errno",
        ),
        (
            "huge buffer".into(),
            edit(
                &good,
                "\"get_info\": \"",
                &format!("\"get_info\": \"{}", "00".repeat((1 << 20) + 1)),
            ),
            "more than the 1048576 allowed",
        ),
        (
            "iommufd device address".into(),
            edit(&good, "\"device\": \"0001:00:00.0\"", "\"device\": \"nope\""),
            "iommufd[0].device: \"nope\" is not a PCI address",
        ),
        (
            "iommufd device twice".into(),
            edit(&good, "\"device\": \"0001:00:01.0\"", "\"device\": \"0001:00:00.0\""),
            "iommufd[1]: 0001:00:00.0 recorded twice",
        ),
        (
            "iommufd answers and error".into(),
            edit(
                &good,
                "\"cdev\": ",
                "\"error\": {\"message\": \"x\", \"kind\": \"invalid\"}, \"cdev\": ",
            ),
            "iommufd[0]: a device holds either error, or cdev, dev_id, ioas, hwpt",
        ),
        (
            "iommufd without hwpt".into(),
            edit(&good, "\"hwpt\": 3,", ""),
            "iommufd[0]: a device holds either error",
        ),
        (
            "iommufd unknown member".into(),
            edit(&good, "\"rlimit_mode\": {", "\"rlimit_mod\": {"),
            "unknown field `rlimit_mod`",
        ),
        (
            "iommufd relative cdev".into(),
            edit(&good, "\"cdev\": \"/dev", "\"cdev\": \"dev"),
            "iommufd[0].cdev: \"dev/vfio/devices/vfio0\" is no device node",
        ),
        (
            "iommufd alignment 0".into(),
            edit(&good, "\"out_iova_alignment\": 4096", "\"out_iova_alignment\": 0"),
            "iommufd[0].ioas_iova_ranges.out_iova_alignment: 0 is no alignment",
        ),
        (
            "iommufd alignment 3".into(),
            edit(&good, "\"out_iova_alignment\": 4096", "\"out_iova_alignment\": 3"),
            "3 is no alignment",
        ),
        (
            "iommufd calls".into(),
            edit(&good, "\"calls\": 1", "\"calls\": 5"),
            "iommufd[0].ioas_iova_ranges.calls: 5, not 1..4",
        ),
        (
            "iommufd part of a range".into(),
            edit(&good, "\"allowed_iovas\": \"", "\"allowed_iovas\": \"00"),
            "17 bytes, not a whole number of 16-byte ranges",
        ),
        (
            "iommufd too many ranges".into(),
            edit(
                &good,
                "\"allowed_iovas\": \"",
                &format!("\"allowed_iovas\": \"{}", "00".repeat(1 << 20)),
            ),
            "iommufd[0].ioas_iova_ranges.allowed_iovas: 1048592 bytes, more than the 1048576 allowed",
        ),
        (
            "iommufd ranges and error".into(),
            edit(
                &good,
                "\"calls\": 1",
                "\"calls\": 1, \"error\": {\"message\": \"x\", \"kind\": \"invalid\"}",
            ),
            "iommufd[0].ioas_iova_ranges: holds either error, or allowed_iovas",
        ),
        (
            "iommufd data beyond data_len".into(),
            edit(&good, "\"data_len\": 24", "\"data_len\": 23"),
            "iommufd[0].get_hw_info.data: 24 bytes, more than data_len 23",
        ),
        (
            "iommufd huge data".into(),
            edit(
                &good,
                "\"data\": \"",
                &format!("\"data\": \"{}", "00".repeat(4096)),
            ),
            "iommufd[0].get_hw_info.data: 4120 bytes, more than the 4096 allowed",
        ),
        (
            "iommufd pasid width".into(),
            edit(&good, "\"out_max_pasid_log2\": 0", "\"out_max_pasid_log2\": 256"),
            "invalid value: integer `256`",
        ),
        (
            "iommufd hw_info without its type".into(),
            edit(&good, "\"out_data_type\": 1,", ""),
            "iommufd[0].get_hw_info: holds either error, or out_data_type",
        ),
        (
            "iommufd rlimit mode and error".into(),
            edit(
                &good,
                "\"process\": false",
                "\"process\": false, \"error\": {\"message\": \"x\", \"kind\": \"invalid\"}",
            ),
            "iommufd[0].rlimit_mode: holds either process or error",
        ),
        (
            "iommufd error's errno".into(),
            edit(&good, "\"errno\": 2\n", "\"errno\": 0\n"),
            "iommufd[1].error.errno: errno 0 is no errno",
        ),
        (
            "iommufd device info without regions".into(),
            edit(&good, "\"device_info\": {", "\"device_info\": {\"error\": {\"message\": \"x\", \"kind\": \"invalid\"},"),
            "iommufd[0].device_info: a device holds either error, or info and regions",
        ),
        (
            "iommufd not a list".into(),
            edit(&good, "\"iommufd\": [", "\"iommufd\": {\"a\": ["),
            "invalid type: map, expected a sequence",
        ),
        (
            "deep nesting".into(),
            edit(
                &good,
                "\"taken_by\": ",
                &format!(
                    "\"x\": {}1{}, \"taken_by\": ",
                    "[".repeat(200),
                    "]".repeat(200)
                ),
            ),
            // Refused at the unknown member, before any descent into the nesting.
            "unknown field `x`",
        ),
    ];
    for (name, text, expected) in cases {
        match Snapshot::parse(text.as_bytes()) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => assert!(
                e.contains(expected),
                "{name}: {e:?} does not say {expected:?}"
            ),
        }
    }
}

/// Region info as vfio-pci fills it on x86 (no capability): region `index` of `size`.
fn region(index: u32, size: u64) -> Vec<u8> {
    let mut b = Vec::new();
    for word in [32, 3, index, 0] {
        b.extend(u32::to_le_bytes(word));
    }
    b.extend(size.to_le_bytes());
    b.extend((u64::from(index) << 40).to_le_bytes());
    b
}

#[test]
fn a_devices_bars_replay_as_its_registers_said() {
    let address: PciAddress = "0001:00:00.0".parse().unwrap();
    // The recorded zPCI function: BAR0's register says 64-bit, and the read of BAR2's (the
    // next the walk asks) failed on the host: the replay fails there, as live did.
    let s = Snapshot::parse(small_snapshot().to_text().as_bytes()).unwrap();
    let e = s.device(&address).unwrap().bars().unwrap_err();
    assert_eq!(
        e.to_string(),
        "pread on device 0001:00:00.0 (fd 7) failed: Input/output error (EIO)"
    );
    assert_eq!(e.kind(), ErrorKind::Os(vfio_iommu_info::Errno(libc::EIO)));

    // An x86 device: 1 MiB BAR0 (32-bit), 16 GiB BAR2 (64-bit, prefetchable, its high
    // half BAR3 not listed), 4 KiB of I/O at BAR4; the config region is 7.
    let sizes = [1u64 << 20, 0, 16 << 30, 0, 0x1000, 0, 0, 4096];
    let mut regions: Vec<Result<Vec<u8>, RecordedError>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| Ok(region(i as u32, size)))
        .collect();
    regions.push(Ok(region(8, 0)));
    let dwords: [(u64, u32); 5] = [
        (0x10, 0xfe00_0000),
        (0x14, 0),
        (0x18, 0x0000_000c),
        (0x20, 0x0000_c001),
        (0x24, 0),
    ];
    let device = RecordedDevice {
        address,
        group: 0,
        answer: Ok((zpci_device().answer.unwrap().0, regions)),
        config: dwords
            .iter()
            .map(|&(offset, d)| ConfigRead {
                offset,
                answer: Ok(d.to_le_bytes()),
            })
            .collect(),
    };
    let x86 = |device: RecordedDevice| {
        let mut s = small_snapshot();
        s.machine = Machine {
            arch: "x86_64".into(),
            byte_order: ByteOrder::Little,
            page_size: 4096,
        };
        s.devices = vec![device];
        // Through the file: what a bug report carries.
        Snapshot::parse(s.to_text().as_bytes()).unwrap()
    };
    let bars = x86(device.clone())
        .device(&address)
        .unwrap()
        .bars()
        .unwrap();
    assert_eq!(
        bars,
        [
            PciBar {
                index: 0,
                size: 1 << 20,
                kind: BarKind::Mem32 {
                    prefetchable: false
                }
            },
            PciBar {
                index: 2,
                size: 16 << 30,
                kind: BarKind::Mem64 { prefetchable: true }
            },
            PciBar {
                index: 4,
                size: 0x1000,
                kind: BarKind::Io
            },
        ]
    );
    // A register the snapshot never read is no guess.
    let mut unread = device.clone();
    unread.config.retain(|r| r.offset != 0x20);
    let e = x86(unread).device(&address).unwrap().bars().unwrap_err();
    assert!(matches!(e, Error::NotInSnapshot { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("configuration space of device 0001:00:00.0 at 0x20"),
        "{e}"
    );
    // Nor is a region it never asked.
    let mut fewer = device;
    if let Ok((_, regions)) = &mut fewer.answer {
        regions.truncate(7);
    }
    let e = x86(fewer).device(&address).unwrap().bars().unwrap_err();
    assert!(
        e.to_string().contains("region 7 of device 0001:00:00.0"),
        "{e}"
    );
}

#[test]
fn the_limits_of_the_process_that_took_it_replay() {
    let s = Snapshot::parse(small_snapshot().to_text().as_bytes()).unwrap();
    let facts = s.memlock_facts().unwrap();
    assert_eq!(
        (
            facts.soft_limit,
            facts.cap_ipc_lock,
            facts.locked,
            facts.pinned,
            facts.page_size
        ),
        (Some(8 << 20), false, Some(4096), Some(0), 4096)
    );
    assert_eq!(
        s.memlock_rlimit().unwrap().and_then(|r| r.hard),
        Some(64 << 20)
    );
    // The compat container's rlimit mode as the host answered it; type1 has none.
    assert!(s.container(&[1]).unwrap().rlimit_mode().unwrap());
    let e = s.container(&[0]).unwrap().rlimit_mode().unwrap_err();
    assert!(matches!(e, Error::NotInSnapshot { .. }), "{e}");
    // A snapshot that does not hold them says so.
    let mut old = small_snapshot();
    old.taken_as.memlock = None;
    let e = old.memlock_facts().unwrap_err();
    assert!(
        e.to_string()
            .contains("the memlock limits of the process that took it"),
        "{e}"
    );
    assert!(old.memlock_rlimit().is_err());
}

#[test]
fn of_the_cpu_only_its_address_sizes_are_kept() {
    let host = FakeHost::new("cpu");
    let live = vfio_iommu_info::sys::cpu::phys_bits_at(&host.paths()).unwrap();
    assert_eq!(live, Some(46));
    let s = take(&host.paths());
    drop(host);
    let text = s.to_text();
    for secret in ["Secret CPU", "0123-4567", "serial", "processor"] {
        assert!(!text.contains(secret), "{secret} kept");
    }
    let s = Snapshot::parse(text.as_bytes()).unwrap();
    assert_eq!(
        vfio_iommu_info::sys::cpu::phys_bits_at(&s.paths()).unwrap(),
        live
    );
    assert!(
        s.memlock_facts().is_ok(),
        "the taking process's limits kept"
    );
    // Not recorded (an earlier version's snapshot): an error, not "no width".
    let mut files = (*s.files).clone();
    files.remove("proc/cpuinfo");
    let old = Snapshot {
        files: std::sync::Arc::new(files),
        ..s
    };
    let e = vfio_iommu_info::sys::cpu::phys_bits_at(&old.paths()).unwrap_err();
    assert!(
        e.to_string()
            .contains("holds no answer to read /proc/cpuinfo"),
        "{e}"
    );
}

#[test]
fn a_recorded_buffer_that_does_not_decode_is_malformed() {
    let mut s = small_snapshot();
    s.containers[0].answer = Ok((vio_backend(), vec![0, 0, 0, 64, 0, 0, 0, 1]));
    let s = Snapshot::parse(s.to_text().as_bytes()).unwrap();
    let e = s.container(&[0]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
}

#[test]
fn snapshot_files_that_are_not_regular_files_are_refused_unread() {
    let dir = std::env::temp_dir().join(format!("vii-snap-files-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (path, says) in [
        (fifo.as_path(), "a FIFO"),
        (dir.as_path(), "a directory"),
        (Path::new("/dev/zero"), "a device"),
    ] {
        let e = Snapshot::read(path).unwrap_err();
        assert!(
            matches!(&e, Error::BadSnapshot { problem, .. } if problem.starts_with(says)),
            "{e}"
        );
    }
    let big = dir.join("big.json");
    let f = fs::File::create(&big).unwrap();
    f.set_len(MAX_SNAPSHOT_SIZE + 1).unwrap();
    let e = Snapshot::read(&big).unwrap_err();
    assert!(e.to_string().contains("larger than 64 MiB"), "{e}");
    let e = Snapshot::read(&dir.join("missing.json")).unwrap_err();
    assert!(matches!(e, Error::Open { .. }), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

fn node_strategy() -> impl Strategy<Value = RecordedNode> {
    let answer = |v: BoxedStrategy<Vec<u8>>| {
        prop_oneof![
            Just(None),
            v.prop_map(|b| Some(Ok(b))),
            (1i32..4096).prop_map(|e| Some(Err(e)))
        ]
    };
    (
        proptest::option::of(any::<bool>()),
        answer(proptest::collection::vec(any::<u8>(), 0..64).boxed()),
        prop_oneof![
            Just(None),
            "[a-z0-9./]{1,20}".prop_map(|s| Some(Ok(s))),
            (1i32..4096).prop_map(|e| Some(Err(e)))
        ],
        prop_oneof![
            Just(None),
            proptest::collection::btree_set("[a-z0-9:][a-z0-9:.]{0,7}", 0..5)
                .prop_map(|s| Some(Ok(s.into_iter().collect()))),
            (1i32..4096).prop_map(|e| Some(Err(e)))
        ],
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(exists, file, link, dir, rdwr)| RecordedNode {
            exists,
            file,
            link,
            dir,
            rdwr,
        })
}

proptest! {
    /// Any snapshot survives its file: written, read back, equal.
    #[test]
    fn every_snapshot_survives_its_file(
        nodes in proptest::collection::btree_map("sys(/[a-z0-9:][a-z0-9:.]{0,5}){1,4}", node_strategy(), 0..8),
        containers in proptest::collection::vec(
            (proptest::collection::btree_set(any::<u32>(), 1..4),
             prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Ok((vio_backend(), b))),
                ("[ -~]{0,40}", 1i32..4096, any::<bool>()).prop_map(|(message, errno, ioctl)| Err(RecordedError {
                    message,
                    kind: ErrorKind::Os(vfio_iommu_info::Errno(errno)),
                    ioctl: ioctl.then(|| RecordedIoctl { name: "VFIO_SET_IOMMU".into(), target: "t".into(), hint: None }),
                })),
             ]),
            0..4),
        spapr in proptest::collection::vec(
            (proptest::collection::btree_set(any::<u32>(), 1..4),
             prop_oneof![Just("VFIO_SPAPR_TCE_v2_IOMMU"), Just("VFIO_SPAPR_TCE_IOMMU")],
             proptest::collection::vec(any::<u8>(), 0..64)),
            0..3),
        big in any::<bool>(),
        memlock in proptest::option::of(prop_oneof![
            Just(MemlockLimit::Root),
            Just(MemlockLimit::Unlimited),
            any::<u64>().prop_map(MemlockLimit::Bytes),
        ]),
        process in proptest::option::of((
            proptest::option::of((proptest::option::of(any::<u64>()), proptest::option::of(any::<u64>()))),
            proptest::option::of(any::<bool>()),
            proptest::option::of(0u64..1 << 40),
            proptest::option::of(0u64..1 << 40),
        ).prop_map(|(rlimit, cap_ipc_lock, lck, pin)| ProcessMemlock {
            // As the kernel keeps them: soft at most hard (None is unlimited).
            rlimit: rlimit.map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => MemlockRlimit { soft: Some(a.min(b)), hard: Some(a.max(b)) },
                (a, b) => MemlockRlimit { soft: a.or(b), hard: None },
            }),
            cap_ipc_lock,
            locked: LockedMemory { locked: lck.map(|k| k * 1024), pinned: pin.map(|k| k * 1024) },
        })),
    ) {
        let s = Snapshot {
            taken_by: "t".into(),
            machine: Machine { byte_order: if big { ByteOrder::Big } else { ByteOrder::Little }, ..machine() },
            taken_as: TakenAs {
                memlock_limit: memlock,
                memlock: process,
            },
            files: std::sync::Arc::new(nodes),
            containers: containers
                .into_iter()
                .map(|(g, answer)| {
                    let compat = answer.is_ok() && g.len() % 2 == 0;
                    let answer = answer.map(|(b, raw)| (if compat { compat_backend() } else { b }, raw));
                    RecordedContainer { groups: g.into_iter().collect(), answer, rlimit_mode: compat.then_some(Ok(0)) }
                })
                .collect(),
            spapr_tce: spapr
                .into_iter()
                .map(|(g, model, raw)| RecordedSpaprTce { groups: g.into_iter().collect(), model, answer: Ok(raw) })
                .collect(),
            devices: if big { vec![zpci_device()] } else { Vec::new() },
            iommufd: if big { zpci_iommufd() } else { Vec::new() },
        };
        let back = Snapshot::parse(s.to_text().as_bytes());
        prop_assert_eq!(back.as_ref(), Ok(&s));
    }

    /// Whatever the bytes, parsing answers (a snapshot or an error), never panics.
    #[test]
    fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Snapshot::parse(&bytes);
    }
}

/// The snapshots `lab_cli` took on real kernels (`tests/fixtures/<scenario>/snapshot.json`):
/// each reads, writes back byte for byte, lists its groups, and answers for each group
/// what the C capture program's `info-exact.bin` of that group says. The foreign guests'
/// (lab/guest/snapshot.c) read and list here; their own tests compare their answers.
#[test]
fn the_lab_snapshots_replay_what_the_kernels_answered() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (mut seen, mut iommufd) = (0, 0);
    let mut edus = 0;
    for entry in fs::read_dir(&fixtures).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("snapshot.json");
        if !file.exists() {
            continue;
        }
        let s = Snapshot::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let foreign = !s.taken_by.starts_with("vfio-iommu-info ");
        if !foreign {
            assert_eq!(
                s.to_text(),
                fs::read_to_string(&file).unwrap(),
                "{}",
                file.display()
            );
        } else {
            // A foreign guest's, written by lab/guest/snapshot.c in its own layout of the
            // same members (tests/common/guest_snapshot.rs checks what it answers).
            assert_eq!(s.taken_by, "lab/guest/snapshot.c", "{}", file.display());
            assert_eq!(Snapshot::parse(s.to_text().as_bytes()), Ok(s.clone()));
        }
        let summary = HostSummary::read(&s.paths()).unwrap();
        assert!(summary.viable_groups() >= 1, "{}", file.display());
        if foreign {
            continue;
        }
        // What `guest` and `budget` read: the CPU's width (TCG's q35 CPUs report one), the
        // taking process's limits, and each opened device's BARs (QEMU's edu: BAR0, 1 MiB
        // of 32-bit memory), walked over the registers the kernel returned.
        let phys = vfio_iommu_info::sys::cpu::phys_bits_at(&s.paths());
        assert!(
            matches!(phys, Ok(Some(32..=64))),
            "{}: {phys:?}",
            file.display()
        );
        s.memlock_facts()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for d in s.devices.iter().filter(|d| d.answer.is_ok()) {
            let bars = s.device(&d.address).unwrap().bars();
            let bars = bars.unwrap_or_else(|e| panic!("{} {}: {e}", file.display(), d.address));
            assert!(!bars.is_empty(), "{} {}", file.display(), d.address);
            let edu = s
                .files
                .get(&format!("sys/bus/pci/devices/{}/device", d.address));
            if edu.and_then(|n| n.file.as_ref()) == Some(&Ok(b"0x11e8\n".to_vec())) {
                assert_eq!(
                    bars[0],
                    PciBar {
                        index: 0,
                        size: 1 << 20,
                        kind: BarKind::Mem32 {
                            prefetchable: false
                        }
                    },
                    "{} {}",
                    file.display(),
                    d.address
                );
                edus += 1;
            }
        }
        let answered: Vec<&RecordedContainer> =
            s.containers.iter().filter(|c| c.answer.is_ok()).collect();
        assert!(!answered.is_empty(), "{}", file.display());
        for c in answered {
            let replayed = s.container(&c.groups).unwrap();
            let name = match c.groups.as_slice() {
                [g] => format!("group-{g}"),
                gs => format!(
                    "groups-{}",
                    gs.iter().map(u32::to_string).collect::<Vec<_>>().join("-")
                ),
            };
            let exact = dir.join(&name).join("info-exact.bin");
            let Ok(raw) = fs::read(&exact) else {
                continue;
            };
            let captured = vfio_iommu_info::decode(&raw).unwrap();
            assert_eq!(
                replayed.info.iova_ranges,
                captured.iova_ranges,
                "{}",
                exact.display()
            );
            assert_eq!(
                replayed.info.iova_pgsizes,
                captured.iova_pgsizes,
                "{}",
                exact.display()
            );
            seen += 1;
        }
        // Every device answered on the iommufd path replays its report.
        for d in s.iommufd.iter().filter(|d| d.answer.is_ok()) {
            let r = s
                .iommufd_report(&d.address)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", file.display(), d.address));
            assert!(!r.ranges.ranges.is_empty(), "{}", file.display());
            iommufd += 1;
        }
    }
    eprintln!("{seen} containers and {iommufd} iommufd reports replayed");
    // The 7.3 compat kernels bind their edu device's cdev to iommufd.
    assert!(iommufd >= 2, "only {iommufd} iommufd reports replayed");
    assert!(
        seen >= 10,
        "only {seen} containers compared with their captures"
    );
    assert!(edus >= 10, "only {edus} edu devices' BARs replayed");
}
