//! How Linux packs an ioctl number, per architecture: `_IOC(dir, type, nr, size)` of
//! `include/uapi/asm-generic/ioctl.h` and of the five architectures that override it
//! (`arch/{alpha,mips,parisc,powerpc,sparc}/include/uapi/asm/ioctl.h`, Linux 6.12).
//!
//! VFIO and iommufd ioctls are all `_IO(';', nr)`: no direction, no size. That is still
//! not the same number everywhere: on powerpc, mips, sparc and alpha "no direction" is a
//! bit of its own (`_IOC_NONE` = 1 at bit 29), so `VFIO_GROUP_GET_STATUS` is `0x3B67` on
//! x86_64, arm64, riscv64 or s390x and `0x20003B67` on ppc64el. [`TARGET`] is the
//! encoding of the architecture this crate is compiled for (a target the table does not
//! know is a compile error, never a guess); [`LINUX_ARCHES`] lists Debian's Linux
//! architectures with theirs, for tests and for decoding numbers seen in captures or
//! `strace` output from another machine ([`IocEncoding::decode`]).
//!
//! `make ioctl-check` compiles, for every row of [`LINUX_ARCHES`], a file of
//! `_Static_assert`s generated from this table against that architecture's real
//! `<linux/vfio.h>` and `<linux/iommufd.h>` with its cross compiler (`tests/ioctl_arch.rs`).

/// One of the ways Linux architectures pack `_IOC(dir, type, nr, size)`.
///
/// In every encoding `nr` is bits 0..8 and `type` bits 8..16; the size field starts at
/// bit 16 and the direction field follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IocEncoding {
    /// `asm-generic/ioctl.h` (x86, arm, arm64, riscv, s390, loongarch, m68k, sh and every
    /// other architecture without an `asm/ioctl.h` of its own): 14 size bits, 2 direction
    /// bits at 30; `_IOC_NONE` 0, `_IOC_WRITE` 1, `_IOC_READ` 2.
    Generic,
    /// `arch/parisc`: the generic layout with read and write swapped: `_IOC_NONE` 0,
    /// `_IOC_WRITE` 2, `_IOC_READ` 1. `_IO` numbers are the generic ones.
    Parisc,
    /// `arch/powerpc`, `arch/mips`, `arch/alpha`: 13 size bits, 3 direction bits at 29;
    /// `_IOC_NONE` 1, `_IOC_READ` 2, `_IOC_WRITE` 4. `_IO(type, nr)` has bit 29 set.
    ThreeBitDir,
    /// `arch/sparc`: [`IocEncoding::ThreeBitDir`]'s numbers, but `_IOC_SIZE` reads 14
    /// bits (through bit 29) when read or write is set, and `_IOC_DIR` then ignores bit 29.
    Sparc,
}

/// The fields of an ioctl number, as `_IOC_DIR`, `_IOC_TYPE`, `_IOC_NR` and `_IOC_SIZE`
/// of its architecture read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IocFields {
    /// `_IOC_DIR`: [`IocEncoding::none`], or [`IocEncoding::read`] and/or
    /// [`IocEncoding::write`] (other values are numbers no `_IOC` makes).
    pub dir: u32,
    /// `_IOC_TYPE`: the driver's letter (`';'` for VFIO and iommufd).
    pub ty: u8,
    /// `_IOC_NR`: the command within the type.
    pub nr: u8,
    /// `_IOC_SIZE`: the argument's size the number announces (0 for `_IO`).
    pub size: u32,
}

/// `_IOC_NRSHIFT` + `_IOC_NRBITS`: where `type` starts (every encoding).
const TYPE_SHIFT: u32 = 8;
/// `_IOC_SIZESHIFT` (every encoding).
const SIZE_SHIFT: u32 = 16;

impl IocEncoding {
    /// `_IOC_NONE`.
    pub const fn none(self) -> u32 {
        match self {
            IocEncoding::Generic | IocEncoding::Parisc => 0,
            IocEncoding::ThreeBitDir | IocEncoding::Sparc => 1,
        }
    }

    /// `_IOC_READ` (the kernel writes, user space reads).
    pub const fn read(self) -> u32 {
        match self {
            IocEncoding::Generic | IocEncoding::ThreeBitDir | IocEncoding::Sparc => 2,
            IocEncoding::Parisc => 1,
        }
    }

    /// `_IOC_WRITE` (user space writes, the kernel reads).
    pub const fn write(self) -> u32 {
        match self {
            IocEncoding::Generic => 1,
            IocEncoding::Parisc => 2,
            IocEncoding::ThreeBitDir | IocEncoding::Sparc => 4,
        }
    }

