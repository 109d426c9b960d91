//! sysfs reading and the opening dance's errors, on a fake `/sys` and `/dev/vfio` built
//! in a temporary directory (the lab runs the same code against real kernels).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use vfio_iommu_info::{
    Container, Error, Group, GroupBlocker, HostPaths, PciAddress, RegionKind, Sysfs, Target,
};

/// A q35-like tree: group 7 holds the ISA bridge 00:1f.0 (on lpc_ich) and the SMBus
/// 00:1f.3 (unbound); 00:03.0 has no IOMMU group; /dev/vfio has no group nodes.
struct FakeHost {
    root: PathBuf,
}

impl FakeHost {
    fn new(name: &str) -> FakeHost {
        let root = std::env::temp_dir().join(format!("vfio-fake-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let sys = root.join("sys");
        let group = sys.join("kernel/iommu_groups/7");
        fs::create_dir_all(group.join("devices")).unwrap();
        fs::write(
            group.join("reserved_regions"),
            "0x0000000000000000 0x0000000000ffffff direct-relaxable\n0x00000000fee00000 0x00000000feefffff msi\n",
        )
        .unwrap();
        fs::write(group.join("type"), "DMA\n").unwrap();
        for (dev, driver, in_group) in [
            ("0000:00:1f.0", Some("lpc_ich"), true),
            ("0000:00:1f.3", None, true),
            ("0000:00:03.0", None, false),
        ] {
            let d = sys.join("bus/pci/devices").join(dev);
            fs::create_dir_all(&d).unwrap();
            if let Some(drv) = driver {
                symlink(
                    format!("../../../../bus/pci/drivers/{drv}"),
                    d.join("driver"),
                )
                .unwrap();
            }
            if in_group {
                symlink("../../../../kernel/iommu_groups/7", d.join("iommu_group")).unwrap();
                symlink(&d, group.join("devices").join(dev)).unwrap();
            }
        }
        fs::create_dir_all(root.join("dev/vfio")).unwrap();
        FakeHost { root }
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

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn addr(s: &str) -> PciAddress {
    s.parse().unwrap()
}

#[test]
fn groups_devices_drivers_regions_and_blockers() {
    let host = FakeHost::new("groups");
    let sysfs = host.paths().sysfs;
    assert_eq!(sysfs.groups().unwrap(), vec![7]);
    let devices = sysfs.group_devices(7).unwrap();
    let names: Vec<_> = devices
        .iter()
        .map(|d| (d.name.as_str(), d.driver.as_deref()))
        .collect();
    assert_eq!(
        names,
        vec![("0000:00:1f.0", Some("lpc_ich")), ("0000:00:1f.3", None)]
    );
    assert_eq!(
        sysfs.group_blockers(7).unwrap(),
        vec![GroupBlocker {
            device: "0000:00:1f.0".into(),
            driver: "lpc_ich".into()
        }]
    );
    let regions = sysfs.reserved_regions(7).unwrap();
    assert_eq!(
        regions.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
        vec![RegionKind::DirectRelaxable, RegionKind::Msi]
    );
    assert_eq!(
        sysfs.default_domain_type(7).unwrap().as_deref(),
        Some("DMA")
    );
    assert_eq!(sysfs.group_of_device(&addr("00:1f.3")).unwrap(), 7);
}

#[test]
fn a_host_without_an_iommu_has_no_groups() {
    let empty = Sysfs::new(std::env::temp_dir().join("vfio-no-such-sysfs"));
    assert_eq!(empty.groups().unwrap(), Vec::<u32>::new());
}

#[test]
fn missing_devices_and_groups_are_named_with_the_fix() {
    let host = FakeHost::new("missing");
    let sysfs = host.paths().sysfs;
    let e = sysfs.group_of_device(&addr("00:09.0")).unwrap_err();
    assert!(matches!(e, Error::NoSuchDevice { .. }), "{e}");
    assert!(e.to_string().contains("0000:00:09.0 does not exist"), "{e}");
    let e = sysfs.group_of_device(&addr("00:03.0")).unwrap_err();
    assert!(matches!(e, Error::NoIommuGroup { .. }), "{e}");
    assert!(
        e.to_string().contains("intel_iommu=on or amd_iommu=on"),
        "{e}"
    );
    let e = sysfs.reserved_regions(9).unwrap_err();
    assert!(
        e.to_string().contains("iommu_groups/9/reserved_regions"),
        "{e}"
    );
}

#[test]
fn opening_a_group_without_a_vfio_node_lists_its_devices_and_drivers() {
    let host = FakeHost::new("nonode");
    let e = Group::open(7, &host.paths()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("IOMMU group 7 exists but no device of it is bound to vfio-pci"),
        "{text}"
    );
    assert!(
        text.contains("0000:00:1f.0 (lpc_ich)") && text.contains("0000:00:1f.3 (no driver)"),
        "{text}"
    );
    let e = Group::open(9, &host.paths()).unwrap_err();
    assert!(e.to_string().contains("there is no IOMMU group 9"), "{e}");
}

#[test]
fn the_container_path_explains_a_missing_vfio_module_and_a_non_vfio_file() {
    let host = FakeHost::new("container");
    let mut paths = host.paths();
    paths.vfio_dir = host.root.join("dev/no-vfio");
    let e = Container::open(&paths).unwrap_err();
    assert!(
        e.to_string().contains("the vfio module is not loaded"),
        "{e}"
    );
    // A regular file where /dev/vfio/vfio should be: refused before it is opened
    // read-write, with the ENOTTY an ioctl would have given.
    let node = host.root.join("dev/vfio/vfio");
    fs::write(&node, b"").unwrap();
    let e = Container::open(&host.paths()).unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::ENOTTY), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "{} is a regular file, not a VFIO container (/dev/vfio/vfio, misc 10:196)",
            node.display()
        )),
        "{e}"
    );
}

