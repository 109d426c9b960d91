//! `struct vfio_iommu_type1_info` and its capability chain, decoded.
//!
//! [`InfoView`] checks a whole buffer in one pass without allocating and reads fields on
//! demand; [`IommuInfo`] is the owned model built from it. Both say, for every item the
//! kernel did not report, *why* it is absent ([`Absence`]).

use std::fmt;

use crate::bytes::{ByteOrder, Reader};
use crate::chain::{CapChain, RawCap};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::iova::{self, IovaRange, PageSizes};
use crate::uapi::{self, cap_dma_avail, cap_iova_range, cap_migration, type1_info};

const STRUCTURE: &str = "struct vfio_iommu_type1_info";

/// The capabilities of the type1 IOMMU info that this library decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Type1Cap {
    /// `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE` (id 1, Linux 5.4).
    IovaRange,
    /// `VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION` (id 2, Linux 5.8).
    Migration,
    /// `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL` (id 3, Linux 5.10).
    DmaAvail,
}

impl Type1Cap {
    /// The capability id in the chain.
    pub const fn id(self) -> u16 {
        match self {
            Type1Cap::IovaRange => uapi::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
            Type1Cap::Migration => uapi::VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
            Type1Cap::DmaAvail => uapi::VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
        }
    }

    /// The capability for an id, if this library knows it.
    pub const fn from_id(id: u16) -> Option<Type1Cap> {
        match id {
            uapi::VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE => Some(Type1Cap::IovaRange),
            uapi::VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION => Some(Type1Cap::Migration),
            uapi::VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL => Some(Type1Cap::DmaAvail),
            _ => None,
        }
    }

    /// Short name: `IOVA_RANGE`, `MIGRATION`, `DMA_AVAIL`.
    pub const fn name(self) -> &'static str {
        match self {
            Type1Cap::IovaRange => "IOVA_RANGE",
            Type1Cap::Migration => "MIGRATION",
            Type1Cap::DmaAvail => "DMA_AVAIL",
        }
    }
}

/// Why an item of the IOMMU info is absent. Absence is information: it tells the kernel's
/// age, the container's state, or that the buffer was too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Absence {
    /// The `CAPS` flag is clear: the kernel predates the capability chain (before Linux
    /// 5.4), or (5.4-5.7) it had nothing to report.
    NoCapabilityChain,
    /// The kernel had capabilities but they did not fit: it needs `needed` bytes and the
    /// buffer had `available`. Query again with a larger buffer.
    DidNotFit {
        /// The size the kernel asked for (`argsz` on return).
        needed: u32,
        /// The buffer's size.
        available: usize,
    },
    /// The `CAPS` flag is set, yet `cap_offset` is 0 while `argsz` claims the buffer was
    /// large enough: the kernel did not place its chain (not seen from type1; a partial fill).
    ChainNotPlaced,
    /// The chain is present without this capability; what that means depends on it
    /// (see the `Display` of [`AbsentCap`]).
    NotInChain,
}

impl Absence {
    /// A stable machine-readable code: `no_capability_chain`, `did_not_fit`,
    /// `chain_not_placed`, `not_in_chain`.
    pub const fn code(&self) -> &'static str {
        match self {
            Absence::NoCapabilityChain => "no_capability_chain",
            Absence::DidNotFit { .. } => "did_not_fit",
            Absence::ChainNotPlaced => "chain_not_placed",
            Absence::NotInChain => "not_in_chain",
        }
    }

    /// The reason in words, for the capability `cap`.
    pub fn explain(&self, cap: Type1Cap) -> String {
        AbsentCap { cap, why: *self }.to_string()
    }
}

/// An absent capability with the reason: displays the full explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsentCap {
    /// Which capability.
    pub cap: Type1Cap,
    /// Why it is absent.
    pub why: Absence,
}

