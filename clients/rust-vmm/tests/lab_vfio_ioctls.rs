//! cloud-hypervisor's VFIO stack against real kernels (`make lab` runs these in every x86
//! scenario's guest; on a host outside the lab they skip).
//!
//! vfio-ioctls opens the edu device as cloud-hypervisor does (`VfioContainer::new(None)` and
//! `VfioDevice::new`; on iommufd kernels also `VfioIommufd` and the device's cdev), and the
//! library's answers on those fds must equal the answers it gives when it opens everything
//! itself: IOVA ranges, page sizes, DMA_AVAIL and the whole GET_INFO chain, the holes with
//! their reserved regions, the facts with their sources, the device info and every
//! region's info. A mapping made through vfio-ioctls must then show in the library's next
//! answer on the VMM's container.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use vfio_ioctls::VfioError;
use vfio_iommu_info::decode::region_info::RegionInfo;
use vfio_iommu_info::facts::{Backend, MappingLimit};
use vfio_iommu_info::query::report::IommufdReport;
use vfio_iommu_info::{
    open_and_query, query_type1, Errno, Error, HostPaths, IovaSpace, PciAddress, Target,
};
use vfio_iommu_info_rust_vmm::{
    iommufd_answers, type1_answers, DeviceAnswers, IommufdStack, StackError, Type1Stack,
};

struct Lab {
    iommufd: bool,
    compat: bool,
    edu: PciAddress,
    group: u32,
}

fn lab() -> Option<Lab> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("LAB").as_deref() != Some("1") {
        eprintln!("skipped: not in the lab (make lab runs these inside QEMU guests)");
        return None;
    }
    let first = |k: &str| env(k).and_then(|v| v.split_whitespace().next().map(str::to_owned));
    Some(Lab {
        iommufd: env("LAB_IOMMUFD").as_deref() == Some("1"),
        compat: env("LAB_COMPAT").as_deref() == Some("1"),
        edu: first("LAB_EDU_BDFS")
            .expect("LAB_EDU_BDFS")
            .parse()
            .unwrap(),
        group: first("LAB_EDU_GROUPS")
            .expect("LAB_EDU_GROUPS")
            .parse()
            .unwrap(),
    })
}

/// The VFIO groups this process holds open, from its fd table (`/proc/self/fd`): the
/// groups vfio-ioctls opened, which it keeps private.
fn open_vfio_groups(paths: &HostPaths) -> Vec<u32> {
    let mut groups: Vec<u32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| {
            let meta = std::fs::metadata(entry.ok()?.path()).ok()?;
            meta.file_type()
                .is_char_device()
                .then(|| paths.sysfs.vfio_group_of_rdev(meta.rdev()))?
        })
        .collect();
    groups.sort_unstable();
    groups
}

/// A region's answer, comparable: the info, or the errno of the refusal.
fn comparable(
    regions: &[(u32, Result<RegionInfo, Error>)],
) -> Vec<(u32, Result<RegionInfo, Option<Errno>>)> {
    regions
        .iter()
        .map(|(i, r)| (*i, r.as_ref().map_err(Error::errno).cloned()))
        .collect()
}

/// The device as the library's own `Device` sees it.
fn own_device(device: &vfio_iommu_info::device::Device) -> DeviceAnswers {
    let info = device.info().unwrap();
    let regions = (0..info.num_regions)
        .map(|index| (index, device.region(index)))
        .collect();
    DeviceAnswers { info, regions }
}

fn assert_same_device(vmm: &DeviceAnswers, own: &DeviceAnswers) {
    assert_eq!(vmm.info, own.info, "VFIO_DEVICE_GET_INFO");
    assert_eq!(
        comparable(&vmm.regions),
        comparable(&own.regions),
        "VFIO_DEVICE_GET_REGION_INFO"
    );
    // The edu device: 9 vfio-pci regions, 5 irq types, a 1 MiB BAR0; no VGA region.
    assert_eq!((vmm.info.num_regions, vmm.info.num_irqs), (9, 5));
    assert_eq!(vmm.regions[0].1.as_ref().unwrap().size, 1 << 20);
    assert_eq!(
        vmm.regions[8].1.as_ref().unwrap_err().errno(),
        Some(Errno(libc::EINVAL))
    );
}

