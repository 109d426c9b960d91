//! `IOMMU_GET_HW_INFO` (iommufd, Linux 6.6+): the IOMMU hardware behind a device, decoded
//! into the facts a VMM needs (address width, page sizes, dirty tracking) with the raw
//! registers kept.
//!
//! The kernel copies `min(data_len, its length)` bytes of a type-specific structure and
//! returns its own length in `data_len`: a caller's buffer that was too small is a
//! *silent* truncation unless `data_len` is compared, which [`HwInfo::truncated`] does.
//!
//! Registers say what the hardware *allows*; the page sizes a mapping really gets are
//! those of the kernel's domain, which on Arm SMMUv3 also depend on the kernel's own
//! page size (see [`SmmuV3Registers::page_sizes`]). So an [`HwInfo`] carries the page
//! size of the kernel that answered ([`HwInfo::kernel_page_size`]).

use crate::decode::bytes::{ByteOrder, Reader};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::iova::PageSizes;
use crate::sys::uapi;

/// What `IOMMU_GET_HW_INFO` returned for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwInfo {
    /// `out_data_type`: `IOMMU_HW_INFO_TYPE_*` (0 = the driver reports no data).
    pub data_type: u32,
    /// The length of the kernel's data (`data_len` on return).
    pub data_len: u32,
    /// The data bytes received: `min(data_len, the buffer given)`.
    pub data: Vec<u8>,
    /// `out_capabilities`: `IOMMU_HW_CAP_*`, when the kernel reports them (6.7+).
    pub capabilities: Option<u64>,
    /// `out_max_pasid_log2` (6.12+; 0 without PASID or on older kernels).
    pub max_pasid_log2: u8,
    /// `PAGE_SIZE` of the kernel that answered, in bytes: not part of the ioctl's answer,
    /// but needed to read it (the SMMUv3 domain's granule follows it). A live query fills
    /// in the running kernel's ([`crate::sys::page_size`]); a capture decoded elsewhere
    /// (an arm64 guest's buffers on an x86 host) must carry the guest's.
    pub kernel_page_size: u64,
    /// The byte order of the kernel that answered, which the data is read in: like
    /// [`HwInfo::kernel_page_size`], not part of the answer but needed to read it. A live
    /// query fills in [`ByteOrder::Native`]; a snapshot replays its machine's.
    pub byte_order: ByteOrder,
}

/// The `IOMMU_HW_CAP_*` bits of `out_capabilities` this library names, in bit order, with
/// the names the command's text and the JSON use.
pub const CAPABILITY_NAMES: [(u64, &str); 4] = [
    (uapi::IOMMU_HW_CAP_DIRTY_TRACKING, "dirty-tracking"),
    (uapi::IOMMU_HW_CAP_PCI_PASID_EXEC, "pci-pasid-exec"),
    (uapi::IOMMU_HW_CAP_PCI_PASID_PRIV, "pci-pasid-priv"),
    (
        uapi::IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED,
        "pci-ats-not-supported",
    ),
];

/// The type-specific part of [`HwInfo`], decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HwData {
    /// `IOMMU_HW_INFO_TYPE_NONE`: the IOMMU driver has no `hw_info` (AMD before 6.17,
    /// virtio-iommu, s390): nothing beyond the capabilities.
    None,
    /// Intel VT-d's capability and extended capability registers.
    IntelVtd(VtdRegisters),
    /// Arm SMMUv3's ID registers.
    ArmSmmuV3(SmmuV3Registers),
    /// AMD's extended feature registers.
    Amd(AmdRegisters),
    /// A type this library does not decode (e.g. NVIDIA Tegra241 CMDQV), kept raw.
    Unknown {
        /// `out_data_type`.
        data_type: u32,
        /// The data bytes.
        bytes: Vec<u8>,
    },
}

