//! The CPU architecture a kernel runs on, as an explicit value.
//!
//! Some of what VFIO means depends on it: which hardware isolates a device's MSIs (x86's
//! interrupt remapping, arm64's GICv3 ITS), so what to do when `VFIO_SET_IOMMU` fails with
//! EPERM. The library's own answers take an [`Arch`] instead of assuming the machine it was
//! built for; [`Arch::host`] is that machine, [`Arch::from_name`] reads `uname -m` (or a
//! Rust target name) of another one, e.g. the kernel a capture came from.

use std::fmt;

/// A Linux CPU architecture.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `x86_64` (amd64): intel-iommu or amd-iommu, interrupt remapping in the IOMMU.
    X86_64,
    /// `aarch64` (arm64): SMMUv3 (or virtio-iommu); MSIs isolated by a GICv3 ITS.
    Aarch64,
    /// 64-bit POWER (`ppc64le`, `ppc64`): the sPAPR TCE IOMMU.
    PowerPc64,
    /// `s390x`: the zPCI IOMMU.
    S390x,
    /// `riscv64`: the RISC-V IOMMU.
    Riscv64,
    /// `loongarch64`.
    Loongarch64,
    /// Any other architecture, by the name it was given (`uname -m` or a Rust target name).
    Other(String),
}

impl Arch {
    /// The architecture this library was built for (the machine it runs on).
    pub fn host() -> Arch {
        Arch::from_name(std::env::consts::ARCH)
    }

    /// The architecture `name` names: `uname -m`'s spelling (`x86_64`, `aarch64`, `ppc64le`,
    /// `s390x`), Debian's (`amd64`, `arm64`, `ppc64el`) or Rust's (`powerpc64`). Anything
    /// else is [`Arch::Other`], keeping the name.
    pub fn from_name(name: &str) -> Arch {
        match name {
            "x86_64" | "amd64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "ppc64le" | "ppc64el" | "ppc64" | "powerpc64" | "powerpc64le" => Arch::PowerPc64,
            "s390x" => Arch::S390x,
            "riscv64" => Arch::Riscv64,
            "loongarch64" => Arch::Loongarch64,
            other => Arch::Other(other.to_owned()),
        }
    }

    /// The name: `uname -m`'s spelling for the known ones (`ppc64le` for POWER), the given
    /// name for [`Arch::Other`].
    pub fn name(&self) -> &str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::PowerPc64 => "ppc64le",
            Arch::S390x => "s390x",
            Arch::Riscv64 => "riscv64",
            Arch::Loongarch64 => "loongarch64",
            Arch::Other(name) => name,
        }
    }

    /// What isolates a device's MSIs here, and how to get it: the fix, other than
    /// `allow_unsafe_interrupts`, for VFIO's EPERM.
    pub fn msi_isolation_fix(&self) -> String {
        match self {
            Arch::X86_64 => "use a platform with interrupt remapping (intel-iommu with intremap=on, or amd-iommu)".to_owned(),
            Arch::Aarch64 => "use an interrupt controller that isolates MSIs: a GICv3 with an ITS (arm64 has no interrupt remapping; a GICv2 or a GICv3 without ITS cannot isolate them; under QEMU: -M virt,gic-version=3)".to_owned(),
            Arch::PowerPc64 | Arch::S390x => format!(
                "use a platform whose IOMMU or interrupt controller isolates each device's MSIs (on {}, the platform's own IOMMU normally does)",
                self.name()
            ),
            Arch::Riscv64 | Arch::Loongarch64 => format!(
                "use a platform whose interrupt controller isolates each device's MSIs (on {}, an IOMMU with MSI remapping or an interrupt controller that isolates them)",
                self.name()
            ),
            Arch::Other(name) => format!(
                "use a platform whose interrupt controller isolates each device's MSIs ({name} is an architecture this library has no specific advice for)"
            ),
        }
    }

    /// The whole advice for EPERM from `VFIO_SET_IOMMU` (type1) or an attach (iommufd):
    /// `module` is the one whose `allow_unsafe_interrupts` parameter allows it
    /// (`vfio_iommu_type1` or `iommufd`).
    pub fn unsafe_interrupts_hint(&self, module: &str) -> String {
        format!(
            "the platform cannot isolate the device's MSIs ({}), so VFIO refuses the device: load {module} with allow_unsafe_interrupts=1 (echo 1 > /sys/module/{module}/parameters/allow_unsafe_interrupts) only for trusted devices, or {}",
            self.msi_isolation(),
            self.msi_isolation_fix()
        )
    }

    /// What is missing when MSIs cannot be isolated, in this architecture's terms.
    pub fn msi_isolation(&self) -> String {
        match self {
            Arch::X86_64 => "no interrupt remapping".to_owned(),
            Arch::Aarch64 => "no GICv3 ITS, or one the IOMMU cannot isolate".to_owned(),
            other => format!("no MSI isolation on {}", other.name()),
        }
    }
}

impl fmt::Display for Arch {
    /// The name; an architecture the library does not know says so.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arch::Other(name) => write!(f, "{name} (an architecture this library does not know)"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_debian_spellings_are_known() {
        for a in [
            Arch::X86_64,
            Arch::Aarch64,
            Arch::PowerPc64,
            Arch::S390x,
            Arch::Riscv64,
            Arch::Loongarch64,
        ] {
            assert_eq!(Arch::from_name(a.name()), a);
        }
        assert_eq!(Arch::from_name("arm64"), Arch::Aarch64);
        assert_eq!(Arch::from_name("amd64"), Arch::X86_64);
        assert_eq!(Arch::from_name("ppc64el"), Arch::PowerPc64);
        assert_eq!(
            Arch::from_name("sparc64"),
            Arch::Other("sparc64".to_owned())
        );
        assert_eq!(Arch::from_name("sparc64").name(), "sparc64");
    }

    #[test]
    fn the_eperm_advice_is_each_architectures_own() {
        let x86 = Arch::X86_64.unsafe_interrupts_hint("vfio_iommu_type1");
        assert!(
            x86.contains("interrupt remapping") && x86.contains("intremap=on"),
            "{x86}"
        );
        let arm = Arch::Aarch64.unsafe_interrupts_hint("vfio_iommu_type1");
        assert!(arm.contains("allow_unsafe_interrupts=1"), "{arm}");
        assert!(arm.contains("GICv3 with an ITS"), "{arm}");
        assert!(
            !arm.contains("intremap") && !arm.contains("intel") && !arm.contains("amd-iommu"),
            "{arm}"
        );
        let other = Arch::from_name("sparc64").unsafe_interrupts_hint("iommufd");
        assert!(
            other.contains("sparc64 is an architecture this library has no specific advice for"),
            "{other}"
        );
        assert!(
            other.contains("/sys/module/iommufd/parameters/allow_unsafe_interrupts"),
            "{other}"
        );
    }
}
