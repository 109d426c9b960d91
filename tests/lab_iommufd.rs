//! The iommufd backend against real kernels: run inside the lab's guests (`make lab`).
//!
//! In the scenarios whose kernel has iommufd (`LAB_IOMMUFD=1`, lab/kernels/) these bind
//! QEMU's edu device through its VFIO cdev, allocate and attach an IOAS, read its IOVA
//! ranges and the vIOMMU's hardware info, map and unmap, and compare with the type1 answer
//! for the same device. In the others (Debian's kernels, no iommufd) they check that the
//! library says so precisely. On a host outside the lab they skip.

use std::os::fd::AsFd;
use std::path::Path;

use vfio_iommu_info::cdev::{DeviceCdev, IommufdDevice};
use vfio_iommu_info::facts::{Backend, DirtyTracking, DmaFacts, MappingLimit, Source};
use vfio_iommu_info::hw_info::{HwData, HwInfo};
use vfio_iommu_info::iommufd::Iommufd;
use vfio_iommu_info::plan::budget::{memlock_budget, ChargedTo, MemlockFacts, Verdict};
use vfio_iommu_info::sys::kernel::{Kernel, SystemKernel};
use vfio_iommu_info::sys::limits::{
    drop_capability, has_cap_ipc_lock, locked_memory, memlock_rlimit, set_memlock_rlimit,
    MemlockRlimit, CAP_IPC_LOCK,
};
use vfio_iommu_info::{
    open_and_query, uapi, what_if_attach, Errno, Error, HostPaths, IovaRange, IovaSpace,
    NewAperture, PciAddress, Target,
};

struct Lab {
    iommufd: bool,
    /// The kernel series (`6.12`, `7.3`).
    kernel: String,
    viommu: String,
    aw_bits: Option<u32>,
    edu: PciAddress,
    group: u32,
}

fn lab() -> Option<Lab> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("LAB").as_deref() != Some("1") {
        eprintln!("skipped: not in the lab (make lab runs these inside QEMU guests)");
        return None;
    }
    let edu = env("LAB_EDU_BDFS").expect("LAB_EDU_BDFS");
    let group = env("LAB_EDU_GROUPS").expect("LAB_EDU_GROUPS");
    Some(Lab {
        iommufd: env("LAB_IOMMUFD").as_deref() == Some("1"),
        kernel: env("LAB_KERNEL").unwrap_or_default(),
        viommu: env("LAB_VIOMMU").unwrap_or_default(),
        aw_bits: env("LAB_AW_BITS").map(|v| v.parse().unwrap()),
        edu: edu.split_whitespace().next().unwrap().parse().unwrap(),
        group: group.split_whitespace().next().unwrap().parse().unwrap(),
    })
}