impl fmt::Display for AbsentCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why {
            Absence::NoCapabilityChain => write!(
                f,
                "no capability chain (CAPS flag clear): the kernel predates Linux 5.4 (or, on 5.4-5.7, had nothing to report), and {} {}",
                self.cap.name(),
                match self.cap {
                    Type1Cap::IovaRange => "arrived in 5.4",
                    Type1Cap::Migration => "is not reported either (it arrived in 5.8)",
                    Type1Cap::DmaAvail => "is not reported either (it arrived in 5.10)",
                }
            ),
            Absence::DidNotFit { needed, available } => write!(
                f,
                "the capabilities did not fit: the kernel needs {needed} bytes, the buffer has {available}"
            ),
            Absence::ChainNotPlaced => f.write_str(
                "the CAPS flag is set but cap_offset is 0 although argsz says the buffer was large enough: the kernel did not place its capability chain",
            ),
            Absence::NotInChain => f.write_str(match self.cap {
                Type1Cap::IovaRange => {
                    "the container reported an empty IOVA list (no IOMMU-backed group attached: only mdev or emulated devices)"
                }
                Type1Cap::Migration => {
                    "no MIGRATION capability: the kernel predates Linux 5.8, or the container cannot track dirty pages (iommufd's VFIO compatibility)"
                }
                Type1Cap::DmaAvail => {
                    "no DMA_AVAIL capability: the kernel predates Linux 5.10 (the mapping limit is the vfio_iommu_type1 dma_entry_limit parameter, 65535 by default)"
                }
            }),
        }
    }
}

/// An item of the IOMMU info: reported by the kernel, or absent for a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported<T> {
    /// The kernel reported it.
    Present(T),
    /// It is absent, and why.
    Absent(Absence),
}

impl<T> Reported<T> {
    /// The value, if reported.
    pub fn present(&self) -> Option<&T> {
        match self {
            Reported::Present(v) => Some(v),
            Reported::Absent(_) => None,
        }
    }

    /// Why it is absent, if it is.
    pub fn absence(&self) -> Option<Absence> {
        match self {
            Reported::Present(_) => None,
            Reported::Absent(a) => Some(*a),
        }
    }

    /// Converts into an `Option`, dropping the reason.
    pub fn into_option(self) -> Option<T> {
        match self {
            Reported::Present(v) => Some(v),
            Reported::Absent(_) => None,
        }
    }

    /// Applies `f` to a reported value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reported<U> {
        match self {
            Reported::Present(v) => Reported::Present(f(v)),
            Reported::Absent(a) => Reported::Absent(a),
        }
    }
}

/// The dirty-page tracking capability (`VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Migration {
    /// The capability's version.
    pub version: u16,
    /// `flags` (none defined so far).
    pub flags: u32,
    /// Page sizes in which dirty pages can be tracked.
    pub pgsize_bitmap: PageSizes,
    /// Largest dirty bitmap the kernel returns in one call, in bytes.
    pub max_dirty_bitmap_size: u64,
}

/// A capability of the chain whose id this library does not know, kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownCap {
    /// The capability id.
    pub id: u16,
    /// Its version.
    pub version: u16,
    /// Offset of its header from the start of the buffer.
    pub offset: usize,
    /// Its bytes, header included, up to the next capability or the end of the buffer
    /// (so they may include padding or bytes the kernel never wrote: its length is not
    /// knowable without knowing the capability).
    pub bytes: Vec<u8>,
}

/// Where a capability sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CapLocation {
    /// The capability id.
    pub id: u16,
    /// Its version.
    pub version: u16,
    /// Offset of its header from the start of the buffer.
    pub offset: usize,
}

/// What the `CAPS` flag and `cap_offset` say about the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChainState {
    /// Not signalled, not present, or not placed: every capability is absent for this reason.
    Absent(Absence),
    /// A chain starting at this offset, walked and checked.
    Walked,
}

/// A checked, borrowed view of a `struct vfio_iommu_type1_info` buffer.
///
/// [`InfoView::parse`] validates every header, payload and range in one pass and
/// allocates nothing; the accessors then read the buffer directly.
#[derive(Clone, Copy)]
pub struct InfoView<'a> {
    reader: Reader<'a>,
    order: ByteOrder,
    argsz: u32,
    flags: u32,
    iova_pgsizes: u64,
    cap_offset: Option<u32>,
    chain: ChainState,
    iova: Option<(usize, u32)>,
    migration: Option<Migration>,
    dma_avail: Option<u32>,
    unknown: usize,
}

