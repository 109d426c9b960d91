//! What the host CPU addresses: the physical address width a KVM guest's `phys-bits` must
//! not exceed.

use std::path::Path;

use crate::error::Error;
use crate::sys::paths::HostPaths;
use crate::sys::sysfs::sysfs_error;
use crate::sys::view::as_not_recorded;

/// The physical address bits `/proc/cpuinfo` reports (x86: "address sizes : 46 bits
/// physical, 48 bits virtual"), or `None` when the file has no such line (other
/// architectures) or cannot be read.
pub fn phys_bits() -> Option<u8> {
    phys_bits_at(&HostPaths::default()).ok().flatten()
}

/// [`phys_bits`] of the host `paths` names, its `cpuinfo` read through its view (the live
/// host, or a snapshot's recorded `address sizes` line).
///
/// # Errors
/// Only a replayed snapshot that holds no answer for `cpuinfo` ([`Error::Sysfs`] with
/// ENODATA, naming it); a file that cannot be read is `None`, as for [`phys_bits`].
pub fn phys_bits_at(paths: &HostPaths) -> Result<Option<u8>, Error> {
    let path = paths.proc.join("cpuinfo");
    match paths.view().read(&path) {
        Ok(bytes) => Ok(std::str::from_utf8(&bytes).ok().and_then(parse_phys_bits)),
        Err(e) if as_not_recorded(&e).is_some() => Err(sysfs_error(&path, e)),
        Err(_) => Ok(None),
    }
}

/// What a snapshot keeps of a `cpuinfo` text: the first `address sizes` line, the only
/// one [`parse_phys_bits`] reads (no model name, serial number or flags); empty without.
#[cfg(feature = "json")]
pub(crate) fn snapshot_subset(cpuinfo: &str) -> String {
    address_sizes(cpuinfo).map_or_else(String::new, |l| format!("{l}\n"))
}

fn address_sizes(cpuinfo: &str) -> Option<&str> {
    cpuinfo
        .lines()
        .find(|l| l.trim_start().starts_with("address sizes"))
}

/// [`phys_bits`] from another file (a test's or a snapshot's copy). Reads at most 1 MiB.
pub fn phys_bits_in(path: &Path) -> Option<u8> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    parse_phys_bits(&text)
}

/// The first "address sizes" line's physical bits, when between 32 and 64.
pub fn parse_phys_bits(cpuinfo: &str) -> Option<u8> {
    let line = address_sizes(cpuinfo)?;
    let value = line.split_once(':')?.1;
    let bits: u8 = value.split_whitespace().next()?.parse().ok()?;
    value
        .contains("bits physical")
        .then_some(bits)
        .filter(|b| (32..=64).contains(b))
}

#[cfg(test)]
mod tests {
    use super::parse_phys_bits;

    #[test]
    fn reads_the_physical_width() {
        let x86 = "processor\t: 0\naddress sizes\t: 46 bits physical, 48 bits virtual\n";
        assert_eq!(parse_phys_bits(x86), Some(46));
        assert_eq!(parse_phys_bits("processor : 0\nisa : rv64\n"), None);
        assert_eq!(parse_phys_bits("address sizes : 300 bits physical\n"), None);
        assert_eq!(parse_phys_bits("address sizes : 12 bits physical\n"), None);
        assert_eq!(parse_phys_bits("address sizes : 40 bits virtual\n"), None);
        assert_eq!(parse_phys_bits("address sizes\n"), None);
    }

    #[cfg(feature = "json")]
    #[test]
    fn a_snapshot_keeps_the_one_line_it_reads() {
        use super::snapshot_subset;
        let cpuinfo = "processor\t: 0\nmodel name\t: Xeon\nserial\t: 42\naddress sizes\t: 46 bits physical, 48 bits virtual\n\nprocessor\t: 1\naddress sizes\t: 46 bits physical, 48 bits virtual\n";
        let kept = snapshot_subset(cpuinfo);
        assert_eq!(kept, "address sizes\t: 46 bits physical, 48 bits virtual\n");
        assert_eq!(parse_phys_bits(&kept), parse_phys_bits(cpuinfo));
        assert_eq!(snapshot_subset("processor : 0\nisa : rv64\n"), "");
    }
}