/// Anonymous memory to map.
struct Page {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Page {
    fn new(len: usize) -> Page {
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap of {len} bytes failed");
        Page { ptr, len }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are the mapping made in `new`, unmapped once here.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// The type1 answer for the same device, as facts.
fn type1_facts(lab: &Lab) -> DmaFacts {
    let (_container, info) =
        open_and_query(&Target::Device(lab.edu)).unwrap_or_else(|e| panic!("{e}"));
    DmaFacts::from_type1(&info, Backend::Type1)
}

#[test]
fn lab_iommufd_query_takes_one_ranges_call_and_agrees_with_type1() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    if !lab.iommufd {
        // Debian's kernels: no /dev/iommu, and the device has no cdev.
        let e = IommufdDevice::open(&lab.edu, &paths).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(&e, Error::Open { path, errno, .. } if path == Path::new("/dev/iommu") && errno.0 == libc::ENOENT),
            "{text}"
        );
        assert!(
            text.contains("CONFIG_IOMMUFD") && text.contains("--backend type1"),
            "{text}"
        );
        let e = DeviceCdev::open(&lab.edu, &paths).unwrap_err();
        assert!(
            matches!(&e, Error::NoDeviceCdev { driver, .. } if driver == "vfio-pci"),
            "{e}"
        );
        assert!(e.to_string().contains("CONFIG_VFIO_DEVICE_CDEV"), "{e}");
        return;
    }
    let dev = IommufdDevice::open(&lab.edu, &paths).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        dev.cdev_path().starts_with("/dev/vfio/devices"),
        "{:?}",
        dev.cdev_path()
    );
    let ranges = dev.iova_ranges().unwrap();
    assert_eq!(
        ranges.calls, 1,
        "the common path is one IOMMU_IOAS_IOVA_RANGES ioctl"
    );
    assert_eq!(
        ranges.alignment, 4096,
        "a 4 KiB-page domain requires 4 KiB alignment"
    );
    // The MSI window is a hole on every x86 vIOMMU.
    let msi = IovaRange::new(0xfee0_0000, 0xfeef_ffff).unwrap();
    assert!(
        ranges
            .ranges
            .iter()
            .all(|r| r.end < msi.start || r.start > msi.end),
        "{:?}",
        ranges.ranges
    );
    let hw = dev.hw_info().unwrap();
    let iommufd = DmaFacts::from_iommufd(&ranges, Some(&hw));
    drop(dev);
    // The same device through the legacy group path, once the cdev is closed.
    let type1 = type1_facts(&lab);
    assert_eq!(
        iommufd.differences(&type1),
        vec![],
        "iommufd {iommufd:?}\ntype1 {type1:?}"
    );
    assert_eq!(
        iommufd.iova_ranges.as_ref().unwrap().value,
        type1.iova_ranges.as_ref().unwrap().value
    );
    assert_eq!(
        iommufd.iova_ranges.as_ref().unwrap().source,
        Source::IommufdIoas
    );
    assert_eq!(
        type1.iova_ranges.as_ref().unwrap().source,
        Source::Type1IovaRangeCap
    );
    assert_eq!(
        iommufd.mapping_limit.as_ref().unwrap().value,
        MappingLimit::Unlimited
    );
    assert!(matches!(
        type1.mapping_limit.as_ref().unwrap().value,
        MappingLimit::Remaining(n) if n > 60000
    ));
    eprintln!("iommufd {iommufd:#?}\ntype1 {type1:#?}");
}

#[test]
fn lab_iommufd_ranges_before_and_after_attach() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        assert!(!Path::new("/dev/iommu").exists());
        return;
    }
    let paths = HostPaths::default();
    let fd = Iommufd::open(&paths).unwrap();
    let ioas = fd.alloc_ioas().unwrap();
    let before = fd.iova_ranges(ioas).unwrap();
    assert_eq!(
        before.ranges,
        vec![IovaRange::FULL],
        "an empty IOAS can map anywhere"
    );
    assert_eq!(before.calls, 1);

    // A device attached to a fresh IOAS narrows it to the vIOMMU's aperture minus holes.
    let dev = IommufdDevice::open(&lab.edu, &paths).unwrap();
    let after = dev.iova_ranges().unwrap();
    let last = after.ranges.last().unwrap().end;
    match lab.viommu.as_str() {
        "intel" => assert_eq!(last, (1u64 << lab.aw_bits.unwrap()) - 1),
        "amd" => assert!(
            after.ranges.iter().any(|r| r.end == 0xfc_ffff_ffff),
            "{after:?}"
        ),
        other => panic!("no iommufd scenario with {other}"),
    }
    assert!(after.ranges.len() >= 2, "{after:?}");
}

