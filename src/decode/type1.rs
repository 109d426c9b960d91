//! `struct vfio_iommu_type1_info` and its capability chain, decoded.
//!
//! [`InfoView`] checks a whole buffer in one pass without allocating and reads fields on
//! demand; [`IommuInfo`] is the owned model built from it. Both say, for every item the
//! kernel did not report, *why* it is absent ([`Absence`]).

use std::fmt;

use crate::decode::bytes::{ByteOrder, Fields, Reader};
use crate::decode::chain::{self, CapChain, RawCap};
pub use crate::decode::chain::{CapLocation, UnknownCap};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::iova::{self, IovaRange, PageSizes};
use crate::sys::uapi::{
    self, cap_dma_avail, cap_header, cap_iova_range, cap_migration, type1_info,
};

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

/// What the `CAPS` flag and `cap_offset` say about the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChainState {
    /// [`Absence::NoCapabilityChain`].
    NoChain,
    /// [`Absence::DidNotFit`] (`argsz` is what the kernel needs).
    DidNotFit,
    /// [`Absence::ChainNotPlaced`].
    NotPlaced,
    /// A chain starting at `cap_offset`, walked and checked.
    Walked,
}

/// A checked, borrowed view of a `struct vfio_iommu_type1_info` buffer.
///
/// [`InfoView::parse`] validates every header, payload and range in one pass and
/// allocates nothing; the accessors then read the buffer directly.
#[derive(Clone, Copy)]
pub struct InfoView<'a> {
    reader: Reader<'a>,
    argsz: u32,
    flags: u32,
    iova_pgsizes: u64,
    cap_offset: Option<u32>,
    chain: ChainState,
    found: Found<'a>,
}

