//! What sysfs says about IOMMU groups: their devices and drivers, their reserved regions,
//! and the group of a PCI device.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Errno, Error, GroupBlocker};
use crate::iova::IovaRange;
use crate::sys::view::{as_not_recorded, FsView};

/// A PCI address, `domain:bus:device.function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    /// PCI segment (domain); 0 on most machines.
    pub domain: u32,
    /// Bus number.
    pub bus: u8,
    /// Device number (0-31).
    pub device: u8,
    /// Function number (0-7).
    pub function: u8,
}

/// A string that is not a PCI address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F in hex (0000:03:00.0)")]
pub struct ParsePciAddressError(pub String);

impl FromStr for PciAddress {
    type Err = ParsePciAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParsePciAddressError(s.to_owned());
        let (rest, function) = s.rsplit_once('.').ok_or_else(bad)?;
        let mut parts = rest.rsplit(':');
        let device = parts.next().ok_or_else(bad)?;
        let bus = parts.next().ok_or_else(bad)?;
        let domain = parts.next().unwrap_or("0");
        if parts.next().is_some() {
            return Err(bad());
        }
        let hex = |t: &str, max: u32| -> Result<u32, ParsePciAddressError> {
            if t.is_empty() || t.len() > 8 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let v = u32::from_str_radix(t, 16).map_err(|_| bad())?;
            if v > max {
                return Err(bad());
            }
            Ok(v)
        };
        Ok(PciAddress {
            domain: hex(domain, u32::MAX)?,
            bus: hex(bus, 0xff)? as u8,
            device: hex(device, 0x1f)? as u8,
            function: hex(function, 7)? as u8,
        })
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

/// The type of a reserved region in `/sys/kernel/iommu_groups/N/reserved_regions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegionKind {
    /// `direct`: identity-mapped for the device (an RMRR); excluded from the IOVA list.
    Direct,
    /// `direct-relaxable`: identity-mapped but may be given up (USB/graphics RMRRs, the
    /// ISA bridge's 0-16 MiB); *not* excluded from the IOVA list.
    DirectRelaxable,
    /// `reserved`: never mappable (AMD's HyperTransport hole, s390's windows).
    Reserved,
    /// `msi`: the MSI doorbell window (x86's 0xfee00000).
    Msi,
    /// A type this library does not know.
    Other(String),
}

impl RegionKind {
    /// The name sysfs uses.
    pub fn name(&self) -> &str {
        match self {
            RegionKind::Direct => "direct",
            RegionKind::DirectRelaxable => "direct-relaxable",
            RegionKind::Reserved => "reserved",
            RegionKind::Msi => "msi",
            RegionKind::Other(s) => s,
        }
    }

    /// Whether the kernel removes such a region from a VFIO container's IOVA list.
    pub fn excluded_from_iova_list(&self) -> bool {
        !matches!(self, RegionKind::DirectRelaxable)
    }
}

impl std::str::FromStr for RegionKind {
    type Err = std::convert::Infallible;

    /// The kind a `reserved_regions` type names; a type this library does not know is
    /// [`RegionKind::Other`], never an error.
    fn from_str(s: &str) -> Result<RegionKind, Self::Err> {
        Ok(match s {
            "direct" => RegionKind::Direct,
            "direct-relaxable" => RegionKind::DirectRelaxable,
            "reserved" => RegionKind::Reserved,
            "msi" => RegionKind::Msi,
            other => RegionKind::Other(other.to_owned()),
        })
    }
}

/// A PCI device's ids, as sysfs gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PciIdentity {
    /// The vendor id.
    pub vendor: Option<u16>,
    /// The device id.
    pub device: Option<u16>,
    /// The class code (24 bits).
    pub class: Option<u32>,
}

/// One line of `reserved_regions`: an inclusive range and its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReservedRegion {
    /// The addresses (inclusive end).
    pub range: IovaRange,
    /// The type.
    pub kind: RegionKind,
}

impl ReservedRegion {
    /// Whether the region shares an address with `range`.
    pub fn overlaps(&self, range: IovaRange) -> bool {
        self.range.start <= range.end && range.start <= self.range.end
    }