#[test]
fn lab_iommufd_what_if_predicts_the_ranges_the_first_attach_leaves() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return;
    }
    let paths = HostPaths::default();
    let fd = Iommufd::open(&paths).unwrap();
    let ioas = fd.alloc_ioas().unwrap();
    let before = IovaSpace::new(&fd.iova_ranges(ioas).unwrap().ranges, None);
    let w = what_if_attach(&before, &[], lab.group, &paths.sysfs).unwrap();
    let cdev = DeviceCdev::open(&lab.edu, &paths).unwrap();
    cdev.bind(&fd).unwrap();
    cdev.attach(ioas).unwrap();
    let kernel = fd.iova_ranges(ioas).unwrap().ranges;
    eprintln!(
        "{} {}: aperture {}\npredicted {:?}\nkernel {:?}",
        lab.kernel,
        lab.viommu,
        w.aperture,
        w.after.ranges(),
        kernel
    );
    match lab.viommu.as_str() {
        "intel" => {
            let bits = lab.aw_bits.unwrap() as u8;
            assert!(
                matches!(w.aperture, NewAperture::Registers { bits: b, .. } if b == bits),
                "{:?}",
                w.aperture
            );
            assert_eq!(w.after.ranges(), kernel.as_slice());
        }
        "amd" => {
            // AMD's geometry is not in sysfs: an upper bound, named as such. Linux 6.x's
            // AMD domains span 64 bits, so it is exact there; 7.x's end at 48 bits.
            assert!(
                matches!(&w.aperture, NewAperture::Unknown { iommu: Some(u), .. } if u.starts_with("ivhd")),
                "{:?}",
                w.aperture
            );
            for r in &kernel {
                assert!(
                    w.after
                        .ranges()
                        .iter()
                        .any(|p| p.start <= r.start && r.end <= p.end),
                    "{r} outside the prediction"
                );
            }
            if lab.kernel.starts_with("6.") {
                assert_eq!(w.after.ranges(), kernel.as_slice());
            } else {
                assert_eq!(kernel.last().unwrap().end, (1 << 48) - 1);
            }
        }
        other => panic!("no iommufd scenario with {other}"),
    }
}

#[test]
fn lab_iommufd_map_inside_a_range_succeeds_and_in_a_hole_fails() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return assert!(Iommufd::open(&HostPaths::default()).is_err());
    }
    let dev = IommufdDevice::open(&lab.edu, &HostPaths::default()).unwrap();
    let page = Page::new(2 << 20);
    let rw = uapi::IOMMU_IOAS_MAP_READABLE | uapi::IOMMU_IOAS_MAP_WRITEABLE;
    let fd = dev.iommufd();
    // SAFETY: `page` stays mapped until after the unmap below (and the iommufd is closed
    // before it at the end of the test at the latest); the edu device does no DMA here.
    unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 4096, 0x10_0000, rw) }
        .unwrap_or_else(|e| panic!("{e}"));
    // Twice at the same IOVA: EEXIST.
    // SAFETY: as above.
    let e = unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 4096, 0x10_0000, rw) }.unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EEXIST), "{e}");
    // In the MSI hole: refused, and the error says where to look.
    // SAFETY: as above.
    let e =
        unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 4096, 0xfee0_0000, rw) }.unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EINVAL), "{e}");
    assert!(e.to_string().contains("IOMMU_IOAS_IOVA_RANGES"), "{e}");
    // Misaligned: refused too.
    // SAFETY: as above.
    let e = unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 4096, 0x10_0800, rw) }.unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EINVAL), "{e}");
    assert_eq!(fd.unmap(dev.ioas(), 0x10_0000, 4096).unwrap(), 4096);
    // A 2 MiB mapping at the top of the first range's aligned part.
    let first = dev.iova_ranges().unwrap().ranges[0];
    let top = (first.end + 1 - (2 << 20)) & !((2 << 20) - 1);
    // SAFETY: as above.
    unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 2 << 20, top, rw) }.unwrap();
    assert_eq!(fd.unmap(dev.ioas(), top, 2 << 20).unwrap(), 2 << 20);
}