    /// `_IOC_SIZEBITS`: the width of the size field `_IOC` writes.
    pub const fn size_bits(self) -> u32 {
        match self {
            IocEncoding::Generic | IocEncoding::Parisc => 14,
            IocEncoding::ThreeBitDir | IocEncoding::Sparc => 13,
        }
    }

    /// `_IOC_DIRBITS`.
    pub const fn dir_bits(self) -> u32 {
        32 - SIZE_SHIFT - self.size_bits()
    }

    /// `_IOC_DIRSHIFT`: where the direction field starts.
    pub const fn dir_shift(self) -> u32 {
        SIZE_SHIFT + self.size_bits()
    }

    /// `_IOC(dir, ty, nr, size)`, or `None` when `dir` or `size` does not fit its field
    /// (the C macro would silently spill into the next field).
    pub const fn ioc(self, dir: u32, ty: u8, nr: u8, size: u32) -> Option<u32> {
        if dir >> self.dir_bits() != 0 || size >> self.size_bits() != 0 {
            return None;
        }
        Some(
            (dir << self.dir_shift())
                | (size << SIZE_SHIFT)
                | ((ty as u32) << TYPE_SHIFT)
                | nr as u32,
        )
    }

    /// `_IO(ty, nr)`: `_IOC(_IOC_NONE, ty, nr, 0)`.
    pub const fn io(self, ty: u8, nr: u8) -> u32 {
        (self.none() << self.dir_shift()) | ((ty as u32) << TYPE_SHIFT) | nr as u32
    }

    /// `_IOC_DIR`, `_IOC_TYPE`, `_IOC_NR` and `_IOC_SIZE` of `number`, as this
    /// architecture's `asm/ioctl.h` computes them.
    pub const fn decode(self, number: u32) -> IocFields {
        let ty = ((number >> TYPE_SHIFT) & 0xff) as u8;
        let nr = (number & 0xff) as u8;
        let dir_field = (number >> self.dir_shift()) & ((1 << self.dir_bits()) - 1);
        let (dir, size) = match self {
            IocEncoding::Sparc => {
                let rw = self.read() | self.write();
                if dir_field & rw != 0 {
                    // _IOC_XSIZEMASK: 14 bits, bit 29 (_IOC_NONE's) counted as size.
                    (dir_field & rw, (number >> SIZE_SHIFT) & 0x3fff)
                } else {
                    (dir_field, 0)
                }
            }
            _ => (
                dir_field,
                (number >> SIZE_SHIFT) & ((1 << self.size_bits()) - 1),
            ),
        };
        IocFields { dir, ty, nr, size }
    }
}

/// A Linux architecture as Debian builds it: its name, the kernel's `arch/` directory,
/// the GNU triplet of its toolchain (`TRIPLET-gcc`, the package `gcc-TRIPLET`) and its
/// ioctl encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinuxArch {
    /// Debian's architecture name (`dpkg --print-architecture`): `ppc64el`.
    pub debian: &'static str,
    /// The kernel's `arch/` directory: `powerpc`.
    pub kernel: &'static str,
    /// The GNU triplet Debian's toolchain for it uses: `powerpc64le-linux-gnu`.
    pub triplet: &'static str,
    /// How its `asm/ioctl.h` packs numbers.
    pub encoding: IocEncoding,
}

const fn arch(
    debian: &'static str,
    kernel: &'static str,
    triplet: &'static str,
    encoding: IocEncoding,
) -> LinuxArch {
    LinuxArch {
        debian,
        kernel,
        triplet,
        encoding,
    }
}

/// Debian's Linux architectures that bookworm has cross compilers for (its release
/// architectures and the ports powerpc, ppc64, sparc64, alpha, hppa, m68k, sh4), each
/// with its ioctl encoding. Every row is checked by `make ioctl-check` against that
/// architecture's own `asm/ioctl.h` and VFIO and iommufd headers.
#[rustfmt::skip]
pub const LINUX_ARCHES: &[LinuxArch] = &[
    arch("amd64",    "x86",     "x86_64-linux-gnu",        IocEncoding::Generic),
    arch("i386",     "x86",     "i686-linux-gnu",          IocEncoding::Generic),
    arch("arm64",    "arm64",   "aarch64-linux-gnu",       IocEncoding::Generic),
    arch("armel",    "arm",     "arm-linux-gnueabi",       IocEncoding::Generic),
    arch("armhf",    "arm",     "arm-linux-gnueabihf",     IocEncoding::Generic),
    arch("riscv64",  "riscv",   "riscv64-linux-gnu",       IocEncoding::Generic),
    arch("s390x",    "s390",    "s390x-linux-gnu",         IocEncoding::Generic),
    arch("mips64el", "mips",    "mips64el-linux-gnuabi64", IocEncoding::ThreeBitDir),
    arch("mipsel",   "mips",    "mipsel-linux-gnu",        IocEncoding::ThreeBitDir),
    arch("ppc64el",  "powerpc", "powerpc64le-linux-gnu",   IocEncoding::ThreeBitDir),
    arch("ppc64",    "powerpc", "powerpc64-linux-gnu",     IocEncoding::ThreeBitDir),
    arch("powerpc",  "powerpc", "powerpc-linux-gnu",       IocEncoding::ThreeBitDir),
    arch("sparc64",  "sparc",   "sparc64-linux-gnu",       IocEncoding::Sparc),
    arch("alpha",    "alpha",   "alpha-linux-gnu",         IocEncoding::ThreeBitDir),
    arch("hppa",     "parisc",  "hppa-linux-gnu",          IocEncoding::Parisc),
    arch("m68k",     "m68k",    "m68k-linux-gnu",          IocEncoding::Generic),
    arch("sh4",      "sh",      "sh4-linux-gnu",           IocEncoding::Generic),
];

