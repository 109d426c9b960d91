//! iommufd's `IOMMU_IOAS_IOVA_RANGES` reply: the usable IOVA ranges of an IOAS, checked.

use crate::decode::bytes::{ByteOrder, Reader};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::iova::IovaRange;
use crate::sys::uapi::IommuIovaRange;

/// The usable IOVA ranges of an IOAS and its required alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoasRanges {
    /// The ranges, in the kernel's (ascending) order.
    pub ranges: Vec<IovaRange>,
    /// `out_iova_alignment`: every mapping's IOVA and length must be a multiple of it.
    pub alignment: u64,
    /// How many `IOMMU_IOAS_IOVA_RANGES` calls the answer took (1 on the common path).
    pub calls: u32,
}

/// The kernel's ranges as [`IovaRange`]s; an inverted one is a malformed reply.
pub(crate) fn checked_ranges(got: &[IommuIovaRange]) -> Result<Vec<IovaRange>, DecodeError> {
    got.iter()
        .enumerate()
        .map(|(index, r)| {
            IovaRange::new(r.start, r.last).ok_or_else(|| {
                DecodeError::new(
                    index * std::mem::size_of::<IommuIovaRange>(),
                    DecodeErrorKind::InvertedRange {
                        index,
                        start: r.start,
                        end: r.last,
                    },
                )
                .in_structure("iommu_iova_range array")
            })
        })
        .collect()
}

/// The bytes of one `struct iommu_iova_range` (`start`, `last`: two `__aligned_u64`).
pub const IOVA_RANGE_SIZE: usize = std::mem::size_of::<IommuIovaRange>();

/// The `iommu_iova_range` array `IOMMU_IOAS_IOVA_RANGES` filled (`allowed_iovas`, as many
/// ranges as `num_iovas` said), decoded in `order` and checked as a live answer is: a
/// length that is not a whole number of ranges, or an inverted range, is malformed.
pub fn decode_iova_ranges(raw: &[u8], order: ByteOrder) -> Result<Vec<IovaRange>, DecodeError> {
    if raw.len() % IOVA_RANGE_SIZE != 0 {
        return Err(DecodeError::new(
            raw.len() - raw.len() % IOVA_RANGE_SIZE,
            DecodeErrorKind::TooShort {
                len: raw.len(),
                needed: raw.len().next_multiple_of(IOVA_RANGE_SIZE),
            },
        )
        .in_structure("iommu_iova_range array"));
    }
    let r = Reader::new(raw, order);
    let got: Vec<IommuIovaRange> = (0..raw.len() / IOVA_RANGE_SIZE)
        .filter_map(|i| r.fields::<IOVA_RANGE_SIZE>(i * IOVA_RANGE_SIZE))
        .map(|f| IommuIovaRange {
            start: f.u64(0),
            last: f.u64(8),
        })
        .collect();
    checked_ranges(&got)
}

/// `ranges` as the kernel's `iommu_iova_range` array in this machine's order: the bytes
/// `IOMMU_IOAS_IOVA_RANGES` filled, again (the array holds nothing else).
pub fn encode_iova_ranges(ranges: &[IovaRange]) -> Vec<u8> {
    ranges
        .iter()
        .flat_map(|r| {
            let mut b = [0u8; IOVA_RANGE_SIZE];
            b[..8].copy_from_slice(&r.start.to_ne_bytes());
            b[8..].copy_from_slice(&r.end.to_ne_bytes());
            b
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        let ok = [
            IommuIovaRange {
                start: 0,
                last: 0xfedf_ffff,
            },
            IommuIovaRange {
                start: 0xfef0_0000,
                last: u64::MAX,
            },
        ];
        assert_eq!(
            checked_ranges(&ok).unwrap(),
            vec![
                IovaRange::new(0, 0xfedf_ffff).unwrap(),
                IovaRange::new(0xfef0_0000, u64::MAX).unwrap()
            ]
        );
        let bad = [ok[0], IommuIovaRange { start: 5, last: 4 }];
        let e = checked_ranges(&bad).unwrap_err();
        assert_eq!(e.offset, 16);
        assert!(matches!(
            e.kind,
            DecodeErrorKind::InvertedRange {
                index: 1,
                start: 5,
                end: 4
            }
        ));
    }

    #[test]
    fn a_recorded_array_decodes_in_its_order_and_is_checked() {
        let ranges = vec![
            IovaRange::new(0, 0xfedf_ffff).unwrap(),
            IovaRange::new(0xfef0_0000, u64::MAX).unwrap(),
        ];
        let raw = encode_iova_ranges(&ranges);
        assert_eq!(raw.len(), 32);
        assert_eq!(decode_iova_ranges(&raw, ByteOrder::Native).unwrap(), ranges);
        // Big-endian bytes read as such.
        let mut big = Vec::new();
        big.extend(0x1000u64.to_be_bytes());
        big.extend(0x1fffu64.to_be_bytes());
        assert_eq!(
            decode_iova_ranges(&big, ByteOrder::Big).unwrap(),
            vec![IovaRange::new(0x1000, 0x1fff).unwrap()]
        );
        assert_eq!(decode_iova_ranges(&[], ByteOrder::Little).unwrap(), vec![]);
        // Not a whole number of ranges, or inverted: malformed.
        let e = decode_iova_ranges(&raw[..20], ByteOrder::Native).unwrap_err();
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::TooShort {
                    len: 20,
                    needed: 32
                }
            ),
            "{e}"
        );
        let mut inverted = Vec::new();
        inverted.extend(5u64.to_le_bytes());
        inverted.extend(4u64.to_le_bytes());
        let e = decode_iova_ranges(&inverted, ByteOrder::Little).unwrap_err();
        assert!(
            matches!(e.kind, DecodeErrorKind::InvertedRange { index: 0, .. }),
            "{e}"
        );
    }
}
