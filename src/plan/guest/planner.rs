//! The decisions of a plan, one method each, every one recording its reason and fact or
//! a refusal: the phys-bits limit, `max-ram-below-4g`, hotpluggable memory, the 64-bit PCI
//! window, the RAM checks, the vIOMMU and the budgets.

use super::qemu_maps::peaks;
use super::*;
use crate::plan::budget::mapping_budget;

/// `[start, start + len)` as a range (`len` > 0, no wrap: checked by `validate` or by
/// construction).
pub(super) fn span(start: u64, len: u64) -> IovaRange {
    IovaRange {
        start,
        end: start + (len - 1),
    }
}

/// The number of bits that address `[0, end)`: ceil(log2(end)).
pub(super) fn bits_for(end: u128) -> u32 {
    if end <= 1 {
        0
    } else {
        128 - (end - 1).leading_zeros()
    }
}

pub(super) struct Planner<'a> {
    pub(super) space: &'a IovaSpace,
    pub(super) host: HostFacts,
    pub(super) req: &'a GuestRequest,
    pub(super) reasons: Vec<Reason>,
    pub(super) refusals: Vec<GuestRefusal>,
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
    pub(super) fn phys_limit(&self) -> (u8, Fact) {
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
    pub(super) fn max_ram_below_4g(&mut self) -> Option<u64> {
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
    pub(super) fn dimm_area(&mut self, above_end: u128) -> (Option<DimmArea>, Option<u128>) {
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
    pub(super) fn mmio64(&mut self, start: u128, bits: u8, fact: &Fact) -> IovaRange {
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
    pub(super) fn phys_bits(&mut self, limit: u8, fact: &Fact, needed_end: u128) -> u8 {
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
    pub(super) fn check_ram(&mut self, piece: &RamPiece) {
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
    pub(super) fn viommu(&mut self) -> Option<ViommuPlan> {
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
            Viommu::Amd | Viommu::Smmuv3 => {
                let why = if kind == Viommu::Amd {
                    "QEMU's amd-iommu cannot serve a VFIO device: it refuses the MAP notifier VFIO needs (amdvi_iommu_notify_flag_changed, QEMU 10.0)"
                } else {
                    "SMMUv3 is Arm's (-M virt,iommu=smmuv3); this plan is for an x86 q35 guest"
                };
                self.refuse(
                    "viommu".into(),
                    why.into(),
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
    pub(super) fn budgets(&mut self, maps: &[DmaOp], ram: &[RamPiece]) -> (u64, u64) {
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
        // Behind a vIOMMU QEMU maps nothing at start: 0 needed, which always fits.
        let budget = mapping_budget(backend, self.host.dma_avail, mappings);
        if let (Verdict::Exceeds { .. }, Some(avail)) = (budget.verdict, budget.available) {
            self.refuse(
                "mappings".into(),
                format!("QEMU needs {mappings} mappings at once; the container accepts {avail} (DMA_AVAIL)"),
                Some(format!(
                    "vfio_iommu_type1 dma_entry_limit >= {mappings} (it was {avail} more than the container held)"
                )),
                budget.errno.map(|e| e.0),
            );
        }
        (mappings, memlock)
    }
}