impl fmt::Debug for InfoView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfoView")
            .field("len", &self.reader.len())
            .field("argsz", &self.argsz)
            .field("flags", &self.flags)
            .field("iova_pgsizes", &self.iova_pgsizes)
            .field("cap_offset", &self.cap_offset)
            .finish_non_exhaustive()
    }
}

impl<'a> InfoView<'a> {
    /// Checks `buf` (a buffer as the kernel filled it; its length is the buffer's size)
    /// and returns a view of it, or the first problem with its byte offset.
    pub fn parse(buf: &'a [u8], order: ByteOrder) -> Result<InfoView<'a>, DecodeError> {
        Self::parse_inner(buf, order).map_err(|e| e.in_structure(STRUCTURE))
    }

    fn parse_inner(buf: &'a [u8], order: ByteOrder) -> Result<InfoView<'a>, DecodeError> {
        let reader = Reader::new(buf, order);
        let too_short = || {
            DecodeError::new(
                buf.len(),
                DecodeErrorKind::TooShort {
                    len: buf.len(),
                    needed: type1_info::MIN_SIZE,
                },
            )
        };
        let argsz = reader.u32_at(type1_info::ARGSZ).ok_or_else(too_short)?;
        let flags = reader.u32_at(type1_info::FLAGS).ok_or_else(too_short)?;
        let iova_pgsizes = reader
            .u64_at(type1_info::IOVA_PGSIZES)
            .ok_or_else(too_short)?;
        let mut view = InfoView {
            reader,
            order,
            argsz,
            flags,
            iova_pgsizes,
            cap_offset: None,
            chain: ChainState::Absent(Absence::NoCapabilityChain),
            iova: None,
            migration: None,
            dma_avail: None,
            unknown: 0,
        };
        if flags & uapi::VFIO_IOMMU_INFO_CAPS == 0 {
            // Before 5.4 there is no cap_offset; bytes 16.. are whatever the caller wrote.
            return Ok(view);
        }
        view.cap_offset = reader.u32_at(type1_info::CAP_OFFSET);
        let len = buf.len();
        if chain_did_not_fit(len, argsz, flags, view.cap_offset) {
            view.chain = ChainState::Absent(Absence::DidNotFit {
                needed: argsz,
                available: len,
            });
        } else {
            match view.cap_offset {
                None | Some(0) => view.chain = ChainState::Absent(Absence::ChainNotPlaced),
                Some(first) => {
                    view.chain = ChainState::Walked;
                    view.walk(first)?;
                }
            }
        }
        Ok(view)
    }

    fn chain(&self, first: u32) -> CapChain<'a> {
        CapChain::new(
            self.reader.bytes(),
            self.order,
            type1_info::CAP_OFFSET,
            first,
            type1_info::PAD,
        )
    }

    fn walk(&mut self, first: u32) -> Result<(), DecodeError> {
        // Where each known capability's fields lie: no other header may start inside one.
        let mut spans: [Option<(usize, usize, Type1Cap)>; 3] = [None; 3];
        // The field that pointed at the current capability: where a bad pointer is reported.
        let mut pointer_at = type1_info::CAP_OFFSET;
        for (hops, cap) in self.chain(first).enumerate() {
            let cap = cap?;
            let header_end = cap.offset + crate::uapi::cap_header::SIZE;
            for &(start, end, known) in spans.iter().flatten() {
                let kind = if cap.offset == start {
                    // Back at a header already visited: the chain loops.
                    DecodeErrorKind::ChainLoops { hops: hops + 1 }
                } else if cap.offset < end && start < header_end {
                    DecodeErrorKind::CapOverlaps {
                        cap_offset: cap.offset as u64,
                        name: known.name(),
                        other_offset: start,
                        other_end: end,
                    }
                } else {
                    continue;
                };
                return Err(DecodeError::new(pointer_at, kind));
            }
            pointer_at = cap.offset + crate::uapi::cap_header::NEXT;
            let Some(known) = Type1Cap::from_id(cap.id) else {
                self.unknown += 1;
                continue;
            };
            if let Some((first_offset, _, _)) = spans[known as usize] {
                return Err(DecodeError::new(
                    cap.offset,
                    DecodeErrorKind::DuplicateCap {
                        name: known.name(),
                        id: cap.id,
                        first_offset,
                    },
                ));
            }
            let size = match known {
                Type1Cap::IovaRange => {
                    let (offset, count) = check_iova_range(&cap)?;
                    self.iova = Some((offset, count));
                    cap_iova_range::RANGES + count as usize * cap_iova_range::RANGE_SIZE
                }
                Type1Cap::Migration => {
                    self.migration = Some(read_migration(&cap)?);
                    cap_migration::SIZE
                }
                Type1Cap::DmaAvail => {
                    self.dma_avail = Some(read_dma_avail(&cap)?);
                    cap_dma_avail::SIZE
                }
            };
            let end = cap.offset + size;
            if let Some(&(start, other_end, other)) = spans
                .iter()
                .flatten()
                .find(|(start, other_end, _)| cap.offset < *other_end && *start < end)
            {
                return Err(DecodeError::new(
                    cap.offset,
                    DecodeErrorKind::CapOverlaps {
                        cap_offset: cap.offset as u64,
                        name: other.name(),
                        other_offset: start,
                        other_end,
                    },
                ));
            }
            spans[known as usize] = Some((cap.offset, end, known));
        }
        Ok(())
    }

    fn reported<T>(&self, value: Option<T>) -> Reported<T> {
        match (self.chain, value) {
            (ChainState::Absent(why), _) => Reported::Absent(why),
            (ChainState::Walked, Some(v)) => Reported::Present(v),
            (ChainState::Walked, None) => Reported::Absent(Absence::NotInChain),
        }
    }

    /// `argsz` as found: on return, the size the kernel needs when the chain did not fit,
    /// else the caller's buffer size (the kernel does not rewrite it when all fits).
    pub fn argsz(&self) -> u32 {
        self.argsz
    }

    /// `flags` as found (`VFIO_IOMMU_INFO_PGSIZES`, `VFIO_IOMMU_INFO_CAPS`).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The IOMMU page sizes, or `None` when the `PGSIZES` flag is clear.
    pub fn iova_pgsizes(&self) -> Option<PageSizes> {
        (self.flags & uapi::VFIO_IOMMU_INFO_PGSIZES != 0).then_some(PageSizes(self.iova_pgsizes))
    }

    /// `cap_offset` as found, when the `CAPS` flag is set and the buffer holds the field.
    pub fn cap_offset(&self) -> Option<u32> {
        self.cap_offset
    }

    /// True when the kernel had capabilities that did not fit the buffer: the `CAPS` flag
    /// is set, `cap_offset` is 0 or beyond the buffer, and `argsz` exceeds the buffer.
    pub fn caps_truncated(&self) -> bool {
        matches!(self.chain, ChainState::Absent(Absence::DidNotFit { .. }))
    }

    /// The usable IOVA ranges in the kernel's order, read from the buffer on demand.
    pub fn iova_ranges(&self) -> Reported<IovaRanges<'a>> {
        self.reported(self.iova.map(|(offset, count)| IovaRanges {
            reader: self.reader,
            next: offset + cap_iova_range::RANGES,
            left: count as usize,
        }))
    }

