//! What QEMU 10 does with a planned guest's memory: the maps and unmaps of its VFIO
//! listener at start (checked against its traces in the lab) and their peaks.

use super::*;
use crate::plan::predict::{LiveSet, UnmapTakes};

/// The peak of live mappings and of live mapped bytes over a sequence.
pub(super) fn peaks(ops: &[DmaOp]) -> (u64, u64) {
    peaks_charging(ops, &[])
}

/// [`peaks`], the maps at the indices `free` charging no bytes.
pub(super) fn peaks_charging(ops: &[DmaOp], free: &[usize]) -> (u64, u64) {
    charged_steps(ops, free).fold((0, 0), |(n, bytes), (_, live, charged)| {
        (n.max(live), bytes.max(charged))
    })
}

/// Each op of `ops` with what is live after it: the mappings, and the bytes they are
/// charged (the maps at the indices `free` charging none). An unmap takes the mappings
/// wholly inside its span.
pub(super) fn charged_steps<'a>(
    ops: &'a [DmaOp],
    free: &'a [usize],
) -> impl Iterator<Item = (&'a DmaOp, u64, u64)> + 'a {
    let mut live = LiveSet::new(UnmapTakes::Inside);
    ops.iter().enumerate().map(move |(i, op)| {
        live.apply(op, free.contains(&i));
        (op, live.count() as u64, live.charged())
    })
}

/// The maps of `ops` (QEMU's, [`qemu_maps()`]) of ROM QEMU has not written yet: SeaBIOS's
/// image, mapped when the device is realized and loaded into it only at reset; the option
/// ROM area, which nothing fills without option ROMs; and the BIOS's alias below 1 MiB,
/// mapped at reset before the image is loaded (a paused QEMU on Linux 6.1 holds its RAM
/// only: `plan-inspect` in the lab). Each of their pages is still the shared zero page,
/// which a kernel that pins it in place for a read-only map does not charge
/// (`is_invalid_reserved_pfn`: the zero page is reserved; Linux 6.1 in the lab), while one
/// that unshares read-only long-term pins charges a new page for it (6.12, 7.3).
pub(super) fn unwritten_rom(req: &GuestRequest, ops: &[DmaOp]) -> Vec<usize> {
    let bios = match req.firmware {
        Firmware::SeaBios { size } if size > 0 && size <= FOUR_GIB => Some(FOUR_GIB - size),
        _ => None,
    };
    let first_bios = ops
        .iter()
        .position(|op| matches!(op, DmaOp::Map(m) if Some(m.iova) == bios));
    let rom = ops
        .iter()
        .position(|op| matches!(op, DmaOp::Map(m) if m.iova == PC_ROM.start && m.len == PC_ROM.end - PC_ROM.start + 1));
    // Without SeaBIOS, what ends at ISA_BIOS_END past the option ROM is RAM.
    let alias = bios.and_then(|_| {
        ops.iter().position(|op| {
            matches!(op, DmaOp::Map(m) if m.iova > PC_ROM.end && m.iova.checked_add(m.len - 1) == Some(ISA_BIOS_END))
        })
    });
    first_bios.into_iter().chain(rom).chain(alias).collect()
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
