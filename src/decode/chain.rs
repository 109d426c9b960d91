//! The VFIO capability chain, as found in every `*_GET_INFO` buffer (IOMMU info, device
//! info, region info).
//!
//! Each capability starts with `struct vfio_info_cap_header` {`id` u16, `version` u16,
//! `next` u32}; `next` and the structure's `cap_offset` are absolute offsets from byte 0
//! of the buffer, and `next == 0` ends the chain. The kernel happens to append
//! capabilities at increasing offsets, but nothing promises an order, Linux 5.10-6.5 pack
//! them at 4-byte aligned offsets, and a corrupt or hostile buffer may loop. The walker
//! therefore accepts any order, reads unaligned, checks every header against the buffer,
//! and stops a loop with a hop bound.

use crate::decode::bytes::{ByteOrder, Fields, Reader};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::sys::uapi::cap_header;

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

/// The most capabilities one chain may hold. Real chains hold at most a handful; the
/// bound keeps a hostile 64 MiB buffer from costing millions of hops.
pub const MAX_CHAIN_CAPS: usize = 4096;

/// Why a capability is not among a decoded chain's, in words for a message: the chain
/// did not fit the buffer (`truncated`: query again with `argsz` bytes), the `CAPS` flag is
/// clear (`no_caps` says what that means for this structure), or the chain lacks it.
pub(crate) fn cap_absence(
    truncated: bool,
    argsz: u32,
    caps_flag_set: bool,
    no_caps: impl FnOnce() -> String,
    not_in_chain: impl FnOnce() -> String,
) -> String {
    if truncated {
        format!(
            "the kernel's capabilities did not fit the buffer: query again with argsz {argsz} bytes"
        )
    } else if !caps_flag_set {
        no_caps()
    } else {
        not_in_chain()
    }
}

/// The most capabilities a chain in a `len`-byte buffer whose capabilities start at
/// `min_offset` can hold without two headers sharing a byte (and at most
/// [`MAX_CHAIN_CAPS`]): one more hop means the chain loops.
#[inline]
pub(crate) fn max_hops(len: usize, min_offset: usize) -> usize {
    (len.saturating_sub(min_offset) / cap_header::SIZE).min(MAX_CHAIN_CAPS)
}

/// One capability of a chain, not yet interpreted.
#[derive(Debug, Clone, Copy)]
pub struct RawCap<'a> {
    /// The capability id (a namespace per ioctl: IOMMU-info id 1 is not device-info id 1).
    pub id: u16,
    /// The capability's version; newer versions append fields.
    pub version: u16,
    /// Offset of the capability header from the start of the buffer.
    pub offset: usize,
    /// The header's `next` field.
    pub next: u32,
    /// The field that pointed here (`cap_offset`, or the previous header's `next`).
    pub(crate) pointer_at: usize,
    /// How many capabilities came before this one.
    pub(crate) index: usize,
    reader: Reader<'a>,
}

impl<'a> RawCap<'a> {
    /// The buffer from this capability's header to the end of the buffer. How much of it
    /// belongs to the capability is known only from its id and version.
    pub fn tail(&self) -> &'a [u8] {
        self.reader.bytes().get(self.offset..).unwrap_or_default()
    }

    /// The byte order of the buffer.
    #[inline]
    pub(crate) fn order(&self) -> ByteOrder {
        self.reader.order()
    }

    /// The capability's first `N` bytes (header included), which the capability `name`
    /// needs; an error when they run past the end of the buffer.
    #[inline]
    pub(crate) fn fields<const N: usize>(
        &self,
        name: &'static str,
    ) -> Result<Fields<'a, N>, DecodeError> {
        self.reader
            .fields::<N>(self.offset)
            .ok_or_else(|| self.too_short(N as u64, name))
    }

    /// The error for a capability `name` that needs `needed` bytes from its header on.
    #[cold]
    pub(crate) fn too_short(&self, needed: u64, name: &'static str) -> DecodeError {
        DecodeError::new(
            self.offset,
            DecodeErrorKind::CapTooShort {
                name,
                id: self.id,
                needed,
                available: self.reader.len().saturating_sub(self.offset),
            },
        )
    }
}

/// An iterator over a capability chain; yields each capability or the first error, then
/// stops.
#[derive(Clone)]
pub struct CapChain<'a> {
    reader: Reader<'a>,
    next: usize,
    min_offset: usize,
    hops_left: usize,
    max_hops: usize,
    /// The field holding `next`: where a bad pointer is reported.
    pointer_at: usize,
}

impl<'a> CapChain<'a> {
    /// A chain in `buf` whose first capability is at `first` (0: no chain), read from the
    /// structure's `cap_offset` field at byte `first_field`.
    ///
    /// `min_offset` is the end of the structure's fixed part: a capability offset below it
    /// points into the fixed header and is rejected. A bad pointer is reported at the
    /// field that holds it (`first_field`, or the previous header's `next`), with its value.
    pub fn new(
        buf: &'a [u8],
        order: ByteOrder,
        first_field: usize,
        first: u32,
        min_offset: usize,
    ) -> Self {
        Self::over(Reader::new(buf, order), first_field, first, min_offset)
    }

