//! A plan for a whole guest: from the host's facts (the container's or IOAS's usable
//! ranges, their holes and causes, page sizes, DMA_AVAIL, the CPU's physical address width)
//! to the settings its VMM needs so that no guest RAM and no 64-bit BAR lands in a host
//! hole or beyond the IOMMU's aperture, with the mappings and the locked memory it will
//! cost. Every decision carries its reason and the fact it came from; what the host cannot
//! meet is a [`GuestRefusal`] with the nearest setting that fits.
//!
//! The guest's memory map is QEMU's q35 machine, which libvirt drives too (`hw/i386/pc_q35.c`
//! `pc_q35_init`, `hw/i386/pc.c` `pc_memory_init`, `pc_pci_hole64_start`): RAM below 4 GiB up
//! to 2 GiB (0xb0000000 when all of it fits there) or `max-ram-below-4g`, the rest from
//! 4 GiB, hotpluggable memory (pc-dimms at fixed addresses) from the next GiB after it with
//! 1 GiB of slack per slot, then the 64-bit PCI window of `pci-hole64-size`; QEMU refuses to
//! start when that window ends above 2^phys-bits. `plan::settings` writes the plan
//! in the VMMs' own words.

use std::fmt;

use crate::facts::Backend;
use crate::iova::{format_size, IovaRange, SpanProblem};
use crate::plan::budget::{memlock_budget, MemlockBudget, MemlockFacts, Verdict};
use crate::plan::layout::{per_page, MappingCount};
use crate::plan::predict::{DmaOp, Mapping};
use crate::plan::space::IovaSpace;
use crate::sys::arch::Arch;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const FOUR_GIB: u64 = 4 * GIB;
/// Where q35 puts the option ROM area (`PC_ROM_MIN_VGA`) and how large it is (`PC_ROM_SIZE`).
const PC_ROM: IovaRange = IovaRange {
    start: 0xc_0000,
    end: 0xd_ffff,
};
/// The BIOS's alias below 1 MiB (`isa-bios`: its last 128 KiB at most).
const ISA_BIOS_END: u64 = 0xf_ffff;
/// Where RAM below 4 GiB resumes above the legacy ROM area.
const ONE_MIB: u64 = MIB;
/// q35's `pci-hole64-size` when none is given (`Q35_PCI_HOST_HOLE64_SIZE_DEFAULT`).
const QEMU_HOLE64_DEFAULT: u64 = 32 * GIB;
/// The widest guest physical address x86 page tables reach.
const MAX_PHYS_BITS: u8 = 52;
/// q35's limit of memory slots (`ACPI_MAX_RAM_SLOTS`).
const MAX_SLOTS: usize = 256;

/// The virtual IOMMU the guest gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Viommu {
    /// None: the VMM maps all guest RAM at start (an identity map, guest physical address
    /// == IOVA).
    None,
    /// QEMU's `intel-iommu` (VT-d): `aw-bits` 39 or 48, `caching-mode=on` for VFIO.
    Intel,
    /// QEMU's `amd-iommu`.
    Amd,
    /// `virtio-iommu-pci`: `aw-bits` 32 to 64; QEMU tells the guest the host's holes.
    Virtio,
    /// Arm's SMMUv3 (`-M virt,iommu=smmuv3`): not an x86 q35 device.
    Smmuv3,
}

impl Viommu {
    /// The name the command takes: `none`, `intel`, `amd`, `virtio`, `smmuv3`.
    pub const fn name(self) -> &'static str {
        match self {
            Viommu::None => "none",
            Viommu::Intel => "intel",
            Viommu::Amd => "amd",
            Viommu::Virtio => "virtio",
            Viommu::Smmuv3 => "smmuv3",
        }
    }
}

/// The guest's firmware, whose ROM QEMU maps beside RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS (QEMU's default): its image (`bios-256k.bin`: 256 KiB) is RAM mapped just
    /// below 4 GiB, its last 128 KiB again below 1 MiB.
    SeaBios {
        /// The image's size in bytes.
        size: u64,
    },
    /// OVMF on pflash: a ROM device QEMU does not map into the container.
    Ovmf,
}

impl Firmware {
    /// SeaBIOS as Debian's QEMU ships it (`bios-256k.bin`).
    pub const SEABIOS: Firmware = Firmware::SeaBios { size: 256 * KIB };
}

/// A guest RAM region at a fixed guest physical address (a pc-dimm at `addr=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedRam {
    /// Its first address.
    pub at: u64,
    /// Bytes.
    pub size: u64,
}

