//! Vendor and device names from the system's pci.ids database, when it has one.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use crate::sys::view::FsView;

/// The places distributions install pci.ids, the first that exists serving.
pub const PATHS: [&str; 3] = [
    "/usr/share/misc/pci.ids",
    "/usr/share/hwdata/pci.ids",
    "/usr/share/pci.ids",
];

/// Vendor and device names by id.
#[derive(Debug, Default)]
pub struct PciIds {
    vendors: HashMap<u16, String>,
    devices: HashMap<(u16, u16), String>,
}

impl PciIds {
    /// The system's database as `view` reads it, or an empty one.
    pub fn load(view: &FsView) -> PciIds {
        PATHS
            .iter()
            .find_map(|p| view.read(Path::new(p)).ok())
            .map(|bytes| PciIds::parse(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default()
    }

    /// The pci.ids text of only the vendors and devices of `ids`, which this database
    /// names the same way: what a snapshot keeps instead of the whole database.
    pub fn subset(&self, ids: impl IntoIterator<Item = (u16, u16)>) -> String {
        let mut wanted: Vec<(u16, u16)> = ids.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut text = String::new();
        let mut vendor_written = None;
        for (v, d) in wanted {
            let Some(vendor) = self.vendors.get(&v) else {
                continue;
            };
            if vendor_written != Some(v) {
                let _ = writeln!(text, "{v:04x}  {vendor}");
                vendor_written = Some(v);
            }
            if let Some(device) = self.devices.get(&(v, d)) {
                let _ = writeln!(text, "\t{d:04x}  {device}");
            }
        }
        text
    }

    /// Parses pci.ids text: `vvvv  Vendor` lines, `\tdddd  Device` lines under them;
    /// subsystem lines and the class section (`C xx ...`) are skipped.
    pub fn parse(text: &str) -> PciIds {
        let mut ids = PciIds::default();
        let mut vendor = None;
        for line in text.lines() {
            if line.starts_with("C ") {
                break;
            }
            if line.starts_with('#') || line.starts_with("\t\t") {
                continue;
            }
            let (indented, rest) = match line.strip_prefix('\t') {
                Some(r) => (true, r),
                None => (false, line),
            };
            let parsed = rest
                .split_once("  ")
                .and_then(|(id, name)| Some((u16::from_str_radix(id, 16).ok()?, name)));
            let Some((id, name)) = parsed else {
                // An unknown top-level line ends the current vendor's device list.
                if !indented {
                    vendor = None;
                }
                continue;
            };
            if indented {
                if let Some(v) = vendor {
                    ids.devices.insert((v, id), name.to_owned());
                }
            } else {
                vendor = Some(id);
                ids.vendors.insert(id, name.to_owned());
            }
        }
        ids
    }

    /// `Vendor Device`, `Vendor device dddd`, or `None` when the vendor is unknown.
    pub fn name(&self, vendor: u16, device: u16) -> Option<String> {
        let v = self.vendors.get(&vendor)?;
        Some(match self.devices.get(&(vendor, device)) {
            Some(d) => format!("{v} {d}"),
            None => format!("{v} device {device:04x}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vendors_and_devices_and_skips_the_rest() {
        let text = "# comment\n8086  Intel Corporation\n\t2918  82801IB (ICH9) LPC Interface Controller\n\t\t1af4 1100  QEMU\n1af4  Red Hat, Inc.\nC 06  Bridge\n\t01  ISA bridge\n";
        let ids = PciIds::parse(text);
        assert_eq!(
            ids.name(0x8086, 0x2918).as_deref(),
            Some("Intel Corporation 82801IB (ICH9) LPC Interface Controller")
        );
        assert_eq!(
            ids.name(0x1af4, 0x1041).as_deref(),
            Some("Red Hat, Inc. device 1041")
        );
        assert_eq!(ids.name(0x1234, 0x11e8), None);
        assert!(
            !ids.devices.contains_key(&(0x1af4, 0x1100)),
            "subsystem lines are not devices"
        );
        let kept = PciIds::parse(&ids.subset([(0x8086, 0x2918), (0x1af4, 0x1041), (0x1234, 1)]));
        for (v, d) in [(0x8086, 0x2918), (0x1af4, 0x1041), (0x1234, 1)] {
            assert_eq!(kept.name(v, d), ids.name(v, d));
        }
        assert_eq!(kept.vendors.len(), 2);
        let broken = PciIds::parse("8086  Intel\nzzzz  not a vendor\n\t1234  Misattributed\n");
        assert_eq!(
            broken.name(0x8086, 0x1234).as_deref(),
            Some("Intel device 1234"),
            "no device under a broken vendor line"
        );
    }
}
