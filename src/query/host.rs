//! What a host offers VFIO, from sysfs alone (no root, no VFIO node opened): the facts a
//! fleet tool labels a node with or exports as metrics (`vfio-iommu-info list --format
//! nfd|prometheus`). Every number is decided here; the front ends only write them out.

use crate::decode::hw_info::VtdRegisters;
use crate::error::Error;
use crate::sys::limits::dma_entry_limit;
use crate::sys::paths::HostPaths;
use crate::sys::sysfs::blockers;

/// One IOMMU group, in numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group's number.
    pub group: u32,
    /// VFIO can use it: every device is on a VFIO driver or on none (see
    /// [`GroupBlocker`](crate::GroupBlocker)). `false` when the group could not be read.
    pub viable: bool,
    /// Its devices.
    pub devices: usize,
    /// Its reserved regions (`reserved_regions` in sysfs; 0 before Linux 4.11).
    pub reserved_regions: usize,
    /// The IOMMU unit behind it (`dmar0`, `ivhd0`...), when sysfs names one.
    pub iommu: Option<String>,
    /// The address width of a DMA domain Linux gives the group's devices: VT-d's
    /// [`paging_domain_width`](VtdRegisters::paging_domain_width) from the unit's registers
    /// in sysfs; `None` for other IOMMUs (their geometry is not in sysfs) and when the
    /// registers do not tell.
    pub address_width: Option<u8>,
    /// Why the group could not be read, when it could not (it vanished, a file was
    /// unreadable): the listing goes on without it.
    pub error: Option<String>,
}

/// The host, in numbers: its groups and the mapping limit of a new type1 container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSummary {
    /// Every IOMMU group, ascending.
    pub groups: Vec<GroupSummary>,
    /// The mappings a type1 container opened now accepts (DMA_AVAIL of a new container:
    /// `vfio_iommu_type1`'s `dma_entry_limit`); `None` when the module is not loaded
    /// (iommufd's compat container has no such count).
    pub dma_avail: Option<u32>,
}

impl HostSummary {
    /// Reads the host's groups, their devices, reserved regions and IOMMU units from
    /// sysfs. Fails only when the list of groups cannot be read; a group that cannot be
    /// read is kept with its [`GroupSummary::error`].
    pub fn read(paths: &HostPaths) -> Result<HostSummary, Error> {
        let sysfs = &paths.sysfs;
        let groups = sysfs
            .groups()?
            .into_iter()
            .map(|group| {
                let devices = match sysfs.group_devices(group) {
                    Ok(d) => d,
                    Err(e) => {
                        return GroupSummary {
                            group,
                            viable: false,
                            devices: 0,
                            reserved_regions: 0,
                            iommu: None,
                            address_width: None,
                            error: Some(e.to_string()),
                        }
                    }
                };
                let unit = sysfs.iommu_of_group(group).ok().flatten();
                GroupSummary {
                    group,
                    viable: blockers(&devices).is_empty(),
                    devices: devices.len(),
                    reserved_regions: sysfs.reserved_regions(group).map_or(0, |r| r.len()),
                    address_width: unit.as_ref().and_then(|u| u.vtd).and_then(|(cap, ecap)| {
                        VtdRegisters {
                            flags: 0,
                            cap,
                            ecap,
                        }
                        .paging_domain_width()
                    }),
                    iommu: unit.map(|u| u.name),
                    error: None,
                }
            })
            .collect();
        Ok(HostSummary {
            groups,
            dma_avail: dma_entry_limit(sysfs),
        })
    }

    /// The host has an IOMMU serving devices: at least one IOMMU group.
    pub fn iommu_present(&self) -> bool {
        !self.groups.is_empty()
    }

    /// The groups VFIO can use.
    pub fn viable_groups(&self) -> usize {
        self.groups.iter().filter(|g| g.viable).count()
    }

    /// The host's address width for DMA: the narrowest width known among its groups
    /// (what fits a guest whichever of them it is given), `None` when no group's is known.
    pub fn address_width(&self) -> Option<u8> {
        self.groups.iter().filter_map(|g| g.address_width).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(group: u32, viable: bool, address_width: Option<u8>) -> GroupSummary {
        GroupSummary {
            group,
            viable,
            devices: 1,
            reserved_regions: 2,
            iommu: None,
            address_width,
            error: None,
        }
    }

    #[test]
    fn the_host_wide_figures() {
        let none = HostSummary {
            groups: vec![],
            dma_avail: None,
        };
        assert!(!none.iommu_present());
        assert_eq!((none.viable_groups(), none.address_width()), (0, None));
        let some = HostSummary {
            groups: vec![
                group(0, false, None),
                group(2, true, Some(48)),
                group(3, true, Some(39)),
            ],
            dma_avail: Some(65535),
        };
        assert!(some.iommu_present());
        assert_eq!(some.viable_groups(), 2);
        assert_eq!(some.address_width(), Some(39));
    }

    #[test]
    fn a_host_without_iommu_groups_reads_as_none() {
        let dir = std::env::temp_dir().join(format!("vfio-host-summary-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("kernel/iommu_groups")).unwrap();
        let paths = HostPaths {
            sysfs: crate::Sysfs::new(&dir),
            ..HostPaths::default()
        };
        let s = HostSummary::read(&paths).unwrap();
        assert!(!s.iommu_present());
        assert_eq!(s.dma_avail, None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
