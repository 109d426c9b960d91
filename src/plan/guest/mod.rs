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
//! start when that window ends above 2^phys-bits. [`crate::plan::settings`] writes the plan
//! in the VMMs' own words.

use std::fmt;

use crate::facts::Backend;
use crate::iova::{format_size, IovaRange, SpanProblem};
use crate::plan::layout::MappingCount;
use crate::plan::predict::{DmaOp, Mapping};
use crate::plan::space::IovaSpace;

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
    /// The mappings the guest's RAM needs when mapped page by page, per IOMMU page size
    /// up to 1 GiB that is a multiple of the backing page (how DPDK and SPDK map).
    pub per_page: Vec<MappingCount>,
    /// The locked (pinned) memory the backend charges at most, in bytes.
    pub memlock: u64,
    /// Each decision, why, and its fact.
    pub reasons: Vec<Reason>,
    /// What the host cannot meet.
    pub refusals: Vec<GuestRefusal>,
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
    /// when the backend pins as it maps (type1, iommufd with the device attached).
    pub fn first_over_memlock(&self, limit: u64) -> Option<Mapping> {
        (1..=self.maps.len()).find_map(|i| {
            let (_, bytes) = peaks(&self.maps[..i]);
            match self.maps[i - 1] {
                DmaOp::Map(m) if bytes > limit => Some(m),
                _ => None,
            }
        })
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

/// A request [`plan_guest`] cannot plan at all (what it asks is not a guest).
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
    let per_page = per_page(space, &ram);
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
        reasons: p.reasons,
        refusals: p.refusals,
    })
}

fn validate(req: &GuestRequest) -> Result<(), GuestError> {
    if req.ram == 0 {
        return Err(GuestError::NoRam);
    }
    if req.devices == 0 {
        return Err(GuestError::NoDevice);
    }
    if let Some(b) = req.phys_bits.filter(|b| !(32..=64).contains(b)) {
        return Err(GuestError::BadPhysBits(b));
    }
    let page = req.backing_page;
    if page < 4 * KIB || !page.is_power_of_two() {
        return Err(GuestError::BadPage(page));
    }
    let multiple = |what: String, size: u64| {
        if size % page == 0 {
            Ok(())
        } else {
            Err(GuestError::NotPageMultiple { what, size, page })
        }
    };
    multiple("--ram".into(), req.ram)?;
    if !req.nodes.is_empty() {
        let sum = req
            .nodes
            .iter()
            .try_fold(0u64, |s, &n| s.checked_add(n))
            .unwrap_or(u64::MAX);
        if sum != req.ram {
            return Err(GuestError::NodesMismatch {
                nodes: sum,
                ram: req.ram,
            });
        }
        for (i, &n) in req.nodes.iter().enumerate() {
            if n == 0 {
                return Err(GuestError::BadSize {
                    what: format!("NUMA node {i}"),
                    detail: "0 bytes".into(),
                });
            }
            multiple(format!("NUMA node {i}"), n)?;
        }
    }
    if req.fixed.len() > MAX_SLOTS {
        return Err(GuestError::TooManyFixed(req.fixed.len()));
    }
    for (i, f) in req.fixed.iter().enumerate() {
        let what = format!("fixed RAM region {i}");
        if f.size == 0 {
            return Err(GuestError::BadSize {
                what,
                detail: "0 bytes".into(),
            });
        }
        if f.at.checked_add(f.size - 1).is_none() {
            return Err(GuestError::BadSize {
                what,
                detail: format!("{:#x} + {:#x} bytes runs past 2^64", f.at, f.size),
            });
        }
        multiple(what.clone(), f.size)?;
        if f.at % page != 0 {
            return Err(GuestError::NotPageMultiple {
                what: format!("{what}'s address"),
                size: f.at,
                page,
            });
        }
    }
    if let Some(i) = req.bars.iter().position(|&b| b == 0) {
        return Err(GuestError::BadSize {
            what: format!("BAR {i}"),
            detail: "0 bytes".into(),
        });
    }
    Ok(())
}

