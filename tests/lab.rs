//! Cross-checks against a live kernel's VFIO: run inside the lab's guests (`make lab`),
//! where `LAB=1` and the harness describes the scenario in `LAB_*` variables.
//!
//! Outside the lab these tests skip with a message, unless `VFIO_IOMMU_INFO_LIVE_TESTS=1`
//! asks for them on a host whose VFIO groups they may open and map.

use std::cell::Cell;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use vfio_iommu_info::facts::Backend;
use vfio_iommu_info::iova::{self, IovaRange};
use vfio_iommu_info::plan::budget::{
    mapping_budget, mapping_budget_with_limit, memlock_budget, Change, ChargedTo, MemlockFacts,
    NotLimited, Verdict,
};
use vfio_iommu_info::query::iommufd::rlimit_mode;
use vfio_iommu_info::query::{capture_type1_with, query_type1};
use vfio_iommu_info::sys::kernel::{Kernel, SystemKernel, VfioQuery};
use vfio_iommu_info::sys::limits::{
    drop_capability, has_cap_ipc_lock, locked_memory, memlock_rlimit, set_memlock_rlimit,
    MemlockRlimit, CAP_IPC_LOCK,
};
use vfio_iommu_info::uapi;
use vfio_iommu_info::{
    decode, open_and_query, Absence, Container, Errno, Error, Group, HostPaths, IommuInfo,
    NewAperture, PciAddress, Target,
};

