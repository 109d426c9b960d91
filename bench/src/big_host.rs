//! A large SR-IOV host for issue 24's `list` benchmark, made the same way twice: as a
//! directory tree shaped like `/sys` (which `lspci -A linux-sysfs` and the library's live
//! reads both understand), and as the snapshot the library records from that tree.
//!
//! The host: 8 PCI segments (domains), each with 8 root buses (`00`, `20`, ... `e0`, one per
//! IIO stack), each with 16 root ports (`RR:01.0` to `RR:10.0`, Intel Sky Lake-E
//! `8086:2030`-`2033`, on `pcieport`) without ACS. Below each root port, on its own
//! secondary bus, sits one Mellanox ConnectX-5 physical function (`15b3:1017`, at
//! `BB:00.0`) with two SR-IOV virtual functions (`15b3:1018`, `BB:00.1` and `BB:00.2`).
//! Because the root port has no ACS, the kernel puts it, the PF and its VFs in one IOMMU
//! group: 1024 groups of 4 devices, 4096 devices in all. Drivers, by group number modulo 4:
//! 0, the PF and VFs on `vfio-pci` (viable); 1, the PF on `mlx5_core` and the VFs on
//! `vfio-pci`; 2, everything on `mlx5_core`; 3, the PF on `mlx5_core`, one VF on `vfio-pci`
//! and one unbound. `/dev/vfio/N` exists for the groups with a device on `vfio-pci`. Each
//! stack has its VT-d unit (`dmar0` to `dmar63`).
//!
//! Everything is deterministic: the same tree and the same snapshot every time (the
//! snapshot's pci.ids lines come from the pci.ids file it is given).

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vfio_iommu_info::sys::pci_ids::PciIds;
use vfio_iommu_info::sys::view::{RecordedNode, RecordedTree};
use vfio_iommu_info::{ByteOrder, HostPaths, PciAddress, Snapshot, Sysfs};

/// PCI segments.
pub const DOMAINS: u32 = 8;
/// Root buses (IIO stacks) per segment.
pub const STACKS: u32 = 8;
/// Root ports per stack.
pub const PORTS: u32 = 16;
/// Virtual functions per physical function.
pub const VFS: u32 = 2;
/// IOMMU groups: one per root port.
pub const GROUPS: usize = (DOMAINS * STACKS * PORTS) as usize;
/// Devices: the root port, the PF and its VFs, per group.
pub const DEVICES: usize = GROUPS * (2 + VFS as usize);

/// The name of the file that marks a directory as a generated tree (and so one that
/// [`BigHost::write_tree`] may replace).
pub const MARKER: &str = ".vfio-iommu-info-big-host";
/// The layout's version, in the marker: bumped with any change to what
/// [`BigHost::write_tree`] writes, so that an older tree is replaced.
const LAYOUT: u32 = 1;
/// The kernel release the tree (and so its snapshot) says it runs.
pub const OSRELEASE: &str = "6.12.0-big-host-bench\n";
/// What every group's `reserved_regions` says (Intel's MSI window).
pub const RESERVED_REGIONS: &str = "0x00000000fee00000 0x00000000feefffff msi\n";
/// Every group's default domain type.
pub const DOMAIN_TYPE: &str = "DMA-FQ\n";
/// The VT-d registers every unit shows (those of the lab's 48-bit intel-iommu).
const VTD_CAP: &str = "d2008c222f0686\n";
const VTD_ECAP: &str = "f00f4a\n";

/// What a function is in the SR-IOV layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The root port above the adapter (a PCI-to-PCI bridge, header type 1).
    RootPort {
        /// Its secondary (and subordinate) bus.
        secondary: u8,
    },
    /// The adapter's physical function.
    PhysicalFunction,
    /// One of the PF's virtual functions (its index, from 0).
    VirtualFunction(u32),
}