#[test]
fn lab_iommufd_hw_info_describes_the_viommu() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return assert!(IommufdDevice::open(&lab.edu, &HostPaths::default()).is_err());
    }
    let dev = IommufdDevice::open(&lab.edu, &HostPaths::default()).unwrap();
    let hw = dev.hw_info().unwrap();
    assert!(!hw.truncated());
    // 6.12 reports capabilities; QEMU's vIOMMUs track no dirty bits. 7.x also says the edu
    // device cannot use ATS (IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 6.17).
    let want = if lab.kernel.starts_with("6.") {
        0
    } else {
        uapi::IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED
    };
    assert_eq!(hw.capabilities, Some(want));
    let facts = DmaFacts::from_iommufd(&dev.iova_ranges().unwrap(), Some(&hw));
    assert_eq!(
        facts.dirty_tracking.as_ref().map(|d| (d.value, d.source)),
        Some((
            DirtyTracking::Hardware(false),
            Source::IommufdHwCapabilities
        ))
    );
    match lab.viommu.as_str() {
        "intel" => {
            assert_eq!((hw.type_name(), hw.data_len), ("intel-vtd", 24));
            let HwData::IntelVtd(vtd) = hw.decode().unwrap() else {
                panic!("{hw:?}")
            };
            assert_eq!(u32::from(vtd.address_width()), lab.aw_bits.unwrap());
            assert_eq!(vtd.second_stage_page_sizes().bits(), 0x4020_1000);
            assert!(vtd.interrupt_remapping(), "intremap=on");
            assert_eq!(
                facts.address_width.as_ref().unwrap().value as u32,
                lab.aw_bits.unwrap()
            );
            assert_eq!(
                facts.page_sizes.as_ref().unwrap().source,
                Source::IommufdHwInfo
            );
        }
        "amd" if !lab.kernel.starts_with("6.") => amd_hw_info_against_the_kernel(&dev, &hw, &facts),
        "amd" => {
            // Linux 6.12's AMD driver has no hw_info (IOMMU_HW_INFO_TYPE_AMD is 6.17).
            assert_eq!((hw.type_name(), hw.data_len), ("none", 0));
            assert_eq!(hw.decode().unwrap(), HwData::None);
            assert!(facts.page_sizes.is_none() && facts.address_width.is_none());
            assert!(facts
                .notes
                .iter()
                .any(|n| n.contains("IOMMU_HW_INFO_TYPE_NONE")));
        }
        other => panic!("no iommufd scenario with {other}"),
    }
}

/// Linux 7.x's AMD driver answers IOMMU_GET_HW_INFO with its Extended Feature Registers
/// (built with CONFIG_AMD_IOMMU_IOMMUFD, lab/kernels/linux-7.3-compat-x86_64.config): what
/// the library derives from them, against what the kernel says elsewhere and enforces.
fn amd_hw_info_against_the_kernel(dev: &IommufdDevice, hw: &HwInfo, facts: &DmaFacts) {
    assert_eq!((hw.type_name(), hw.data_len), ("amd", 16));
    let HwData::Amd(regs) = hw.decode().unwrap() else {
        panic!("{hw:?}")
    };
    // The same registers through sysfs ("EFR:EFR2" in hex).
    let sysfs = std::fs::read_to_string("/sys/class/iommu/ivhd0/amd-iommu/features").unwrap();
    let (efr, efr2) = sysfs.trim().split_once(':').unwrap();
    assert_eq!(
        (
            u64::from_str_radix(efr, 16).unwrap(),
            u64::from_str_radix(efr2, 16).unwrap()
        ),
        (regs.efr, regs.efr2),
        "sysfs {sysfs:?}"
    );
    // QEMU 7.2's amd-iommu: EFR.HATS = 2 (6 levels): the library says 64 host address bits.
    assert_eq!(regs.host_address_bits(), Some(64), "EFR {:#x}", regs.efr);
    assert_eq!(
        facts.address_width.as_ref().map(|w| (w.value, w.source)),
        Some((64, Source::IommufdHwInfo))
    );
    // No HDSup: no dirty tracking, as out_capabilities says. No PASID on the edu device.
    assert!(!regs.dirty_tracking_hardware());
    assert_eq!(hw.dirty_tracking(), Some(regs.dirty_tracking_hardware()));
    assert_eq!(hw.max_pasid_log2, 0);
    // The EFR says nothing of the host table's page sizes: no page-size fact from it.
    assert!(facts.page_sizes.is_none(), "{facts:?}");
    // What the kernel enforces: 7.x sized its host table from the IVHD's EFR, which QEMU
    // leaves 0 (HATS = 0, 48 bits), before reading the register: the IOAS ends at 2^48-1,
    // and the library says the ranges end below the registers' 64 bits.
    let ranges = dev.iova_ranges().unwrap();
    let top = ranges.ranges.last().unwrap().end;
    assert_eq!(top, (1u64 << 48) - 1, "{ranges:?}");
    assert!(
        facts
            .notes
            .iter()
            .any(|n| n.contains("0xffffffffffff") && n.contains("narrower")),
        "{:?}",
        facts.notes
    );
    // Mapping at the edge: the last page below 2^48 maps; the first page at 2^48, inside the
    // registers' 64 bits, does not.
    let page = Page::new(4096);
    let rw = uapi::IOMMU_IOAS_MAP_READABLE | uapi::IOMMU_IOAS_MAP_WRITEABLE;
    let fd = dev.iommufd();
    // SAFETY: `page` outlives the mapping (unmapped below; the iommufd closes before `page`
    // drops at the latest); the edu device does no DMA here.
    unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 4096, top + 1 - 4096, rw) }
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fd.unmap(dev.ioas(), top + 1 - 4096, 4096).unwrap(), 4096);
    // SAFETY: as above.
    let e = unsafe { fd.map_fixed(dev.ioas(), page.ptr as u64, 4096, top + 1, rw) }.unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EINVAL), "{e}");
}