    /// Whether the region accounts for (part of) `hole` in a container's IOVA list: it
    /// overlaps it and is a kind the kernel removes from the list.
    pub fn causes_hole(&self, hole: IovaRange) -> bool {
        self.kind.excluded_from_iova_list() && self.overlaps(hole)
    }
}

/// Parses the text of a `reserved_regions` file (`0x00000000fee00000 0x00000000feefffff msi`
/// per line). Errors carry the 1-based line number, the line, and the problem.
pub fn parse_reserved_regions(text: &str) -> Result<Vec<ReservedRegion>, (usize, String, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fail = |problem: &str| (line_no, line.to_owned(), problem.to_owned());
        let mut fields = line.split_whitespace();
        let (Some(start), Some(end), Some(kind), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(fail("expected three fields: start end type"));
        };
        let num = |t: &str| {
            t.strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| fail("addresses must be 0x-prefixed hex of at most 64 bits"))
        };
        let range =
            IovaRange::new(num(start)?, num(end)?).ok_or_else(|| fail("start is above end"))?;
        let Ok(kind) = kind.parse::<RegionKind>();
        out.push(ReservedRegion { range, kind });
    }
    Ok(out)
}

/// A device in an IOMMU group and its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDevice {
    /// The device's name in sysfs: a PCI address for PCI devices.
    pub name: String,
    /// The bound driver, `None` when unbound.
    pub driver: Option<String>,
}

impl GroupDevice {
    /// Whether the device's driver lets VFIO use the group: unbound, a VFIO driver
    /// (vfio-pci and the vendor `*_vfio_pci` variants, vfio-platform...), or a driver
    /// that does no DMA of its own (pci-stub, pcieport).
    pub fn allows_vfio(&self) -> bool {
        match self.driver.as_deref() {
            None => true,
            Some(d) => d.contains("vfio") || d == "pci-stub" || d == "pcieport",
        }
    }
}

/// The devices of a group that keep VFIO from using it, with their drivers.
pub fn blockers(devices: &[GroupDevice]) -> Vec<GroupBlocker> {
    devices
        .iter()
        .filter(|d| !d.allows_vfio())
        .map(|d| GroupBlocker {
            device: d.name.clone(),
            driver: d.driver.clone().unwrap_or_default(),
        })
        .collect()
}

/// The IOMMU unit behind an IOMMU group, as sysfs shows it (`/sys/class/iommu/NAME`,
/// the target of each group device's `iommu` link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuUnit {
    /// Its name in `/sys/class/iommu` (`dmar0`, `ivhd0`, `smmu3.0x...`, `virtio0`...).
    pub name: String,
    /// VT-d's CAP_REG and ECAP_REG (`intel-iommu/cap` and `ecap`) for an Intel unit,
    /// `None` for every other kind.
    pub vtd: Option<(u64, u64)>,
}

/// A register file of sysfs: one hexadecimal number, without `0x`, and a newline.
fn parse_register(path: &Path, text: &str) -> Result<u64, Error> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    if t.is_empty() || t.len() > 16 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::SysfsFormat {
            path: path.to_owned(),
            line: 1,
            text: t.chars().take(80).collect(),
            problem: "expected a register as at most 16 hexadecimal digits".to_owned(),
        });
    }
    u64::from_str_radix(t, 16).map_err(|e| Error::SysfsFormat {
        path: path.to_owned(),
        line: 1,
        text: t.to_owned(),
        problem: e.to_string(),
    })
}

/// A sysfs tree (`/sys` on a live system; another root in tests), read through a
/// [`FsView`] (live, recording for a snapshot, or replaying one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
    view: FsView,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new("/sys")
    }
}

/// A failed read of `path` as the library's error, with what to do (or what the
/// replayed snapshot lacks).
pub(crate) fn sysfs_error(path: &Path, e: io::Error) -> Error {
    if let Some(missing) = as_not_recorded(&e) {
        return Error::Sysfs {
            path: path.to_owned(),
            errno: Errno(libc::ENODATA),
            hint: Some(missing.to_string()),
        };
    }
    let errno = Errno::from(e);
    let hint = match errno.0 {
        libc::ENOENT => Some("missing (no IOMMU, or the kernel does not expose it)".to_owned()),
        libc::EACCES | libc::EPERM => Some("permission denied: run as root".to_owned()),
        _ => None,
    };
    Error::Sysfs {
        path: path.to_owned(),
        errno,
        hint,
    }
}

