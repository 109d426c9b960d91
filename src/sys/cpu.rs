//! What the host CPU addresses: the physical address width a KVM guest's `phys-bits` must
//! not exceed.

use std::path::Path;

/// The physical address bits `/proc/cpuinfo` reports (x86: "address sizes : 46 bits
/// physical, 48 bits virtual"), or `None` when the file has no such line (other
/// architectures) or cannot be read.
pub fn phys_bits() -> Option<u8> {
    phys_bits_in(Path::new("/proc/cpuinfo"))
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
    let line = cpuinfo
        .lines()
        .find(|l| l.trim_start().starts_with("address sizes"))?;
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
}