/// The input-type flag of IOMMU_GET_HW_INFO (Linux 6.17): the library sends flags 0 (the
/// driver's default type, which every kernel since 6.6 accepts); a kernel with the flag
/// answers the type asked for or refuses another, 6.12 refuses the flag itself.
#[test]
fn lab_iommufd_hw_info_input_type_flag() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return assert!(IommufdDevice::open(&lab.edu, &HostPaths::default()).is_err());
    }
    let dev = IommufdDevice::open(&lab.edu, &HostPaths::default()).unwrap();
    let default = dev.hw_info().unwrap();
    let ask = |flags: u32, data_type: u32| {
        let mut data = [0u8; 64];
        let mut arg = uapi::IommuHwInfo {
            size: std::mem::size_of::<uapi::IommuHwInfo>() as u32,
            flags,
            dev_id: dev.dev_id(),
            out_data_type: data_type,
            ..Default::default()
        };
        SystemKernel
            .hw_info(dev.iommufd().as_fd(), &mut arg, &mut data)
            .map(|()| {
                (
                    arg.out_data_type,
                    data[..arg.data_len.min(64) as usize].to_vec(),
                )
            })
    };
    // Without the flag the type field is ignored: any value asks for the default.
    assert_eq!(
        ask(0, 99).unwrap(),
        (default.data_type, default.data.clone())
    );
    let flag = uapi::IOMMU_HW_INFO_FLAG_INPUT_TYPE;
    if lab.kernel.starts_with("6.") {
        assert_eq!(ask(flag, default.data_type), Err(Errno(libc::EOPNOTSUPP)));
        return;
    }
    assert_eq!(
        ask(flag, default.data_type).unwrap(),
        (default.data_type, default.data.clone())
    );
    let other = match lab.viommu.as_str() {
        "amd" => uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD,
        _ => uapi::IOMMU_HW_INFO_TYPE_AMD,
    };
    assert_eq!(ask(flag, other), Err(Errno(libc::EOPNOTSUPP)));
}

#[test]
fn lab_iommufd_device_info_through_the_cdev_matches_the_group_path() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return assert!(DeviceCdev::open(&lab.edu, &HostPaths::default()).is_err());
    }
    let dev = IommufdDevice::open(&lab.edu, &HostPaths::default()).unwrap();
    let info = dev.device().info().unwrap();
    assert_eq!((info.num_regions, info.num_irqs), (9, 5));
    assert!(info.dma_window().is_none(), "x86 has no zPCI window");
}