/// The text of the sysfs file `path`, or an error naming the line that is not UTF-8 (the
/// kernel writes ASCII: such a file is not the kernel's).
fn utf8_text(path: &Path, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| at + i);
        Error::SysfsFormat {
            path: path.to_owned(),
            line: bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1,
            text: String::from_utf8_lossy(&bytes[start..end]).into_owned(),
            problem: format!(
                "byte {at} of the file is not UTF-8: the kernel writes ASCII here, so the file is corrupt or not the kernel's"
            ),
        }
    })
}

impl Sysfs {
    /// A sysfs mounted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs {
            root: root.into(),
            view: FsView::Live,
        }
    }

    /// The same tree read through `view` (recording a snapshot, or replaying one).
    pub fn with_view(self, view: FsView) -> Self {
        Sysfs { view, ..self }
    }

    /// How this tree is read.
    pub fn view(&self) -> &FsView {
        &self.view
    }

    /// The text of a file of this tree, trimmed; `None` when it cannot be read.
    pub fn read_trimmed(&self, relative: &str) -> Option<String> {
        self.view
            .read_to_string(&self.root.join(relative))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// The root of this tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `/sys/kernel/iommu_groups/N`.
    pub fn group_dir(&self, group: u32) -> PathBuf {
        self.root.join(format!("kernel/iommu_groups/{group}"))
    }

    /// `/sys/bus/pci/devices/ADDRESS`.
    pub fn pci_device_dir(&self, address: &PciAddress) -> PathBuf {
        self.root.join(format!("bus/pci/devices/{address}"))
    }

    /// Every IOMMU group, ascending. Empty when the IOMMU is off (the directory exists
    /// but is empty) or absent.
    pub fn groups(&self) -> Result<Vec<u32>, Error> {
        let dir = self.root.join("kernel/iommu_groups");
        let entries = match self.view.read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(sysfs_error(&dir, e)),
        };
        let mut groups: Vec<u32> = entries
            .iter()
            .filter_map(|e| e.to_str()?.parse().ok())
            .collect();
        groups.sort_unstable();
        Ok(groups)
    }

    /// The IOMMU group of a PCI device.
    pub fn group_of_device(&self, address: &PciAddress) -> Result<u32, Error> {
        let dev = self.pci_device_dir(address);
        if !self
            .view
            .exists_checked(&dev)
            .map_err(|e| sysfs_error(&dev, e))?
        {
            return Err(Error::NoSuchDevice {
                address: address.to_string(),
                path: dev,
            });
        }
        let link = dev.join("iommu_group");
        let target = match self.view.read_link(&link) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NoIommuGroup {
                    address: address.to_string(),
                    path: link,
                })
            }
            Err(e) => return Err(sysfs_error(&link, e)),
        };
        target
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::SysfsFormat {
                path: link,
                line: 1,
                text: target.display().to_string(),
                problem: "the link does not end in a group number".to_owned(),
            })
    }

    /// The reserved regions of a PCI device's IOMMU group.
    pub fn reserved_regions_of_device(
        &self,
        address: &PciAddress,
    ) -> Result<Vec<ReservedRegion>, Error> {
        self.reserved_regions(self.group_of_device(address)?)
    }

    /// The driver a PCI device is bound to (`None` when unbound).
    pub fn driver_of_device(&self, address: &PciAddress) -> Result<Option<String>, Error> {
        let dev = self.pci_device_dir(address);
        if !self
            .view
            .exists_checked(&dev)
            .map_err(|e| sysfs_error(&dev, e))?
        {
            return Err(Error::NoSuchDevice {
                address: address.to_string(),
                path: dev,
            });
        }
        let link = dev.join("driver");
        match self.view.read_link(&link) {
            Ok(t) => Ok(t.file_name().map(|n| n.to_string_lossy().into_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(sysfs_error(&link, e)),
        }
    }

    /// The name of a PCI device's VFIO character device (`vfio0`, from
    /// `.../DEVICE/vfio-dev/vfio0/dev`), `None` when it has none (not on a VFIO driver, or
    /// a kernel without `CONFIG_VFIO_DEVICE_CDEV`, whose `vfio-dev` entries have no `dev`).
    pub fn vfio_cdev_of_device(&self, address: &PciAddress) -> Result<Option<String>, Error> {
        let dir = self.pci_device_dir(address).join("vfio-dev");
        let entries = match self.view.read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(sysfs_error(&dir, e)),
        };
        // Every VFIO device has a vfio-dev entry (Linux 6.1+); only those with a device
        // node (CONFIG_VFIO_DEVICE_CDEV) have its `dev` number.
        let mut names: Vec<String> = entries
            .into_iter()
            .filter_map(|e| e.into_string().ok())
            .filter(|n| self.view.exists(&dir.join(n).join("dev")))
            .filter(|n| {
                n.strip_prefix("vfio")
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect();
        names.sort_unstable();
        Ok(names.into_iter().next())
    }

    /// The devices of a group with their drivers, sorted by name.
    pub fn group_devices(&self, group: u32) -> Result<Vec<GroupDevice>, Error> {
        let dir = self.group_dir(group).join("devices");
        let mut devices = Vec::new();
        for entry in self.view.read_dir(&dir).map_err(|e| sysfs_error(&dir, e))? {
            let name = entry.to_string_lossy().into_owned();
            let driver = self
                .view
                .read_link(&dir.join(&entry).join("driver"))
                .ok()
                .and_then(|t| Some(t.file_name()?.to_string_lossy().into_owned()));
            devices.push(GroupDevice { name, driver });
        }
        devices.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(devices)
    }

    /// The devices that keep a group from being viable for VFIO, with their drivers.
    pub fn group_blockers(&self, group: u32) -> Result<Vec<GroupBlocker>, Error> {
        Ok(blockers(&self.group_devices(group)?))
    }

    /// The IOMMU group of a VFIO group node, from the node's device number `rdev`,
    /// whatever its path: the kernel names a group's device after the group, so
    /// `dev/char/MAJOR:MINOR` links to `.../virtual/vfio/N`. `None` when the link is missing
    /// or names no group number (a `noiommu-N` node, or a device that is not a group).
    pub fn vfio_group_of_rdev(&self, rdev: u64) -> Option<u32> {
        let link = self.root.join(format!(
            "dev/char/{}:{}",
            libc::major(rdev),
            libc::minor(rdev)
        ));
        let target = self.view.read_link(&link).ok()?;
        let name = target.file_name()?.to_str()?;
        // Exactly the kernel's "%d": no sign, no leading zero.
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_digit())
            || name.len() > 1 && name.starts_with('0')
        {
            return None;
        }
        name.parse().ok()
    }

    /// The IOMMU unit the devices of `group` sit behind (their `iommu` links), `None`
    /// when no device of the group has the link (an IOMMU driver that registers no sysfs
    /// device, or a kernel before 4.11). A group never spans two units; devices that say
    /// otherwise are an error naming both.
    pub fn iommu_of_group(&self, group: u32) -> Result<Option<IommuUnit>, Error> {
        let mut unit: Option<(String, PathBuf)> = None;
        for device in self.group_devices(group)? {
            let link = self
                .group_dir(group)
                .join("devices")
                .join(&device.name)
                .join("iommu");
            let target = match self.view.read_link(&link) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(sysfs_error(&link, e)),
            };
            let name = target
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Error::SysfsFormat {
                    path: link.clone(),
                    line: 1,
                    text: target.display().to_string(),
                    problem: "the link does not end in an IOMMU's name".to_owned(),
                })?
                .to_owned();
            match &unit {
                Some((seen, first)) if *seen != name => {
                    return Err(Error::SysfsFormat {
                        path: link,
                        line: 1,
                        text: target.display().to_string(),
                        problem: format!(
                            "the group's devices name two IOMMUs, {seen} ({}) and {name}: a group never spans two",
                            first.display()
                        ),
                    })
                }
                Some(_) => {}
                None => unit = Some((name, link)),
            }
        }
        let Some((name, _)) = unit else {
            return Ok(None);
        };
        let vtd = self.vtd_registers(&name)?;
        Ok(Some(IommuUnit { name, vtd }))
    }

    /// VT-d's CAP_REG and ECAP_REG of the unit `name` (`/sys/class/iommu/NAME/intel-iommu/`),
    /// `None` when the unit is not Intel's (no such directory).
    fn vtd_registers(&self, name: &str) -> Result<Option<(u64, u64)>, Error> {
        let dir = self.root.join("class/iommu").join(name).join("intel-iommu");
        let read = |file: &str| -> Result<Option<u64>, Error> {
            let path = dir.join(file);
            match self.view.read(&path) {
                Ok(bytes) => Ok(Some(parse_register(&path, &utf8_text(&path, bytes)?)?)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(sysfs_error(&path, e)),
            }
        };
        match (read("cap")?, read("ecap")?) {
            (Some(cap), Some(ecap)) => Ok(Some((cap, ecap))),
            (None, None) => Ok(None),
            _ => Err(Error::SysfsFormat {
                path: dir,
                line: 1,
                text: String::new(),
                problem: "an Intel IOMMU with only one of cap and ecap".to_owned(),
            }),
        }
    }

    /// The group's reserved regions, as the kernel lists them.
    pub fn reserved_regions(&self, group: u32) -> Result<Vec<ReservedRegion>, Error> {
        let path = self.group_dir(group).join("reserved_regions");
        let bytes = self.view.read(&path).map_err(|e| sysfs_error(&path, e))?;
        let text = utf8_text(&path, bytes)?;
        parse_reserved_regions(&text).map_err(|(line, text, problem)| Error::SysfsFormat {
            path,
            line,
            text,
            problem,
        })
    }

    /// The reserved regions of every group of `groups`, in order (what a container of
    /// them reserves).
    pub fn reserved_regions_of_groups(
        &self,
        groups: impl IntoIterator<Item = u32>,
    ) -> Result<Vec<ReservedRegion>, Error> {
        let mut regions = Vec::new();
        for group in groups {
            regions.extend(self.reserved_regions(group)?);
        }
        Ok(regions)
    }

    /// A PCI device's vendor, device and class ids (`vendor`, `device`, `class` under
    /// its sysfs directory), each `None` when unreadable.
    pub fn pci_identity(&self, name: &str) -> PciIdentity {
        let dir = self.root.join("bus/pci/devices").join(name);
        let read = |f: &str| -> Option<u32> {
            let text = self.view.read_to_string(&dir.join(f)).ok()?;
            u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
        };
        PciIdentity {
            vendor: read("vendor").and_then(|v| u16::try_from(v).ok()),
            device: read("device").and_then(|v| u16::try_from(v).ok()),
            class: read("class"),
        }
    }

    /// A parameter of the module that provides the type1 container (`vfio_iommu_type1`,
    /// or `iommufd` when its VFIO compatibility serves `/dev/vfio/vfio`), as the first of
    /// them that has it says: `allow_unsafe_interrupts`, `dma_entry_limit`.
    pub fn type1_module_param(&self, name: &str) -> Option<String> {
        ["vfio_iommu_type1", "iommufd"]
            .iter()
            .find_map(|m| self.read_trimmed(&format!("module/{m}/parameters/{name}")))
    }

    /// Whether the kernel has the module `name` (`/sys/module/NAME`, built in or loaded).
    pub fn has_module(&self, name: &str) -> bool {
        self.view.exists(&self.root.join("module").join(name))
    }

    /// Whether a VFIO PCI driver is registered (a `bus/pci/drivers/*vfio*`).
    pub fn has_vfio_pci_driver(&self) -> bool {
        self.view
            .read_dir(&self.root.join("bus/pci/drivers"))
            .map(|d| d.iter().any(|e| e.to_string_lossy().contains("vfio")))
            .unwrap_or(false)
    }

    /// The group's default domain type (`DMA`, `DMA-FQ`, `identity`, `blocked`), when the
    /// kernel exposes it (Linux 5.11+).
    pub fn default_domain_type(&self, group: u32) -> Result<Option<String>, Error> {
        let path = self.group_dir(group).join("type");
        match self.view.read(&path) {
            Ok(t) => Ok(Some(utf8_text(&path, t)?.trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(sysfs_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn pci_addresses_parse_and_print() {
        let a: PciAddress = "0000:03:00.0".parse().unwrap();
        assert_eq!(
            a,
            PciAddress {
                domain: 0,
                bus: 3,
                device: 0,
                function: 0
            }
        );
        let b: PciAddress = "00:1f.2".parse().unwrap();
        assert_eq!(b.to_string(), "0000:00:1f.2");
        let c: PciAddress = "10000:e1:1f.7".parse().unwrap();
        assert_eq!(c.to_string(), "10000:e1:1f.7");
        for bad in [
            "",
            "03:00",
            "0000:03:20.0",
            "03:00.8",
            "x3:00.0",
            "0:0:0:0.0",
            "03:00.0 ",
            "-1:00.0",
            "1ff:00.0",
        ] {
            assert!(bad.parse::<PciAddress>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_group_node_is_named_by_its_device_link_whatever_its_path() {
        let root = std::env::temp_dir().join(format!("vii-sysfs-rdev-{}", std::process::id()));
        let chr = root.join("dev/char");
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&chr).unwrap();
        let link = |name: &str, target: &str| {
            std::os::unix::fs::symlink(target, chr.join(name)).unwrap();
        };
        // As on a Linux 6.12 guest: major 244 is vfio's, the group devices are virtual.
        link("244:0", "../../devices/virtual/vfio/7");
        link("244:1", "../../devices/virtual/vfio/noiommu-3");
        link("244:2", "../../devices/virtual/vfio/07");
        link("1:3", "../../devices/virtual/mem/null");
        let sysfs = Sysfs::new(&root);
        let dev = |major: u32, minor: u32| libc::makedev(major, minor);
        assert_eq!(sysfs.vfio_group_of_rdev(dev(244, 0)), Some(7));
        assert_eq!(sysfs.vfio_group_of_rdev(dev(244, 1)), None);
        assert_eq!(sysfs.vfio_group_of_rdev(dev(244, 2)), None);
        assert_eq!(sysfs.vfio_group_of_rdev(dev(1, 3)), None);
        assert_eq!(sysfs.vfio_group_of_rdev(dev(244, 9)), None, "no link");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn reserved_regions_parse_real_lines() {
        // From a Linux 6.12 guest with amd-iommu and its ISA bridge group.
        let text = "0x0000000000000000 0x0000000000ffffff direct-relaxable\n\
                    0x00000000fee00000 0x00000000feefffff msi\n\
                    0x000000fd00000000 0x000000ffffffffff reserved\n";
        let r = parse_reserved_regions(text).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].kind, RegionKind::DirectRelaxable);
        assert!(!r[0].kind.excluded_from_iova_list());
        assert_eq!(
            r[1].range,
            IovaRange::new(0xfee0_0000, 0xfeef_ffff).unwrap()
        );
        assert_eq!(r[2].kind, RegionKind::Reserved);
        assert!(r[2].kind.excluded_from_iova_list());
        assert_eq!(parse_reserved_regions("").unwrap(), vec![]);
    }

    #[test]
    fn reserved_regions_reject_bad_lines_with_line_numbers() {
        let (line, _, problem) =
            parse_reserved_regions("0x0 0xff msi\n0xff 0x0 msi\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(problem.contains("above"));
        assert_eq!(parse_reserved_regions("0x0 msi").unwrap_err().0, 1);
        assert_eq!(
            parse_reserved_regions("0x0 0x10000000000000000 msi")
                .unwrap_err()
                .0,
            1
        );
        assert_eq!(parse_reserved_regions("10 20 msi").unwrap_err().0, 1);
        let other = parse_reserved_regions("0x0 0x1 future-kind").unwrap();
        assert_eq!(other[0].kind, RegionKind::Other("future-kind".into()));
    }

    #[test]
    fn vfio_friendly_drivers() {
        let d = |driver: Option<&str>| GroupDevice {
            name: "0000:00:1f.2".into(),
            driver: driver.map(str::to_owned),
        };
        assert!(d(None).allows_vfio());
        assert!(d(Some("vfio-pci")).allows_vfio());
        assert!(d(Some("mlx5_vfio_pci")).allows_vfio());
        assert!(d(Some("pci-stub")).allows_vfio());
        assert!(!d(Some("ahci")).allows_vfio());
        assert!(!d(Some("lpc_ich")).allows_vfio());
    }
}