/// Every hole has a reserved region of the group behind it.
fn assert_holes_explained(space: &IovaSpace) {
    assert!(!space.holes().is_empty(), "an x86 vIOMMU has an MSI hole");
    for hole in space.holes() {
        assert!(!hole.causes.is_empty(), "hole {} has no cause", hole.range);
    }
}

#[test]
fn lab_vfio_ioctls_type1_answers_equal_the_librarys_own() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    // The library's own open path first: a group is held by one container at a time.
    let (own_backend, own_info, own_facts, own_space, own_device) = {
        let (container, info) = open_and_query(&Target::Device(lab.edu)).unwrap();
        let facts = container.facts(&info, &paths);
        let space = container.space(&paths).unwrap();
        // iommufd's compat container opened the device to attach the group; type1 did not.
        let device = match container.devices().first() {
            Some(d) => own_device(d),
            None => own_device(
                &container.groups()[0]
                    .open_device(&lab.edu.to_string())
                    .unwrap(),
            ),
        };
        (container.backend(), info, facts, space, device)
    };

    assert_eq!(
        open_vfio_groups(&paths),
        Vec::<u32>::new(),
        "the library closed its group"
    );
    let vmm = Type1Stack::open(&lab.edu, &paths).unwrap();
    assert_eq!(vmm.group(), lab.group);
    let mine = type1_answers(vmm.container_fd(), vmm.device_fd(), &[vmm.group()], &paths).unwrap();
    // The holes are explained by the group vfio-ioctls really holds open (every group of
    // these vIOMMUs has the same reserved regions: the facts alone would not tell).
    assert_eq!(mine.groups, open_vfio_groups(&paths), "the VMM's group");
    eprintln!(
        "vfio-ioctls: container fd {}, device fd {}, group {}: {:?}",
        vmm.container_fd().as_raw_fd(),
        vmm.device_fd().as_raw_fd(),
        vmm.group(),
        mine.info
    );
    assert_eq!(Backend::from(mine.backend), Backend::from(own_backend));
    let expected = if lab.compat {
        Backend::IommufdCompat
    } else {
        Backend::Type1
    };
    assert_eq!(Backend::from(mine.backend), expected);
    // The whole answer: page sizes, ranges, DMA_AVAIL, migration, the chain as laid out.
    assert_eq!(mine.info, own_info, "VFIO_IOMMU_GET_INFO");
    assert_eq!(mine.facts, own_facts, "facts");
    assert_eq!(mine.space, own_space, "IOVA space");
    assert!(mine.info.dma_avail.present().is_some(), "DMA_AVAIL");
    assert_holes_explained(mine.space.as_ref().unwrap());
    assert_same_device(&mine.device, &own_device);
}