/// The row of [`LINUX_ARCHES`] for a Debian architecture name.
pub fn linux_arch(debian: &str) -> Option<&'static LinuxArch> {
    LINUX_ARCHES.iter().find(|a| a.debian == debian)
}

/// The ioctl encoding of the architecture this crate is compiled for.
#[cfg(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "arm",
    target_arch = "aarch64",
    target_arch = "riscv32",
    target_arch = "riscv64",
    target_arch = "s390x",
    target_arch = "loongarch64",
    target_arch = "m68k",
    target_arch = "csky",
    target_arch = "hexagon",
))]
pub const TARGET: IocEncoding = IocEncoding::Generic;

/// The ioctl encoding of the architecture this crate is compiled for.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
))]
pub const TARGET: IocEncoding = IocEncoding::ThreeBitDir;

/// The ioctl encoding of the architecture this crate is compiled for.
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
pub const TARGET: IocEncoding = IocEncoding::Sparc;

#[cfg(not(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "arm",
    target_arch = "aarch64",
    target_arch = "riscv32",
    target_arch = "riscv64",
    target_arch = "s390x",
    target_arch = "loongarch64",
    target_arch = "m68k",
    target_arch = "csky",
    target_arch = "hexagon",
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64",
)))]
pub const TARGET: IocEncoding = panic!("{}", unknown_target::MESSAGE);