#[test]
fn lab_iommufd_cdev_errors_name_the_cause() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    // A PCI address that does not exist, and a device on another driver: the same answers
    // on every kernel.
    let missing: PciAddress = "0000:00:1e.7".parse().unwrap();
    assert!(matches!(
        DeviceCdev::open(&missing, &paths),
        Err(Error::NoSuchDevice { .. })
    ));
    let isa: PciAddress = "0000:00:1f.0".parse().unwrap();
    let e = DeviceCdev::open(&isa, &paths).unwrap_err();
    assert!(
        matches!(&e, Error::NotOnVfio { driver: Some(d), .. } if d == "lpc_ich"),
        "{e}"
    );
    assert!(e.to_string().contains("driver_override"), "{e}");
    if !lab.iommufd {
        return;
    }
    let fd = Iommufd::open(&paths).unwrap();
    let cdev = DeviceCdev::open(&lab.edu, &paths).unwrap();
    // Attach before bind.
    let e = cdev.attach(1).unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EINVAL), "{e}");
    cdev.bind(&fd).unwrap();
    // Bind twice.
    let e = cdev.bind(&fd).unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EINVAL), "{e}");
    assert!(e.to_string().contains("already bound"), "{e}");
    // Attach to an id that does not exist.
    let e = cdev.attach(0xdead).unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::ENOENT), "{e}");
    assert!(e.to_string().contains("no IOAS or HWPT 57005"), "{e}");
    // Ranges of an IOAS that does not exist.
    let e = fd.iova_ranges(0xdead).unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::ENOENT), "{e}");
    drop(cdev);
    // The legacy path holds the group: binding the cdev is refused, and the error says who.
    let (container, _info) = open_and_query(&Target::Group(lab.group)).unwrap();
    let cdev = DeviceCdev::open(&lab.edu, &paths).unwrap();
    let e = cdev.bind(&fd).unwrap_err();
    assert_eq!(e.errno().map(|e| e.0), Some(libc::EBUSY), "{e}");
    assert!(
        e.to_string().contains(&format!("/dev/vfio/{}", lab.group)),
        "{e}"
    );
    drop(container);
}

/// Restores this process's `RLIMIT_MEMLOCK` when dropped (a failed assertion included).
struct RestoreMemlock(MemlockRlimit);

impl Drop for RestoreMemlock {
    fn drop(&mut self) {
        let _ = set_memlock_rlimit(self.0);
    }
}