/// The scenario the harness booted.
struct Lab {
    scenario: String,
    kernel: String,
    viommu: String,
    /// The guest kernel remaps interrupts (`LAB_INTREMAP=1`, checked by the guest's init
    /// against /proc/interrupts): not with virtio-iommu, nor with amd-iommu on Linux 7.x.
    intremap: bool,
    /// `/dev/vfio/vfio` is iommufd's VFIO compat container (`LAB_COMPAT=1`: a kernel with
    /// CONFIG_IOMMUFD_VFIO_CONTAINER and no vfio_iommu_type1). Where its answer differs
    /// from type1's, the tests say so.
    compat: bool,
    aw_bits: Option<u32>,
    dma_entry_limit: Option<u32>,
    groups: Vec<u32>,
    devices: Vec<PciAddress>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The lab scenario, or `None` (after printing why) when these tests must skip.
fn lab() -> Option<Lab> {
    let in_lab = env("LAB").as_deref() == Some("1");
    let live = env("VFIO_IOMMU_INFO_LIVE_TESTS").as_deref() == Some("1");
    let has_vfio = Path::new("/dev/vfio/vfio").exists();
    if in_lab {
        assert!(
            has_vfio,
            "LAB=1 but /dev/vfio/vfio is missing: the guest did not load vfio"
        );
    } else if !live || !has_vfio {
        eprintln!("skipped: not in the lab (make lab runs these inside QEMU guests with a vIOMMU); set VFIO_IOMMU_INFO_LIVE_TESTS=1 on a host with VFIO groups to run them here");
        return None;
    }
    let groups: Vec<u32> = match env("LAB_EDU_GROUPS") {
        Some(g) => g.split_whitespace().map(|n| n.parse().unwrap()).collect(),
        None => std::fs::read_dir("/dev/vfio")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
    };
    assert!(!groups.is_empty(), "no VFIO group to test");
    Some(Lab {
        scenario: env("LAB_SCENARIO").unwrap_or_else(|| "host".into()),
        kernel: env("LAB_KERNEL").unwrap_or_default(),
        viommu: env("LAB_VIOMMU").unwrap_or_default(),
        intremap: env("LAB_INTREMAP").as_deref() == Some("1"),
        compat: env("LAB_COMPAT").as_deref() == Some("1"),
        aw_bits: env("LAB_AW_BITS").map(|v| v.parse().unwrap()),
        dma_entry_limit: env("LAB_DMA_ENTRY_LIMIT").map(|v| v.parse().unwrap()),
        groups,
        devices: env("LAB_EDU_BDFS")
            .unwrap_or_default()
            .split_whitespace()
            .map(|a| a.parse().unwrap())
            .collect(),
    })
}

fn open_groups(groups: &[u32]) -> Container {
    let targets: Vec<Target> = groups.iter().map(|&g| Target::Group(g)).collect();
    Container::open_targets(&targets, &HostPaths::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Counts `VFIO_IOMMU_GET_INFO` calls on their way to the kernel.
#[derive(Default)]
struct Counting {
    get_info: Cell<usize>,
}

impl Kernel for Counting {
    fn vfio_query(
        &self,
        fd: BorrowedFd<'_>,
        query: VfioQuery,
        buf: &mut [u8],
    ) -> Result<(), Errno> {
        self.get_info.set(self.get_info.get() + 1);
        SystemKernel.vfio_query(fd, query, buf)
    }
}

/// The smallest IOMMU page of every x86 vIOMMU in the lab.
const PAGE: u64 = 4096;

/// One page of anonymous memory to map for DMA.
struct Page {
    ptr: *mut u8,
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
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap of {len} bytes failed");
        // SAFETY: `ptr` is a fresh writable mapping of `len` bytes; touching it faults it in.
        unsafe { std::ptr::write_bytes(ptr as *mut u8, 0x5A, len) };
        Page {
            ptr: ptr as *mut u8,
            len,
        }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`. Every test declares its Page
        // before its Container, so the container, and with it every DMA mapping of this
        // memory, is closed first.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

fn map(c: &Container, page: &Page, iova: u64) -> Result<(), Error> {
    // SAFETY: `page` outlives every mapping: each test declares it before the container,
    // whose closing removes every mapping, so it is dropped last.
    unsafe {
        c.map_dma(
            page.ptr,
            iova,
            page.len as u64,
            uapi::VFIO_DMA_MAP_FLAG_READ | uapi::VFIO_DMA_MAP_FLAG_WRITE,
        )
    }
}

fn ranges(info: &IommuInfo) -> Vec<IovaRange> {
    info.iova_ranges
        .present()
        .cloned()
        .unwrap_or_else(|| panic!("no IOVA ranges: {:?}", info.iova_ranges))
}

/// The vIOMMU's aperture as QEMU builds it and the kernel sizes its page table, known
/// independently of what the kernel reports: intel-iommu covers `aw-bits` bits,
/// virtio-iommu all 64, amd-iommu all 64 up to Linux 6.x and 48 on 7.x.
fn geometry(lab: &Lab) -> Option<IovaRange> {
    match lab.viommu.as_str() {
        "intel" => IovaRange::new(0, (1u64 << lab.aw_bits.unwrap_or(39)) - 1),
        "amd" if amd_48_bit_table(lab) => IovaRange::new(0, (1u64 << 48) - 1),
        "amd" | "virtio" => IovaRange::new(0, u64::MAX),
        _ => None,
    }
}

/// Linux 7.x sizes the AMD host (v1) page table from EFR.HATS when it parses the ACPI
/// IVRS table (`amd_iommu_hpt_vasize`), before it reads the IOMMU's registers. QEMU's
/// amd-iommu describes itself with an IVHD of type 0x10, which carries no EFR: the kernel
/// sees HATS = 0 (4 levels, 48 bits), although the EFR register it reads later (and hands
/// to IOMMU_GET_HW_INFO) says HATS = 2 (6 levels). Linux 6.x used its fixed 64-bit
/// geometry.
fn amd_48_bit_table(lab: &Lab) -> bool {
    lab.kernel.starts_with("7.")
}

fn page_size(info: &IommuInfo) -> u64 {
    info.iova_pgsizes
        .and_then(|p| p.smallest())
        .expect("page sizes")
}

fn align_up(v: u64, page: u64) -> Option<u64> {
    v.checked_add(page - 1).map(|x| x & !(page - 1))
}

#[test]
fn lab_query_makes_exactly_one_get_info_ioctl() {
    let Some(lab) = lab() else { return };
    let c = open_groups(&lab.groups[..1]);
    let counting = Counting::default();
    let info = c.query_with(&counting).unwrap();
    assert_eq!(
        counting.get_info.get(),
        1,
        "{}: GET_INFO calls",
        lab.scenario
    );
    assert!(!info.caps_truncated);
    assert!(info.iova_ranges.present().is_some());
}

#[test]
fn lab_answers_match_the_virtual_iommu() {
    let Some(lab) = lab() else { return };
    if lab.viommu.is_empty() {
        eprintln!("skipped: not in a lab scenario");
        return;
    }
    let info = open_groups(&lab.groups[..1]).query().unwrap();
    let pgsizes = info.iova_pgsizes.unwrap().0;
    let aperture = info.aperture().unwrap();
    match lab.viommu.as_str() {
        "intel" => {
            assert_eq!(pgsizes, 0x4020_1000, "intel: 4K 2M 1G");
            let bits = lab.aw_bits.unwrap_or(39);
            assert_eq!(
                aperture,
                IovaRange::new(0, (1u64 << bits) - 1).unwrap(),
                "aw-bits {bits}"
            );
        }
        "amd" => {
            // Linux 6.1 advertises up to 2^63 pages; 6.12 limits the bitmap to the page
            // table's reach; 7.x to its 48-bit table (every power of two from 4 KiB to
            // 64 TiB but 512 GiB, see amd_48_bit_table).
            let expected = if lab.kernel == "6.1" {
                0xffff_ff7f_ffff_f000
            } else if amd_48_bit_table(&lab) {
                0x0000_7f7f_ffff_f000
            } else {
                0x000f_ff7f_ffff_f000
            };
            assert_eq!(pgsizes, expected);
            assert_eq!(aperture, geometry(&lab).unwrap());
            assert!(
                info.holes().iter().any(|h| h.start == 0xfd_0000_0000),
                "AMD's HyperTransport hole: {:?}",
                info.holes()
            );
        }
        "virtio" => {
            assert_eq!(pgsizes, 0xffff_ffff_ffff_f000);
            assert_eq!(aperture, IovaRange::new(0, u64::MAX).unwrap());
        }
        other => panic!("unknown LAB_VIOMMU {other}"),
    }
    // Every x86 vIOMMU has the MSI window as a hole.
    assert!(
        info.holes()
            .contains(&IovaRange::new(0xfee0_0000, 0xfeef_ffff).unwrap()),
        "{:?}",
        info.holes()
    );
    if lab.compat {
        // iommufd's compat container has no MIGRATION capability (dirty tracking is
        // iommufd's own), and its DMA_AVAIL is U32_MAX: no count limit.
        assert_eq!(
            info.migration.absence(),
            Some(Absence::NotInChain),
            "{:?}",
            info.migration
        );
        assert_eq!(info.dma_avail.present(), Some(&u32::MAX));
        return;
    }
    let m = info.migration.present().expect("MIGRATION on 5.8+");
    assert_eq!(
        (m.pgsize_bitmap.0, m.max_dirty_bitmap_size),
        (0x1000, 0x1000_0000)
    );
}

#[test]
fn lab_map_dma_succeeds_at_range_edges_and_fails_in_holes_and_beyond() {
    let Some(lab) = lab() else { return };
    // Declared before the container, so it is unmapped after the container (and with it
    // every DMA mapping of it) is closed, even when an assertion unwinds.
    let mem = Page::new(PAGE as usize);
    let c = open_groups(&lab.groups);
    let info = c.query().unwrap();
    let page = page_size(&info);
    assert_eq!(page, PAGE, "the smallest IOMMU page");
    let mut checked = 0;
    for r in ranges(&info) {
        let Some(first) = align_up(r.start, page) else {
            continue;
        };
        let last = (r.end - (page - 1).min(r.end)) & !(page - 1);
        if first > last || !r.contains_span(last, page) {
            continue;
        }
        for iova in [first, last] {
            if iova.checked_add(page).is_none() {
                // Linux (6.1 and 6.12 seen) cannot unmap a mapping that ends at 2^64
                // (iova + size wraps to 0: UNMAP_DMA unmaps nothing and succeeds, and the
                // entry stays in DMA_AVAIL until the container closes), so the safe API
                // refuses to map it, before the kernel sees it.
                let avail = c.query().unwrap().dma_avail.present().copied();
                let err = map(&c, &mem, iova).expect_err("the top page was mapped");
                assert!(
                    matches!(err, Error::TopPageMapping { iova: i, size } if i == iova && size == page),
                    "{err}"
                );
                assert!(
                    err.to_string().contains("type1 cannot unmap the top page"),
                    "{err}"
                );
                assert_eq!(c.query().unwrap().dma_avail.present().copied(), avail);
                eprintln!(
                    "{}: the top page {iova:#x} is refused before MAP_DMA",
                    lab.scenario
                );
                checked += 1;
                continue;
            }
            map(&c, &mem, iova)
                .unwrap_or_else(|e| panic!("{}: map at {iova:#x} in {r}: {e}", lab.scenario));
            let unmapped = c.unmap_dma(iova, page).unwrap();
            assert_eq!(
                unmapped, page,
                "{} (Linux {}): unmap at {iova:#x} in {r}",
                lab.scenario, lab.kernel
            );
            checked += 1;
        }
    }
    for h in info.holes() {
        let Some(iova) = align_up(h.start, page).filter(|&i| h.contains_span(i, page)) else {
            continue;
        };
        let err =
            map(&c, &mem, iova).expect_err(&format!("map at {iova:#x} inside hole {h} succeeded"));
        assert_eq!(err.errno(), Some(Errno(libc::EINVAL)), "{err}");
        assert!(err.to_string().contains("reserved hole"), "{err}");
        checked += 1;
    }
    // Beyond the reported aperture nothing maps: its first page, and the top page of the
    // 64-bit space (a range dropped from the answer would show here).
    let ap = info.aperture().unwrap();
    if let Some(beyond) = ap.end.checked_add(1).and_then(|b| align_up(b, page)) {
        for iova in [beyond, u64::MAX - (page - 1)] {
            let err = map(&c, &mem, iova).expect_err(&format!(
                "map at {iova:#x}, beyond the aperture {ap}, succeeded"
            ));
            if iova.checked_add(page).is_none() {
                assert!(matches!(err, Error::TopPageMapping { .. }), "{err}");
            } else {
                assert_eq!(err.errno(), Some(Errno(libc::EINVAL)), "{err}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} checks ran");
}

#[test]
fn lab_iova_space_check_agrees_with_map_dma_on_a_grid_around_every_edge() {
    let Some(lab) = lab() else { return };
    // Declared before the container (see `map`).
    let one = Page::new(PAGE as usize);
    let two = Page::new(2 * PAGE as usize);
    let c = open_groups(&lab.groups);
    let space = vfio_iommu_info::IovaSpace::from_info(&c.query().unwrap()).unwrap();
    // Around every range edge, hole edge and the aperture's end: one page at, before and
    // after the edge, two pages across it, and half a page off.
    let mut edges: Vec<u64> = Vec::new();
    for r in space.ranges() {
        edges.push(r.start);
        edges.extend(r.end.checked_add(1));
    }
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for &e in &edges {
        for (offset, len) in [
            (0i64, PAGE),
            (-(PAGE as i64), PAGE),
            (-(PAGE as i64), 2 * PAGE),
            (PAGE as i64, PAGE),
            (-(PAGE as i64) / 2, PAGE),
        ] {
            let Some(iova) = e.checked_add_signed(offset) else {
                continue;
            };
            // A mapping that ends at 2^64 cannot be unmapped again (see above): leave it out.
            if iova.checked_add(len).is_some() {
                spans.push((iova, len));
            }
        }
    }
    spans.sort_unstable();
    spans.dedup();
    let (mut yes, mut no) = (0, 0);
    for (iova, len) in spans {
        let predicted = space.check(iova, len);
        let page = if len == PAGE { &one } else { &two };
        let actual = map(&c, page, iova);
        match (&predicted, &actual) {
            (Ok(()), Ok(())) => {
                assert_eq!(c.unmap_dma(iova, len).unwrap(), len);
                yes += 1;
            }
            (Err(_), Err(e)) => {
                assert_eq!(e.errno(), Some(Errno(libc::EINVAL)), "{e}");
                no += 1;
            }
            _ => panic!(
                "{}: check({iova:#x}, {len:#x}) = {predicted:?} but MAP_DMA gave {actual:?}",
                lab.scenario
            ),
        }
    }
    eprintln!(
        "{}: {yes} spans mapped as predicted, {no} refused as predicted",
        lab.scenario
    );
    assert!(
        yes >= 4 && no >= 4,
        "too few spans: {yes} mapped, {no} refused"
    );
}

#[test]
fn lab_dma_avail_drops_by_n_after_n_maps_and_returns_after_unmaps() {
    let Some(lab) = lab() else { return };
    let mem = Page::new(PAGE as usize); // dropped after the container
    let c = open_groups(&lab.groups[..1]);
    let info = c.query().unwrap();
    let before = *info.dma_avail.present().expect("DMA_AVAIL on 5.10+");
    // iommufd's compat container counts no mappings: DMA_AVAIL is U32_MAX, before and
    // after the maps (its limit is pinned memory, RLIMIT_MEMLOCK and the memory cgroup).
    let fixed = lab.compat;
    assert_eq!(
        before,
        if fixed {
            u32::MAX
        } else {
            lab.dma_entry_limit.unwrap_or(65535)
        },
        "a fresh container has the whole dma_entry_limit"
    );
    let page = page_size(&info);
    assert_eq!(page, PAGE, "the smallest IOMMU page");
    let base = align_up(ranges(&info)[0].start, page).unwrap() + 0x10_0000;
    let n = 3.min(before);
    for i in 0..u64::from(n) {
        map(&c, &mem, base + i * 2 * page).unwrap();
    }
    let during = if fixed { before } else { before - n };
    assert_eq!(c.query().unwrap().dma_avail.present(), Some(&during));
    for i in 0..u64::from(n) {
        c.unmap_dma(base + i * 2 * page, page).unwrap();
    }
    assert_eq!(c.query().unwrap().dma_avail.present(), Some(&before));
}

#[test]
fn lab_dma_entry_limit_is_enforced_with_an_explanation() {
    let Some(lab) = lab() else { return };
    let Some(limit) = lab.dma_entry_limit else {
        eprintln!("skipped: the scenario keeps the default dma_entry_limit (checked by the DMA_AVAIL test)");
        return;
    };
    // Declared before the container, so it is unmapped after the container (and with it
    // every DMA mapping of it) is closed, even when an assertion unwinds.
    let mem = Page::new(PAGE as usize);
    let c = open_groups(&lab.groups[..1]);
    let info = c.query().unwrap();
    let page = page_size(&info);
    assert_eq!(page, PAGE, "the smallest IOMMU page");
    let base = align_up(ranges(&info)[0].start, page).unwrap() + 0x10_0000;
    for i in 0..u64::from(limit) {
        map(&c, &mem, base + i * 2 * page).unwrap();
    }
    assert_eq!(c.query().unwrap().dma_avail.present(), Some(&0));
    let err = map(&c, &mem, base + u64::from(limit) * 2 * page).expect_err("map past the limit");
    assert_eq!(err.errno(), Some(Errno(libc::ENOSPC)), "{err}");
    assert!(err.to_string().contains("dma_entry_limit"), "{err}");
}

#[test]
fn lab_iova_list_is_the_aperture_minus_sysfs_reserved_regions() {
    let Some(lab) = lab() else { return };
    let c = open_groups(&lab.groups);
    assert_eq!(c.groups().len(), lab.groups.len());
    let info = c.query().unwrap();
    let sysfs = vfio_iommu_info::Sysfs::default();
    let mut reserved = Vec::new();
    for &g in &lab.groups {
        for region in sysfs.reserved_regions(g).unwrap() {
            if region.kind.excluded_from_iova_list() {
                reserved.push(region.range);
            }
        }
    }
    let mut got = ranges(&info);
    got.sort();
    // The base is the vIOMMU's own geometry where the scenario tells it, so a range the
    // library lost cannot hide behind an aperture derived from the same answer.
    let base = geometry(&lab).unwrap_or_else(|| info.aperture().unwrap());
    let expected = iova::subtract(base, &reserved);
    assert_eq!(
        got, expected,
        "{}: groups {:?}, reserved {:?}",
        lab.scenario, lab.groups, reserved
    );
}

#[test]
fn lab_a_live_capture_decodes_to_the_query() {
    let Some(lab) = lab() else { return };
    let c = open_groups(&lab.groups[..1]);
    let raw = capture_type1_with(&SystemKernel, c.as_fd()).unwrap();
    assert_eq!(decode(&raw).unwrap(), c.query().unwrap());
    if let Some(out) = env("LAB_OUT") {
        // Keep the library's own capture next to the C capture program's.
        let _ = std::fs::write(Path::new(&out).join("library-capture.bin"), &raw);
    }
}

#[test]
fn lab_query_by_pci_address_and_group_path_agree_with_the_group_number() {
    let Some(lab) = lab() else { return };
    let by_group = open_groups(&lab.groups[..1]).query().unwrap();
    let path = Target::GroupPath(format!("/dev/vfio/{}", lab.groups[0]).into());
    assert_eq!(open_and_query(&path).unwrap().1, by_group);
    // A node under another name (as a container runtime may bind it): the group number
    // comes from the node's device, and the space's holes still get their causes.
    let alias = std::env::temp_dir().join(format!("vfio-node-alias-{}", std::process::id()));
    let _ = std::fs::remove_file(&alias);
    std::os::unix::fs::symlink(format!("/dev/vfio/{}", lab.groups[0]), &alias).unwrap();
    let c = Container::open_targets(&[Target::GroupPath(alias.clone())], &HostPaths::default())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(&alias).unwrap();
    assert_eq!(c.groups()[0].number(), Some(lab.groups[0]));
    let space = c.space(&HostPaths::default()).unwrap().unwrap();
    assert!(!space.holes().is_empty(), "{}: no hole", lab.scenario);
    for hole in space.holes() {
        assert!(
            !hole.causes.is_empty(),
            "{}: hole {:?} has no cause through {}",
            lab.scenario,
            hole.range,
            alias.display()
        );
    }
    drop(c);
    if let Some(dev) = lab.devices.first() {
        let (c, info) = open_and_query(&Target::Device(*dev)).unwrap();
        assert_eq!(info, by_group);
        assert_eq!(c.groups()[0].number(), Some(lab.groups[0]));
    }
}

#[test]
fn lab_get_info_before_set_iommu_is_einval_with_the_fix() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    let mut c = Container::open(&paths).unwrap();
    c.attach(Group::open(lab.groups[0], &paths).unwrap())
        .unwrap();
    if lab.compat {
        // iommufd's compat container made its IOAS when the group joined: it answers
        // before VFIO_SET_IOMMU, with the group's ranges.
        let info = c.query().unwrap_or_else(|e| panic!("{e}"));
        assert!(info.iova_ranges.present().is_some(), "{info:?}");
        return;
    }
    let err = c.query().unwrap_err();
    assert_eq!(err.errno(), Some(Errno(libc::EINVAL)), "{err}");
    assert!(err.to_string().contains("VFIO_SET_IOMMU"), "{err}");
}

#[test]
fn lab_group_fd_and_dev_null_are_not_containers() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    let group = Group::open(lab.groups[0], &paths).unwrap();
    // Refused on its device number (the vfio major) before VFIO_IOMMU_GET_INFO, which on
    // a group fd would be another ioctl.
    let err = query_type1(group.as_fd()).unwrap_err();
    assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)), "{err}");
    assert!(
        err.to_string().contains("(vfio), not a VFIO container"),
        "{err}"
    );
    // Nor is it served by a backend: the question is refused, not answered "type1".
    let err = vfio_iommu_info::iommufd::container_backend(group.as_fd()).unwrap_err();
    assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)), "{err}");
    assert!(
        err.to_string().contains("(vfio), not a VFIO container"),
        "{err}"
    );
    let null = File::open("/dev/null").unwrap();
    let err = query_type1(null.as_fd()).unwrap_err();
    assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)), "{err}");
}

#[test]
fn lab_only_vfio_nodes_are_opened_and_each_is_checked_for_its_kind() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    let group_node = format!("/dev/vfio/{}", lab.groups[0]);
    // Each node refused where another kind is asked for, by its device number and the
    // names the kernel gave it (/proc/devices, /proc/misc).
    let err = Group::open_path(Path::new("/dev/vfio/vfio"), &paths).unwrap_err();
    assert!(
        err.to_string()
            .contains("/dev/vfio/vfio is a character device 10:196 (vfio), not a VFIO group node"),
        "{err}"
    );
    let err = vfio_iommu_info::iommufd::Iommufd::open_path(Path::new(&group_node)).unwrap_err();
    assert!(matches!(err, Error::WrongNode { .. }), "{err}");
    assert!(
        err.to_string().contains("(vfio), not iommufd's node"),
        "{err}"
    );
    // A group node reached through a symlink is the node it points to.
    let link = Path::new(&env("TMPDIR").unwrap_or("/tmp".into()))
        .join(format!("group-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&group_node, &link).unwrap();
    let group = Group::open_path(&link, &paths);
    let _ = std::fs::remove_file(&link);
    let group = group.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(group.number(), Some(lab.groups[0]));
    // The fd the library works on is read-write and close-on-exec, and not O_PATH.
    // SAFETY: F_GETFL and F_GETFD read the descriptor's flags; no memory is shared.
    let (fl, fd) = unsafe {
        use std::os::fd::AsRawFd;
        (
            libc::fcntl(group.as_fd().as_raw_fd(), libc::F_GETFL),
            libc::fcntl(group.as_fd().as_raw_fd(), libc::F_GETFD),
        )
    };
    assert_eq!(fl & (libc::O_ACCMODE | libc::O_PATH), libc::O_RDWR);
    assert_ne!(fd & libc::FD_CLOEXEC, 0);
}

#[test]
fn lab_the_safe_api_refuses_the_no_iommu_model() {
    let Some(lab) = lab() else { return };
    let paths = HostPaths::default();
    let mut c = Container::open(&paths).unwrap();
    c.attach(Group::open(lab.groups[0], &paths).unwrap())
        .unwrap();
    let err = c.set_iommu(uapi::VFIO_NOIOMMU_IOMMU).unwrap_err();
    assert!(matches!(err, Error::NoIommuModel { .. }), "{err}");
    assert!(
        err.to_string().contains("refusing VFIO_NOIOMMU_IOMMU"),
        "{err}"
    );
    assert_eq!(c.model(), None);
    // The container is untouched: the type1 model still goes in, and it answers.
    let model = c.type1_model().unwrap();
    c.set_iommu(model)
        .unwrap_or_else(|e| panic!("{}: {e}", lab.scenario));
    assert!(c.query().unwrap().iova_ranges.present().is_some());
}

/// Sets `allow_unsafe_interrupts` for the duration of a closure, and restores it even if
/// the closure panics (later tests on virtio-iommu need it back). It is vfio_iommu_type1's,
/// or iommufd's where its compat container serves /dev/vfio/vfio (`compat`).
fn with_unsafe_interrupts<R>(compat: bool, value: &str, f: impl FnOnce() -> R) -> R {
    struct Restore(String, String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = std::fs::write(&self.0, self.1.trim());
        }
    }
    let module = if compat {
        "iommufd"
    } else {
        "vfio_iommu_type1"
    };
    let path = format!("/sys/module/{module}/parameters/allow_unsafe_interrupts");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let _restore = Restore(path.clone(), old);
    std::fs::write(&path, value).unwrap();
    f()
}

#[test]
fn lab_set_iommu_needs_interrupt_remapping_or_the_unsafe_parameter() {
    let Some(lab) = lab() else { return };
    if lab.viommu.is_empty() {
        eprintln!("skipped: not in a lab scenario");
        return;
    }
    // type1 refuses at VFIO_SET_IOMMU; iommufd's compat container when the library opens
    // the group's device in set_iommu (iommufd checks at bind): the same call fails.
    let result = with_unsafe_interrupts(lab.compat, "0", || {
        let paths = HostPaths::default();
        let mut c = Container::open(&paths).unwrap();
        c.attach(Group::open(lab.groups[0], &paths).unwrap())
            .unwrap();
        c.set_iommu(uapi::VFIO_TYPE1V2_IOMMU)
    });
    if !lab.intremap {
        let err = result.expect_err(
            "no interrupt remapping (virtio-iommu on x86, amd-iommu on 7.x): VFIO refuses",
        );
        assert_eq!(err.errno(), Some(Errno(libc::EPERM)), "{err}");
        assert!(
            err.to_string().contains("allow_unsafe_interrupts=1"),
            "{err}"
        );
    } else {
        result.unwrap_or_else(|e| panic!("{} remaps interrupts: {e}", lab.viommu));
    }
}

/// Binds a device to vfio-pci (or back to no driver) through sysfs.
fn set_vfio_pci(device: &str, bind: bool) {
    let dev = format!("/sys/bus/pci/devices/{device}");
    if bind {
        std::fs::write(format!("{dev}/driver_override"), "vfio-pci").unwrap();
        std::fs::write("/sys/bus/pci/drivers_probe", device).unwrap();
    } else {
        std::fs::write("/sys/bus/pci/drivers/vfio-pci/unbind", device).unwrap();
        std::fs::write(format!("{dev}/driver_override"), "\n").unwrap();
    }
}

#[test]
fn lab_a_non_viable_group_names_each_device_on_another_driver() {
    let Some(lab) = lab() else { return };
    if lab.viommu.is_empty() {
        eprintln!("skipped: not in a lab scenario (this test rebinds devices)");
        return;
    }
    let sysfs = vfio_iommu_info::Sysfs::default();
    // An unbound PCI function whose sibling (same slot) is on a non-VFIO driver: the q35
    // ISA bridge (00:1f.0 on lpc_ich) and its SATA/SMBus functions share a group. Binding
    // the unbound one to vfio-pci creates the group's VFIO node, but the group is not
    // viable. (virtio-iommu groups a device only once a driver binds it, hence siblings.)
    let driver_of = |name: &str| {
        std::fs::read_link(format!("/sys/bus/pci/devices/{name}/driver"))
            .ok()
            .and_then(|t| Some(t.file_name()?.to_string_lossy().into_owned()))
    };
    let names: Vec<String> = std::fs::read_dir("/sys/bus/pci/devices")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_owned()))
        .collect();
    let slot = |n: &str| n.rsplit_once('.').map(|(s, _)| s.to_owned());
    let (free, blocker, driver) = names
        .iter()
        .filter(|n| driver_of(n).is_none())
        .find_map(|free| {
            let blocker = names.iter().find(|b| {
                *b != free
                    && slot(b) == slot(free)
                    && driver_of(b).is_some_and(|d| !d.contains("vfio"))
            })?;
            Some((free.clone(), blocker.clone(), driver_of(blocker)?))
        })
        .expect(
            "an unbound function beside one on a kernel driver (the lab loads lpc_ich for 00:1f.0)",
        );
    set_vfio_pci(&free, true);
    let opened = sysfs
        .group_of_device(&free.parse().unwrap())
        .map(|g| (g, Group::open(g, &HostPaths::default())));
    // The same group through the command and the C library (built by `make lab-build`).
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let programs = [
        repo.join("target/debug/vfio-iommu-info"),
        repo.join("target/c-examples/query"),
    ];
    let others: Vec<_> = match &opened {
        Ok((g, _)) => programs
            .iter()
            .map(|p| {
                let mut cmd = std::process::Command::new(p);
                if p.ends_with("vfio-iommu-info") {
                    cmd.arg("query");
                }
                cmd.arg(g.to_string())
                    .env("LD_LIBRARY_PATH", repo.join("target/c-stage/usr/lib"))
                    .output()
                    .unwrap_or_else(|e| panic!("{}: {e} (make lab-build builds it)", p.display()))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    set_vfio_pci(&free, false);
    let (group, result) = opened.unwrap_or_else(|e| panic!("{free} bound to vfio-pci: {e}"));
    for out in others {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("device {blocker} is still bound to {driver}")),
            "{stderr}"
        );
    }
    match result {
        Err(Error::GroupNotViable {
            group: g,
            path,
            blockers,
        }) => {
            assert_eq!(g, Some(group));
            assert!(blockers.iter().any(|b| b.device == blocker), "{blockers:?}");
            let text = Error::GroupNotViable {
                group: g,
                path,
                blockers,
            }
            .to_string();
            assert!(
                text.contains(&format!("device {blocker} is still bound to {driver}")),
                "{text}"
            );
        }
        other => panic!("expected a non-viable group, got {other:?}"),
    }
}

/// QEMU's edu device (hw/misc/edu.c): an identification register, DMA registers, a
/// 4 KiB buffer inside the device at 0x40000, and a 28-bit DMA mask.
mod edu {
    pub const ID: u64 = 0x00;
    pub const DMA_SRC: u64 = 0x80;
    pub const DMA_DST: u64 = 0x88;
    pub const DMA_COUNT: u64 = 0x90;
    pub const DMA_CMD: u64 = 0x98;
    pub const DMA_RUN: u64 = 1;
    /// Direction bit: set = from the device's buffer to the bus address (into RAM).
    pub const DMA_TO_RAM: u64 = 2;
    pub const BUFFER: u64 = 0x40000;
    pub const DMA_MASK: u64 = (1 << 28) - 1;
}

/// Runs one edu DMA and waits for the device to finish it (edu completes on a 100 ms timer).
fn edu_dma(
    dev: &vfio_iommu_info::device::Device,
    bar0: &vfio_iommu_info::device::RegionInfo,
    src: u64,
    dst: u64,
    len: u64,
    cmd: u64,
) {
    for (reg, value) in [
        (edu::DMA_SRC, src),
        (edu::DMA_DST, dst),
        (edu::DMA_COUNT, len),
        (edu::DMA_CMD, cmd | edu::DMA_RUN),
    ] {
        dev.write(bar0, reg, &value.to_le_bytes()).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut b = [0u8; 8];
        dev.read(bar0, edu::DMA_CMD, &mut b).unwrap();
        if u64::from_le_bytes(b) & edu::DMA_RUN == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "edu DMA did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The PCI address of the (edu) device in the container's first group.
fn first_group_device(lab: &Lab, c: &Container) -> String {
    let group = c.groups()[0].number().unwrap();
    let sysfs = vfio_iommu_info::Sysfs::default();
    lab.devices
        .iter()
        .find(|d| sysfs.group_of_device(d).ok() == Some(group))
        .expect("the edu device of the first group")
        .to_string()
}

#[test]
fn lab_device_info_counts_edus_regions_and_irqs_and_has_no_zpci_window_on_x86() {
    let Some(lab) = lab() else { return };
    if lab.viommu.is_empty() {
        eprintln!("skipped: not in a lab scenario (needs QEMU's edu device)");
        return;
    }
    let c = open_groups(&lab.groups[..1]);
    c.query().unwrap();
    let dev = c.groups()[0]
        .open_device(&first_group_device(&lab, &c))
        .unwrap();
    let info = dev.info().unwrap();
    let raw = dev.info_bytes().unwrap();
    assert_eq!(
        vfio_iommu_info::device_info::decode_device_info(&raw, vfio_iommu_info::ByteOrder::Native)
            .unwrap(),
        info
    );
    assert_ne!(
        info.flags & vfio_iommu_info::device_info::FLAG_PCI,
        0,
        "{info:?}"
    );
    // vfio-pci: BARs 0-5, ROM, config, VGA; INTx, MSI, MSI-X, ERR, REQ.
    assert_eq!(
        (info.num_regions, info.num_irqs),
        (9, 5),
        "{}",
        lab.scenario
    );
    assert_eq!(info.dma_window(), None, "no zPCI on x86");
    assert!(!info.caps_truncated);
    assert_eq!(dev.region(0).unwrap().size, 1 << 20, "edu's 1 MiB MMIO BAR");
    let past = dev.region(info.num_regions).unwrap_err();
    assert_eq!(past.errno(), Some(Errno(libc::EINVAL)), "{past}");
}

/// The size of each of a PCI device's resources from sysfs `resource` (start, end and
/// flags a line: BARs 0-5, then the ROM); 0 for an unused one.
fn sysfs_resource_sizes(bdf: &str) -> Vec<u64> {
    let path = Path::new("/sys/bus/pci/devices").join(bdf).join("resource");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let v: Vec<u64> = line
                .split_whitespace()
                .map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).unwrap())
                .collect();
            if v[1] == 0 {
                0
            } else {
                v[1] - v[0] + 1
            }
        })
        .collect()
}

#[test]
fn lab_region_info_of_every_edu_region_agrees_with_sysfs_and_bar0_mmaps() {
    use vfio_iommu_info::region_info::{
        decode_region_info, MmapArea, FLAG_MMAP, FLAG_READ, FLAG_WRITE, PCI_ROM_REGION,
        PCI_VGA_REGION,
    };
    let Some(lab) = lab() else { return };
    if lab.viommu.is_empty() {
        eprintln!("skipped: not in a lab scenario (needs QEMU's edu device)");
        return;
    }
    let c = open_groups(&lab.groups[..1]);
    c.query().unwrap();
    let bdf = first_group_device(&lab, &c);
    let dev = c.groups()[0].open_device(&bdf).unwrap();
    let num_regions = dev.info().unwrap().num_regions;
    let sysfs = sysfs_resource_sizes(&bdf);
    let config = std::fs::metadata(Path::new("/sys/bus/pci/devices").join(&bdf).join("config"))
        .unwrap()
        .len();
    let mut seen = Vec::new();
    for index in 0..num_regions {
        let raw = match dev.region_bytes(index) {
            Ok(raw) => raw,
            Err(e) => {
                // vfio-pci refuses the VGA region of a device that is no VGA device.
                assert_eq!(
                    (index, e.errno()),
                    (PCI_VGA_REGION, Some(Errno(libc::EINVAL))),
                    "{e}"
                );
                assert_eq!(
                    dev.region(index).unwrap_err().errno(),
                    Some(Errno(libc::EINVAL))
                );
                seen.push(format!("{index}: EINVAL"));
                continue;
            }
        };
        let r = decode_region_info(&raw, vfio_iommu_info::ByteOrder::Native)
            .unwrap_or_else(|e| panic!("region {index}: {e}"));
        assert_eq!(dev.region(index).unwrap(), r);
        seen.push(format!(
            "{index}: flags {:#x} size {:#x} offset {:#x} caps {}",
            r.flags,
            r.size,
            r.offset,
            r.caps.len()
        ));
        // vfio-pci puts region N at N << 40 in the device fd (VFIO_PCI_INDEX_TO_OFFSET).
        assert_eq!(
            (r.index, r.offset),
            (index, u64::from(index) << 40),
            "{r:?}"
        );
        assert_eq!((r.argsz, r.cap_offset), (256, None), "{r:?}");
        assert!(
            r.caps.is_empty() && !r.caps_truncated,
            "edu has no MSI-X: {r:?}"
        );
        match index {
            0 => {
                assert_eq!(
                    (r.size, r.flags),
                    (1 << 20, FLAG_READ | FLAG_WRITE | FLAG_MMAP)
                );
                assert_eq!(r.size, sysfs[0], "BAR0 as sysfs resource says");
                assert_eq!(
                    r.mmap_areas(),
                    vec![MmapArea {
                        offset: 0,
                        size: 1 << 20
                    }]
                );
            }
            1..=5 => assert_eq!((r.size, r.flags, sysfs[index as usize]), (0, 0, 0), "{r:?}"),
            PCI_ROM_REGION => assert_eq!((r.size, r.flags, sysfs[6]), (0, 0, 0), "no ROM: {r:?}"),
            vfio_iommu_info::device::PCI_CONFIG_REGION => {
                assert_eq!((r.size, r.flags), (config, FLAG_READ | FLAG_WRITE), "{r:?}");
            }
            _ => panic!("edu has no region {index}: {r:?}"),
        }
    }
    eprintln!("{} regions of {bdf}: {seen:?}", lab.scenario);

    // MMAP is real: BAR0 mapped through the device fd reads edu's identification
    // register (0x010000ed: version 1.0, id 0xed) as pread does.
    let bar0 = dev.region(0).unwrap();
    let mut id = [0u8; 4];
    dev.read(&bar0, 0, &mut id).unwrap();
    let area = bar0.mmap_areas()[0];
    // SAFETY: a new shared read-only mapping of the device fd, at BAR0's offset and size,
    // which the kernel checks; nothing else refers to the address it returns.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            area.size as usize,
            libc::PROT_READ,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&dev.as_fd()),
            (bar0.offset + area.offset) as libc::off_t,
        )
    };
    assert_ne!(
        ptr,
        libc::MAP_FAILED,
        "mmap of BAR0: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `ptr` maps at least 4 readable bytes of MMIO; a volatile 32-bit read is one
    // register access.
    let mapped = unsafe { ptr.cast::<u32>().read_volatile() };
    // SAFETY: unmaps exactly the mapping made above, which nothing uses any more.
    assert_eq!(unsafe { libc::munmap(ptr, area.size as usize) }, 0);
    assert_eq!(mapped, u32::from_le_bytes(id), "mmap and pread disagree");
    assert_eq!(
        mapped, 0x0100_00ed,
        "{}: edu's identification register",
        lab.scenario
    );
}

#[test]
fn lab_edu_dma_through_the_viommu_lands_at_an_allocated_iova_below_its_28_bit_mask() {
    let Some(lab) = lab() else { return };
    if lab.viommu.is_empty() {
        eprintln!("skipped: not in a lab scenario (needs QEMU's edu device)");
        return;
    }
    const LEN: usize = 256;
    // Declared before the container, which drops every mapping of them first.
    let src = Page::new(PAGE as usize);
    let dst = Page::new(PAGE as usize);
    let c = open_groups(&lab.groups[..1]);
    let device = first_group_device(&lab, &c);

    // The allocator: guest RAM identity-mapped over the bottom 128 MiB, then two pages
    // for the device, which addresses only 28 bits.
    let info = c.query().unwrap();
    let space = vfio_iommu_info::IovaSpace::from_info(&info).unwrap();
    let mut alloc = vfio_iommu_info::IovaAllocator::new(&space);
    alloc.reserve(0, 128 << 20).unwrap();
    let src_iova = alloc.alloc(PAGE, 0, edu::DMA_MASK).unwrap();
    let dst_iova = alloc.alloc(PAGE, 0, edu::DMA_MASK).unwrap();
    assert!(src_iova >= 128 << 20 && dst_iova + PAGE - 1 <= edu::DMA_MASK);
    map(&c, &src, src_iova).unwrap();
    map(&c, &dst, dst_iova).unwrap();
    let pattern: Vec<u8> = (0..LEN).map(|i| (i * 7 + 3) as u8).collect();
    // SAFETY: `src` is a live mapping of PAGE bytes, LEN < PAGE; the device only reads it.
    unsafe { std::ptr::copy_nonoverlapping(pattern.as_ptr(), src.ptr, LEN) };

    let dev = c.groups()[0].open_device(&device).unwrap();
    let bar0 = dev
        .region(vfio_iommu_info::device::PCI_BAR0_REGION)
        .unwrap();
    let config = dev
        .region(vfio_iommu_info::device::PCI_CONFIG_REGION)
        .unwrap();
    let mut id = [0u8; 4];
    dev.read(&bar0, edu::ID, &mut id).unwrap();
    assert_eq!(
        u32::from_le_bytes(id) & 0xffff,
        0x00ed,
        "edu identification register"
    );
    // Memory space and bus mastering on: without bus mastering the device cannot DMA.
    let mut command = [0u8; 2];
    dev.read(&config, 4, &mut command).unwrap();
    let command = u16::from_le_bytes(command) | 0x6;
    dev.write(&config, 4, &command.to_le_bytes()).unwrap();

    // RAM -> device buffer, then device buffer -> RAM, both through the vIOMMU.
    edu_dma(&dev, &bar0, src_iova, edu::BUFFER, LEN as u64, 0);
    edu_dma(
        &dev,
        &bar0,
        edu::BUFFER,
        dst_iova,
        LEN as u64,
        edu::DMA_TO_RAM,
    );
    let mut got = vec![0u8; LEN];
    // SAFETY: `dst` is a live mapping of PAGE bytes; the device finished writing it.
    unsafe { std::ptr::copy_nonoverlapping(dst.ptr, got.as_mut_ptr(), LEN) };
    assert_eq!(
        got, pattern,
        "{}: the bytes did not arrive at IOVA {dst_iova:#x}",
        lab.scenario
    );
    // SAFETY: as above; the byte after the transfer is untouched (Page fills with 0x5A).
    assert_eq!(unsafe { dst.ptr.add(LEN).read() }, 0x5A);

    // Unmapped, the same IOVA leads nowhere: the vIOMMU blocks the device's write, and
    // the page that received the bytes before stays as it is now.
    assert_eq!(c.unmap_dma(dst_iova, PAGE).unwrap(), PAGE);
    // SAFETY: `dst` is a live mapping of PAGE bytes, no longer mapped for DMA.
    unsafe { std::ptr::write_bytes(dst.ptr, 0xA5, LEN) };
    edu_dma(
        &dev,
        &bar0,
        edu::BUFFER,
        dst_iova,
        LEN as u64,
        edu::DMA_TO_RAM,
    );
    // SAFETY: as above.
    unsafe { std::ptr::copy_nonoverlapping(dst.ptr, got.as_mut_ptr(), LEN) };
    assert!(
        got.iter().all(|&b| b == 0xA5),
        "{}: a DMA to the unmapped IOVA {dst_iova:#x} reached memory",
        lab.scenario
    );
}

/// Several threads query one container while another maps and unmaps: every answer is a
/// whole snapshot (the ranges and page sizes of the first query, DMA_AVAIL within what
/// the writer can hold at once), no query fails, and nothing deadlocks (a watchdog fails
/// the test after two minutes).
#[test]
fn lab_threads_query_one_container_while_another_maps_and_unmaps() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    let Some(lab) = lab() else { return };
    /// Mappings the writer holds at once, at most.
    const HELD: u64 = 4;
    /// Map-then-unmap rounds of the writer.
    const ROUNDS: u64 = 40;
    /// Queries each reader makes at least, even if the writer is done first.
    const MIN_QUERIES: usize = 20;
    const READERS: usize = 3;

    let mem = Page::new(PAGE as usize); // dropped after the container
    let c = open_groups(&lab.groups[..1]);
    let want = c.query().unwrap();
    let limit = *want.dma_avail.present().expect("DMA_AVAIL on 5.10+");
    assert!(
        u64::from(limit) >= HELD,
        "dma_entry_limit {limit} below {HELD}"
    );
    let page = page_size(&want);
    let base = align_up(ranges(&want)[0].start, page).unwrap() + 0x10_0000;

    static DONE: AtomicBool = AtomicBool::new(false);
    std::thread::spawn(|| {
        for _ in 0..120 {
            std::thread::sleep(Duration::from_secs(1));
            if DONE.load(Ordering::Relaxed) {
                return;
            }
        }
        eprintln!("lab_threads_query: still running after 120 s: a reader or the writer is stuck");
        std::process::exit(1);
    });

    let stop = AtomicBool::new(false);
    let below_limit = AtomicUsize::new(0);
    let queries = AtomicUsize::new(0);
    let problems: Vec<String> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                s.spawn(|| {
                    let mut problems = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) || n < MIN_QUERIES {
                        n += 1;
                        let info = match c.query() {
                            Ok(info) => info,
                            Err(e) => {
                                problems.push(format!("query {n} failed: {e}"));
                                continue;
                            }
                        };
                        if info.iova_ranges != want.iova_ranges
                            || info.iova_pgsizes != want.iova_pgsizes
                            || info.migration != want.migration
                        {
                            problems.push(format!("query {n} changed: {info:?}"));
                        }
                        match info.dma_avail.present() {
                            Some(&a) if u64::from(a) + HELD >= u64::from(limit) && a <= limit => {
                                if a < limit {
                                    below_limit.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            other => problems.push(format!(
                                "query {n}: DMA_AVAIL {other:?} outside [{}, {limit}]",
                                u64::from(limit) - HELD
                            )),
                        }
                    }
                    queries.fetch_add(n, Ordering::Relaxed);
                    problems
                })
            })
            .collect();
        let mut problems = Vec::new();
        for round in 0..ROUNDS {
            for i in 0..HELD {
                if let Err(e) = map(&c, &mem, base + i * 2 * page) {
                    problems.push(format!("round {round}: map {i}: {e}"));
                }
            }
            for i in 0..HELD {
                if let Err(e) = c.unmap_dma(base + i * 2 * page, page) {
                    problems.push(format!("round {round}: unmap {i}: {e}"));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            problems.extend(r.join().expect("a reader panicked"));
        }
        problems
    });
    DONE.store(true, Ordering::Relaxed);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(c.query().unwrap().dma_avail.present(), Some(&limit));
    eprintln!(
        "{READERS} readers made {} queries, {} of them with mappings held, during {ROUNDS} rounds of {HELD} maps and unmaps",
        queries.load(Ordering::Relaxed),
        below_limit.load(Ordering::Relaxed)
    );
}

/// Without permission on the group node (root's, mode 0600 in the lab), opening by group
/// number or by PCI address is EACCES naming the node and the fix. The test runs itself
/// again as `nobody` (uid 65534), which then makes the checks.
#[test]
fn lab_without_permission_the_error_names_the_node_and_the_fix() {
    use std::os::unix::process::CommandExt;

    let Some(lab) = lab() else { return };
    if env("LAB_CHILD_AS_NOBODY").is_some() {
        let node = format!("/dev/vfio/{}", lab.groups[0]);
        let mut targets = vec![Target::Group(lab.groups[0])];
        targets.extend(lab.devices.first().map(|d| Target::Device(*d)));
        for target in targets {
            let err = open_and_query(&target).expect_err("nobody opened a group");
            assert_eq!(err.errno(), Some(Errno(libc::EACCES)), "{err}");
            let text = err.to_string();
            assert!(text.contains(&format!("cannot open {node}")), "{text}");
            assert!(
                text.contains("run as root or give this user access"),
                "{text}"
            );
            // The parent looks for this line: a child that skipped would pass too.
            eprintln!("checked as nobody: {target}");
        }
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run itself as nobody");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lab_without_permission_the_error_names_the_node_and_the_fix",
            "--nocapture",
        ])
        .env("LAB_CHILD_AS_NOBODY", "1")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "as nobody: {}\n{text}{stderr}",
        out.status,
    );
    assert!(
        stderr.contains(&format!("checked as nobody: group {}", lab.groups[0])),
        "the child made no check: {stderr}"
    );
}

/// Restores this process's `RLIMIT_MEMLOCK` when dropped (a failed assertion included):
/// the limit is the process's, and later tests pin memory too.
struct RestoreMemlock(MemlockRlimit);

impl Drop for RestoreMemlock {
    fn drop(&mut self) {
        let _ = set_memlock_rlimit(self.0);
    }
}

/// Sets the soft `RLIMIT_MEMLOCK` to `bytes`, keeping the hard limit (root's is
/// unlimited; a soft limit below it needs no privilege).
fn set_soft_memlock(saved: MemlockRlimit, bytes: u64) {
    set_memlock_rlimit(MemlockRlimit {
        soft: Some(bytes),
        hard: saved.hard,
    })
    .unwrap_or_else(|e| panic!("setrlimit(RLIMIT_MEMLOCK, {bytes}): {}", e.name()));
}

/// `VmLck` of this process, in bytes.
fn vm_lck() -> u64 {
    locked_memory().locked.expect("VmLck in /proc/self/status")
}

/// The memlock budget against type1 (or iommufd's compat container): in a thread that
/// dropped `CAP_IPC_LOCK` (capset: the kernel asks the mapping thread's credentials), with
/// `RLIMIT_MEMLOCK` at the budget's `required_limit` MAPS maps of CHUNK pages all succeed
/// and charge the process exactly the need (VmLck); one page lower, the last map fails
/// with the budget's errno (ENOMEM).
#[test]
fn lab_budget_memlock_type1() {
    let Some(lab) = lab() else { return };
    const MAPS: u64 = 4;
    const CHUNK: u64 = 2 * PAGE;
    let groups = lab.groups.clone();
    let compat = lab.compat;
    std::thread::spawn(move || {
        let mem = Page::new((MAPS * CHUNK) as usize); // dropped after the container
        let c = open_groups(&groups[..1]);
        let info = c.query().unwrap();
        let base = align_up(ranges(&info)[0].start, PAGE).unwrap() + 0x10_0000;
        let backend = if compat {
            Backend::IommufdCompat
        } else {
            Backend::Type1
        };
        // iommufd serves /dev/vfio/vfio in process mode (iommufd_fops_open); type1 has no
        // rlimit mode and refuses IOMMU_OPTION.
        let mode = rlimit_mode(c.as_fd());
        let process_mode = mode.as_ref().ok().copied();
        if compat {
            assert_eq!(mode.as_ref().ok(), Some(&true), "compat rlimit mode: {mode:?}");
        } else {
            let e = mode.expect_err("type1 answers IOMMU_OPTION");
            assert_eq!(e.errno(), Some(Errno(libc::ENOTTY)), "{e}");
        }
        drop_capability(CAP_IPC_LOCK).unwrap();
        assert_eq!(has_cap_ipc_lock(), Some(false));
        let saved = memlock_rlimit().unwrap();
        let _restore = RestoreMemlock(saved);
        let facts = MemlockFacts {
            iommufd_process_mode: process_mode,
            ..MemlockFacts::current()
        };
        let before = vm_lck();
        let needed = MAPS * CHUNK;
        let budget = memlock_budget(backend, &facts, needed);
        assert_eq!(budget.charged_to, ChargedTo::Process, "{budget}");
        assert_eq!(budget.used, Some(before), "{budget}");
        let required = budget.required_limit.expect("a limited budget");
        eprintln!("{budget}");
        let map_all = |c: &Container| -> Vec<Result<(), Error>> {
            (0..MAPS)
                .map(|i| {
                    // SAFETY: `mem` outlives the container (declared before it), and
                    // every chunk lies inside it.
                    unsafe {
                        c.map_dma(
                            mem.ptr.add((i * CHUNK) as usize),
                            base + i * 2 * CHUNK,
                            CHUNK,
                            uapi::VFIO_DMA_MAP_FLAG_READ | uapi::VFIO_DMA_MAP_FLAG_WRITE,
                        )
                    }
                })
                .collect()
        };
        // At the budget's figure: every map succeeds, and the process is charged the need.
        set_soft_memlock(saved, required);
        let at = memlock_budget(backend, &MemlockFacts { soft_limit: Some(required), ..facts }, needed);
        assert_eq!(at.verdict, Verdict::Fits { spare: 0 }, "{at}");
        for (i, r) in map_all(&c).into_iter().enumerate() {
            r.unwrap_or_else(|e| panic!("map {i} with RLIMIT_MEMLOCK {required}: {e}"));
        }
        assert_eq!(vm_lck(), before + needed, "VmLck after the maps");
        for i in 0..MAPS {
            assert_eq!(c.unmap_dma(base + i * 2 * CHUNK, CHUNK).unwrap(), CHUNK);
        }
        assert_eq!(vm_lck(), before, "VmLck after the unmaps");
        // One page lower: the budget says so, and the last map fails with its errno.
        let lower = required - PAGE;
        set_soft_memlock(saved, lower);
        let below = memlock_budget(backend, &MemlockFacts { soft_limit: Some(lower), ..facts }, needed);
        assert_eq!(below.verdict, Verdict::Exceeds { by: PAGE }, "{below}");
        let results = map_all(&c);
        let (last, first) = results.split_last().unwrap();
        for (i, r) in first.iter().enumerate() {
            assert!(r.is_ok(), "map {i} below the figure: {r:?}");
        }
        let e = last.as_ref().expect_err("the last map one page below the budget");
        assert_eq!(e.errno(), below.errno, "{e}");
        assert_eq!(below.errno, Some(Errno(libc::ENOMEM)));
        eprintln!(
            "{}: {MAPS} maps of {CHUNK} bytes fit RLIMIT_MEMLOCK {required}; at {lower} the last fails with {}",
            backend.name(),
            below.errno.unwrap().name()
        );
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p));
}

/// Sets `vfio_iommu_type1`'s `dma_entry_limit` for the duration of a closure, and
/// restores the old value even if it panics.
fn with_dma_entry_limit<R>(value: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = std::fs::write(DMA_ENTRY_LIMIT, self.0.trim());
        }
    }
    let old = std::fs::read_to_string(DMA_ENTRY_LIMIT).unwrap();
    let _restore = Restore(old);
    std::fs::write(DMA_ENTRY_LIMIT, value.to_string()).unwrap();
    f()
}

const DMA_ENTRY_LIMIT: &str = "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit";

/// The mapping budget against type1: with `dma_entry_limit` at the budget's count a new
/// container takes all the maps; with one less the last fails with the budget's errno
/// (ENOSPC). iommufd's compat container counts no mappings, and the budget says so.
#[test]
fn lab_budget_mappings_type1() {
    let Some(lab) = lab() else { return };
    const NEEDED: u64 = 5;
    let mem = Page::new(PAGE as usize); // dropped after every container
    let c = open_groups(&lab.groups[..1]);
    let info = c.query().unwrap();
    let avail = *info.dma_avail.present().expect("DMA_AVAIL on 5.10+");
    if lab.compat {
        let b = mapping_budget(Backend::IommufdCompat, Some(avail), 1 << 40);
        assert_eq!(avail, u32::MAX);
        assert_eq!(
            b.verdict,
            Verdict::NotLimited(NotLimited::NoEntryLimit),
            "{b}"
        );
        assert_eq!(b.errno, None);
        assert!(
            !Path::new(DMA_ENTRY_LIMIT).exists(),
            "no vfio_iommu_type1 with compat"
        );
        return;
    }
    let limit: u32 = std::fs::read_to_string(DMA_ENTRY_LIMIT)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(limit, lab.dma_entry_limit.unwrap_or(65535));
    let b = mapping_budget_with_limit(Backend::Type1, Some(avail), Some(limit), NEEDED);
    assert_eq!(b.used, Some(0), "a fresh container: {b}");
    let Some(Change::DmaEntryLimit {
        value: Some(value), ..
    }) = b.changes.first().map(|s| s.change)
    else {
        panic!("no dma_entry_limit change: {b}")
    };
    assert_eq!(value, NEEDED);
    let base = align_up(ranges(&info)[0].start, PAGE).unwrap() + 0x10_0000;
    drop(c);
    let try_maps = |entry_limit: u64| {
        with_dma_entry_limit(entry_limit, || {
            // The parameter is read when the container is opened (vfio_iommu_type1_open).
            let c = open_groups(&lab.groups[..1]);
            let avail = *c.query().unwrap().dma_avail.present().unwrap();
            assert_eq!(u64::from(avail), entry_limit);
            let b = mapping_budget(Backend::Type1, Some(avail), NEEDED);
            let results: Vec<_> = (0..NEEDED)
                .map(|i| map(&c, &mem, base + i * 2 * PAGE))
                .collect();
            (b, results)
        })
    };
    let (at, results) = try_maps(value);
    assert_eq!(at.verdict, Verdict::Fits { spare: 0 }, "{at}");
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "map {i} with dma_entry_limit {value}: {r:?}");
    }
    let (below, results) = try_maps(value - 1);
    assert_eq!(below.verdict, Verdict::Exceeds { by: 1 }, "{below}");
    let (last, first) = results.split_last().unwrap();
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    let e = last.as_ref().expect_err("the map past dma_entry_limit");
    assert_eq!(e.errno(), below.errno, "{e}");
    assert_eq!(below.errno, Some(Errno(libc::ENOSPC)));
    let restored: u32 = std::fs::read_to_string(DMA_ENTRY_LIMIT)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(restored, limit, "dma_entry_limit restored");
}

#[test]
fn lab_what_if_predicts_the_ranges_after_attaching_the_second_group() {
    let Some(lab) = lab() else { return };
    if lab.groups.len() < 2 {
        eprintln!("skipped: one group (the two-group scenario attaches a second)");
        return;
    }
    let paths = HostPaths::default();
    let mut c = open_groups(&lab.groups[..1]);
    let w = c
        .what_if_attach(&paths, lab.groups[1])
        .unwrap()
        .expect("IOVA ranges");
    // Both edu devices sit behind the one vIOMMU: the prediction is exact.
    assert!(
        matches!(w.aperture, NewAperture::Shared { .. }),
        "{:?}",
        w.aperture
    );
    c.attach(Group::open(lab.groups[1], &paths).unwrap())
        .unwrap();
    let after = c.space(&paths).unwrap().expect("IOVA ranges");
    eprintln!(
        "{}: before {:?}\npredicted {:?}\nkernel {:?}",
        lab.scenario,
        w.before.ranges(),
        w.after.ranges(),
        after.ranges()
    );
    assert_eq!(w.after.ranges(), after.ranges());
    assert_eq!(w.after.page_sizes(), after.page_sizes());
    assert_eq!(w.after.holes(), after.holes(), "the holes and their causes");
    assert_eq!(w.refusal(Backend::Type1, &[]), None, "the attach succeeded");
}

/// The child process `lab_inspect_*` starts (this test binary again, with `--ignored`):
/// it opens a container for group `LAB_INSPECT_GROUP`, maps `LAB_INSPECT_MAPS` pages one
/// map each, says `LAB_INSPECT_READY` on stdout, and holds them until its stdin closes (two
/// minutes at most). Without the variables it is not run (ignored).
#[test]
#[ignore = "a child process of lab_inspect_*, not a test on its own"]
fn inspect_child_holds_a_container_with_mappings() {
    let var = |k: &str| std::env::var(k).expect(k).parse::<u64>().expect(k);
    let (group, maps) = (var("LAB_INSPECT_GROUP"), var("LAB_INSPECT_MAPS"));
    // At most 16 pages of memory, each mapped at many IOVAs: type1 charges every mapping.
    let pages = maps.clamp(1, 16);
    let mem = Page::new((pages * PAGE) as usize); // dropped after the container
    let c = open_groups(&[group as u32]);
    let info = c.query().unwrap();
    let base = align_up(ranges(&info)[0].start, PAGE).unwrap() + 0x10_0000;
    for i in 0..maps {
        // SAFETY: a page of `mem`, which outlives the container and its mappings.
        unsafe {
            c.map_dma(
                mem.ptr.add(((i % pages) * PAGE) as usize),
                base + i * 2 * PAGE,
                PAGE,
                uapi::VFIO_DMA_MAP_FLAG_READ | uapi::VFIO_DMA_MAP_FLAG_WRITE,
            )
        }
        .unwrap();
    }
    // On a line of its own: libtest has printed the test's name without a newline.
    println!("\nLAB_INSPECT_READY");
    // Until stdin closes, or two minutes at most: a parent that failed never hangs the lab.
    let mut stdin = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd for poll to fill.
    unsafe { libc::poll(&mut stdin, 1, 120_000) };
    drop(c);
}

/// Starts [`inspect_child_holds_a_container_with_mappings`] on `group` with `maps`
/// mappings, and waits until they are made.
fn inspect_child(group: u32, maps: u64) -> std::process::Child {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "inspect_child_holds_a_container_with_mappings",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LAB_INSPECT_GROUP", group.to_string())
        .env("LAB_INSPECT_MAPS", maps.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l == "LAB_INSPECT_READY")),
        "the child did not map: {:?}",
        child.wait()
    );
    // Read the rest (libtest's last lines) until the child exits: a closed pipe would
    // fail its prints.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// `inspect` of a container holding 60,000 mappings asks it once (one GET_INFO, no walk
/// of the mappings): DMA_AVAIL = 65535 - 60000. Beside it, the time `inspect` takes on
/// that process and on one with 5 mappings, best of 5 each (BENCHMARKS.md).
/// In one scenario (`LAB_SCENARIO` linux-7.3-intel-aw48): the 60,000 maps take a while
/// under TCG.
#[test]
fn lab_inspect_asks_a_container_of_60000_mappings_once() {
    use vfio_iommu_info::query::inspect::inspect_with;
    let Some(lab) = lab() else { return };
    if lab.scenario != "linux-7.3-intel-aw48" {
        eprintln!("skipped: runs in linux-7.3-intel-aw48 only");
        return;
    }
    const MANY: u64 = 60_000;
    let paths = HostPaths::default();
    // The best of 5 runs (the first pays for cold caches), each counting its GET_INFOs.
    let time = |pid: u32| {
        (0..5)
            .map(|_| {
                let counting = Counting::default();
                let start = std::time::Instant::now();
                let found = inspect_with(&counting, pid as i32, &paths).unwrap();
                (start.elapsed(), counting.get_info.get(), found)
            })
            .min_by_key(|(t, _, _)| *t)
            .unwrap()
    };
    let mut few = inspect_child(lab.groups[0], 5);
    let (few_time, few_calls, _) = time(few.id());
    drop(few.stdin.take());
    assert!(few.wait().unwrap().success());
    let started = std::time::Instant::now();
    let mut many = inspect_child(lab.groups[0], MANY);
    let mapped = started.elapsed();
    let (many_time, many_calls, found) = time(many.id());
    let avail = *found.containers[0]
        .info
        .as_ref()
        .unwrap()
        .dma_avail
        .present()
        .unwrap();
    drop(many.stdin.take());
    assert!(many.wait().unwrap().success());
    assert_eq!(
        (few_calls, many_calls),
        (1, 1),
        "one GET_INFO per container"
    );
    assert_eq!(u64::from(avail), 65535 - MANY);
    println!(
        "inspect: 5 mappings {:.3} ms, {MANY} mappings {:.3} ms (ratio {:.2}); the child's {MANY} maps took {:.1} s",
        few_time.as_secs_f64() * 1e3,
        many_time.as_secs_f64() * 1e3,
        many_time.as_secs_f64() / few_time.as_secs_f64(),
        mapped.as_secs_f64()
    );
}

/// The command next to this test binary (`target/debug/vfio-iommu-info`, built by
/// `make lab-build`).
fn cli() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("vfio-iommu-info")
}

/// `inspect` of a process that mapped N pages: its one container with its group, DMA_AVAIL
/// = dma_entry_limit - N and N mappings in use (type1; iommufd's compat container has no
/// count), the N pages charged (VmLck on type1, VmPin on iommufd); the command says the same. As `nobody` the command
/// is refused naming the permission; a process with no VFIO fd is refused too.
#[test]
fn lab_inspect_reports_a_process_container_dma_avail_and_locked_memory() {
    use std::process::Command;
    use vfio_iommu_info::query::inspect::inspect;

    let Some(lab) = lab() else { return };
    const N: u64 = 5;
    let mut child = inspect_child(lab.groups[0], N);
    let pid = child.id() as i32;
    let found = inspect(pid, &HostPaths::default()).unwrap();
    eprintln!("{}: {found:#?}", lab.scenario);
    assert_eq!(found.containers.len(), 1, "{found:?}");
    let c = &found.containers[0];
    assert!(c.groups_known);
    assert_eq!(c.groups, vec![lab.groups[0]]);
    let info = c.info.as_ref().unwrap();
    let avail = *info.dma_avail.present().expect("DMA_AVAIL on 5.10+");
    if lab.compat {
        assert_eq!(avail, u32::MAX);
        assert_eq!(
            c.mappings_in_use(found.dma_entry_limit.unwrap_or(65535)),
            None
        );
        assert!(
            !found.devices.is_empty(),
            "compat opens the group's devices"
        );
    } else {
        let limit = lab.dma_entry_limit.unwrap_or(65535);
        assert_eq!(found.dma_entry_limit, Some(limit));
        assert_eq!(u64::from(avail), u64::from(limit) - N);
        assert_eq!(c.mappings_in_use(limit), Some(N as u32));
    }
    assert_eq!(found.groups.len(), 1);
    assert!(found.groups[0].viable && found.groups[0].in_container);
    assert_eq!(found.groups[0].number, Some(lab.groups[0]));
    // type1 charges VmLck (with CAP_IPC_LOCK too: it only skips the limit's check);
    // iommufd adds every page it pins to VmPin, and VmLck nothing as root (CAP_IPC_LOCK).
    let charged = if lab.compat {
        found.locked.pinned
    } else {
        found.locked.locked
    };
    assert!(charged.unwrap() >= N * PAGE, "{:?}", found.locked);

    let run = |uid: Option<u32>, pid: i32, json: bool| {
        let mut cmd = Command::new(cli());
        cmd.arg("inspect").arg(pid.to_string());
        if json {
            cmd.arg("--json");
        }
        if let Some(uid) = uid {
            std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        }
        cmd.output().unwrap()
    };
    let text = run(None, pid, false);
    let text = String::from_utf8(text.stdout).unwrap();
    eprintln!("{text}");
    assert!(text.contains(&format!("DMA_AVAIL {avail}")), "{text}");
    // (The JSON's shape is checked by the command's own tests; here its figures.)
    let json = String::from_utf8(run(None, pid, true).stdout).unwrap();
    assert!(json.contains(&format!("\"dma_avail\": {avail},")), "{json}");
    if !lab.compat {
        assert!(
            json.contains(&format!("\"mappings_in_use\": {N},")),
            "{json}"
        );
    }
    // As nobody: the child is root's.
    let nobody = run(Some(65534), pid, false);
    let err = String::from_utf8_lossy(&nobody.stderr);
    assert_eq!(nobody.status.code(), Some(1), "{err}");
    assert!(err.contains("ptrace access"), "{err}");
    // A process without VFIO fds: the command itself, through a shell that waits.
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let none = run(None, sleeper.id() as i32, false);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(1), "{err}");
    assert!(err.contains("holds no VFIO container"), "{err}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