/// The compile error of a target the table does not know, naming its `target_arch`
/// (`compile_error!` cannot name it; a panic during const evaluation can).
#[allow(dead_code)]
mod unknown_target {
    const PARTS: [&str; 3] = [
        "vfio-iommu-info: target_arch \"",
        std::env::consts::ARCH,
        "\" has no Linux ioctl encoding in src/sys/ioc.rs: read the kernel's \
         arch/<arch>/include/uapi/asm/ioctl.h (none means asm-generic's) and add the \
         target_arch to the cfg of the `TARGET` with that encoding",
    ];
    const LEN: usize = PARTS[0].len() + PARTS[1].len() + PARTS[2].len();
    const BYTES: [u8; LEN] = {
        let mut out = [0u8; LEN];
        let (mut part, mut at) = (0, 0);
        while part < PARTS.len() {
            let bytes = PARTS[part].as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                out[at] = bytes[i];
                at += 1;
                i += 1;
            }
            part += 1;
        }
        out
    };
    pub(super) const MESSAGE: &str = match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => "vfio-iommu-info: this target_arch has no Linux ioctl encoding in src/sys/ioc.rs",
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const VFIO: u8 = b';';

    #[test]
    fn io_is_the_kernels_number_on_each_encoding() {
        // VFIO_GROUP_GET_STATUS = _IO(';', 100 + 3).
        assert_eq!(IocEncoding::Generic.io(VFIO, 103), 0x3b67);
        assert_eq!(IocEncoding::Parisc.io(VFIO, 103), 0x3b67);
        assert_eq!(IocEncoding::ThreeBitDir.io(VFIO, 103), 0x2000_3b67);
        assert_eq!(IocEncoding::Sparc.io(VFIO, 103), 0x2000_3b67);
        // IOMMU_GET_HW_INFO = _IO(';', 0x8a).
        assert_eq!(IocEncoding::Generic.io(VFIO, 0x8a), 0x3b8a);
        assert_eq!(IocEncoding::ThreeBitDir.io(VFIO, 0x8a), 0x2000_3b8a);
        for e in [
            IocEncoding::Generic,
            IocEncoding::Parisc,
            IocEncoding::ThreeBitDir,
            IocEncoding::Sparc,
        ] {
            assert_eq!(
                Some(e.io(VFIO, 103)),
                e.ioc(e.none(), VFIO, 103, 0),
                "{e:?}"
            );
        }
    }

    #[test]
    fn the_fields_are_where_asm_ioctl_h_puts_them() {
        let g = IocEncoding::Generic;
        assert_eq!((g.dir_shift(), g.dir_bits(), g.size_bits()), (30, 2, 14));
        let p = IocEncoding::ThreeBitDir;
        assert_eq!((p.dir_shift(), p.dir_bits(), p.size_bits()), (29, 3, 13));
        // _IOWR('x', 1, 24 bytes) on x86 and on powerpc; hppa's read/write swap shows only
        // in one-directional numbers: _IOR('x', 1, 8).
        assert_eq!(g.ioc(g.read() | g.write(), b'x', 1, 24), Some(0xc018_7801));
        assert_eq!(p.ioc(p.read() | p.write(), b'x', 1, 24), Some(0xc018_7801));
        assert_eq!(g.ioc(g.read(), b'x', 1, 8), Some(0x8008_7801));
        let h = IocEncoding::Parisc;
        assert_eq!(h.ioc(h.read(), b'x', 1, 8), Some(0x4008_7801));
        assert_eq!(p.ioc(p.read(), b'x', 1, 8), Some(0x4008_7801));
    }

    #[test]
    fn ioc_refuses_what_does_not_fit() {
        let p = IocEncoding::ThreeBitDir;
        assert_eq!(p.ioc(p.read(), b'x', 1, 1 << 13), None);
        assert_eq!(p.ioc(8, b'x', 1, 0), None);
        assert!(p.ioc(p.read(), b'x', 1, (1 << 13) - 1).is_some());
        let g = IocEncoding::Generic;
        assert_eq!(g.ioc(g.read(), b'x', 1, 1 << 14), None);
        assert_eq!(g.ioc(4, b'x', 1, 0), None);
        assert!(g.ioc(3, b'x', 1, (1 << 14) - 1).is_some());
    }

    #[test]
    fn decode_reverses_ioc() {
        for e in [
            IocEncoding::Generic,
            IocEncoding::Parisc,
            IocEncoding::ThreeBitDir,
            IocEncoding::Sparc,
        ] {
            for (dir, size) in [
                (e.none(), 0),
                (e.read(), 8),
                (e.write(), 0x1fff),
                (e.read() | e.write(), 40),
            ] {
                let n = e.ioc(dir, b';', 0x8a, size).unwrap();
                let want = IocFields {
                    dir,
                    ty: b';',
                    nr: 0x8a,
                    size,
                };
                assert_eq!(e.decode(n), want, "{e:?} {n:#x}");
            }
        }
        // sparc: with read or write set, bit 29 is the size's 14th bit.
        assert_eq!(IocEncoding::Sparc.decode(0xa000_7801).size, 0x2000);
        assert_eq!(IocEncoding::Sparc.decode(0xa000_7801).dir, 4);
        assert_eq!(IocEncoding::ThreeBitDir.decode(0xa000_7801).dir, 5);
    }

    #[test]
    fn the_table_has_each_debian_architecture_once_with_the_kernels_encoding() {
        for (i, a) in LINUX_ARCHES.iter().enumerate() {
            assert!(
                LINUX_ARCHES[..i].iter().all(|b| b.debian != a.debian),
                "{} twice",
                a.debian
            );
            // The five architectures with an asm/ioctl.h of their own (Linux 6.12).
            let want = match a.kernel {
                "powerpc" | "mips" | "alpha" => IocEncoding::ThreeBitDir,
                "sparc" => IocEncoding::Sparc,
                "parisc" => IocEncoding::Parisc,
                _ => IocEncoding::Generic,
            };
            assert_eq!(a.encoding, want, "{}", a.debian);
        }
        for d in [
            "amd64", "arm64", "armel", "armhf", "i386", "mips64el", "ppc64el", "riscv64", "s390x",
            "powerpc", "sparc64",
        ] {
            assert!(linux_arch(d).is_some(), "{d} is missing");
        }
        assert_eq!(
            linux_arch("ppc64el").unwrap().encoding.io(b';', 103),
            0x2000_3b67
        );
        assert_eq!(linux_arch("vax"), None);
    }

    #[test]
    fn the_target_is_the_row_of_the_machine_we_run_on() {
        let by_arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "i386",
            "aarch64" => "arm64",
            "riscv64" => "riscv64",
            "s390x" => "s390x",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64el",
            "powerpc64" => "ppc64",
            "powerpc" => "powerpc",
            "mips64" => "mips64el",
            "mips" => "mipsel",
            "sparc64" => "sparc64",
            "m68k" => "m68k",
            "arm" => "armhf",
            other => panic!("add {other} to this test's map of Debian names"),
        };
        assert_eq!(Some(TARGET), linux_arch(by_arch).map(|a| a.encoding));
    }
}