impl HwInfo {
    /// Whether the kernel has more data than the buffer held (`data_len` grew past it).
    pub fn truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.data_len)
    }

    /// The type-specific data, decoded. A truncated buffer, or one shorter than the
    /// structure its type names, is an error naming the structure.
    pub fn decode(&self) -> Result<HwData, DecodeError> {
        let r = Reader::new(&self.data, self.byte_order);
        let short = |structure: &'static str, needed: usize| {
            DecodeError::new(
                0,
                DecodeErrorKind::TooShort {
                    len: self.data.len(),
                    needed,
                },
            )
            .in_structure(structure)
        };
        if self.truncated() {
            return Err(DecodeError::new(
                self.data.len(),
                DecodeErrorKind::TooShort {
                    len: self.data.len(),
                    needed: self.data_len as usize,
                },
            )
            .in_structure("iommu_hw_info data (truncated: data_len exceeds the buffer)"));
        }
        Ok(match self.data_type {
            uapi::IOMMU_HW_INFO_TYPE_NONE => HwData::None,
            uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD => {
                let f = r
                    .fields::<24>(0)
                    .ok_or_else(|| short("iommu_hw_info_vtd", 24))?;
                HwData::IntelVtd(VtdRegisters {
                    flags: f.u32(0),
                    cap: f.u64(8),
                    ecap: f.u64(16),
                })
            }
            uapi::IOMMU_HW_INFO_TYPE_ARM_SMMUV3 => {
                let f = r
                    .fields::<40>(0)
                    .ok_or_else(|| short("iommu_hw_info_arm_smmuv3", 40))?;
                let mut idr = [0u32; 6];
                for (i, v) in idr.iter_mut().enumerate() {
                    *v = f.u32(8 + 4 * i);
                }
                HwData::ArmSmmuV3(SmmuV3Registers {
                    flags: f.u32(0),
                    idr,
                    iidr: f.u32(32),
                    aidr: f.u32(36),
                })
            }
            uapi::IOMMU_HW_INFO_TYPE_AMD => {
                let f = r
                    .fields::<16>(0)
                    .ok_or_else(|| short("iommu_hw_info_amd", 16))?;
                HwData::Amd(AmdRegisters {
                    efr: f.u64(0),
                    efr2: f.u64(8),
                })
            }
            other => HwData::Unknown {
                data_type: other,
                bytes: self.data.clone(),
            },
        })
    }

    /// The page sizes of the kernel's paging domain for this device, from the registers
    /// and [`HwInfo::kernel_page_size`] ([`HwData::page_sizes`]); `None` when the data
    /// does not decode or does not say.
    pub fn page_sizes(&self) -> Option<PageSizes> {
        self.decode().ok()?.page_sizes(self.kernel_page_size)
    }

    /// Whether the IOMMU can track dirty pages for this device (`IOMMU_HW_CAP_DIRTY_TRACKING`);
    /// `None` when the kernel predates the capability field (6.6).
    pub fn dirty_tracking(&self) -> Option<bool> {
        self.capabilities
            .map(|c| c & uapi::IOMMU_HW_CAP_DIRTY_TRACKING != 0)
    }

    /// The names ([`CAPABILITY_NAMES`]) of the `out_capabilities` bits that are set, in bit
    /// order; empty when none is set or the kernel predates the field (6.6).
    pub fn capability_names(&self) -> Vec<&'static str> {
        let c = self.capabilities.unwrap_or(0);
        CAPABILITY_NAMES
            .iter()
            .filter(|(bit, _)| c & bit != 0)
            .map(|&(_, name)| name)
            .collect()
    }

    /// The `out_capabilities` bits that are set but that this library does not name (a
    /// newer kernel's); 0 when there are none.
    pub fn unknown_capabilities(&self) -> u64 {
        CAPABILITY_NAMES
            .iter()
            .fold(self.capabilities.unwrap_or(0), |c, (bit, _)| c & !bit)
    }

    /// Whether the kernel says ATS cannot be used for the device
    /// (`IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED`). `Some(false)` only means "may be enabled" on a
    /// kernel that knows the bit (7.3 does, 6.12 does not), so the clear bit is not read as
    /// "ATS works"; `None` when the kernel predates the capability field (6.6).
    pub fn ats_not_supported(&self) -> Option<bool> {
        self.capabilities
            .map(|c| c & uapi::IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED != 0)
    }

    /// The name of the data type (`"intel-vtd"`, `"none"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self.data_type {
            uapi::IOMMU_HW_INFO_TYPE_NONE => "none",
            uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD => "intel-vtd",
            uapi::IOMMU_HW_INFO_TYPE_ARM_SMMUV3 => "arm-smmuv3",
            uapi::IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV => "tegra241-cmdqv",
            uapi::IOMMU_HW_INFO_TYPE_AMD => "amd",
            _ => "unknown",
        }
    }
}