/// What the guest is: its RAM, its devices and its vIOMMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRequest {
    /// Boot RAM in bytes (QEMU's `-m`).
    pub ram: u64,
    /// The NUMA nodes' sizes, adding up to `ram` (empty: one node).
    pub nodes: Vec<u64>,
    /// RAM at fixed addresses (pc-dimms), besides the boot RAM.
    pub fixed: Vec<FixedRam>,
    /// The page size backing guest RAM (4 KiB, or a huge page size).
    pub backing_page: u64,
    /// The sizes of the passed-through devices' 64-bit memory BARs (from their region info).
    pub bars: Vec<u64>,
    /// How many devices (with their own IOMMU groups) are passed through.
    pub devices: u32,
    /// The guest's vIOMMU.
    pub viommu: Viommu,
    /// The guest's firmware.
    pub firmware: Firmware,
    /// phys-bits as the user set it, to check (`None`: the plan chooses).
    pub phys_bits: Option<u8>,
}

impl GuestRequest {
    /// `ram` bytes, one node, 4 KiB pages, one device, no vIOMMU, SeaBIOS.
    pub fn new(ram: u64) -> GuestRequest {
        GuestRequest {
            ram,
            nodes: Vec::new(),
            fixed: Vec::new(),
            backing_page: 4 * KIB,
            bars: Vec::new(),
            devices: 1,
            viommu: Viommu::None,
            firmware: Firmware::SEABIOS,
            phys_bits: None,
        }
    }
}

/// The host's facts a plan starts from, besides the usable space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFacts {
    /// Which kernel interface the VMM will map through.
    pub backend: Backend,
    /// How many more mappings the container accepts (type1's DMA_AVAIL).
    pub dma_avail: Option<u32>,
    /// The host CPU's physical address bits (`/proc/cpuinfo` "address sizes"), which a
    /// KVM guest's phys-bits must not exceed; `None` when unknown.
    pub cpu_phys_bits: Option<u8>,
    /// The pinning limits of the process that will map (`MemlockFacts::current()` for
    /// this one); `None` when not known (the plan then states its figure only).
    pub memlock: Option<MemlockFacts>,
}

/// A fact a decision came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The IOMMU's aperture (the first to the last usable IOVA).
    Aperture(IovaRange),
    /// A hole in the usable ranges, with the reserved regions behind it when known.
    Hole(crate::plan::space::Hole),
    /// The host CPU's physical address bits.
    CpuPhysBits(u8),
    /// type1's DMA_AVAIL.
    DmaAvail(u32),
    /// The backend that maps (who is charged for pinned memory, which errno it gives).
    Backend(Backend),
    /// What was asked for.
    Request,
    /// A rule of the VMM's machine model (the QEMU function that applies it).
    Vmm(&'static str),
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Aperture(r) => write!(f, "the IOMMU's aperture {r}"),
            Fact::Hole(h) => {
                write!(f, "the hole {}", h.range)?;
                let causes: Vec<String> = h
                    .causes
                    .iter()
                    .map(|c| format!("{} {}", c.kind.name(), c.range))
                    .collect();
                if !causes.is_empty() {
                    write!(f, " (reserved regions: {})", causes.join(", "))?;
                }
                Ok(())
            }
            Fact::CpuPhysBits(b) => write!(f, "the host CPU's {b} physical address bits"),
            Fact::DmaAvail(n) => write!(f, "DMA_AVAIL {n}"),
            Fact::Backend(b) => write!(f, "the {} backend", b.name()),
            Fact::Request => f.write_str("the request"),
            Fact::Vmm(rule) => write!(f, "QEMU's {rule}"),
        }
    }
}

/// One decision of a plan, why, and the fact behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// What was decided (`phys-bits`, `max-ram-below-4g`, `pci-hole64-size`, `aw-bits`,
    /// `reserved`, `mappings`, `memlock`).
    pub item: &'static str,
    /// Why, in one sentence.
    pub why: String,
    /// The fact it came from.
    pub fact: Fact,
}

/// Something asked for that the host cannot meet, and the nearest setting that fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRefusal {
    /// What cannot be met (`ram`, `fixed[N]`, `bars`, `viommu`, `mappings`, `memlock`).
    pub item: String,
    /// Why.
    pub why: String,
    /// The nearest setting that fits, when there is one.
    pub nearest: Option<String>,
    /// The errno the kernel gives when the guest starts anyway (`None` when the VMM refuses
    /// before any mapping).
    pub errno: Option<i32>,
}