/// What the walk of a chain found, checked. Offsets are 0 for capabilities not found (no
/// capability starts at 0). Kept small and plain: it lives in registers on the hot path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Found<'a> {
    iova_at: usize,
    /// The IOVA_RANGE capability's ranges, checked (empty without one): the accessor
    /// reads them without checking again.
    ranges: &'a [u8],
    dma_avail: u32,
    migration_at: usize,
    dma_avail_at: usize,
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
    #[inline]
    pub fn parse(buf: &'a [u8], order: ByteOrder) -> Result<InfoView<'a>, DecodeError> {
        match order.resolve() {
            ByteOrder::Big => Self::parse_in::<true>(buf),
            _ => Self::parse_in::<false>(buf),
        }
    }

    /// One copy of the decoder per byte order, so that no read tests the order at run
    /// time. Inlined (with [`InfoView::parse`]) so that the view lives in the caller's
    /// registers and the accessors' tests fold into the walk's: this halves a decode
    /// (BENCHMARKS.md). The full walk and the error builders stay out of line.
    #[inline]
    fn parse_in<const BIG: bool>(buf: &'a [u8]) -> Result<InfoView<'a>, DecodeError> {
        let reader = Reader::new(
            buf,
            if BIG {
                ByteOrder::Big
            } else {
                ByteOrder::Little
            },
        );
        let Some(fixed) = reader.fields::<{ type1_info::MIN_SIZE }>(0) else {
            return Err(DecodeError::new(
                buf.len(),
                DecodeErrorKind::TooShort {
                    len: buf.len(),
                    needed: type1_info::MIN_SIZE,
                },
            )
            .in_structure(STRUCTURE));
        };
        let flags = fixed.u32(type1_info::FLAGS);
        let mut view = InfoView {
            reader,
            argsz: fixed.u32(type1_info::ARGSZ),
            flags,
            iova_pgsizes: fixed.u64(type1_info::IOVA_PGSIZES),
            cap_offset: None,
            chain: ChainState::NoChain,
            found: Found::default(),
        };
        if flags & uapi::VFIO_IOMMU_INFO_CAPS == 0 {
            // Before 5.4 there is no cap_offset; bytes 16.. are whatever the caller wrote.
            return Ok(view);
        }
        view.cap_offset = reader.u32_at(type1_info::CAP_OFFSET);
        let first = match view.cap_offset {
            // The common case first: a chain that starts inside the buffer.
            Some(first) if first != 0 && (first as usize) < buf.len() => first,
            cap_offset if chain_did_not_fit(buf.len(), view.argsz, flags, cap_offset) => {
                view.chain = ChainState::DidNotFit;
                return Ok(view);
            }
            None | Some(0) => {
                view.chain = ChainState::NotPlaced;
                return Ok(view);
            }
            // Beyond the buffer although argsz says it fits: the walk reports the offset.
            Some(first) => first,
        };
        view.chain = ChainState::Walked;
        view.found = match walk_ascending(reader, first) {
            Some(found) => found,
            None => walk(reader, first).map_err(|e| e.in_structure(STRUCTURE))?,
        };
        Ok(view)
    }

    #[inline]
    fn chain(&self, first: u32) -> CapChain<'a> {
        CapChain::over(self.reader, type1_info::CAP_OFFSET, first, type1_info::PAD)
    }

    #[inline]
    fn reported<T>(&self, value: Option<T>) -> Reported<T> {
        let why = match self.chain {
            ChainState::Walked => match value {
                Some(v) => return Reported::Present(v),
                None => Absence::NotInChain,
            },
            ChainState::NoChain => Absence::NoCapabilityChain,
            ChainState::DidNotFit => Absence::DidNotFit {
                needed: self.argsz,
                available: self.reader.len(),
            },
            ChainState::NotPlaced => Absence::ChainNotPlaced,
        };
        Reported::Absent(why)
    }

    /// `argsz` as found: on return, the size the kernel needs when the chain did not fit,
    /// else the caller's buffer size (the kernel does not rewrite it when all fits).
    #[inline]
    pub fn argsz(&self) -> u32 {
        self.argsz
    }

    /// `flags` as found (`VFIO_IOMMU_INFO_PGSIZES`, `VFIO_IOMMU_INFO_CAPS`).
    #[inline]
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The IOMMU page sizes, or `None` when the `PGSIZES` flag is clear.
    #[inline]
    pub fn iova_pgsizes(&self) -> Option<PageSizes> {
        (self.flags & uapi::VFIO_IOMMU_INFO_PGSIZES != 0).then_some(PageSizes(self.iova_pgsizes))
    }

    /// `cap_offset` as found, when the `CAPS` flag is set and the buffer holds the field.
    #[inline]
    pub fn cap_offset(&self) -> Option<u32> {
        self.cap_offset
    }

    /// True when the kernel had capabilities that did not fit the buffer: the `CAPS` flag
    /// is set, `cap_offset` is 0 or beyond the buffer, and `argsz` exceeds the buffer.
    pub fn caps_truncated(&self) -> bool {
        self.chain == ChainState::DidNotFit
    }

    /// The usable IOVA ranges in the kernel's order, read from the buffer on demand.
    #[inline]
    pub fn iova_ranges(&self) -> Reported<IovaRanges<'a>> {
        let ranges = self
            .found
            .known_offset(Type1Cap::IovaRange)
            .map(|_| IovaRanges {
                ranges: self.found.ranges.chunks_exact(cap_iova_range::RANGE_SIZE),
                order: self.reader.order(),
            });
        self.reported(ranges)
    }

    /// The dirty-tracking capability.
    #[inline]
    pub fn migration(&self) -> Reported<Migration> {
        let cap = self
            .found
            .known_offset(Type1Cap::Migration)
            .and_then(|offset| {
                let fields = self.reader.fields::<{ cap_migration::SIZE }>(offset)?;
                Some(migration_from(&fields))
            });
        self.reported(cap)
    }

    /// How many more `VFIO_IOMMU_MAP_DMA` calls the container accepts.
    #[inline]
    pub fn dma_avail(&self) -> Reported<u32> {
        self.reported(
            self.found
                .known_offset(Type1Cap::DmaAvail)
                .map(|_| self.found.dma_avail),
        )
    }

    /// Every capability of the chain in chain order (known and unknown).
    pub fn caps(&self) -> impl Iterator<Item = RawCap<'a>> + 'a {
        let first = match self.chain {
            ChainState::Walked => self.cap_offset.unwrap_or(0),
            _ => 0,
        };
        // The chain was checked by `parse`, so no item is an error.
        self.chain(first).map_while(Result::ok)
    }

    /// How many capabilities with ids this library does not know the chain holds.
    pub fn unknown_cap_count(&self) -> usize {
        self.found.unknown
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
            .map(|c| UnknownCap {
                id: c.id,
                version: c.version,
                offset: c.offset,
                bytes: chain::up_to_next_cap(bytes, &starts, c.offset).to_vec(),
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

/// The fast path of [`walk`], for the chains kernels write: every capability above the
/// previous one's end. It checks what [`walk`] checks, and gives up (`None`) on anything
/// else (a chain that goes back, or any error), leaving the verdict and the error's
/// detail to [`walk`]. Sound, not complete: when it returns `Some`, [`walk`] returns the
/// same (a property test holds it to that).
#[inline(always)]
fn walk_ascending(reader: Reader<'_>, first: u32) -> Option<Found<'_>> {
    let bytes = reader.bytes();
    // Each capability starts at least a header above the previous one, so a buffer this
    // small holds no more of them than the full walk's hop bound: no hop count is needed.
    // (Kernels need a few hundred bytes; a larger buffer takes the full walk.)
    if bytes.len() > type1_info::PAD + cap_header::SIZE * crate::decode::chain::MAX_CHAIN_CAPS {
        return None;
    }
    let mut found = Found::default();
    let mut above = type1_info::PAD;
    let mut offset = first as usize;
    while offset != 0 {
        if offset < above {
            return None;
        }
        let header = reader.fields::<{ cap_header::SIZE }>(offset)?;
        let next = header.u32(cap_header::NEXT) as usize;
        above = match Type1Cap::from_id(header.u16(cap_header::ID)) {
            None => {
                found.unknown += 1;
                offset + cap_header::SIZE
            }
            Some(Type1Cap::IovaRange) if found.iova_at == 0 => {
                let fixed = reader.fields::<{ cap_iova_range::RANGES }>(offset)?;
                let count = fixed.u32(cap_iova_range::NR_IOVAS);
                let end = offset.checked_add(iova_range_size(count))?;
                let ranges = bytes.get(offset + cap_iova_range::RANGES..end)?;
                for range in ranges.chunks_exact(cap_iova_range::RANGE_SIZE) {
                    let r = read_range(range, reader.order());
                    if r.start > r.end {
                        return None;
                    }
                }
                found.iova_at = offset;
                found.ranges = ranges;
                end
            }
            Some(Type1Cap::Migration) if found.migration_at == 0 => {
                reader.fields::<{ cap_migration::SIZE }>(offset)?;
                found.migration_at = offset;
                offset + cap_migration::SIZE
            }
            Some(Type1Cap::DmaAvail) if found.dma_avail_at == 0 => {
                let fields = reader.fields::<{ cap_dma_avail::SIZE }>(offset)?;
                found.dma_avail = fields.u32(cap_dma_avail::AVAIL);
                found.dma_avail_at = offset;
                offset + cap_dma_avail::SIZE
            }
            // A duplicate: `walk` reports it.
            Some(_) => return None,
        };
        offset = next;
    }
    Some(found)
}

/// Walks and checks the chain whose first capability is at `first`, in any order, and
/// says what is wrong and where (run when [`walk_ascending`] gives up).
#[inline(never)]
fn walk(reader: Reader<'_>, first: u32) -> Result<Found<'_>, DecodeError> {
    let mut found = Found::default();
    for cap in CapChain::over(reader, type1_info::CAP_OFFSET, first, type1_info::PAD) {
        let cap = cap?;
        chain::check_header(&cap, found.known_spans())?;
        let Some(which) = Type1Cap::from_id(cap.id) else {
            found.unknown += 1;
            continue;
        };
        if let Some(first_offset) = found.known_offset(which) {
            return Err(chain::duplicate_cap(which.name(), &cap, first_offset));
        }
        let size = match which {
            Type1Cap::IovaRange => {
                found.ranges = check_iova_range(&cap)?;
                found.iova_at = cap.offset;
                cap_iova_range::RANGES + found.ranges.len()
            }
            Type1Cap::Migration => {
                read_migration(&cap)?;
                found.migration_at = cap.offset;
                cap_migration::SIZE
            }
            Type1Cap::DmaAvail => {
                found.dma_avail = read_dma_avail(&cap)?;
                found.dma_avail_at = cap.offset;
                cap_dma_avail::SIZE
            }
        };
        chain::check_fields(&cap, size, found.known_spans())?;
    }
    Ok(found)
}

impl Found<'_> {
    /// Offset of the known capability `which`, if the walk found it.
    #[inline]
    fn known_offset(&self, which: Type1Cap) -> Option<usize> {
        let at = match which {
            Type1Cap::IovaRange => self.iova_at,
            Type1Cap::Migration => self.migration_at,
            Type1Cap::DmaAvail => self.dma_avail_at,
        };
        (at != 0).then_some(at)
    }

    /// Where the fields of each known capability found so far lie.
    fn known_spans(&self) -> impl Iterator<Item = chain::KnownSpan> + '_ {
        [
            (
                Type1Cap::IovaRange,
                cap_iova_range::RANGES + self.ranges.len(),
            ),
            (Type1Cap::Migration, cap_migration::SIZE),
            (Type1Cap::DmaAvail, cap_dma_avail::SIZE),
        ]
        .into_iter()
        .filter_map(|(cap, size)| {
            let at = self.known_offset(cap)?;
            Some((cap.name(), at, at + size))
        })
    }
}

/// Checks an IOVA_RANGE capability (every declared range inside the buffer, none
/// inverted) and returns the bytes of its ranges.
#[inline]
fn check_iova_range<'a>(cap: &RawCap<'a>) -> Result<&'a [u8], DecodeError> {
    let fixed = cap.fields::<{ cap_iova_range::RANGES }>("IOVA_RANGE")?;
    let count = fixed.u32(cap_iova_range::NR_IOVAS);
    // At most 16 + 16 * (2^32 - 1): no overflow in 64 bits.
    let needed =
        cap_iova_range::RANGES as u64 + cap_iova_range::RANGE_SIZE as u64 * u64::from(count);
    let tail = cap.tail();
    let Some(ranges) = usize::try_from(needed)
        .ok()
        .and_then(|n| tail.get(cap_iova_range::RANGES..n))
    else {
        return Err(range_count_too_large(cap.offset, count, needed, tail.len()));
    };
    let order = cap.order();
    for (index, range) in ranges.chunks_exact(cap_iova_range::RANGE_SIZE).enumerate() {
        let r = read_range(range, order);
        if r.start > r.end {
            return Err(inverted_range(cap.offset, index, r.start, r.end));
        }
    }
    Ok(ranges)
}

/// The bytes of an IOVA_RANGE capability with `count` ranges (at most 16 + 16 *
/// (2^32 - 1): no overflow in 64 bits).
#[inline]
fn iova_range_size(count: u32) -> usize {
    cap_iova_range::RANGES + count as usize * cap_iova_range::RANGE_SIZE
}

/// One `struct vfio_iova_range` from its 16 bytes (as raw as found: possibly inverted).
#[inline]
fn read_range(range: &[u8], order: ByteOrder) -> IovaRange {
    let word = |at: usize| -> u64 {
        let b = range
            .get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .unwrap_or_default();
        match order {
            ByteOrder::Big => u64::from_be_bytes(b),
            _ => u64::from_le_bytes(b),
        }
    };
    IovaRange {
        start: word(0),
        end: word(8),
    }
}

#[cold]
fn range_count_too_large(cap: usize, count: u32, needed: u64, available: usize) -> DecodeError {
    DecodeError::new(
        cap + cap_iova_range::NR_IOVAS,
        DecodeErrorKind::RangeCountTooLarge {
            count,
            needed,
            available,
        },
    )
}

#[cold]
fn inverted_range(cap: usize, index: usize, start: u64, end: u64) -> DecodeError {
    DecodeError::new(
        cap + cap_iova_range::RANGES + index * cap_iova_range::RANGE_SIZE,
        DecodeErrorKind::InvertedRange { index, start, end },
    )
}

#[inline]
fn read_migration(cap: &RawCap<'_>) -> Result<Migration, DecodeError> {
    Ok(migration_from(
        &cap.fields::<{ cap_migration::SIZE }>("MIGRATION")?,
    ))
}

#[inline]
fn migration_from(cap: &Fields<'_, { cap_migration::SIZE }>) -> Migration {
    Migration {
        version: cap.u16(cap_header::VERSION),
        flags: cap.u32(cap_migration::FLAGS),
        pgsize_bitmap: PageSizes(cap.u64(cap_migration::PGSIZE_BITMAP)),
        max_dirty_bitmap_size: cap.u64(cap_migration::MAX_DIRTY_BITMAP_SIZE),
    }
}

#[inline]
fn read_dma_avail(cap: &RawCap<'_>) -> Result<u32, DecodeError> {
    let fields = cap.fields::<{ cap_dma_avail::SIZE }>("DMA_AVAIL")?;
    Ok(fields.u32(cap_dma_avail::AVAIL))
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

/// The IOVA ranges of an IOVA_RANGE capability, read from the buffer (checked by
/// [`InfoView::parse`]: none is inverted).
#[derive(Debug, Clone)]
pub struct IovaRanges<'a> {
    ranges: std::slice::ChunksExact<'a, u8>,
    order: ByteOrder,
}

impl Iterator for IovaRanges<'_> {
    type Item = IovaRange;

    #[inline]
    fn next(&mut self) -> Option<IovaRange> {
        self.ranges.next().map(|r| read_range(r, self.order))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ranges.size_hint()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::bytes::{put_u16, put_u32};
    use crate::decode::encode::{CapSpec, KernelState};
    use proptest::prelude::*;

    fn arb_cap() -> impl Strategy<Value = CapSpec> {
        prop_oneof![
            proptest::collection::vec((any::<u64>(), any::<u64>()), 0..4).prop_map(|r| {
                CapSpec::IovaRange(
                    r.into_iter()
                        .map(|(a, b)| IovaRange {
                            start: a.min(b),
                            end: a.max(b),
                        })
                        .collect(),
                )
            }),
            any::<u32>().prop_map(CapSpec::DmaAvail),
            (any::<u64>(), any::<u64>()).prop_map(|(p, m)| CapSpec::Migration(Migration {
                version: 1,
                flags: 0,
                pgsize_bitmap: PageSizes(p),
                max_dirty_bitmap_size: m,
            })),
            (0u16..8, proptest::collection::vec(any::<u8>(), 0..24)).prop_map(|(id, payload)| {
                CapSpec::Raw {
                    id,
                    version: 1,
                    payload,
                }
            }),
        ]
    }

    /// A buffer too large for the fast path's hop argument takes the full walk, with the
    /// same answer; a chain of more capabilities than the hop bound is a loop to both.
    #[test]
    fn large_buffers_take_the_full_walk_with_the_same_answer() {
        let k = KernelState::padded(
            0x1000,
            vec![
                CapSpec::DmaAvail(7),
                CapSpec::IovaRange(vec![IovaRange::new(0, 0xfedf_ffff).unwrap()]),
            ],
        );
        let small = k.encode();
        let limit = type1_info::PAD + cap_header::SIZE * crate::decode::chain::MAX_CHAIN_CAPS;
        for len in [limit, limit + 1, 1 << 20] {
            let big = k.encode_into_len(len, 0xa5);
            let r = Reader::new(&big, ByteOrder::Native);
            assert_eq!(walk_ascending(r, 24).is_some(), len == limit, "{len}");
            let (a, b) = (decode(&small).unwrap(), decode(&big).unwrap());
            assert_eq!((a.iova_ranges, a.dma_avail), (b.iova_ranges, b.dma_avail));
        }
        // MAX_CHAIN_CAPS + 1 unknown caps, ascending, in a buffer just large enough.
        let n = crate::decode::chain::MAX_CHAIN_CAPS + 1;
        let mut buf = KernelState::padded(0x1000, vec![]).encode_into_len(24 + 8 * n, 0);
        put_u32(&mut buf, 4, 3, ByteOrder::Native);
        put_u32(&mut buf, type1_info::CAP_OFFSET, 24, ByteOrder::Native);
        for i in 0..n {
            let at = 24 + 8 * i;
            put_u16(&mut buf, at, 0x77, ByteOrder::Native);
            let next = if i + 1 == n { 0 } else { at as u32 + 8 };
            put_u32(&mut buf, at + 4, next, ByteOrder::Native);
        }
        let e = InfoView::parse(&buf, ByteOrder::Native).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::ChainLoops { .. }), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The fast path never accepts what the full walk rejects, and agrees with it on
        /// what it accepts; on the kernel's own chains it does not give up.
        #[test]
        fn the_ascending_fast_path_is_sound(
            caps in proptest::collection::vec(arb_cap(), 0..6),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            big in any::<bool>(),
        ) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let mut buf = KernelState { order, ..KernelState::padded(0x1000, caps) }.encode();
            let pristine = flips.is_empty();
            for (at, byte) in flips {
                let i = at % buf.len();
                buf[i] = byte;
            }
            let reader = Reader::new(&buf, order);
            let Some(first) = reader.u32_at(type1_info::CAP_OFFSET).filter(|&f| f != 0) else {
                return Ok(());
            };
            let fast = walk_ascending(reader, first);
            let full = walk(reader, first);
            if let Some(f) = fast {
                prop_assert_eq!(Ok(f), full);
            } else if pristine {
                // Only duplicates of known capabilities, which real kernels never write,
                // send a well-formed ascending chain to the full walk (and fail there).
                prop_assert!(full.is_err(), "the fast path gave up on a good chain");
            }
        }
    }
}