/// `[start, start + len)` as a range (`len` > 0, no wrap: checked by `validate` or by
/// construction).
fn span(start: u64, len: u64) -> IovaRange {
    IovaRange {
        start,
        end: start + (len - 1),
    }
}

/// The number of bits that address `[0, end)`: ceil(log2(end)).
fn bits_for(end: u128) -> u32 {
    if end <= 1 {
        0
    } else {
        128 - (end - 1).leading_zeros()
    }
}

struct Planner<'a> {
    space: &'a IovaSpace,
    host: HostFacts,
    req: &'a GuestRequest,
    reasons: Vec<Reason>,
    refusals: Vec<GuestRefusal>,
}

impl Planner<'_> {
    fn reason(&mut self, item: &'static str, why: String, fact: Fact) {
        self.reasons.push(Reason { item, why, fact });
    }

    fn refuse(&mut self, item: String, why: String, nearest: Option<String>, errno: Option<i32>) {
        self.refusals.push(GuestRefusal {
            item,
            why,
            nearest,
            errno,
        });
    }

    /// The most physical address bits the guest may have: every address from 4 GiB up to
    /// 2^bits must be usable (inside the aperture, in no hole), and a KVM guest has no more
    /// than the host CPU. Returns the bits and the fact that bounds them.
    fn phys_limit(&self) -> (u8, Fact) {
        // The first address at or above 4 GiB the IOMMU cannot map.
        let mut bound: u128 = 1 << MAX_PHYS_BITS;
        let mut fact = Fact::Vmm("x86 page tables (52 physical address bits)");
        if let Some(ap) = self.space.aperture() {
            let end = u128::from(ap.end) + 1;
            if end < bound {
                bound = end;
                fact = Fact::Aperture(ap);
            }
        }
        if let Some(h) = self.space.holes().iter().find(|h| h.range.end >= FOUR_GIB) {
            let start = u128::from(h.range.start.max(FOUR_GIB));
            if start < bound {
                bound = start;
                fact = Fact::Hole(h.clone());
            }
        }
        // The largest bits with 2^bits <= bound.
        let mut bits = (127 - bound.leading_zeros()) as u8;
        if let Some(cpu) = self.host.cpu_phys_bits {
            if cpu < bits {
                bits = cpu;
                fact = Fact::CpuPhysBits(cpu);
            }
        }
        (bits, fact)
    }

    /// `max-ram-below-4g` when a hole below 4 GiB would fall in RAM there: its start,
    /// rounded down to the backing page.
    fn max_ram_below_4g(&mut self) -> Option<u64> {
        let hole = self
            .space
            .holes()
            .iter()
            .find(|h| h.range.start < 0xb000_0000 && h.range.start < self.req.ram)?
            .clone();
        let at = hole.range.start / self.req.backing_page * self.req.backing_page;
        if at <= ISA_BIOS_END {
            self.refuse(
                "ram".into(),
                format!(
                    "the hole {} is below 1 MiB, where every x86 guest has RAM: no setting keeps it out of guest RAM",
                    hole.range
                ),
                Some("a vIOMMU (intel or virtio), so that the guest maps only what it uses".into()),
                Some(libc::EINVAL),
            );
            return None;
        }
        self.reason(
            "max-ram-below-4g",
            format!(
                "RAM below 4 GiB must end at {at:#x}, where the hole {} starts: the rest goes above 4 GiB",
                hole.range
            ),
            Fact::Hole(hole),
        );
        Some(at)
    }

    /// Hotpluggable memory for the fixed regions: `pc_get_device_memory_range` puts it at
    /// the GiB after `above_end`, `maxmem - ram` plus 1 GiB per slot long. Returns the area
    /// and its end.
    fn dimm_area(&mut self, above_end: u128) -> (Option<DimmArea>, Option<u128>) {
        if self.req.fixed.is_empty() {
            return (None, None);
        }
        let base = above_end.next_multiple_of(u128::from(GIB));
        let slots = self.req.fixed.len() as u128;
        let top = self
            .req
            .fixed
            .iter()
            .map(|f| u128::from(f.at) + u128::from(f.size))
            .max()
            .unwrap_or(base);
        for (i, f) in self.req.fixed.iter().enumerate() {
            if u128::from(f.at) < base {
                self.refuse(
                    format!("fixed[{i}]"),
                    format!(
                        "QEMU puts hotpluggable memory (pc-dimms) from {base:#x}, after boot RAM: {:#x} is below it",
                        f.at
                    ),
                    Some(format!("an address at or above {base:#x}")),
                    None,
                );
            }
        }
        // maxmem - ram covers the span from the base to the highest region; the slots'
        // slack comes on top (`size += 1 GiB * slots`).
        let span = top.saturating_sub(base).next_multiple_of(u128::from(GIB));
        let maxmem = u128::from(self.req.ram) + span;
        let end = base + span + slots * u128::from(GIB);
        let maxmem = u64::try_from(maxmem).unwrap_or(u64::MAX);
        let base64 = u64::try_from(base).unwrap_or(u64::MAX);
        self.reason(
            "maxmem",
            format!(
                "pc-dimms at fixed addresses need hotpluggable memory from {base64:#x} up to the highest one: maxmem {:#x}, {slots} slot(s)",
                maxmem
            ),
            Fact::Vmm("pc_get_device_memory_range"),
        );
        (
            Some(DimmArea {
                base: base64,
                maxmem,
                slots: slots as u32,
            }),
            Some(end),
        )
    }

    /// The 64-bit PCI window from `start`: room for the BARs (each aligned to its size),
    /// QEMU's default 32 GiB when that fits below 2^`bits`, else what fits.
    fn mmio64(&mut self, start: u128, bits: u8, fact: &Fact) -> IovaRange {
        let room_end = 1u128 << bits;
        let mut bars = self.req.bars.clone();
        bars.sort_unstable_by(|a, b| b.cmp(a));
        // Descending power-of-two sizes pack without gaps; the window's start is only
        // GiB-aligned, so the largest BAR may need up to its own size again.
        let need: u128 = bars
            .iter()
            .map(|&b| u128::from(b.next_power_of_two().max(b)))
            .sum::<u128>()
            + bars.first().map_or(0, |&b| {
                u128::from(b.next_power_of_two()).saturating_sub(u128::from(GIB))
            });
        let need = need.next_multiple_of(u128::from(GIB)).max(u128::from(GIB));
        let bar_bytes: u128 = self.req.bars.iter().map(|&b| u128::from(b)).sum();
        let room = room_end.saturating_sub(start);
        let size = if room >= u128::from(QEMU_HOLE64_DEFAULT).max(need) {
            let size = u128::from(QEMU_HOLE64_DEFAULT).max(need);
            self.reason(
                "pci-hole64-size",
                format!(
                    "the 64-bit PCI window [{start:#x}, +{}) holds the BARs ({} of them, {} with the largest one's alignment) and ends below 2^{bits}",
                    format_size(size),
                    format_size(bar_bytes),
                    format_size(need)
                ),
                fact.clone(),
            );
            size
        } else if room >= need {
            let size = room / u128::from(GIB) * u128::from(GIB);
            self.reason(
                "pci-hole64-size",
                format!(
                    "the 64-bit PCI window shrinks to {} so that it ends at 2^{bits} (QEMU's default 32G would not)",
                    format_size(size)
                ),
                fact.clone(),
            );
            size
        } else {
            self.refuse(
                "bars".into(),
                format!(
                    "the 64-bit PCI window from {start:#x} needs {} for the BARs, but only {} fit below 2^{bits}, set by {fact}",
                    format_size(need),
                    format_size(room)
                ),
                Some(if need > room_end {
                    "no guest RAM size makes room: the BARs alone do not fit below that limit".into()
                } else {
                    format!(
                        "at most {} of boot RAM above 4 GiB (less RAM or fewer pc-dimms)",
                        format_size(room_end.saturating_sub(need).saturating_sub(u128::from(FOUR_GIB)) / u128::from(GIB) * u128::from(GIB))
                    )
                }),
                None,
            );
            need
        };
        let end = (start + size - 1).min(u128::from(u64::MAX));
        IovaRange {
            start: u64::try_from(start).unwrap_or(u64::MAX),
            end: end as u64,
        }
    }

    /// The guest's phys-bits: the limit (or the user's setting, checked against it), when
    /// what QEMU places (ending at `needed_end`) fits below it.
    fn phys_bits(&mut self, limit: u8, fact: &Fact, needed_end: u128) -> u8 {
        let need = bits_for(needed_end).max(32);
        let bits = self.req.phys_bits.unwrap_or(limit);
        if let Some(asked) = self.req.phys_bits {
            if asked > limit {
                self.refuse(
                    "phys-bits".into(),
                    format!(
                        "phys-bits {asked} lets the guest put RAM and BARs up to 2^{asked}, but the host maps DMA only below 2^{limit}: {fact}"
                    ),
                    Some(format!("phys-bits {limit}")),
                    None,
                );
            }
        }
        if u32::from(bits) < need {
            self.refuse(
                "phys-bits".into(),
                format!(
                    "RAM and the 64-bit PCI window end at {needed_end:#x}, which needs {need} physical address bits; phys-bits {bits} is fewer, and QEMU refuses to start (pc_memory_init: \"phys-bits too low\")"
                ),
                Some(if u32::from(limit) >= need {
                    format!("phys-bits {need}")
                } else {
                    "less RAM, fewer pc-dimms or smaller BARs".into()
                }),
                None,
            );
        }
        self.reason(
            "phys-bits",
            format!(
                "the guest may use every address below 2^{limit}: nothing there is a host hole or beyond the aperture (QEMU needs {need} for RAM and the PCI window)"
            ),
            fact.clone(),
        );
        bits
    }

    /// Every piece of RAM must be mappable: the library's own words when it is not.
    fn check_ram(&mut self, piece: &RamPiece) {
        let len = piece.range.end - piece.range.start + 1;
        let Some(refusal) = self.space.explain(piece.range.start, len) else {
            return;
        };
        let item = match piece.kind {
            RamKind::Below4G => "ram".to_owned(),
            RamKind::Above4G => "ram".to_owned(),
            RamKind::Fixed(i) => format!("fixed[{i}]"),
        };
        let nearest = match refusal.problem {
            SpanProblem::BeyondAperture { aperture } => Some(format!(
                "RAM ending at or below {:#x} (the aperture's end)",
                aperture.end
            )),
            SpanProblem::InHole { hole } => Some(format!(
                "RAM outside {hole}{}",
                refusal
                    .above
                    .map(|a| format!(", e.g. from {:#x}", a.start))
                    .unwrap_or_default()
            )),
            _ => None,
        };
        // QEMU's legacy container on iommufd's compat maps before it opens the device, into
        // an IOAS without the device's domain: the device's open is what fails.
        let (why, errno) = if self.host.backend == Backend::IommufdCompat {
            (
                format!("{refusal}; on iommufd's compat container QEMU maps before it opens the device, whose open then fails"),
                libc::EADDRINUSE,
            )
        } else {
            (refusal.to_string(), libc::EINVAL)
        };
        self.refuse(item, why, nearest, Some(errno));
    }

    /// The vIOMMU's settings.
    fn viommu(&mut self) -> Option<ViommuPlan> {
        let kind = self.req.viommu;
        let aperture = self.space.aperture();
        // The first address the guest must not use as an IOVA without being told: the
        // first hole at or above 4 GiB, or the aperture's end.
        let hole = self
            .space
            .holes()
            .iter()
            .find(|h| h.range.end >= FOUR_GIB)
            .cloned();
        let (first_bad, bad_fact) = match (&hole, aperture) {
            (Some(h), Some(a)) if u128::from(h.range.start) <= u128::from(a.end) => {
                (u128::from(h.range.start), Fact::Hole(h.clone()))
            }
            (_, Some(a)) => (u128::from(a.end) + 1, Fact::Aperture(a)),
            (Some(h), None) => (u128::from(h.range.start), Fact::Hole(h.clone())),
            (None, None) => (1 << 64, Fact::Request),
        };
        match kind {
            Viommu::None => None,
            Viommu::Intel => {
                let aw = [48u8, 39].into_iter().find(|&b| (1u128 << b) <= first_bad);
                match aw {
                    Some(aw) => self.reason(
                        "aw-bits",
                        format!("intel-iommu's aw-bits {aw} (39 or 48): the guest's IOVAs stay below 2^{aw}, where the host has no hole it cannot be told of"),
                        bad_fact.clone(),
                    ),
                    None => self.refuse(
                        "viommu".into(),
                        format!("intel-iommu's narrowest width, 39 bits, reaches {first_bad:#x}, where the host cannot map"),
                        Some("virtio-iommu, which tells the guest the host's holes".into()),
                        None,
                    ),
                }
                // Holes below 4 GiB other than the MSI window the guest reserves itself.
                let unknown: Vec<IovaRange> = self
                    .space
                    .holes()
                    .iter()
                    .map(|h| h.range)
                    .filter(|h| {
                        h.start < FOUR_GIB && !(h.start >= 0xfee0_0000 && h.end <= 0xfeef_ffff)
                    })
                    .collect();
                if !unknown.is_empty() {
                    self.refuse(
                        "viommu".into(),
                        format!(
                            "the host cannot map {} below 4 GiB, and intel-iommu cannot tell the guest (it reserves only its own MSI window 0xfee00000-0xfeefffff)",
                            unknown.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                        ),
                        Some("virtio-iommu, which tells the guest the host's holes".into()),
                        Some(libc::EINVAL),
                    );
                }
                Some(ViommuPlan {
                    kind,
                    aw_bits: aw,
                    reserved: Vec::new(),
                })
            }
            Viommu::Virtio => {
                let end = aperture.map_or(1u128 << 64, |a| u128::from(a.end) + 1);
                let aw = (127 - end.leading_zeros()).clamp(32, 64) as u8;
                let reserved: Vec<IovaRange> = self
                    .space
                    .reserved()
                    .into_iter()
                    .filter(|r| u128::from(r.start) < (1u128 << aw))
                    .collect();
                self.reason(
                    "aw-bits",
                    format!("virtio-iommu's aw-bits {aw}: the IOMMU's aperture"),
                    aperture.map_or(Fact::Request, Fact::Aperture),
                );
                self.reason(
                    "reserved",
                    format!(
                        "virtio-iommu must advertise {} reserved range(s) (QEMU derives them from the host's IOVA ranges for a VFIO device)",
                        reserved.len()
                    ),
                    Fact::Backend(self.host.backend),
                );
                Some(ViommuPlan {
                    kind,
                    aw_bits: Some(aw),
                    reserved,
                })
            }
            Viommu::Amd => {
                self.refuse(
                    "viommu".into(),
                    "QEMU's amd-iommu cannot serve a VFIO device: it refuses the MAP notifier VFIO needs (amdvi_iommu_notify_flag_changed, QEMU 10.0)".into(),
                    Some("intel or virtio".into()),
                    None,
                );
                Some(ViommuPlan {
                    kind,
                    aw_bits: None,
                    reserved: Vec::new(),
                })
            }
            Viommu::Smmuv3 => {
                self.refuse(
                    "viommu".into(),
                    "SMMUv3 is Arm's (-M virt,iommu=smmuv3); this plan is for an x86 q35 guest"
                        .into(),
                    Some("intel or virtio".into()),
                    None,
                );
                Some(ViommuPlan {
                    kind,
                    aw_bits: None,
                    reserved: Vec::new(),
                })
            }
        }
    }

    /// The mappings and locked memory the plan needs, and whether the host allows them.
    fn budgets(&mut self, maps: &[DmaOp], ram: &[RamPiece]) -> (u64, u64) {
        let backend = self.host.backend;
        let ram_total: u64 = ram
            .iter()
            .map(|r| r.range.end - r.range.start + 1)
            .fold(0, u64::saturating_add);
        let (mappings, memlock) = if self.req.viommu == Viommu::None {
            let (n, bytes) = peaks(maps);
            self.reason(
                "mappings",
                format!(
                    "QEMU maps each RAM section once: at most {n} live at once, its ROMs included"
                ),
                Fact::Vmm("vfio_listener_region_add"),
            );
            self.reason(
                "memlock",
                format!(
                    "the {} backend pins every mapped page: {} at most ({} of RAM and the firmware's ROM)",
                    backend.name(),
                    format_size(u128::from(bytes)),
                    format_size(u128::from(ram_total))
                ),
                Fact::Backend(backend),
            );
            (n, bytes)
        } else {
            let bytes = ram_total.saturating_mul(u64::from(self.req.devices));
            self.reason(
                "memlock",
                format!(
                    "behind a vIOMMU each device has its own address space and QEMU its own container for it: each may pin all of RAM ({} x {} device(s))",
                    format_size(u128::from(ram_total)),
                    self.req.devices
                ),
                Fact::Backend(backend),
            );
            if let Some(avail) = self.host.dma_avail {
                self.reason(
                    "mappings",
                    format!("behind a vIOMMU QEMU maps nothing at start; the guest's own DMA maps become the container's, at most {avail} live at once ({} of 4 KiB pages)", format_size(u128::from(avail) * 4096)),
                    Fact::DmaAvail(avail),
                );
            }
            (0, bytes)
        };
        if self.req.viommu == Viommu::None && backend == Backend::Type1 {
            if let Some(avail) = self.host.dma_avail {
                if u64::from(avail) < mappings {
                    self.refuse(
                        "mappings".into(),
                        format!("QEMU needs {mappings} mappings at once; the container accepts {avail} (DMA_AVAIL)"),
                        Some(format!(
                            "vfio_iommu_type1 dma_entry_limit >= {} (it was {avail} more than the container held)",
                            mappings
                        )),
                        Some(libc::ENOSPC),
                    );
                }
            }
        }
        (mappings, memlock)
    }
}

