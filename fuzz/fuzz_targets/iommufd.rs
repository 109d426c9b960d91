//! What iommufd answers: `IOMMU_GET_HW_INFO` and `IOMMU_IOAS_IOVA_RANGES`, played by a
//! fake kernel through the library's one seam (`sys::kernel::Kernel`) under its one retry
//! loop, exactly as `/dev/iommu` is asked.
//!
//! The input first drives `hw_info_with`: each call's `data_len`, the bytes written, the
//! type, the capabilities, the PASID width; the `HwInfo` then goes through `truncated`,
//! `decode`, every register accessor and the JSON form. The rest drives
//! `ioas_ranges_with`: each call's range count, the ranges it writes, its alignment, and
//! whether it answers success, EMSGSIZE (correctly or not) or another errno. The loop
//! must stop within `MAX_QUERY_CALLS` and never size its array past `MAX_RANGES`; its
//! answer then becomes the facts (with and without the hardware info), their JSON form,
//! and an `IovaSpace` (see `exercise_space`), the last two for answers of up to 1024
//! ranges (they are linear in the ranges and took most of the time of larger ones).
#![no_main]

use std::cell::{Cell, RefCell};
use std::mem::size_of;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::decode::hw_info::{HwData, HwInfo};
use vfio_iommu_info::facts::DmaFacts;
use vfio_iommu_info::query::iommufd::{hw_info_with, ioas_ranges_with, HW_INFO_MAX, MAX_RANGES};
use vfio_iommu_info::query::retry::MAX_QUERY_CALLS;
use vfio_iommu_info::sys::kernel::{Kernel, VfioQuery};
use vfio_iommu_info::sys::uapi::{self, IommuHwInfo, IommuIoasIovaRanges, IommuIovaRange};
use vfio_iommu_info::{json, Errno, IovaSpace};
use vfio_iommu_info_fuzz::{exercise_space, Input};

/// The largest answer whose facts go through the JSON form and `exercise_space`.
const JSON_RANGES: usize = 1024;

/// A descriptor for the messages only: the fake kernel answers every call.
fn null() -> BorrowedFd<'static> {
    static FD: OnceLock<std::fs::File> = OnceLock::new();
    FD.get_or_init(|| std::fs::File::open("/dev/null").expect("/dev/null"))
        .as_fd()
}

/// The fake kernel, reading its answers from the input.
struct FuzzKernel<'a> {
    input: RefCell<Input<'a>>,
    calls: Cell<u32>,
    ioas: u32,
    dev_id: u32,
}

impl FuzzKernel<'_> {
    fn call(&self) {
        let calls = self.calls.get() + 1;
        assert!(calls as usize <= MAX_QUERY_CALLS, "called {calls} times");
        self.calls.set(calls);
    }
}

impl Kernel for FuzzKernel<'_> {
    fn vfio_query(&self, _: BorrowedFd<'_>, q: VfioQuery, _: &mut [u8]) -> Result<(), Errno> {
        panic!("{} is not an iommufd query", q.name())
    }

    fn hw_info(
        &self,
        _: BorrowedFd<'_>,
        arg: &mut IommuHwInfo,
        data: &mut [u8],
    ) -> Result<(), Errno> {
        self.call();
        assert!(data.len() <= HW_INFO_MAX as usize, "{} bytes", data.len());
        assert_eq!(arg.data_len as usize, data.len());
        assert_eq!((arg.dev_id, arg.size as usize), (self.dev_id, size_of::<IommuHwInfo>()));
        let p = &mut *self.input.borrow_mut();
        arg.out_data_type = match p.u8() % 8 {
            0 => uapi::IOMMU_HW_INFO_TYPE_NONE,
            1 | 2 => uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD,
            3 => uapi::IOMMU_HW_INFO_TYPE_ARM_SMMUV3,
            4 => uapi::IOMMU_HW_INFO_TYPE_AMD,
            5 => uapi::IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV,
            _ => p.u32(),
        };
        arg.data_len = match p.u8() % 4 {
            0 => u32::from(p.u8()),
            1 => u32::from(p.u16()),
            2 => [0, 16, 24, 40, 64, 65, 4096, 4097][usize::from(p.u8() % 8)],
            _ => p.u32(),
        };
        let n = data.len().min(arg.data_len as usize);
        let got = p.bytes(n);
        data[..got.len()].copy_from_slice(got);
        arg.out_capabilities = p.u64();
        arg.out_max_pasid_log2 = p.u8();
        if p.u8() % 16 == 0 {
            return Err(Errno(i32::from(p.u8())));
        }
        Ok(())
    }

    fn ioas_iova_ranges(
        &self,
        _: BorrowedFd<'_>,
        arg: &mut IommuIoasIovaRanges,
        array: &mut [IommuIovaRange],
    ) -> Result<(), Errno> {
        self.call();
        assert!(
            array.len() <= MAX_RANGES as usize,
            "an array of {} ranges",
            array.len()
        );
        assert_eq!(arg.num_iovas as usize, array.len());
        assert_eq!(arg.ioas_id, self.ioas);
        assert_eq!(arg.size as usize, size_of::<IommuIoasIovaRanges>());
        let p = &mut *self.input.borrow_mut();
        let room = arg.num_iovas;
        let mode = p.u8();
        // Mostly counts around the inline array, sometimes large or absurd ones.
        let n = match mode % 8 {
            0..=4 => u32::from(p.u8() % 32),
            5 => u32::from(p.u16()),
            6 => p.u32(),
            _ => room.wrapping_add(u32::from(p.u8() % 4)),
        };
        // Ascending ranges usually, anything sometimes.
        let mut at = 0u64;
        for slot in array.iter_mut().take(n as usize) {
            if p.is_empty() {
                break;
            }
            if p.u8().is_multiple_of(8) {
                slot.start = p.u64();
                slot.last = p.u64();
            } else {
                slot.start = at.saturating_add(p.size());
                slot.last = slot.start.saturating_add(p.size());
            }
            at = slot.last.saturating_add(1);
        }
        arg.num_iovas = n;
        arg.out_iova_alignment = if p.bool() { 4096 } else { p.u64() };
        match (mode / 8) % 8 {
            0..=4 if n > room => Err(Errno(libc::EMSGSIZE)),
            0..=5 => Ok(()),
            6 => Err(Errno(libc::EMSGSIZE)),
            _ => Err(Errno(i32::from(p.u8()))),
        }
    }
}