#[test]
fn lab_vfio_ioctls_mapping_shows_in_the_librarys_next_answer() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    let vmm = Type1Stack::open(&lab.edu, &paths).unwrap();
    let before =
        type1_answers(vmm.container_fd(), vmm.device_fd(), &[vmm.group()], &paths).unwrap();
    let space = before.space.as_ref().unwrap();
    let page = space.granule();
    let len = usize::try_from(page).unwrap();
    // SAFETY: a fresh private anonymous mapping; only its address goes to the kernel.
    let buf = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(buf, libc::MAP_FAILED, "{}", std::io::Error::last_os_error());
    let usable = space.ranges()[0].start.next_multiple_of(page);
    space.check(usable, page).unwrap();
    // SAFETY: `buf` is ours, unmapped from the IOMMU below before it is unmapped from us,
    // and nothing in this test reads or writes it.
    unsafe { vmm.container().vfio_dma_map(usable, len, buf.cast()) }.unwrap();
    let after = query_type1(vmm.container_fd()).unwrap();
    match before.facts.mapping_limit.as_ref().map(|f| f.value) {
        Some(MappingLimit::Remaining(n)) => {
            assert_eq!(
                after.dma_avail.present(),
                Some(&(n - 1)),
                "type1 counts the mapping"
            )
        }
        Some(MappingLimit::Unlimited) => {
            assert_eq!(
                after.dma_avail, before.info.dma_avail,
                "no count on iommufd"
            )
        }
        None => panic!("no mapping limit in {:?}", before.facts),
    }
    // Where the library says hole, the kernel refuses the VMM's mapping too.
    let hole = space.holes()[0].range;
    assert!(space.check(hole.start, page).is_err());
    // SAFETY: as above.
    let refused = unsafe { vmm.container().vfio_dma_map(hole.start, len, buf.cast()) };
    match refused {
        Err(VfioError::IommuDmaMap(e)) => {
            assert_eq!(e.errno(), libc::EINVAL, "MAP_DMA at the hole {hole}: {e}")
        }
        other => panic!("MAP_DMA at the hole {hole}: {other:?}"),
    }
    vmm.container().vfio_dma_unmap(usable, len).unwrap();
    // SAFETY: unmapped from the IOMMU above; nothing else uses it.
    assert_eq!(unsafe { libc::munmap(buf, len) }, 0);
}

#[test]
fn lab_vfio_ioctls_iommufd_answers_equal_the_librarys_own() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    if !lab.iommufd {
        // No /dev/iommu on this kernel: vfio-ioctls' iommufd path stops at its first step.
        match IommufdStack::open(&lab.edu, &paths) {
            Err(StackError::Vmm { step, detail, .. }) => {
                assert_eq!(step, "IommuFd::new", "{detail}");
                assert!(detail.contains("No such file"), "{detail}");
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("vfio-ioctls opened the cdev on a kernel without iommufd"),
        }
        return;
    }
    let (own_report, own_device) = {
        let (device, report) = IommufdReport::open(&lab.edu, &paths).unwrap();
        let answers = own_device(device.device());
        (report, answers)
    };

    let vmm = IommufdStack::open(&lab.edu, &paths).unwrap();
    let mine = iommufd_answers(
        vmm.iommufd_fd(),
        vmm.ioas(),
        vmm.dev_id(),
        vmm.device_fd(),
        vmm.address(),
        &paths,
    )
    .unwrap();
    eprintln!(
        "vfio-ioctls: iommufd fd {}, IOAS {}, dev id {}, device fd {}: {:?}",
        vmm.iommufd_fd().as_raw_fd(),
        vmm.ioas(),
        vmm.dev_id(),
        vmm.device_fd().as_raw_fd(),
        mine.ranges
    );
    assert_eq!(mine.ranges.ranges, own_report.ranges.ranges, "IOAS ranges");
    assert_eq!(
        mine.ranges.alignment, own_report.ranges.alignment,
        "alignment"
    );
    match (&mine.hw_info, &own_report.hw_info) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "IOMMU_GET_HW_INFO"),
        (Err(a), Err(b)) => assert_eq!(a.errno(), b.errno(), "{a} / {b}"),
        other => panic!("IOMMU_GET_HW_INFO: {other:?}"),
    }
    assert_eq!(mine.facts, own_report.facts, "facts");
    let space = mine.space.as_ref().unwrap();
    assert_eq!(space.holes(), own_report.space().holes(), "holes");
    assert_eq!(
        Some(space),
        IovaSpace::from_facts(&own_report.facts).as_ref()
    );
    assert_eq!(
        mine.facts.mapping_limit.as_ref().map(|f| f.value),
        Some(MappingLimit::Unlimited)
    );
    assert_holes_explained(space);
    assert_same_device(&mine.device, &own_device);
}