/// One PCI function of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its address.
    pub address: PciAddress,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// Class code (24 bits).
    pub class: u32,
    /// Revision id.
    pub revision: u8,
    /// The driver bound to it, `None` when unbound.
    pub driver: Option<&'static str>,
    /// Its directory, relative to `/sys` (`devices/pci0000:00/0000:00:01.0/0000:01:00.0`).
    pub dir: String,
    /// What it is.
    pub role: Role,
}

/// One IOMMU group: a root port, the PF below it and the PF's VFs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its number.
    pub number: u32,
    /// Its functions, in address order.
    pub functions: Vec<Function>,
    /// The VT-d unit its devices sit behind (`dmar7`).
    pub iommu: String,
}

impl Group {
    /// Whether `/dev/vfio/N` exists: a device of the group is on `vfio-pci`.
    pub fn has_vfio_node(&self) -> bool {
        self.functions.iter().any(|f| f.driver == Some("vfio-pci"))
    }
}

/// The whole host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigHost {
    /// Its groups, by number.
    pub groups: Vec<Group>,
}

impl Default for BigHost {
    fn default() -> Self {
        BigHost::new()
    }
}

/// `n` times `../`: from a directory `n` levels below `/sys` back to `/sys`.
fn up(n: usize) -> String {
    "../".repeat(n)
}

/// The number of components of `dir` (relative to `/sys`).
fn depth(dir: &str) -> usize {
    dir.split('/').count()
}

impl BigHost {
    /// The layout the module's documentation describes.
    pub fn new() -> BigHost {
        BigHost::with_domains(DOMAINS)
    }

    /// The same layout over `domains` PCI segments (128 groups each): smaller hosts for
    /// the tests.
    pub fn with_domains(domains: u32) -> BigHost {
        let mut groups = Vec::with_capacity((domains * STACKS * PORTS) as usize);
        for domain in 0..domains {
            for stack in 0..STACKS {
                let root_bus = (stack * 0x20) as u8;
                let bridge = format!("devices/pci{domain:04x}:{root_bus:02x}");
                for port in 0..PORTS {
                    let number = groups.len() as u32;
                    let secondary = root_bus + 1 + port as u8;
                    let port_address = PciAddress {
                        domain,
                        bus: root_bus,
                        device: 1 + port as u8,
                        function: 0,
                    };
                    let port_dir = format!("{bridge}/{port_address}");
                    let (pf_driver, vf_driver): (&'static str, fn(u32) -> Option<&'static str>) =
                        match number % 4 {
                            0 => ("vfio-pci", |_| Some("vfio-pci")),
                            1 => ("mlx5_core", |_| Some("vfio-pci")),
                            2 => ("mlx5_core", |_| Some("mlx5_core")),
                            _ => ("mlx5_core", |vf| (vf == 0).then_some("vfio-pci")),
                        };
                    let mut functions = vec![Function {
                        address: port_address,
                        vendor: 0x8086,
                        device: 0x2030 + (port % 4) as u16,
                        class: 0x060400,
                        revision: 0x04,
                        driver: Some("pcieport"),
                        dir: port_dir.clone(),
                        role: Role::RootPort { secondary },
                    }];
                    for function in 0..=VFS {
                        let address = PciAddress {
                            domain,
                            bus: secondary,
                            device: 0,
                            function: function as u8,
                        };
                        let (device, driver, role) = match function {
                            0 => (0x1017, Some(pf_driver), Role::PhysicalFunction),
                            vf => (0x1018, vf_driver(vf - 1), Role::VirtualFunction(vf - 1)),
                        };
                        functions.push(Function {
                            address,
                            vendor: 0x15b3,
                            device,
                            class: 0x020000,
                            revision: 0,
                            driver,
                            dir: format!("{port_dir}/{address}"),
                            role,
                        });
                    }
                    groups.push(Group {
                        number,
                        functions,
                        iommu: format!("dmar{}", domain * STACKS + stack),
                    });
                }
            }
        }
        BigHost { groups }
    }

    /// Every function, group by group.
    pub fn functions(&self) -> impl Iterator<Item = (&Group, &Function)> {
        self.groups
            .iter()
            .flat_map(|g| g.functions.iter().map(move |f| (g, f)))
    }