impl HwData {
    /// The widest IOVA the hardware translates, in bits, when the registers say (the
    /// kernel may narrow it further: its IOVA ranges are the authority).
    pub fn address_width(&self) -> Option<u8> {
        match self {
            HwData::IntelVtd(v) => Some(v.address_width()),
            HwData::ArmSmmuV3(s) => s.input_address_bits(),
            HwData::Amd(a) => a.host_address_bits(),
            _ => None,
        }
    }

    /// The page sizes of the kernel's paging domain (what `IOMMU_IOAS_MAP` really uses)
    /// on a kernel whose `PAGE_SIZE` is `kernel_page_size`: VT-d's second-stage sizes
    /// (x86 pages are always 4 KiB); on SMMUv3, the one granule io-pgtable-arm picks
    /// ([`SmmuV3Registers::page_sizes`]). `None` when the registers do not say.
    pub fn page_sizes(&self, kernel_page_size: u64) -> Option<PageSizes> {
        match self {
            HwData::IntelVtd(v) => Some(v.second_stage_page_sizes()),
            HwData::ArmSmmuV3(s) => s.page_sizes(kernel_page_size),
            _ => None,
        }
    }
}

const SZ_4K: u64 = 1 << 12;
const SZ_16K: u64 = 1 << 14;
const SZ_64K: u64 = 1 << 16;
const SZ_2M: u64 = 1 << 21;
const SZ_32M: u64 = 1 << 25;
const SZ_512M: u64 = 1 << 29;
const SZ_1G: u64 = 1 << 30;
const SZ_4T: u64 = 1 << 42;

fn bit(v: u64, n: u32) -> bool {
    (v >> n) & 1 == 1
}

/// `struct iommu_hw_info_vtd`: VT-d's CAP_REG and ECAP_REG (Intel VT-d spec, 11.4.2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VtdRegisters {
    /// `IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17` (bit 0): read-only mappings are unsafe on
    /// that Sapphire Rapids erratum.
    pub flags: u32,
    /// CAP_REG.
    pub cap: u64,
    /// ECAP_REG.
    pub ecap: u64,
}

impl VtdRegisters {
    /// MGAW + 1: the maximum guest (IOVA) address width.
    pub fn address_width(&self) -> u8 {
        ((self.cap >> 16) & 0x3f) as u8 + 1
    }

    /// SAGAW: the supported second-stage page-table depths, as address widths (39 = 3
    /// levels, 48 = 4, 57 = 5).
    pub fn supported_address_widths(&self) -> Vec<u8> {
        let sagaw = (self.cap >> 8) & 0x1f;
        [(1u32, 39u8), (2, 48), (3, 57)]
            .into_iter()
            .filter(|&(b, _)| bit(sagaw, b))
            .map(|(_, w)| w)
            .collect()
    }

    /// The address width of the paging domains Linux gives a device behind this unit,
    /// whose aperture is `[0, 2^width - 1]`: the widest second-stage depth SAGAW offers
    /// (Linux looks no further than 57 bits), narrowed to MGAW + 1
    /// (`paging_domain_alloc`; `prepare_domain_attach_device` before 6.8). `None` when
    /// SAGAW offers no depth (Linux refuses such a unit), or when the kernel may build
    /// first-stage tables instead (scalable mode and FLTS, ECAP bit 47) on a unit wider
    /// than 48 bits: their width follows the CPU's paging mode (57 bits only with LA57),
    /// which the registers do not tell.
    pub fn paging_domain_width(&self) -> Option<u8> {
        let deepest = self.supported_address_widths().into_iter().max()?;
        let width = deepest.min(self.address_width());
        if self.scalable_mode() && bit(self.ecap, 47) && width > 48 {
            return None;
        }
        Some(width)
    }

    /// 4 KiB plus the second-stage large pages of SLLPS (CAP bits 34-35: 2 MiB, 1 GiB).
    pub fn second_stage_page_sizes(&self) -> PageSizes {
        let sllps = (self.cap >> 34) & 0xf;
        let mut p = SZ_4K;
        if bit(sllps, 0) {
            p |= SZ_2M;
        }
        if bit(sllps, 1) {
            p |= SZ_1G;
        }
        PageSizes(p)
    }

    /// The first-stage page sizes (4 KiB, 2 MiB, and 1 GiB with FL1GP, CAP bit 56), when
    /// the unit supports first-stage translation (FLTS, ECAP bit 47).
    pub fn first_stage_page_sizes(&self) -> Option<PageSizes> {
        if !bit(self.ecap, 47) {
            return None;
        }
        let mut p = SZ_4K | SZ_2M;
        if bit(self.cap, 56) {
            p |= SZ_1G;
        }
        Some(PageSizes(p))
    }