#[test]
fn devices_are_resolved_before_dev_vfio_is_touched() {
    let host = FakeHost::new("resolve");
    let mut paths = host.paths();
    paths.vfio_dir = host.root.join("dev/no-vfio");
    let e = Container::open_targets(&[Target::Device(addr("00:09.0"))], &paths).unwrap_err();
    assert!(
        matches!(e, Error::NoSuchDevice { .. }),
        "the root cause, not /dev/vfio: {e}"
    );
}

#[test]
fn targets_parse_from_what_users_type() {
    assert_eq!("4".parse::<Target>().unwrap(), Target::Group(4));
    assert_eq!(
        "/dev/vfio/4".parse::<Target>().unwrap(),
        Target::GroupPath(PathBuf::from("/dev/vfio/4"))
    );
    assert_eq!(
        "03:00.0".parse::<Target>().unwrap(),
        Target::Device(addr("0000:03:00.0"))
    );
    let e = "eth0".parse::<Target>().unwrap_err();
    assert!(
        e.to_string().contains("expected an IOMMU group number"),
        "{e}"
    );
}

#[test]
fn a_non_viable_group_names_each_blocker() {
    let e = Error::GroupNotViable {
        group: Some(7),
        path: Path::new("/dev/vfio/7").into(),
        blockers: vec![
            GroupBlocker {
                device: "0000:00:1f.0".into(),
                driver: "lpc_ich".into(),
            },
            GroupBlocker {
                device: "0000:00:1f.2".into(),
                driver: "ahci".into(),
            },
        ],
    };
    let text = e.to_string();
    assert!(
        text.starts_with("IOMMU group 7 (/dev/vfio/7) is not viable"),
        "{text}"
    );
    assert!(text.contains("device 0000:00:1f.0 is still bound to lpc_ich, device 0000:00:1f.2 is still bound to ahci"), "{text}");
}

#[test]
fn the_cdev_path_names_the_driver_or_the_missing_kernel_option() {
    use vfio_iommu_info::cdev::DeviceCdev;
    let host = FakeHost::new("cdev");
    let sys = host.root.join("sys/bus/pci/devices");
    let paths = host.paths();
    // On another driver: the fix names it.
    let e = DeviceCdev::open(&addr("0000:00:1f.0"), &paths).unwrap_err();
    assert!(
        matches!(&e, Error::NotOnVfio { driver: Some(d), .. } if d == "lpc_ich"),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("echo 0000:00:1f.0 > /sys/bus/pci/devices/0000:00:1f.0/driver/unbind"),
        "{text}"
    );
    // Unbound: no unbind step.
    let e = DeviceCdev::open(&addr("0000:00:1f.3"), &paths).unwrap_err();
    assert!(matches!(&e, Error::NotOnVfio { driver: None, .. }), "{e}");
    assert!(!e.to_string().contains("unbind"), "{e}");
    // On vfio-pci with a vfio-dev entry but no device number (a kernel without
    // CONFIG_VFIO_DEVICE_CDEV, like Debian's): the kernel option is named.
    let d = sys.join("0000:00:1f.3");
    symlink("../../../../bus/pci/drivers/vfio-pci", d.join("driver")).unwrap();
    fs::create_dir_all(d.join("vfio-dev/vfio3")).unwrap();
    let e = DeviceCdev::open(&addr("0000:00:1f.3"), &paths).unwrap_err();
    assert!(matches!(&e, Error::NoDeviceCdev { .. }), "{e}");
    assert!(e.to_string().contains("CONFIG_VFIO_DEVICE_CDEV"), "{e}");
    // With its `dev` number: the node is looked for under /dev/vfio/devices.
    fs::write(d.join("vfio-dev/vfio3/dev"), "237:3\n").unwrap();
    assert_eq!(
        paths
            .sysfs
            .vfio_cdev_of_device(&addr("0000:00:1f.3"))
            .unwrap()
            .as_deref(),
        Some("vfio3")
    );
    let e = DeviceCdev::open(&addr("0000:00:1f.3"), &paths).unwrap_err();
    assert!(
        matches!(&e, Error::Open { path, .. } if path.ends_with("dev/vfio/devices/vfio3")),
        "{e}"
    );
    // A device that does not exist.
    assert!(matches!(
        DeviceCdev::open(&addr("0000:00:09.0"), &paths),
        Err(Error::NoSuchDevice { .. })
    ));
}
