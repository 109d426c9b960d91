//! Which IOMMU answered: type1 (`VFIO_IOMMU_GET_INFO`) or sPAPR TCE
//! (`VFIO_IOMMU_SPAPR_TCE_GET_INFO`), for a capture whose origin is not named.
//!
//! Both ioctls have one number and both structures start with `argsz`, `flags` (bit 0 set
//! in both) and 8 bytes of data, so the bytes alone often cannot say. This module decides
//! only what the bytes prove: a buffer only one decoder accepts is that one's (type1's
//! `CAPS` flag, bit 1, exists in no sPAPR answer; a type1 answer with a chain is larger
//! than any sPAPR one allows); a buffer both accept is [`Detected::Ambiguous`], never a
//! guess. The caller names the kind then (the container knows: `VFIO_CHECK_EXTENSION`).

use crate::decode::bytes::ByteOrder;
use crate::decode::spapr_tce::{decode_spapr_tce_with_order, SpaprTceInfo};
use crate::decode::type1::{decode_with_order, IommuInfo};
use crate::error::DecodeError;

/// What a capture of an IOMMU info buffer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// Only the type1 decoder accepts it.
    Type1(IommuInfo),
    /// Only the sPAPR TCE decoder accepts it.
    SpaprTce(SpaprTceInfo),
    /// Both accept it: the bytes cannot say which kernel interface filled them.
    Ambiguous {
        /// Read as type1.
        type1: IommuInfo,
        /// Read as sPAPR TCE.
        spapr_tce: SpaprTceInfo,
    },
    /// Neither accepts it.
    Neither {
        /// Why it is no type1 answer.
        type1: DecodeError,
        /// Why it is no sPAPR TCE answer.
        spapr_tce: DecodeError,
    },
}

/// Decodes `buf` as both and says which fit (see the module's documentation).
pub fn detect_iommu_info(buf: &[u8], order: ByteOrder) -> Detected {
    match (
        decode_with_order(buf, order),
        decode_spapr_tce_with_order(buf, order),
    ) {
        (Ok(type1), Ok(spapr_tce)) => Detected::Ambiguous { type1, spapr_tce },
        (Ok(t), Err(_)) => Detected::Type1(t),
        (Err(_), Ok(s)) => Detected::SpaprTce(s),
        (Err(type1), Err(spapr_tce)) => Detected::Neither { type1, spapr_tce },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::encode::{CapSpec, KernelLayout, KernelState};
    use crate::decode::encode_spapr_tce::SpaprTceState;
    use crate::IovaRange;

    #[test]
    fn a_type1_chain_is_type1_and_an_spapr_answer_is_ambiguous() {
        let t1 = KernelState::padded(
            0x4020_1000,
            vec![
                CapSpec::DmaAvail(65535),
                CapSpec::IovaRange(vec![IovaRange::new(0, 0xfedf_ffff).unwrap()]),
            ],
        );
        assert!(matches!(
            detect_iommu_info(&t1.encode(), ByteOrder::Native),
            Detected::Type1(_)
        ));
        // Even a type1 argsz-16 answer: the kernel sets CAPS there too.
        assert!(matches!(
            detect_iommu_info(&t1.encode_into_len(16, 0), ByteOrder::Native),
            Detected::Type1(_)
        ));
        // The real pseries answer reads as a type1 buffer too (with a 4E "page size").
        match detect_iommu_info(&SpaprTceState::pseries_6_12().encode(), ByteOrder::Native) {
            Detected::Ambiguous { type1, spapr_tce } => {
                assert_eq!(type1.iova_pgsizes.unwrap().0, 0x4000_0000 << 32);
                assert_eq!(spapr_tce.dma32_window_size, 0x4000_0000);
            }
            other => panic!("{other:?}"),
        }
        // A pre-5.4 type1 answer is ambiguous as well: nothing in it says type1.
        let legacy = KernelState {
            layout: KernelLayout::Legacy,
            ..KernelState::padded(0x1000, vec![])
        };
        assert!(matches!(
            detect_iommu_info(&legacy.encode(), ByteOrder::Native),
            Detected::Ambiguous { .. }
        ));
        assert!(matches!(
            detect_iommu_info(&[0; 8], ByteOrder::Native),
            Detected::Neither { .. }
        ));
    }
}