    /// Scalable mode (SMTS, ECAP bit 43): needed for PASID and for dirty tracking.
    pub fn scalable_mode(&self) -> bool {
        bit(self.ecap, 43)
    }

    /// What the hardware offers for second-stage dirty tracking: scalable mode, SLADS
    /// (ECAP bit 45) and SMPWC (ECAP bit 48), as Linux's `ssads_supported` requires. The
    /// kernel's own answer is `IOMMU_HW_CAP_DIRTY_TRACKING` (it also needs scalable mode
    /// turned on).
    pub fn dirty_tracking_hardware(&self) -> bool {
        self.scalable_mode() && bit(self.ecap, 45) && bit(self.ecap, 48)
    }

    /// Nested translation (NEST, ECAP bit 26).
    pub fn nested(&self) -> bool {
        bit(self.ecap, 26)
    }

    /// Interrupt remapping (IR, ECAP bit 3).
    pub fn interrupt_remapping(&self) -> bool {
        bit(self.ecap, 3)
    }

    /// The Sapphire Rapids erratum 772415 flag.
    pub fn errata_772415(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// `struct iommu_hw_info_arm_smmuv3`: SMMUv3's IDR0-5, IIDR and AIDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmmuV3Registers {
    /// Reserved flags.
    pub flags: u32,
    /// IDR0 to IDR5.
    pub idr: [u32; 6],
    /// IIDR (implementation).
    pub iidr: u32,
    /// AIDR (architecture version).
    pub aidr: u32,
}

impl SmmuV3Registers {
    /// IDR5.OAS: the output address size in bits.
    pub fn output_address_bits(&self) -> Option<u8> {
        match self.idr[5] & 0x7 {
            0 => Some(32),
            1 => Some(36),
            2 => Some(40),
            3 => Some(42),
            4 => Some(44),
            5 => Some(48),
            6 => Some(52),
            _ => None,
        }
    }

    /// IDR5.VAX (bits 10-11) = 1: stage 1 takes 52-bit input addresses (else 48).
    pub fn vax52(&self) -> bool {
        (self.idr[5] >> 10) & 0x3 == 1
    }

    /// The IOVA width of the kernel's default (stage 1, when IDR0.S1P) domain as the
    /// hardware bounds it: 52 bits with VAX, else 48; stage 2 only: the output size
    /// (`arm_smmu_domain_finalise`). The kernel narrows it further (its `VA_BITS`, and 48
    /// bits unless the granule is 64 KiB); `None` when stage 2 has an unknown OAS.
    pub fn input_address_bits(&self) -> Option<u8> {
        match self.stages() {
            (true, _) if self.vax52() => Some(52),
            (true, _) => Some(48),
            _ => self.output_address_bits(),
        }
    }

    /// Every page and block size the granules IDR5 lists allow (GRAN4K bit 4: 4K 2M 1G;
    /// GRAN16K bit 5: 16K 32M; GRAN64K bit 6: 64K 512M; 4T with a 52-bit OAS), as the
    /// driver's `smmu->pgsize_bitmap`; `None` when it lists none. No domain uses all of
    /// them: see [`SmmuV3Registers::page_sizes`].
    pub fn hardware_page_sizes(&self) -> Option<PageSizes> {
        let idr5 = u64::from(self.idr[5]);
        let mut p = 0;
        if bit(idr5, 4) {
            p |= SZ_4K | SZ_2M | SZ_1G;
        }
        if bit(idr5, 5) {
            p |= SZ_16K | SZ_32M;
        }
        if bit(idr5, 6) {
            p |= SZ_64K | SZ_512M;
        }
        if p != 0 && idr5 & 0x7 == 6 {
            p |= SZ_4T;
        }
        (p != 0).then_some(PageSizes(p))
    }