/// What a piece of guest RAM is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamKind {
    /// Boot RAM below 4 GiB (QEMU's `ram-below-4g`).
    Below4G,
    /// Boot RAM from 4 GiB (`ram-above-4g`).
    Above4G,
    /// The fixed region of this index.
    Fixed(usize),
}

/// Guest RAM at its guest physical addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamPiece {
    /// The addresses.
    pub range: IovaRange,
    /// Which RAM.
    pub kind: RamKind,
}

/// Where QEMU puts hotpluggable memory: `-m RAM,slots=SLOTS,maxmem=MAXMEM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DimmArea {
    /// The first address of the area.
    pub base: u64,
    /// `maxmem` in bytes.
    pub maxmem: u64,
    /// `slots`.
    pub slots: u32,
}

/// What the guest's vIOMMU must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViommuPlan {
    /// Which.
    pub kind: Viommu,
    /// Its input address width (`aw-bits`), when it has one to set.
    pub aw_bits: Option<u8>,
    /// The host's reserved IOVA ranges inside that width, which the guest must not use
    /// (virtio-iommu advertises them; QEMU derives them from the host's ranges).
    pub reserved: Vec<IovaRange>,
}

/// A whole guest's plan. [`GuestPlan::fits`] says whether the host meets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestPlan {
    /// What was asked for.
    pub request: GuestRequest,
    /// The host's facts it was made from.
    pub host: HostFacts,
    /// The guest's physical address bits (`phys-bits`): nothing the guest places (RAM,
    /// BARs) can reach 2^phys-bits.
    pub phys_bits: u8,
    /// `max-ram-below-4g` when the plan lowers it (a hole below 4 GiB).
    pub max_ram_below_4g: Option<u64>,
    /// Guest RAM, ascending.
    pub ram: Vec<RamPiece>,
    /// Hotpluggable memory for the fixed regions.
    pub dimms: Option<DimmArea>,
    /// The 64-bit PCI window where the firmware puts the BARs (`pci-hole64-size` is its
    /// size).
    pub mmio64: IovaRange,
    /// The vIOMMU's settings (`None` without one).
    pub viommu: Option<ViommuPlan>,
    /// The maps and unmaps QEMU makes at start, in order (empty behind a vIOMMU: the
    /// guest maps what it uses).
    pub maps: Vec<DmaOp>,
    /// The most mappings live at once: what DMA_AVAIL must allow.
    pub mappings: u64,
    /// The mappings the guest's RAM needs when mapped page by page, for each IOMMU page
    /// size up to 1 GiB (how DPDK and SPDK map: one MAP_DMA per page).
    pub per_page: Vec<MappingCount>,
    /// The locked (pinned) memory the backend charges at most, in bytes: every page QEMU
    /// maps (what Linux 6.12 and 7.3 charge).
    pub memlock: u64,
    /// What a kernel that pins the shared zero page in place for a read-only map charges
    /// (Linux 6.1 in the lab): the ROM QEMU maps before writing it costs nothing, so this is
    /// up to SeaBIOS's image less than [`GuestPlan::memlock`]. The same without a vIOMMU
    /// only; behind one, equal to it.
    pub memlock_zero_page: u64,
    /// What stays charged once QEMU's start maps are made ([`GuestPlan::maps`]: after the
    /// reset's unmaps): what a running QEMU paused before launch holds, and what
    /// `inspect` reads as its VmLck (type1) or VmPin (iommufd). 0 behind a vIOMMU, whose
    /// guest maps later.
    pub memlock_live: u64,
    /// [`GuestPlan::memlock_live`] on a kernel that does not charge the zero page (see
    /// [`GuestPlan::memlock_zero_page`]).
    pub memlock_live_zero_page: u64,
    /// Each decision, why, and its fact.
    pub reasons: Vec<Reason>,
    /// What the host cannot meet.
    pub refusals: Vec<GuestRefusal>,
    /// [`GuestPlan::memlock`] against [`HostFacts::memlock`]: who is charged, allowed,
    /// used, and what to change; `None` when the limits are not known.
    pub memlock_budget: Option<MemlockBudget>,
}

impl GuestPlan {
    /// Whether the host meets the whole plan.
    pub fn fits(&self) -> bool {
        self.refusals.is_empty()
    }

    /// `pci-hole64-size`: the 64-bit window's size.
    pub fn hole64_size(&self) -> u64 {
        self.mmio64.end - self.mmio64.start + 1
    }