    /// What [`MARKER`] says of a tree of this host.
    fn marker_text(&self) -> String {
        format!(
            "a fake host written by bench/src/big_host.rs: layout {LAYOUT}, {} groups\n",
            self.groups.len()
        )
    }

    /// Writes the host under `root`: `root/sys` (the sysfs tree), `root/dev/vfio` (the
    /// group nodes, as regular files) and `root/proc/sys/kernel/osrelease`. A `root` that
    /// exists is replaced only when it is a tree this function wrote (it holds
    /// [`MARKER`]); anything else there is an error. A tree this layout wrote before is
    /// kept as it is (ext4 creates files slowly for a while after a large deletion, so
    /// rewriting the 77,000 entries can take seconds instead of one): returns whether the
    /// tree was written (`false`: kept).
    pub fn write_tree(&self, root: &Path) -> io::Result<bool> {
        if root.exists() {
            match fs::read_to_string(root.join(MARKER)) {
                Ok(text) if text == self.marker_text() => return Ok(false),
                Ok(_) => fs::remove_dir_all(root)?,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "{} exists and is not a generated tree (no {MARKER}): not replacing it",
                            root.display()
                        ),
                    ))
                }
            }
        }
        let sys = root.join("sys");
        fs::create_dir_all(&sys)?;
        let dir = |relative: &str| -> io::Result<PathBuf> {
            let path = sys.join(relative);
            fs::create_dir_all(&path)?;
            Ok(path)
        };
        for driver in ["pcieport", "mlx5_core", "vfio-pci"] {
            dir(&format!("bus/pci/drivers/{driver}"))?;
        }
        let devices = dir("bus/pci/devices")?;
        dir("kernel/iommu_groups")?;
        let class_iommu = dir("class/iommu")?;
        for unit in 0..DOMAINS * STACKS {
            let name = format!("dmar{unit}");
            let registers = dir(&format!("devices/virtual/iommu/{name}/intel-iommu"))?;
            fs::write(registers.join("cap"), VTD_CAP)?;
            fs::write(registers.join("ecap"), VTD_ECAP)?;
            symlink(
                format!("../../devices/virtual/iommu/{name}"),
                class_iommu.join(&name),
            )?;
        }
        for group in &self.groups {
            let gdir = dir(&format!("kernel/iommu_groups/{}", group.number))?;
            fs::write(gdir.join("type"), DOMAIN_TYPE)?;
            fs::write(gdir.join("reserved_regions"), RESERVED_REGIONS)?;
            let members = dir(&format!("kernel/iommu_groups/{}/devices", group.number))?;
            for f in &group.functions {
                let fdir = dir(&f.dir)?;
                write_function(&fdir, f, group)?;
                let name = f.address.to_string();
                symlink(format!("{}{}", up(4), f.dir), members.join(&name))?;
                symlink(format!("{}{}", up(3), f.dir), devices.join(&name))?;
            }
        }
        for (module, params) in [
            ("vfio", &[("enable_unsafe_noiommu_mode", "N\n")][..]),
            (
                "vfio_iommu_type1",
                &[
                    ("allow_unsafe_interrupts", "N\n"),
                    ("disable_hugepages", "N\n"),
                    ("dma_entry_limit", "65535\n"),
                ][..],
            ),
            (
                "vfio_pci",
                &[
                    ("disable_idle_d3", "N\n"),
                    ("enable_sriov", "Y\n"),
                    ("ids", "\n"),
                    ("nointxmask", "N\n"),
                ][..],
            ),
        ] {
            let p = dir(&format!("module/{module}/parameters"))?;
            for (name, value) in params {
                fs::write(p.join(name), value)?;
            }
        }
        let vfio = root.join("dev/vfio");
        fs::create_dir_all(&vfio)?;
        fs::write(vfio.join("vfio"), "")?;
        for group in self.groups.iter().filter(|g| g.has_vfio_node()) {
            fs::write(vfio.join(group.number.to_string()), "")?;
        }
        let kernel = root.join("proc/sys/kernel");
        fs::create_dir_all(&kernel)?;
        fs::write(kernel.join("osrelease"), OSRELEASE)?;
        // Last: a tree cut short (an error, a kill) is never taken for a whole one.
        fs::write(root.join(MARKER), self.marker_text())?;
        Ok(true)
    }

    /// The paths of the tree under `root` (as [`BigHost::write_tree`] wrote it), read live.
    pub fn paths(root: &Path) -> HostPaths {
        HostPaths {
            vfio_dir: root.join("dev/vfio"),
            sysfs: Sysfs::new(root.join("sys")),
            iommufd: root.join("dev/iommu"),
            proc: root.join("proc"),
        }
    }

    /// The snapshot of the tree under `root`, as `vfio-iommu-info snapshot` would take it
    /// on this host: recorded by the library's own [`vfio_iommu_info::snapshot::take`] over
    /// the tree, which names what it read under the host's paths (the tree's `sys/...` is
    /// recorded as `/sys/...`, its `proc/sys/kernel/osrelease` as the kernel release). The
    /// rest is made deterministic: the machine is x86_64 (the reserved regions are
    /// Intel's), pci.ids holds the lines of `pci_ids` (a pci.ids file) that name the host's
    /// devices, or no file when `None`, instead of this machine's; and no container is
    /// recorded (the tree's group nodes are plain files that no container can be opened
    /// on; `list` asks none).
    ///
    /// # Errors
    /// `root` cannot be resolved, `pci_ids` cannot be read, or the recording holds a path
    /// outside the tree or lacks the tree's kernel release.
    pub fn snapshot(&self, root: &Path, pci_ids: Option<&Path>) -> io::Result<Snapshot> {
        let root = fs::canonicalize(root)?;
        let taken = vfio_iommu_info::snapshot::take(&BigHost::paths(&root));
        let mut files: RecordedTree = taken
            .files
            .iter()
            .filter(|(key, _)| {
                !vfio_iommu_info::sys::pci_ids::PATHS
                    .iter()
                    .any(|p| p.trim_start_matches('/') == key.as_str())
            })
            .map(|(key, node)| (key.clone(), node.clone()))
            .collect();
        if let Some(key) = files
            .keys()
            .find(|k| !["sys/", "dev/", "proc/"].iter().any(|r| k.starts_with(r)))
        {
            return Err(io::Error::other(format!(
                "the recording read /{key}, outside the tree"
            )));
        }
        let osrelease = files
            .get("proc/sys/kernel/osrelease")
            .and_then(|n| n.file.clone());
        if osrelease != Some(Ok(OSRELEASE.as_bytes().to_vec())) {
            return Err(io::Error::other(format!(
                "the recording holds {osrelease:?} as the kernel release, not the tree's"
            )));
        }
        let ids: Vec<(u16, u16)> = self
            .functions()
            .map(|(_, f)| (f.vendor, f.device))
            .collect();
        let pci_ids_node = match pci_ids {
            Some(path) => Ok(PciIds::parse(&String::from_utf8_lossy(&fs::read(path)?))
                .subset(ids)
                .into_bytes()),
            None => Err(ENOENT),
        };
        files.insert(
            "usr/share/misc/pci.ids".to_owned(),
            RecordedNode {
                file: Some(pci_ids_node),
                ..RecordedNode::default()
            },
        );
        Ok(Snapshot {
            taken_by: taken.taken_by,
            machine: vfio_iommu_info::snapshot::Machine {
                arch: "x86_64".to_owned(),
                byte_order: ByteOrder::Little,
                page_size: 4096,
            },
            taken_as: vfio_iommu_info::snapshot::TakenAs::default(),
            files: Arc::new(files),
            containers: Vec::new(),
            spapr_tce: Vec::new(),
            devices: Vec::new(),
            iommufd: Vec::new(),
        })
    }
}

