//! iommufd's `IOMMU_IOAS_IOVA_RANGES` reply: the usable IOVA ranges of an IOAS, checked.

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
}