    /// The map of [`GuestPlan::maps`] at which the pinned memory first exceeds `limit`
    /// bytes (RLIMIT_MEMLOCK without CAP_IPC_LOCK): the one the kernel refuses with ENOMEM
    /// when the backend pins as it maps (type1, iommufd with the device attached), on a
    /// kernel that charges every page ([`GuestPlan::memlock`]).
    pub fn first_over_memlock(&self, limit: u64) -> Option<Mapping> {
        first_over(&self.maps, &[], limit)
    }

    /// [`GuestPlan::first_over_memlock`] on a kernel that charges nothing for ROM QEMU has
    /// not written yet ([`GuestPlan::memlock_zero_page`]).
    pub fn first_over_memlock_zero_page(&self, limit: u64) -> Option<Mapping> {
        first_over(&self.maps, &unwritten_rom(&self.request, &self.maps), limit)
    }

    /// Boot RAM below 4 GiB (bytes).
    pub fn below_4g(&self) -> u64 {
        self.ram
            .iter()
            .filter(|p| p.kind == RamKind::Below4G)
            .map(|p| p.range.end - p.range.start + 1)
            .sum()
    }
}

/// A request [`plan_guest`] cannot plan at all (what it asks is not a guest), or a host it
/// cannot plan for ([`plans_for`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// No boot RAM.
    #[error("the guest needs boot RAM (--ram): 0 bytes asked")]
    NoRam,
    /// A size is not a whole number of the backing page.
    #[error("{what} ({size:#x} bytes) is not a whole number of the {} backing page: QEMU refuses it; round it up to {:#x}", format_size(u128::from(*page)), size.div_ceil(*page).saturating_mul(*page))]
    NotPageMultiple {
        /// Which size.
        what: String,
        /// The size.
        size: u64,
        /// The backing page.
        page: u64,
    },
    /// The backing page is not a power of two of at least 4 KiB.
    #[error("backing page {0:#x}: a page size is a power of two of at least 4K")]
    BadPage(u64),
    /// The NUMA nodes do not add up to the RAM.
    #[error(
        "the NUMA nodes add up to {nodes:#x} bytes, the RAM is {ram:#x}: QEMU requires them equal"
    )]
    NodesMismatch {
        /// Their sum (saturated).
        nodes: u64,
        /// The RAM.
        ram: u64,
    },
    /// More fixed regions than q35 has slots.
    #[error("{0} fixed RAM regions: q35 has at most {MAX_SLOTS} memory slots")]
    TooManyFixed(usize),
    /// A size of 0 or one that wraps past 2^64.
    #[error("{what}: {detail}")]
    BadSize {
        /// Which.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// A phys-bits to check outside what QEMU takes.
    #[error("phys-bits {0}: QEMU takes 32 to 64")]
    BadPhysBits(u8),
    /// No device (there is nothing to pass through).
    #[error("a plan is for at least one device passed through (0 given)")]
    NoDevice,
    /// The host's architecture runs no q35 guest under KVM (see [`plans_for`]).
    #[error(
        "the plan is QEMU's q35 memory map of an x86_64 guest under KVM, which needs an x86_64 host; this host is {0}, whose own machine models are not planned: `query` prints the usable ranges its guest's RAM must stay in"
    )]
    HostNotX86(String),
}

/// Whether a host of `arch` can run the guest [`plan_guest`] plans: a q35 guest under KVM
/// needs an x86_64 host (KVM runs guests of the host's own architecture). A caller that
/// takes [`HostFacts`] from a host ([`Arch::host`], or `Snapshot::arch`) asks this first;
/// facts given by hand are the caller's to match.
pub fn plans_for(arch: &Arch) -> Result<(), GuestError> {
    match arch {
        Arch::X86_64 => Ok(()),
        other => Err(GuestError::HostNotX86(other.name().to_owned())),
    }
}