/// Linux's ENOENT: what a host without pci.ids answers (the bench crate has no libc).
const ENOENT: i32 = 2;

/// The 256 bytes of a function's configuration space: ids, command, revision, class,
/// header type, and a bridge's bus numbers (what `lspci -nn` reads).
pub fn config_space(f: &Function) -> [u8; 256] {
    let mut c = [0u8; 256];
    c[0..2].copy_from_slice(&f.vendor.to_le_bytes());
    c[2..4].copy_from_slice(&f.device.to_le_bytes());
    // Memory space and bus master enabled.
    c[4..6].copy_from_slice(&0x0006u16.to_le_bytes());
    c[8] = f.revision;
    c[9] = f.class as u8;
    c[10] = (f.class >> 8) as u8;
    c[11] = (f.class >> 16) as u8;
    if let Role::RootPort { secondary } = f.role {
        c[0x0e] = 1;
        c[0x18] = f.address.bus;
        c[0x19] = secondary;
        c[0x1a] = secondary;
    } else {
        c[0x2c..0x2e].copy_from_slice(&f.vendor.to_le_bytes());
        c[0x2e..0x30].copy_from_slice(&0x0008u16.to_le_bytes());
    }
    c
}

/// One function's sysfs directory: its attributes, `config`, `resource`, and its `driver`,
/// `iommu_group`, `iommu` and SR-IOV (`physfn`, `virtfnN`) links.
fn write_function(fdir: &Path, f: &Function, group: &Group) -> io::Result<()> {
    let d = depth(&f.dir);
    for (name, value) in [
        ("vendor", format!("0x{:04x}\n", f.vendor)),
        ("device", format!("0x{:04x}\n", f.device)),
        ("class", format!("0x{:06x}\n", f.class)),
        ("revision", format!("0x{:02x}\n", f.revision)),
        (
            "subsystem_vendor",
            format!("0x{:04x}\n", if f.vendor == 0x15b3 { 0x15b3 } else { 0 }),
        ),
        (
            "subsystem_device",
            format!("0x{:04x}\n", if f.vendor == 0x15b3 { 8 } else { 0 }),
        ),
        ("irq", "0\n".to_owned()),
        ("numa_node", format!("{}\n", f.address.domain % 2)),
    ] {
        fs::write(fdir.join(name), value)?;
    }
    fs::write(fdir.join("config"), config_space(f))?;
    // No BAR, ROM, SR-IOV BAR or bridge window assigned (what `lspci -v` reads).
    fs::write(
        fdir.join("resource"),
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n".repeat(17),
    )?;
    if let Some(driver) = f.driver {
        symlink(
            format!("{}bus/pci/drivers/{driver}", up(d)),
            fdir.join("driver"),
        )?;
    }
    symlink(
        format!("{}kernel/iommu_groups/{}", up(d), group.number),
        fdir.join("iommu_group"),
    )?;
    symlink(
        format!("{}devices/virtual/iommu/{}", up(d), group.iommu),
        fdir.join("iommu"),
    )?;
    match f.role {
        Role::PhysicalFunction => {
            fs::write(fdir.join("sriov_totalvfs"), "8\n")?;
            fs::write(fdir.join("sriov_numvfs"), format!("{VFS}\n"))?;
            for vf in 0..VFS {
                let a = PciAddress {
                    function: f.address.function + 1 + vf as u8,
                    ..f.address
                };
                symlink(format!("../{a}"), fdir.join(format!("virtfn{vf}")))?;
            }
        }
        Role::VirtualFunction(_) => {
            let pf = PciAddress {
                function: 0,
                ..f.address
            };
            symlink(format!("../{pf}"), fdir.join("physfn"))?;
        }
        Role::RootPort { .. } => {}
    }
    Ok(())
}