/// MAPS maps of CHUNK bytes into `ioas` (attached to a device, so each map pins at once:
/// `iopt_area_fill_domains`), first with `RLIMIT_MEMLOCK` at the budget's figure (all
/// succeed; VmPin grows by the need, and VmLck too in process mode only), then one page
/// lower (the last fails with the budget's errno). The calling thread has dropped
/// CAP_IPC_LOCK.
fn memlock_maps_against_the_budget(fd: &Iommufd, ioas: u32, process_mode: bool) {
    const MAPS: u64 = 4;
    const CHUNK: u64 = 8192;
    const PAGE: u64 = 4096;
    let saved = memlock_rlimit().unwrap();
    let _restore = RestoreMemlock(saved);
    let set_soft = |bytes: u64| {
        set_memlock_rlimit(MemlockRlimit {
            soft: Some(bytes),
            hard: saved.hard,
        })
        .unwrap_or_else(|e| panic!("setrlimit(RLIMIT_MEMLOCK, {bytes}): {}", e.name()))
    };
    let mem = Page::new((MAPS * CHUNK) as usize);
    let ranges = fd.iova_ranges(ioas).unwrap();
    let align = ranges.alignment.max(PAGE);
    let base = (ranges.ranges[0].start.max(0x100_0000) + align - 1) & !(align - 1);
    let mode = fd.rlimit_mode().unwrap();
    assert_eq!(mode, process_mode, "IOMMU_OPTION_RLIMIT_MODE");
    let facts = MemlockFacts {
        iommufd_process_mode: Some(mode),
        ..MemlockFacts::current()
    };
    assert!(!facts.cap_ipc_lock);
    let needed = MAPS * CHUNK;
    let budget = memlock_budget(Backend::Iommufd, &facts, needed);
    eprintln!("{budget}");
    let (want_charged, want_used) = if process_mode {
        (ChargedTo::Process, facts.locked)
    } else {
        // The user's locked_vm is in no /proc file: the budget says it does not know.
        (ChargedTo::User, None)
    };
    assert_eq!(
        (budget.charged_to, budget.used),
        (want_charged, want_used),
        "{budget}"
    );
    let required = budget.required_limit.unwrap();
    let rw = uapi::IOMMU_IOAS_MAP_READABLE | uapi::IOMMU_IOAS_MAP_WRITEABLE;
    let map_all = || -> Vec<Result<(), Error>> {
        (0..MAPS)
            .map(|i| {
                // SAFETY: every chunk lies inside `mem`, which is dropped at the end of
                // this function after `unmap_all` removed the mappings (on a panic the
                // kernel keeps its pins until the iommufd closes; the edu device does no
                // DMA here).
                unsafe {
                    fd.map_fixed(
                        ioas,
                        mem.ptr as u64 + i * CHUNK,
                        CHUNK,
                        base + i * 2 * CHUNK,
                        rw,
                    )
                }
            })
            .collect()
    };
    let unmap_all = || {
        for i in 0..MAPS {
            let _ = fd.unmap(ioas, base + i * 2 * CHUNK, CHUNK);
        }
    };
    let before = locked_memory();
    set_soft(required);
    for (i, r) in map_all().into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("map {i} with RLIMIT_MEMLOCK {required}: {e}"));
    }
    let after = locked_memory();
    assert_eq!(
        after.pinned.unwrap(),
        before.pinned.unwrap() + needed,
        "VmPin"
    );
    let locked_growth = if process_mode { needed } else { 0 };
    assert_eq!(
        after.locked.unwrap(),
        before.locked.unwrap() + locked_growth,
        "VmLck"
    );
    unmap_all();
    assert_eq!(locked_memory(), before, "after the unmaps");
    let lower = required - PAGE;
    set_soft(lower);
    let below = memlock_budget(
        Backend::Iommufd,
        &MemlockFacts {
            soft_limit: Some(lower),
            ..facts
        },
        needed,
    );
    assert_eq!(below.verdict, Verdict::Exceeds { by: PAGE }, "{below}");
    let results = map_all();
    unmap_all();
    let (last, first) = results.split_last().unwrap();
    for (i, r) in first.iter().enumerate() {
        assert!(r.is_ok(), "map {i} one page below the budget: {r:?}");
    }
    let e = last
        .as_ref()
        .expect_err("the last map one page below the budget");
    assert_eq!(e.errno(), below.errno, "{e}");
    assert_eq!(below.errno, Some(Errno(libc::ENOMEM)));
    eprintln!(
        "iommufd ({} mode): {MAPS} maps of {CHUNK} bytes fit RLIMIT_MEMLOCK {required}; at {lower} the last fails with ENOMEM",
        if process_mode { "process" } else { "user" }
    );
}

/// The memlock budget against iommufd, in both rlimit modes: `/dev/iommu` starts in user
/// mode (charged to the user, VmLck untouched); `IOMMU_OPTION_RLIMIT_MODE` = 1 set before
/// any object exists switches to process mode (charged to VmLck), and is refused with
/// EBUSY once one does. The maps run in a thread without CAP_IPC_LOCK.
#[test]
fn lab_budget_memlock_iommufd() {
    let Some(lab) = lab() else { return };
    if !lab.iommufd {
        return assert!(Iommufd::open(&HostPaths::default()).is_err());
    }
    std::thread::spawn(move || {
        let paths = HostPaths::default();
        {
            let dev = IommufdDevice::open(&lab.edu, &paths).unwrap();
            drop_capability(CAP_IPC_LOCK).unwrap();
            assert_eq!(has_cap_ipc_lock(), Some(false));
            let e = dev.iommufd().set_rlimit_mode(true).unwrap_err();
            assert_eq!(e.errno(), Some(Errno(libc::EBUSY)), "{e}");
            memlock_maps_against_the_budget(dev.iommufd(), dev.ioas(), false);
        }
        let fd = Iommufd::open(&paths).unwrap();
        // CAP_SYS_RESOURCE (kept) allows it, before any object exists.
        fd.set_rlimit_mode(true).unwrap();
        let cdev = DeviceCdev::open(&lab.edu, &paths).unwrap();
        cdev.bind(&fd).unwrap();
        let ioas = fd.alloc_ioas().unwrap();
        cdev.attach(ioas).unwrap();
        memlock_maps_against_the_budget(&fd, ioas, true);
        drop(cdev);
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p));
}