/// Plans `req` for a VMM mapping through `space` (the usable ranges of the container or
/// IOAS holding all the guest's devices: the kernel already intersects their groups).
///
/// Refusals are answers ([`GuestPlan::refusals`]); only a request that is no guest is an
/// error.
pub fn plan_guest(
    space: &IovaSpace,
    host: HostFacts,
    req: &GuestRequest,
) -> Result<GuestPlan, GuestError> {
    validate(req)?;
    let mut p = Planner {
        space,
        host,
        req,
        reasons: Vec::new(),
        refusals: Vec::new(),
    };
    let (limit_bits, limit_fact) = p.phys_limit();
    let max_below = p.max_ram_below_4g();
    let lowmem_default = if req.ram >= 0xb000_0000 {
        2 * GIB
    } else {
        0xb000_0000
    };
    let lowmem = max_below.map_or(lowmem_default, |m| m.min(lowmem_default));
    let below = req.ram.min(lowmem);
    let above = req.ram - below;
    let mut ram = vec![RamPiece {
        range: span(0, below),
        kind: RamKind::Below4G,
    }];
    // `pc_above_4g_end`: 4 GiB when there is no RAM above it.
    let above_end = u128::from(FOUR_GIB) + u128::from(above);
    if above > 0 {
        ram.push(RamPiece {
            range: span(FOUR_GIB, above),
            kind: RamKind::Above4G,
        });
    }
    let (dimms, devmem_end) = p.dimm_area(above_end);
    for (i, f) in req.fixed.iter().enumerate() {
        ram.push(RamPiece {
            range: span(f.at, f.size),
            kind: RamKind::Fixed(i),
        });
    }
    ram.sort_by_key(|r| r.range.start);
    // `pc_pci_hole64_start`: after RAM and hotpluggable memory, at a GiB.
    let hole64_start = devmem_end
        .unwrap_or(above_end)
        .next_multiple_of(u128::from(GIB));
    let window_bits = req.phys_bits.map_or(limit_bits, |b| b.min(limit_bits));
    let mmio64 = p.mmio64(hole64_start, window_bits, &limit_fact);
    let needed_end = u128::from(mmio64.end) + 1;
    let phys_bits = p.phys_bits(limit_bits, &limit_fact, needed_end);
    for piece in &ram {
        p.check_ram(piece);
    }
    let viommu = p.viommu();
    let maps = if req.viommu == Viommu::None {
        qemu_maps(req, &ram)
    } else {
        Vec::new()
    };
    let (mappings, memlock) = p.budgets(&maps, &ram);
    let unwritten = unwritten_rom(req, &maps);
    let memlock_zero_page = if maps.is_empty() {
        memlock
    } else {
        peaks_charging(&maps, &unwritten).1
    };
    let charged_at_end =
        |free: &[usize]| charged_steps(&maps, free).last().map_or(0, |(_, _, c)| c);
    let (memlock_live, memlock_live_zero_page) = (charged_at_end(&[]), charged_at_end(&unwritten));
    let budget = host
        .memlock
        .map(|f| memlock_budget(host.backend, &f, memlock));
    if let Some(b) = budget.as_ref() {
        if let Verdict::Exceeds { .. } = b.verdict {
            let text = b.to_string();
            p.refusals.push(GuestRefusal {
                item: "memlock".into(),
                why: text.lines().next().unwrap_or_default().to_owned(),
                nearest: b.changes.first().map(|c| c.change.to_string()),
                errno: b.errno.map(|e| e.0),
            });
        }
    }
    if memlock_zero_page < memlock {
        p.reasons.push(Reason {
            item: "memlock",
            why: format!(
                "{memlock_zero_page} bytes on a kernel that pins the shared zero page in place (Linux 6.1): QEMU maps SeaBIOS's image before it loads it and the empty option ROM, whose pages are still the zero page, which such a kernel does not charge"
            ),
            fact: Fact::Backend(host.backend),
        });
    }
    let ranges: Vec<IovaRange> = ram.iter().map(|r| r.range).collect();
    let per_page = per_page(space, &ranges);
    Ok(GuestPlan {
        request: req.clone(),
        host,
        phys_bits,
        max_ram_below_4g: max_below.filter(|&m| m < lowmem_default && m < req.ram),
        ram,
        dimms,
        mmio64,
        viommu,
        maps,
        mappings,
        per_page,
        memlock,
        memlock_zero_page,
        memlock_live,
        memlock_live_zero_page,
        reasons: p.reasons,
        refusals: p.refusals,
        memlock_budget: budget,
    })
}

/// The map of `ops` at which the bytes charged (the maps at `free` charging none) first
/// exceed `limit`: the first map at or after the first op that leaves more than `limit`
/// charged. One pass over `ops`.
fn first_over(ops: &[DmaOp], free: &[usize], limit: u64) -> Option<Mapping> {
    let mut over = false;
    charged_steps(ops, free).find_map(|(op, _, charged)| {
        over |= charged > limit;
        match op {
            DmaOp::Map(m) if over => Some(*m),
            _ => None,
        }
    })
}

impl fmt::Display for GuestRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.item, self.why)?;
        if let Some(n) = &self.nearest {
            write!(f, "; nearest that fits: {n}")?;
        }
        Ok(())
    }
}

mod planner;
mod qemu_maps;
#[cfg(test)]
mod tests;
mod validate;

use planner::{span, Planner};
pub use qemu_maps::qemu_maps;
use qemu_maps::{charged_steps, peaks_charging, unwritten_rom};
use validate::validate;