    #[inline]
    pub(crate) fn over(
        reader: Reader<'a>,
        first_field: usize,
        first: u32,
        min_offset: usize,
    ) -> Self {
        let max_hops = max_hops(reader.len(), min_offset);
        CapChain {
            reader,
            next: first as usize,
            min_offset,
            hops_left: max_hops,
            max_hops,
            pointer_at: first_field,
        }
    }

    /// Ends the chain with the error `kind`, reported at byte `at`.
    #[cold]
    fn fail(
        &mut self,
        at: usize,
        kind: DecodeErrorKind,
    ) -> Option<Result<RawCap<'a>, DecodeError>> {
        self.next = 0;
        Some(Err(DecodeError::new(at, kind)))
    }
}

impl<'a> Iterator for CapChain<'a> {
    type Item = Result<RawCap<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.next;
        if offset == 0 {
            return None;
        }
        // Errors are reported at the offset of the field that holds the bad pointer.
        if offset < self.min_offset {
            let kind = DecodeErrorKind::CapOffsetInHeader {
                cap_offset: offset as u64,
                header_len: self.min_offset,
            };
            return self.fail(self.pointer_at, kind);
        }
        let Some(header) = self.reader.fields::<{ cap_header::SIZE }>(offset) else {
            let kind = DecodeErrorKind::CapHeaderOutside {
                cap_offset: offset as u64,
                len: self.reader.len(),
            };
            return self.fail(self.pointer_at, kind);
        };
        if self.hops_left == 0 {
            let kind = DecodeErrorKind::ChainLoops {
                hops: self.max_hops,
            };
            return self.fail(self.pointer_at, kind);
        }
        self.hops_left -= 1;
        let next = header.u32(cap_header::NEXT);
        if next as usize == offset {
            return self.fail(
                offset + cap_header::NEXT,
                DecodeErrorKind::ChainLoops { hops: 1 },
            );
        }
        let pointer_at = self.pointer_at;
        self.pointer_at = offset + cap_header::NEXT;
        self.next = next as usize;
        Some(Ok(RawCap {
            id: header.u16(cap_header::ID),
            version: header.u16(cap_header::VERSION),
            offset,
            next,
            pointer_at,
            index: self.max_hops - self.hops_left - 1,
            reader: self.reader,
        }))
    }
}

/// A capability decoded from a device-info or region-info chain, as [`walk_caps`] needs
/// to see it.
pub(crate) trait ChainCap {
    /// The name of a known capability (which may appear once); `None` for an unknown one.
    fn known_name(&self) -> Option<&'static str>;
    /// An unknown capability, whose bytes [`walk_caps`] fills in up to the next one.
    fn unknown_mut(&mut self) -> Option<&mut UnknownCap>;
}