    /// The dirty-tracking capability.
    pub fn migration(&self) -> Reported<Migration> {
        self.reported(self.migration)
    }

    /// How many more `VFIO_IOMMU_MAP_DMA` calls the container accepts.
    pub fn dma_avail(&self) -> Reported<u32> {
        self.reported(self.dma_avail)
    }

    /// Every capability of the chain in chain order (known and unknown).
    pub fn caps(&self) -> impl Iterator<Item = RawCap<'a>> + 'a {
        let first = match self.chain {
            ChainState::Walked => self.cap_offset.unwrap_or(0),
            ChainState::Absent(_) => 0,
        };
        // The chain was checked by `parse`, so no item is an error.
        self.chain(first).map_while(Result::ok)
    }

    /// How many capabilities with ids this library does not know the chain holds.
    pub fn unknown_cap_count(&self) -> usize {
        self.unknown
    }

    /// Builds the owned model.
    pub fn to_info(&self) -> IommuInfo {
        let chain: Vec<CapLocation> = self
            .caps()
            .map(|c| CapLocation {
                id: c.id,
                version: c.version,
                offset: c.offset,
            })
            .collect();
        let mut starts: Vec<usize> = chain.iter().map(|c| c.offset).collect();
        starts.sort_unstable();
        let bytes = self.reader.bytes();
        let unknown_caps = self
            .caps()
            .filter(|c| Type1Cap::from_id(c.id).is_none())
            .map(|c| {
                // The cap extends to the next cap above it, or to the end of the buffer.
                let end = starts
                    .get(starts.partition_point(|&s| s <= c.offset))
                    .copied()
                    .unwrap_or(bytes.len());
                UnknownCap {
                    id: c.id,
                    version: c.version,
                    offset: c.offset,
                    bytes: bytes[c.offset..end].to_vec(),
                }
            })
            .collect();
        IommuInfo {
            argsz: self.argsz,
            flags: self.flags,
            iova_pgsizes: self.iova_pgsizes(),
            cap_offset: self.cap_offset,
            caps_truncated: self.caps_truncated(),
            iova_ranges: self.iova_ranges().map(Iterator::collect),
            migration: self.migration(),
            dma_avail: self.dma_avail(),
            unknown_caps,
            chain,
        }
    }
}