/// The peak of live mappings and of live mapped bytes over a sequence.
fn peaks(ops: &[DmaOp]) -> (u64, u64) {
    let mut live: Vec<Mapping> = Vec::new();
    let (mut n, mut bytes) = (0u64, 0u64);
    for op in ops {
        match op {
            DmaOp::Map(m) => live.push(*m),
            DmaOp::Unmap(u) => live.retain(|m| {
                let end = u128::from(m.iova) + u128::from(m.len);
                !(m.iova >= u.iova && end <= u128::from(u.iova) + u128::from(u.len))
            }),
        }
        n = n.max(live.len() as u64);
        bytes = bytes.max(live.iter().map(|m| m.len).fold(0, u64::saturating_add));
    }
    (n, bytes)
}

/// The maps and unmaps QEMU 10's VFIO listener makes for this guest at start, without a
/// vIOMMU (`vfio_listener_region_add` / `_del`, in the flat view's order): RAM below
/// 4 GiB whole, SeaBIOS just below 4 GiB, RAM above 4 GiB, the pc-dimms; then at reset,
/// when the option ROM and the BIOS's alias overlay RAM below 1 MiB, RAM below 4 GiB is
/// unmapped and mapped again around them. NUMA nodes split RAM into one section each.
pub fn qemu_maps(req: &GuestRequest, ram: &[RamPiece]) -> Vec<DmaOp> {
    let map = |start: u64, end: u64| {
        DmaOp::Map(Mapping {
            iova: start,
            len: end - start + 1,
        })
    };
    // Node boundaries in guest RAM offsets.
    let mut bounds: Vec<u64> = req
        .nodes
        .iter()
        .scan(0u64, |acc, &n| {
            *acc = acc.saturating_add(n);
            Some(*acc)
        })
        .collect();
    bounds.pop();
    // Sections of [first, last] (guest addresses) of boot RAM at RAM offset `offset`.
    let split = |first: u64, last: u64, offset: u64| -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut s = first;
        for &b in &bounds {
            // The node boundary at guest address first + (b - offset).
            if b > offset && b - offset <= last - first {
                let at = first + (b - offset);
                out.push((s, at - 1));
                s = at;
            }
        }
        out.push((s, last));
        out
    };
    let mut ops = Vec::new();
    let below = ram
        .iter()
        .find(|r| r.kind == RamKind::Below4G)
        .map(|r| r.range);
    let bios = match req.firmware {
        Firmware::SeaBios { size } if size > 0 && size <= FOUR_GIB => {
            Some((FOUR_GIB - size, FOUR_GIB - 1))
        }
        _ => None,
    };
    let below_len = below.map_or(0, |b| b.end - b.start + 1);
    let mut sorted: Vec<(u64, u64, u64)> = Vec::new(); // (start, end, ram offset or MAX)
    if let Some(b) = below {
        sorted.extend(split(b.start, b.end, 0).into_iter().map(|(s, e)| (s, e, 0)));
    }
    if let Some((s, e)) = bios {
        sorted.push((s, e, u64::MAX));
    }
    for piece in ram {
        match piece.kind {
            RamKind::Below4G => {}
            RamKind::Above4G => sorted.extend(
                split(piece.range.start, piece.range.end, below_len)
                    .into_iter()
                    .map(|(s, e)| (s, e, 0)),
            ),
            RamKind::Fixed(_) => sorted.push((piece.range.start, piece.range.end, 0)),
        }
    }
    sorted.sort_unstable();
    ops.extend(sorted.iter().map(|&(s, e, _)| map(s, e)));
    // At reset: the option ROM area and the BIOS's alias below 1 MiB split the section
    // that covers them.
    if let Some(b) = below {
        let first = split(b.start, b.end, 0)[0];
        if first.1 > ISA_BIOS_END {
            ops.push(DmaOp::Unmap(Mapping {
                iova: first.0,
                len: first.1 - first.0 + 1,
            }));
            ops.push(map(0, PC_ROM.start - 1));
            ops.push(map(PC_ROM.start, PC_ROM.end));
            if let Some((bs, be)) = bios {
                let alias = (be - bs + 1).min(128 * KIB);
                ops.push(map(ONE_MIB - alias, ISA_BIOS_END));
                if alias < 128 * KIB {
                    // RAM shows between the option ROM and a smaller alias.
                    ops.push(map(PC_ROM.end + 1, ONE_MIB - alias - 1));
                }
            } else {
                ops.push(map(PC_ROM.end + 1, ISA_BIOS_END));
            }
            ops.push(map(ONE_MIB, first.1));
        }
    }
    ops
}

/// The mappings guest RAM needs when mapped page by page (one map per backing page, as
/// DPDK and SPDK map hugepages), for each IOMMU page size up to 1 GiB.
fn per_page(space: &IovaSpace, ram: &[RamPiece]) -> Vec<MappingCount> {
    space
        .page_sizes()
        .unwrap_or_default()
        .sizes()
        .filter(|&p| p <= GIB)
        .map(|page_size| MappingCount {
            page_size,
            entries: ram
                .iter()
                .map(|r| {
                    let len = u128::from(r.range.end - r.range.start) + 1;
                    u64::try_from(len.div_ceil(u128::from(page_size))).unwrap_or(u64::MAX)
                })
                .fold(0, u64::saturating_add),
        })
        .collect()
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

#[cfg(test)]
mod tests;