    /// The page sizes of the kernel's paging domain on this SMMU, for a kernel whose
    /// `PAGE_SIZE` is `kernel_page_size`. io-pgtable-arm (`arm_lpae_restrict_pgsizes`)
    /// keeps ONE granule with its block sizes: the kernel's page size if IDR5 has it;
    /// else the largest granule below it; else the smallest above it. So a 4 KiB kernel
    /// gets 4K|2M|1G (0x40201000) where IDR5 allows every granule (0x62215000), a 16 KiB
    /// kernel 16K|32M, a 64 KiB kernel 64K|512M (and 4T with a 52-bit OAS). iommufd
    /// refuses to attach a domain whose smallest page exceeds `PAGE_SIZE`. `None` when
    /// IDR5 lists no granule or `kernel_page_size` is not a power of two.
    pub fn page_sizes(&self, kernel_page_size: u64) -> Option<PageSizes> {
        let hw = self.hardware_page_sizes()?.0;
        if !kernel_page_size.is_power_of_two() {
            return None;
        }
        let below = hw & (kernel_page_size - 1);
        let granule = if hw & kernel_page_size != 0 {
            kernel_page_size
        } else if below != 0 {
            1 << (63 - below.leading_zeros())
        } else {
            1 << hw.trailing_zeros()
        };
        let blocks = match granule {
            SZ_4K => SZ_4K | SZ_2M | SZ_1G,
            SZ_16K => SZ_16K | SZ_32M,
            SZ_64K => SZ_64K | SZ_512M | SZ_4T,
            _ => 0,
        };
        let p = hw & blocks;
        (p != 0).then_some(PageSizes(p))
    }

    /// IDR0.S1P and IDR0.S2P: stage 1 and stage 2 translation.
    pub fn stages(&self) -> (bool, bool) {
        let idr0 = u64::from(self.idr[0]);
        (bit(idr0, 1), bit(idr0, 0))
    }

    /// IDR0.HTTU = 2: hardware updates of access and dirty flags (dirty tracking).
    pub fn dirty_tracking_hardware(&self) -> bool {
        (self.idr[0] >> 6) & 0x3 == 2
    }
}

/// `struct iommu_hw_info_amd`: AMD-Vi's Extended Feature Registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmdRegisters {
    /// EFR.
    pub efr: u64,
    /// EFR2.
    pub efr2: u64,
}

impl AmdRegisters {
    /// HATS (EFR bits 10-11): host page-table levels 4, 5 or 6, as address bits (48, 57,
    /// 64); `None` for the reserved value.
    pub fn host_address_bits(&self) -> Option<u8> {
        match (self.efr >> 10) & 0x3 {
            0 => Some(48),
            1 => Some(57),
            2 => Some(64),
            _ => None,
        }
    }

    /// HDSup (EFR bit 52): host dirty-bit support, what Linux needs for dirty tracking.
    pub fn dirty_tracking_hardware(&self) -> bool {
        bit(self.efr, 52)
    }

    /// PASmax (EFR bits 32-36): the PASID width minus one.
    pub fn pasid_max_bits(&self) -> u8 {
        ((self.efr >> 32) & 0x1f) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(data_type: u32, data: Vec<u8>) -> HwInfo {
        HwInfo {
            data_type,
            data_len: data.len() as u32,
            data,
            capabilities: Some(0),
            max_pasid_log2: 0,
            kernel_page_size: 4096,
            byte_order: ByteOrder::Native,
        }
    }

    fn vtd_bytes(flags: u32, cap: u64, ecap: u64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&cap.to_ne_bytes());
        b.extend_from_slice(&ecap.to_ne_bytes());
        b
    }

    // QEMU 7.2's intel-iommu with aw-bits=48: MGAW 47, SAGAW 39+48, SLLPS 2M+1G.
    const QEMU_CAP_AW48: u64 = (47 << 16) | (0b0110 << 8) | (0b11 << 34);

    #[test]
    fn vtd_registers_give_width_page_sizes_and_levels() {
        let hw = info(1, vtd_bytes(1, QEMU_CAP_AW48, 1 << 3));
        let HwData::IntelVtd(v) = hw.decode().unwrap() else {
            panic!("not VT-d")
        };
        assert_eq!(v.address_width(), 48);
        assert_eq!(v.supported_address_widths(), vec![39, 48]);
        assert_eq!(v.second_stage_page_sizes(), PageSizes(0x4020_1000));
        assert_eq!(v.first_stage_page_sizes(), None);
        assert!(v.interrupt_remapping() && v.errata_772415());
        assert!(!v.dirty_tracking_hardware());
        let d = HwData::IntelVtd(v);
        assert_eq!(
            (d.address_width(), d.page_sizes(4096)),
            (Some(48), Some(PageSizes(0x4020_1000)))
        );
    }