/// Walks `chain`, decoding each capability with `decode` (the value and, for a known
/// one, how many bytes its fields take from its header on), with the shared checks: no
/// header inside a known capability, no known capability twice, no overlapping fields.
/// Returns the capabilities and where each sits, in chain order; an unknown one gets its
/// bytes up to the next capability (or the end of `buf`).
pub(crate) fn walk_caps<C: ChainCap>(
    buf: &[u8],
    chain: CapChain<'_>,
    mut decode: impl FnMut(&RawCap<'_>) -> Result<(C, usize), DecodeError>,
) -> Result<(Vec<C>, Vec<CapLocation>), DecodeError> {
    let mut spans: Vec<KnownSpan> = Vec::new();
    let mut caps = Vec::new();
    let mut locations = Vec::new();
    for cap in chain {
        let cap = cap?;
        check_header(&cap, spans.iter().copied())?;
        let (decoded, size) = decode(&cap)?;
        if let Some(name) = decoded.known_name() {
            if let Some(&(_, first_offset, _)) = spans.iter().find(|s| s.0 == name) {
                return Err(duplicate_cap(name, &cap, first_offset));
            }
            check_fields(&cap, size, spans.iter().copied())?;
            spans.push((name, cap.offset, cap.offset + size));
        }
        caps.push(decoded);
        locations.push(CapLocation {
            id: cap.id,
            version: cap.version,
            offset: cap.offset,
        });
    }
    let mut starts: Vec<usize> = locations.iter().map(|l| l.offset).collect();
    starts.sort_unstable();
    for cap in caps.iter_mut() {
        if let Some(u) = cap.unknown_mut() {
            u.bytes = up_to_next_cap(buf, &starts, u.offset).to_vec();
        }
    }
    Ok((caps, locations))
}

/// A known capability's fields in the buffer: its name and `start..end`.
pub(crate) type KnownSpan = (&'static str, usize, usize);

/// The header of `cap` may not start inside the fields of a known capability (at one's
/// start, the chain loops). Reported at the field that pointed to it.
pub(crate) fn check_header(
    cap: &RawCap<'_>,
    known: impl IntoIterator<Item = KnownSpan>,
) -> Result<(), DecodeError> {
    let header_end = cap.offset + cap_header::SIZE;
    for (name, start, end) in known {
        if cap.offset < end && start < header_end {
            let kind = if cap.offset == start {
                DecodeErrorKind::ChainLoops {
                    hops: cap.index + 1,
                }
            } else {
                DecodeErrorKind::CapOverlaps {
                    cap_offset: cap.offset as u64,
                    name,
                    other_offset: start,
                    other_end: end,
                }
            };
            return Err(DecodeError::new(cap.pointer_at, kind));
        }
    }
    Ok(())
}

/// The first `size` bytes of the known capability `cap` may not overlap the fields of
/// another known capability (`known` may hold `cap` itself).
pub(crate) fn check_fields(
    cap: &RawCap<'_>,
    size: usize,
    known: impl IntoIterator<Item = KnownSpan>,
) -> Result<(), DecodeError> {
    let end = cap.offset + size;
    for (name, start, other_end) in known {
        // No other capability starts at `cap`'s offset: `check_header` saw to that.
        if start != cap.offset && cap.offset < other_end && start < end {
            return Err(DecodeError::new(
                cap.offset,
                DecodeErrorKind::CapOverlaps {
                    cap_offset: cap.offset as u64,
                    name,
                    other_offset: start,
                    other_end,
                },
            ));
        }
    }
    Ok(())
}

/// A capability `name` that may appear once, found again at `cap`.
#[cold]
pub(crate) fn duplicate_cap(
    name: &'static str,
    cap: &RawCap<'_>,
    first_offset: usize,
) -> DecodeError {
    DecodeError::new(
        cap.offset,
        DecodeErrorKind::DuplicateCap {
            name,
            id: cap.id,
            first_offset,
        },
    )
}

/// The bytes of an unknown capability at `offset`: up to the next capability above it
/// (`starts`, every capability's offset, sorted), or to the end of `buf`. Its length is
/// not knowable without knowing it.
pub(crate) fn up_to_next_cap<'a>(buf: &'a [u8], starts: &[usize], offset: usize) -> &'a [u8] {
    let end = starts
        .get(starts.partition_point(|&s| s <= offset))
        .copied()
        .unwrap_or(buf.len());
    buf.get(offset..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(buf: &mut [u8], at: usize, id: u16, version: u16, next: u32) {
        buf[at..at + 2].copy_from_slice(&id.to_le_bytes());
        buf[at + 2..at + 4].copy_from_slice(&version.to_le_bytes());
        buf[at + 4..at + 8].copy_from_slice(&next.to_le_bytes());
    }

    fn walk(buf: &[u8], first: u32) -> Result<Vec<(u16, usize)>, DecodeError> {
        CapChain::new(buf, ByteOrder::Little, 16, first, 20)
            .map(|c| c.map(|c| (c.id, c.offset)))
            .collect()
    }

    #[test]
    fn walks_any_order_and_unaligned_offsets() {
        let mut buf = vec![0u8; 64];
        header(&mut buf, 52, 1, 1, 20);
        header(&mut buf, 20, 2, 1, 36);
        header(&mut buf, 36, 3, 1, 0);
        assert_eq!(walk(&buf, 52).unwrap(), vec![(1, 52), (2, 20), (3, 36)]);
    }

    #[test]
    fn no_chain_yields_nothing() {
        assert_eq!(walk(&[0u8; 24], 0).unwrap(), vec![]);
    }

    #[test]
    fn rejects_offsets_into_the_header_and_past_the_end() {
        let buf = vec![0u8; 40];
        let e = walk(&buf, 8).unwrap_err();
        assert_eq!(e.offset, 16, "reported at the cap_offset field");
        assert!(matches!(
            e.kind,
            DecodeErrorKind::CapOffsetInHeader { cap_offset: 8, .. }
        ));
        let e = walk(&buf, 33).unwrap_err();
        assert!(matches!(
            e.kind,
            DecodeErrorKind::CapHeaderOutside {
                cap_offset: 33,
                len: 40
            }
        ));
        let mut buf = vec![0u8; 40];
        header(&mut buf, 24, 1, 1, u32::MAX);
        let e = walk(&buf, 24).unwrap_err();
        assert_eq!(e.offset, 28, "reported at the bad next field");
        assert!(matches!(e.kind, DecodeErrorKind::CapHeaderOutside { .. }));
    }

    #[test]
    fn stops_self_loops_and_long_loops() {
        let mut buf = vec![0u8; 48];
        header(&mut buf, 24, 1, 1, 24);
        let e = walk(&buf, 24).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::ChainLoops { hops: 1 }));
        let mut buf = vec![0u8; 48];
        header(&mut buf, 24, 1, 1, 32);
        header(&mut buf, 32, 2, 1, 24);
        let e = walk(&buf, 24).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::ChainLoops { hops: 3 }));
    }

    #[test]
    fn hop_bound_is_capped_for_huge_buffers() {
        let buf = vec![0u8; 1 << 20];
        let chain = CapChain::new(&buf, ByteOrder::Little, 16, 0, 24);
        assert_eq!(chain.max_hops, MAX_CHAIN_CAPS);
    }
}