/// `devices` without their pci.ids names: what a tree read live (named from this
/// machine's pci.ids) and its snapshot (named from the one it was given) share.
pub fn without_names(devices: Vec<ListedDevice>) -> Vec<ListedDevice> {
    devices
        .into_iter()
        .map(|d| ListedDevice { name: None, ..d })
        .collect()
}

/// One device as `list` shows it: group, address, ids, class, driver and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDevice {
    /// Its group.
    pub group: u32,
    /// Its address.
    pub address: String,
    /// Vendor and device ids.
    pub ids: Option<(u16, u16)>,
    /// Class code.
    pub class: Option<u32>,
    /// Its driver.
    pub driver: Option<String>,
    /// Its pci.ids name.
    pub name: Option<String>,
}

/// What `list` reads, as `cli/src/list.rs`'s `collect` reads it through the library
/// (every group, its devices and drivers, their ids and pci.ids names, the group's type,
/// `/dev/vfio/N`, the reserved regions), without the rendering: the in-process figure of
/// the benchmark, and the check that the tree and its snapshot answer alike.
///
/// # Errors
/// The first group or file that cannot be read (a snapshot that lacks an answer).
pub fn list_reads(paths: &HostPaths) -> Result<Vec<ListedDevice>, vfio_iommu_info::Error> {
    let ids = PciIds::load(paths.view());
    let sysfs = &paths.sysfs;
    let mut out = Vec::new();
    for group in sysfs.groups()? {
        for d in sysfs.group_devices(group)? {
            let id = sysfs.pci_identity(&d.name);
            let pair = id.vendor.zip(id.device);
            out.push(ListedDevice {
                group,
                name: pair.and_then(|(v, p)| ids.name(v, p)),
                ids: pair,
                class: id.class,
                driver: d.driver,
                address: d.name,
            });
        }
        std::hint::black_box(sysfs.default_domain_type(group)?);
        std::hint::black_box(paths.exists(&paths.vfio_dir.join(group.to_string()))?);
        std::hint::black_box(sysfs.reserved_regions(group)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_has_1024_groups_of_4_and_4096_devices() {
        let host = BigHost::new();
        assert_eq!(host.groups.len(), GROUPS);
        assert_eq!(GROUPS, 1024);
        assert_eq!(host.functions().count(), DEVICES);
        assert_eq!(DEVICES, 4096);
        let mut addresses: Vec<PciAddress> = host.functions().map(|(_, f)| f.address).collect();
        addresses.sort_unstable();
        addresses.dedup();
        assert_eq!(addresses.len(), DEVICES, "every address once");
        assert_eq!(
            host.groups.iter().filter(|g| g.has_vfio_node()).count(),
            768
        );
    }

    #[test]
    fn the_tree_and_its_snapshot_list_alike() {
        let root = std::env::temp_dir().join(format!("big-host-test-{}", std::process::id()));
        // One segment: 128 groups, 512 devices (the whole host is 77,000 files).
        let host = BigHost::with_domains(1);
        assert!(host.write_tree(&root).unwrap());
        assert!(!host.write_tree(&root).unwrap(), "kept the second time");
        let ids = root.join("pci.ids");
        fs::write(
            &ids,
            "15b3  Mellanox Technologies\n\t1017  MT27800 Family [ConnectX-5]\n",
        )
        .unwrap();
        let live = list_reads(&BigHost::paths(&root)).unwrap();
        let snapshot = host.snapshot(&root, Some(&ids)).unwrap();
        let again = Snapshot::parse(snapshot.to_text().as_bytes()).unwrap();
        let replayed = list_reads(&again.paths()).unwrap();
        assert_eq!(live.len(), 512);
        assert_eq!(live.len(), host.functions().count());
        // The live reads name devices from this machine's pci.ids, if any.
        assert_eq!(without_names(live), without_names(replayed.clone()));
        let first = &replayed[1];
        assert_eq!(first.address, "0000:01:00.0");
        assert_eq!(first.ids, Some((0x15b3, 0x1017)));
        assert_eq!(first.driver.as_deref(), Some("vfio-pci"));
        assert_eq!(
            first.name.as_deref(),
            Some("Mellanox Technologies MT27800 Family [ConnectX-5]")
        );
        assert_eq!(
            replayed[2].name.as_deref(),
            Some("Mellanox Technologies device 1018")
        );
        assert_eq!(replayed[0].name, None, "no Intel in that pci.ids");
        assert!(
            host.write_tree(Path::new("/proc")).is_err(),
            "never replaces what it did not write"
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