fn exercise_hw(hw: &HwInfo) {
    let _ = (hw.truncated(), hw.dirty_tracking(), hw.type_name());
    match hw.decode() {
        Ok(d) => {
            assert!(!hw.truncated(), "a truncated HwInfo decoded");
            let _ = (d.address_width(), d.page_sizes(hw.kernel_page_size), format!("{d:?}"));
            match d {
                HwData::IntelVtd(v) => {
                    let _ = (v.address_width(), v.supported_address_widths());
                    let _ = (v.second_stage_page_sizes(), v.first_stage_page_sizes());
                    let _ = (v.scalable_mode(), v.dirty_tracking_hardware(), v.nested());
                    let _ = (v.interrupt_remapping(), v.errata_772415());
                }
                HwData::ArmSmmuV3(s) => {
                    let _ = (s.output_address_bits(), s.input_address_bits(), s.stages());
                    // Any page size, even 0 or none a kernel has: no panic, no overflow.
                    for page in [0, 1, 3, 4096, 1 << 14, 1 << 16, 1 << 63, u64::MAX] {
                        let _ = s.page_sizes(page);
                    }
                    let _ = s.hardware_page_sizes();
                    let _ = s.dirty_tracking_hardware();
                }
                HwData::Amd(a) => {
                    let _ = (a.host_address_bits(), a.dirty_tracking_hardware());
                    let _ = a.pasid_max_bits();
                }
                _ => {}
            }
        }
        Err(e) => {
            let _ = (e.to_string(), format!("{e:?}"));
        }
    }
    let _ = json::hw_info_to_json(hw).to_string();
}

fuzz_target!(|data: &[u8]| {
    let mut p = Input::new(data);
    let (ioas, dev_id) = (p.u32(), p.u32());
    let kernel = FuzzKernel {
        input: RefCell::new(p),
        calls: Cell::new(0),
        ioas,
        dev_id,
    };
    let hw = match hw_info_with(&kernel, null(), dev_id) {
        Ok(hw) => {
            assert!(hw.data.len() <= hw.data_len as usize);
            exercise_hw(&hw);
            Some(hw)
        }
        Err(e) => {
            let _ = (e.to_string(), e.kind(), e.errno());
            None
        }
    };

    kernel.calls.set(0);
    let result = ioas_ranges_with(&kernel, null(), ioas);
    let calls = kernel.calls.get();
    let mut p = kernel.input.into_inner();
    match result {
        Ok(r) => {
            assert_eq!(r.calls, calls);
            for w in &r.ranges {
                assert!(w.start <= w.end);
            }
            for hw in [None, hw.as_ref()] {
                let facts = DmaFacts::from_iommufd(&r, hw);
                // The JSON form and the planning are linear in the ranges: past
                // JSON_RANGES (answers the fake kernel mostly pads with zeroes) they
                // would take most of the time for nothing new.
                if r.ranges.len() <= JSON_RANGES {
                    let _ = json::facts_to_json(&facts).to_string();
                }
            }
            if r.ranges.len() <= JSON_RANGES {
                let pgsizes = hw
                    .as_ref()
                    .and_then(|hw| hw.page_sizes());
                exercise_space(&IovaSpace::new(&r.ranges, pgsizes), &mut p);
            }
        }
        Err(e) => {
            let _ = (e.to_string(), format!("{e:?}"), e.errno());
        }
    }
});