fn check_iova_range(cap: &RawCap<'_>) -> Result<(usize, u32), DecodeError> {
    cap.require(cap_iova_range::RANGES, "IOVA_RANGE")?;
    let count = cap.u32_at(cap_iova_range::NR_IOVAS).unwrap_or(0);
    let needed =
        cap_iova_range::RANGES as u64 + cap_iova_range::RANGE_SIZE as u64 * u64::from(count);
    let available = cap.tail().len();
    if needed > available as u64 {
        return Err(DecodeError::new(
            cap.offset + cap_iova_range::NR_IOVAS,
            DecodeErrorKind::RangeCountTooLarge {
                count,
                needed,
                available,
            },
        ));
    }
    for index in 0..count as usize {
        let at = cap_iova_range::RANGES + index * cap_iova_range::RANGE_SIZE;
        let start = cap.u64_at(at).unwrap_or(0);
        let end = cap.u64_at(at + 8).unwrap_or(0);
        if start > end {
            return Err(DecodeError::new(
                cap.offset + at,
                DecodeErrorKind::InvertedRange { index, start, end },
            ));
        }
    }
    Ok((cap.offset, count))
}

fn read_migration(cap: &RawCap<'_>) -> Result<Migration, DecodeError> {
    cap.require(cap_migration::SIZE, "MIGRATION")?;
    Ok(Migration {
        version: cap.version,
        flags: cap.u32_at(cap_migration::FLAGS).unwrap_or(0),
        pgsize_bitmap: PageSizes(cap.u64_at(cap_migration::PGSIZE_BITMAP).unwrap_or(0)),
        max_dirty_bitmap_size: cap
            .u64_at(cap_migration::MAX_DIRTY_BITMAP_SIZE)
            .unwrap_or(0),
    })
}

fn read_dma_avail(cap: &RawCap<'_>) -> Result<u32, DecodeError> {
    cap.require(cap_dma_avail::SIZE, "DMA_AVAIL")?;
    Ok(cap.u32_at(cap_dma_avail::AVAIL).unwrap_or(0))
}

