//! What-if for hotplug on a fake `/sys`: which IOMMU unit a group sits behind, the
//! aperture its domain gets (shared with a unit already serving the container, from VT-d's
//! registers, or unknown and said so), and errors naming the file. The lab compares the
//! prediction with the kernel's ranges after a real attach (tests/lab.rs,
//! tests/lab_iommufd.rs).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use vfio_iommu_info::{
    what_if_attach, Error, IovaRange, IovaSpace, NewAperture, RegionKind, ReservedRegion, Sysfs,
};

const MSI: &str = "0x00000000fee00000 0x00000000feefffff msi\n";
/// QEMU 7.2's intel-iommu with aw-bits=48 as Linux 6.12 prints CAP_REG and ECAP_REG (the
/// lab's two-group scenario).
const CAP_AW48: &str = "d2008c222f0686\n";
const ECAP: &str = "f00f4a\n";

struct FakeSys {
    root: PathBuf,
}

impl FakeSys {
    fn new(name: &str) -> FakeSys {
        let root = std::env::temp_dir().join(format!("vfio-whatif-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        FakeSys { root }
    }

    fn sysfs(&self) -> Sysfs {
        Sysfs::new(&self.root)
    }

    /// An IOMMU unit in /sys/class/iommu, with VT-d's registers when given.
    fn unit(&self, name: &str, vtd: Option<(&str, &str)>) {
        let dir = self.root.join("devices/virtual/iommu").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(self.root.join("class/iommu")).unwrap();
        symlink(&dir, self.root.join("class/iommu").join(name)).unwrap();
        if let Some((cap, ecap)) = vtd {
            fs::create_dir_all(dir.join("intel-iommu")).unwrap();
            fs::write(dir.join("intel-iommu/cap"), cap).unwrap();
            fs::write(dir.join("intel-iommu/ecap"), ecap).unwrap();
        }
    }

    /// Group `group` with one device per `(name, unit)`, and these reserved regions.
    fn group(&self, group: u32, devices: &[(&str, Option<&str>)], regions: &str) {
        let dir = self.root.join(format!("kernel/iommu_groups/{group}"));
        fs::create_dir_all(dir.join("devices")).unwrap();
        fs::write(dir.join("reserved_regions"), regions).unwrap();
        for (name, unit) in devices {
            let d = self.root.join("devices/pci0000:00").join(name);
            fs::create_dir_all(&d).unwrap();
            if let Some(unit) = unit {
                symlink(format!("../../virtual/iommu/{unit}"), d.join("iommu")).unwrap();
            }
            symlink(&d, dir.join("devices").join(name)).unwrap();
        }
    }
}

impl Drop for FakeSys {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn r(start: u64, end: u64) -> IovaRange {
    IovaRange::new(start, end).unwrap()
}

fn intel48() -> IovaSpace {
    IovaSpace::new(&[r(0, 0xfedf_ffff), r(0xfef0_0000, (1 << 48) - 1)], None)
}

/// The fake host, in a directory of the test's own (`name`): tests run in parallel.
fn host(name: &str) -> FakeSys {
    let host = FakeSys::new(name);
    host.unit("dmar0", Some((CAP_AW48, ECAP)));
    host.unit("dmar1", Some((CAP_AW48, ECAP)));
    host.unit("ivhd0", None);
    host.group(2, &[("0000:00:02.0", Some("dmar0"))], MSI);
    host.group(
        3,
        &[
            ("0000:00:03.0", Some("dmar0")),
            ("0000:00:03.1", Some("dmar0")),
        ],
        &format!("0x0000000000000000 0x0000000000ffffff direct-relaxable\n{MSI}"),
    );
    host.group(4, &[("0000:00:04.0", Some("dmar1"))], MSI);
    host.group(
        5,
        &[("0000:00:05.0", Some("ivhd0"))],
        &format!("{MSI}0x000000fd00000000 0x000000ffffffffff reserved\n"),
    );
    host.group(6, &[("0000:00:06.0", None)], MSI);
    host
}

#[test]
fn a_groups_unit_and_its_vtd_registers_come_from_sysfs() {
    let host = host("unit");
    let unit = host.sysfs().iommu_of_group(3).unwrap().unwrap();
    assert_eq!(unit.name, "dmar0");
    assert_eq!(unit.vtd, Some((0xd2008c222f0686, 0xf00f4a)));
    let amd = host.sysfs().iommu_of_group(5).unwrap().unwrap();
    assert_eq!((amd.name.as_str(), amd.vtd), ("ivhd0", None));
    assert_eq!(host.sysfs().iommu_of_group(6).unwrap(), None);
}

#[test]
fn the_first_attach_to_an_empty_ioas_takes_the_aperture_from_vtds_registers() {
    let host = host("first");
    let empty = IovaSpace::new(&[IovaRange::FULL], None);
    let w = what_if_attach(&empty, &[], 2, &host.sysfs()).unwrap();
    assert_eq!(
        w.aperture,
        NewAperture::Registers {
            iommu: "dmar0".into(),
            bits: 48,
            range: r(0, (1 << 48) - 1)
        }
    );
    assert!(w.exact());
    assert_eq!(w.after.ranges(), intel48().ranges());
    assert_eq!(w.after.groups_of(&w.regions[0]), vec![2]);
}

#[test]
fn a_second_group_behind_the_same_unit_shares_its_aperture() {
    let host = host("shared");
    let before = intel48().with_groups(&host.sysfs(), &[2]).unwrap();
    let w = what_if_attach(&before, &[2], 3, &host.sysfs()).unwrap();
    assert_eq!(
        w.aperture,
        NewAperture::Shared {
            iommu: "dmar0".into()
        }
    );
    assert!(!w.changes(), "{:?}", w.taken);
    // The MSI window is now listed by both groups; the relaxable ISA range takes nothing.
    let msi = &w.after.holes()[0].causes[0];
    assert_eq!(w.after.groups_of(msi), vec![2, 3]);
    assert!(w
        .regions
        .iter()
        .any(|g| g.kind == RegionKind::DirectRelaxable));
    // Behind another VT-d unit the registers give the aperture again.
    let other = what_if_attach(&before, &[2], 4, &host.sysfs()).unwrap();
    assert!(matches!(
        other.aperture,
        NewAperture::Registers { bits: 48, .. }
    ));
}

#[test]
fn a_unit_without_registers_in_sysfs_is_named_and_the_prediction_is_an_upper_bound() {
    let host = host("unknown");
    let w = what_if_attach(&intel48(), &[2], 5, &host.sysfs()).unwrap();
    let NewAperture::Unknown { iommu, why } = &w.aperture else {
        panic!("{:?}", w.aperture)
    };
    assert_eq!(iommu.as_deref(), Some("ivhd0"));
    assert!(why.contains("VT-d"), "{why}");
    assert!(!w.exact());
    assert!(w.aperture.to_string().contains("may end up narrower"));
    let ht = ReservedRegion {
        range: r(0xfd_0000_0000, 0xff_ffff_ffff),
        kind: RegionKind::Reserved,
    };
    assert_eq!(w.after.hole_at(0xfe_0000_0000).unwrap().causes, vec![ht]);
    let none = what_if_attach(&intel48(), &[], 6, &host.sysfs()).unwrap();
    assert_eq!(
        none.aperture,
        NewAperture::Unknown {
            iommu: None,
            why: "no device of the group links to its IOMMU in sysfs".into()
        }
    );
}

#[test]
fn corrupt_registers_and_a_group_across_two_units_are_errors_naming_the_file() {
    let host = FakeSys::new("corrupt");
    host.unit("dmar0", Some(("0xzz\n", ECAP)));
    host.unit("dmar1", Some((CAP_AW48, ECAP)));
    host.group(2, &[("0000:00:02.0", Some("dmar0"))], MSI);
    host.group(
        3,
        &[
            ("0000:00:03.0", Some("dmar0")),
            ("0000:00:03.1", Some("dmar1")),
        ],
        MSI,
    );
    match what_if_attach(&intel48(), &[], 2, &host.sysfs()) {
        Err(Error::SysfsFormat { path, problem, .. }) => {
            assert!(
                path.ends_with("class/iommu/dmar0/intel-iommu/cap"),
                "{path:?}"
            );
            assert!(problem.contains("hexadecimal"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
    match host.sysfs().iommu_of_group(3) {
        Err(Error::SysfsFormat { problem, .. }) => {
            assert!(
                problem.contains("dmar0") && problem.contains("dmar1"),
                "{problem}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A unit with only one of the two registers.
    fs::remove_file(
        host.root
            .join("devices/virtual/iommu/dmar1/intel-iommu/ecap"),
    )
    .unwrap();
    host.group(4, &[("0000:00:04.0", Some("dmar1"))], MSI);
    assert!(matches!(
        host.sysfs().iommu_of_group(4),
        Err(Error::SysfsFormat { .. })
    ));
}