    #[test]
    fn vtd_dirty_tracking_needs_scalable_mode_slads_and_smpwc() {
        let all = (1 << 43) | (1 << 45) | (1 << 48);
        for (ecap, want) in [
            (all, true),
            (all & !(1 << 43), false),
            (all & !(1 << 45), false),
            (all & !(1 << 48), false),
        ] {
            let v = VtdRegisters {
                flags: 0,
                cap: 0,
                ecap,
            };
            assert_eq!(v.dirty_tracking_hardware(), want, "ecap {ecap:#x}");
        }
        let fl = VtdRegisters {
            flags: 0,
            cap: 1 << 56,
            ecap: 1 << 47,
        };
        assert_eq!(fl.first_stage_page_sizes(), Some(PageSizes(0x4020_1000)));
    }

    #[test]
    fn smmuv3_and_amd_registers_decode() {
        let mut b = Vec::new();
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        // IDR0: S1P S2P, HTTU = 2; IDR5: OAS 48 bits, 4K and 64K granules.
        let idr = [0b11 | (2 << 6), 0, 0, 0, 0, 5 | (1 << 4) | (1 << 6)];
        for v in idr {
            b.extend_from_slice(&(v as u32).to_ne_bytes());
        }
        b.extend_from_slice(&0x43b_u32.to_ne_bytes());
        b.extend_from_slice(&1u32.to_ne_bytes());
        let HwData::ArmSmmuV3(s) = info(2, b).decode().unwrap() else {
            panic!("not SMMUv3")
        };
        assert_eq!(s.output_address_bits(), Some(48));
        assert_eq!(s.input_address_bits(), Some(48));
        assert_eq!(
            s.hardware_page_sizes(),
            Some(PageSizes(SZ_4K | SZ_2M | SZ_1G | SZ_64K | SZ_512M))
        );
        // One granule: the kernel's page size; a 16K kernel falls back to the 4K granule
        // (the largest below), a 64K kernel gets 64K (no 4T: OAS is 48 bits).
        assert_eq!(s.page_sizes(4096), Some(PageSizes(0x4020_1000)));
        assert_eq!(s.page_sizes(SZ_16K), Some(PageSizes(0x4020_1000)));
        assert_eq!(s.page_sizes(SZ_64K), Some(PageSizes(SZ_64K | SZ_512M)));
        assert_eq!(s.stages(), (true, true));
        assert!(s.dirty_tracking_hardware());
        assert_eq!((s.iidr, s.aidr), (0x43b, 1));

        let mut a = Vec::new();
        a.extend_from_slice(&((1u64 << 52) | (1 << 10) | (15 << 32)).to_ne_bytes());
        a.extend_from_slice(&7u64.to_ne_bytes());
        let HwData::Amd(r) = info(4, a).decode().unwrap() else {
            panic!("not AMD")
        };
        assert_eq!(
            (
                r.host_address_bits(),
                r.dirty_tracking_hardware(),
                r.pasid_max_bits(),
                r.efr2
            ),
            (Some(57), true, 15, 7)
        );
    }

    fn smmu(idr0: u32, idr5: u32) -> SmmuV3Registers {
        SmmuV3Registers {
            flags: 0,
            idr: [idr0, 0, 0, 0, 0, idr5],
            iidr: 0,
            aidr: 0,
        }
    }