/// Whether a `len`-byte buffer holds a kernel's answer that its capabilities did not fit:
/// the `CAPS` flag is set, `cap_offset` is 0, absent or beyond the buffer, and `argsz`
/// (the size the kernel needs) exceeds the buffer. The one rule the decoder and the query
/// engine's grow-and-retry both follow.
pub(crate) fn chain_did_not_fit(
    len: usize,
    argsz: u32,
    flags: u32,
    cap_offset: Option<u32>,
) -> bool {
    flags & uapi::VFIO_IOMMU_INFO_CAPS != 0
        && cap_offset.is_none_or(|o| o == 0 || o as usize >= len)
        && argsz as usize > len
}

/// The IOVA ranges of an IOVA_RANGE capability, read from the buffer.
#[derive(Debug, Clone)]
pub struct IovaRanges<'a> {
    reader: Reader<'a>,
    next: usize,
    left: usize,
}

impl Iterator for IovaRanges<'_> {
    type Item = IovaRange;

    fn next(&mut self) -> Option<IovaRange> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let start = self.reader.u64_at(self.next)?;
        let end = self.reader.u64_at(self.next + 8)?;
        self.next += cap_iova_range::RANGE_SIZE;
        IovaRange::new(start, end)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for IovaRanges<'_> {}

/// What a type1 container told about its IOMMU: the decoded `VFIO_IOMMU_GET_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuInfo {
    /// `argsz` as found (see [`InfoView::argsz`]).
    pub argsz: u32,
    /// `flags` as found.
    pub flags: u32,
    /// Supported IOMMU page sizes (the intersection over the container's domains), or
    /// `None` when the `PGSIZES` flag is clear.
    pub iova_pgsizes: Option<PageSizes>,
    /// `cap_offset` as found, when the `CAPS` flag is set and the buffer holds the field.
    pub cap_offset: Option<u32>,
    /// The kernel had capabilities that did not fit the buffer.
    pub caps_truncated: bool,
    /// Usable IOVA ranges (inclusive ends) in the kernel's order: the aperture of every
    /// attached domain minus every reserved region that is not `direct-relaxable`.
    pub iova_ranges: Reported<Vec<IovaRange>>,
    /// Dirty-page tracking.
    pub migration: Reported<Migration>,
    /// How many more `VFIO_IOMMU_MAP_DMA` calls the container accepts.
    pub dma_avail: Reported<u32>,
    /// Capabilities with ids this library does not know, in chain order.
    pub unknown_caps: Vec<UnknownCap>,
    /// Every capability in chain order.
    pub chain: Vec<CapLocation>,
}

impl IommuInfo {
    /// The IOMMU aperture, the seed's "DMA window": the lowest start and highest end of
    /// the IOVA ranges. `None` without ranges.
    pub fn aperture(&self) -> Option<IovaRange> {
        iova::aperture(self.iova_ranges.present()?)
    }

    /// The holes inside the aperture (reserved regions: MSI windows, HyperTransport,
    /// RMRRs...), ascending. Empty without ranges.
    pub fn holes(&self) -> Vec<IovaRange> {
        self.iova_ranges
            .present()
            .map(|r| iova::holes(r))
            .unwrap_or_default()
    }

    /// Why `cap` is absent, or `None` when it is present.
    pub fn absence(&self, cap: Type1Cap) -> Option<Absence> {
        match cap {
            Type1Cap::IovaRange => self.iova_ranges.absence(),
            Type1Cap::Migration => self.migration.absence(),
            Type1Cap::DmaAvail => self.dma_avail.absence(),
        }
    }
}

/// Decodes a `struct vfio_iommu_type1_info` buffer as a kernel filled it, in this
/// machine's byte order. The buffer's length is its size; bytes past the chain (a tail
/// the kernel never wrote) are ignored.
pub fn decode(buf: &[u8]) -> Result<IommuInfo, DecodeError> {
    decode_with_order(buf, ByteOrder::Native)
}

/// [`decode`] for a buffer captured on a machine of the given byte order.
pub fn decode_with_order(buf: &[u8], order: ByteOrder) -> Result<IommuInfo, DecodeError> {
    Ok(InfoView::parse(buf, order)?.to_info())
}