    #[test]
    fn smmuv3_domain_page_sizes_follow_the_kernel_page_size() {
        const G4: u32 = 1 << 4;
        const G16: u32 = 1 << 5;
        const G64: u32 = 1 << 6;
        const OAS44: u32 = 4;
        const OAS52: u32 = 6;
        let all = smmu(2, OAS44 | G4 | G16 | G64);
        assert_eq!(all.hardware_page_sizes(), Some(PageSizes(0x6221_5000)));
        for (page, want) in [
            (SZ_4K, 0x4020_1000),
            (SZ_16K, SZ_16K | SZ_32M),
            (SZ_64K, SZ_64K | SZ_512M),
        ] {
            assert_eq!(all.page_sizes(page), Some(PageSizes(want)), "{page:#x}");
        }
        // 52-bit OAS: the 64K granule gains 4T blocks, the others do not.
        let big = smmu(2, OAS52 | G4 | G64);
        assert_eq!(
            big.page_sizes(SZ_64K),
            Some(PageSizes(SZ_64K | SZ_512M | SZ_4T))
        );
        assert_eq!(big.page_sizes(SZ_4K), Some(PageSizes(0x4020_1000)));
        // No granule of the kernel's size: the largest below, else the smallest above.
        assert_eq!(
            smmu(2, G4 | G64).page_sizes(SZ_16K),
            Some(PageSizes(0x4020_1000))
        );
        assert_eq!(
            smmu(2, G16 | G64).page_sizes(SZ_4K),
            Some(PageSizes(SZ_16K | SZ_32M))
        );
        assert_eq!(
            smmu(2, G64).page_sizes(SZ_4K),
            Some(PageSizes(SZ_64K | SZ_512M))
        );
        // Nothing to say: no granule, or a page size that is no power of two.
        assert_eq!(smmu(2, OAS44).page_sizes(SZ_4K), None);
        assert_eq!(all.page_sizes(0), None);
        assert_eq!(all.page_sizes(3 * SZ_4K), None);
        // Stage 1 takes 48-bit IOVAs (52 with VAX = 1), whatever the OAS; stage 2 only: OAS.
        assert_eq!(all.input_address_bits(), Some(48));
        assert_eq!(smmu(2, OAS44 | (1 << 10)).input_address_bits(), Some(52));
        assert_eq!(smmu(1, OAS44).input_address_bits(), Some(44));
        assert_eq!(smmu(1, 7).input_address_bits(), None);
    }

    #[test]
    fn short_truncated_none_and_unknown_data() {
        // A VT-d answer cut at 16 bytes: the structure is named.
        let e = info(1, vtd_bytes(0, 1, 2)[..16].to_vec())
            .decode()
            .unwrap_err();
        assert_eq!(e.structure, "iommu_hw_info_vtd");
        assert!(matches!(
            e.kind,
            DecodeErrorKind::TooShort {
                len: 16,
                needed: 24
            }
        ));
        // The kernel had 24 bytes, the buffer held 8: silent truncation, caught.
        let mut t = info(1, vtd_bytes(0, 1, 2)[..8].to_vec());
        t.data_len = 24;
        assert!(t.truncated());
        assert!(t.decode().unwrap_err().to_string().contains("truncated"));
        assert_eq!(info(0, vec![]).decode().unwrap(), HwData::None);
        assert_eq!(
            info(3, vec![1, 2]).decode().unwrap(),
            HwData::Unknown {
                data_type: 3,
                bytes: vec![1, 2]
            }
        );
        assert_eq!(HwData::None.address_width(), None);
    }

    #[test]
    fn dirty_tracking_is_unknown_without_the_capability_field() {
        let mut hw = info(0, vec![]);
        hw.capabilities = None;
        assert_eq!(hw.dirty_tracking(), None);
        hw.capabilities = Some(uapi::IOMMU_HW_CAP_DIRTY_TRACKING);
        assert_eq!(hw.dirty_tracking(), Some(true));
        hw.capabilities = Some(uapi::IOMMU_HW_CAP_PCI_PASID_EXEC);
        assert_eq!(hw.dirty_tracking(), Some(false));
    }

    #[test]
    fn capability_bits_are_named_and_unknown_ones_kept() {
        let mut hw = info(0, vec![]);
        hw.capabilities = None;
        assert!(hw.capability_names().is_empty());
        assert_eq!(
            (hw.unknown_capabilities(), hw.ats_not_supported()),
            (0, None)
        );
        hw.capabilities = Some(0);
        assert!(hw.capability_names().is_empty());
        assert_eq!(hw.ats_not_supported(), Some(false));
        hw.capabilities = Some(0xf);
        assert_eq!(
            hw.capability_names(),
            [
                "dirty-tracking",
                "pci-pasid-exec",
                "pci-pasid-priv",
                "pci-ats-not-supported"
            ]
        );
        assert_eq!(hw.unknown_capabilities(), 0);
        // A newer kernel's bit 4 and bit 63: kept as unknown, the known one still named.
        hw.capabilities = Some((1 << 63) | 0x10 | uapi::IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED);
        assert_eq!(hw.capability_names(), ["pci-ats-not-supported"]);
        assert_eq!(hw.unknown_capabilities(), (1 << 63) | 0x10);
        assert_eq!(hw.ats_not_supported(), Some(true));
        // One name a bit, each bit once.
        let all = CAPABILITY_NAMES.iter().fold(0, |a, (b, _)| {
            assert_eq!((a & b, b.count_ones()), (0, 1));
            a | b
        });
        assert_eq!(all, 0xf);
    }
}
