//! Whether a span of IOVA space can be mapped, and why not.

use std::ffi::{c_char, c_int, CStr};

use ::vfio_iommu_info::{check_span, SpanProblem};

use crate::args::{self, Out, Sized32};
use crate::info::{vfio_iommu_info, vfio_iommu_info_range};
use crate::result::{guard, Failure, VFIO_IOMMU_INFO_E_INTERNAL};

/// The span can be mapped: inside one usable range and aligned to the smallest page size.
pub const VFIO_IOMMU_INFO_SPAN_OK: u32 = 0;
/// The span is empty (`len` 0).
pub const VFIO_IOMMU_INFO_SPAN_EMPTY: u32 = 1;
/// The span's last byte, `iova + len - 1`, would lie beyond 2^64-1 (a span may end
/// exactly at 2^64-1).
pub const VFIO_IOMMU_INFO_SPAN_WRAPS: u32 = 2;
/// There are no IOVA ranges to check against (see `vfio_iommu_info_absence()`).
pub const VFIO_IOMMU_INFO_SPAN_NO_RANGES: u32 = 3;
/// The span reaches outside the aperture (`range`): the IOMMU cannot address it.
pub const VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE: u32 = 4;
/// The span touches a reserved hole (`range`, the first one it touches).
pub const VFIO_IOMMU_INFO_SPAN_IN_HOLE: u32 = 5;
/// The span runs from one range into the next with no hole between: a mapping must lie
/// inside one range.
pub const VFIO_IOMMU_INFO_SPAN_ACROSS_RANGES: u32 = 6;
/// The address or the size is not a multiple of the smallest page size (`page_size`).
pub const VFIO_IOMMU_INFO_SPAN_MISALIGNED: u32 = 7;
/// Only in a guest layout's placements, never from a check: the fixed region overlaps
/// another fixed region of the same layout (since 0.2).
pub const VFIO_IOMMU_INFO_SPAN_OVERLAPS: u32 = 8;
/// Only in a guest layout's placements, never from a check: the fixed region reaches the
/// last page of the 64-bit space, which Linux's type1 can map but never unmap (since 0.2).
pub const VFIO_IOMMU_INFO_SPAN_TOP_PAGE: u32 = 9;

/// The answer of `vfio_iommu_info_check()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_verdict {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_verdict)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// `VFIO_IOMMU_INFO_SPAN_OK` or the first problem, a `VFIO_IOMMU_INFO_SPAN_*` code.
    pub problem: u32,
    /// For `BEYOND_APERTURE`, the aperture; for `IN_HOLE`, the hole; else zero.
    pub range: vfio_iommu_info_range,
    /// For `MISALIGNED`, the smallest page size; else zero.
    pub page_size: u64,
}

impl Sized32 for vfio_iommu_info_verdict {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_verdict { size, ..self }
    }
}

/// Whether `[iova, iova + len)` can be mapped through this container, exact up to
/// 2^64-1: the answer goes into `*verdict`, whose `size` the caller sets to
/// `sizeof(struct vfio_iommu_info_verdict)`. A span that cannot be mapped is an answer,
/// not an error: the function returns 0 with `verdict->problem` set to the first problem
/// in this order: `EMPTY`, `WRAPS`, `NO_RANGES`, `BEYOND_APERTURE`, `IN_HOLE` or
/// `ACROSS_RANGES`, `MISALIGNED` (checked only when the kernel reported page sizes).
///
/// Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`verdict->size`) or `VFIO_IOMMU_INFO_E_NULL`;
/// `*verdict` is written only on success.
///
/// Superseded by `vfio_iommu_info_space_check()` on the space of the info (0.4: one space for
/// every source); kept, like every export of .so.0.
///
/// # Safety
/// `info` must be a live object of this library; `verdict` must point to a writable
/// struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_check(
    info: *const vfio_iommu_info,
    iova: u64,
    len: u64,
    verdict: *mut vfio_iommu_info_verdict,
) -> c_int {
    const F: &str = "vfio_iommu_info_check";
    guard(F, || {
        // SAFETY: per the contract, `info` is NULL or a live object.
        let info = unsafe { args::object(info, "info") }?;
        let out = Out::new(verdict, "verdict")?;
        let out = out.check_size("verdict")?;
        let model = &info.info;
        let ranges = model.iova_ranges.present().map_or(&[][..], Vec::as_slice);
        let v = span_verdict(check_span(ranges, model.iova_pgsizes, iova, len))?;
        out.write_sized(v);
        Ok(())
    })
}

/// The code of a span problem, with the range it names (the aperture or the hole) and
/// the page size it is misaligned to.
pub(crate) fn problem_code(
    problem: &SpanProblem,
) -> Result<(u32, vfio_iommu_info_range, u64), Failure> {
    let zero = vfio_iommu_info_range { start: 0, end: 0 };
    Ok(match *problem {
        SpanProblem::Empty => (VFIO_IOMMU_INFO_SPAN_EMPTY, zero, 0),
        SpanProblem::Wraps => (VFIO_IOMMU_INFO_SPAN_WRAPS, zero, 0),
        SpanProblem::NoRanges => (VFIO_IOMMU_INFO_SPAN_NO_RANGES, zero, 0),
        SpanProblem::BeyondAperture { aperture } => {
            (VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE, aperture.into(), 0)
        }
        SpanProblem::InHole { hole } => (VFIO_IOMMU_INFO_SPAN_IN_HOLE, hole.into(), 0),
        SpanProblem::AcrossRanges => (VFIO_IOMMU_INFO_SPAN_ACROSS_RANGES, zero, 0),
        SpanProblem::Misaligned { page } => (VFIO_IOMMU_INFO_SPAN_MISALIGNED, zero, page),
        ref other => {
            return Err(Failure::new(
                VFIO_IOMMU_INFO_E_INTERNAL,
                format!("verdict {other:?} has no code"),
            ))
        }
    })
}

/// The verdict (its `size` still 0) for the result of a check.
pub(crate) fn span_verdict(
    result: Result<(), SpanProblem>,
) -> Result<vfio_iommu_info_verdict, Failure> {
    let (problem, range, page_size) = match result {
        Ok(()) => (
            VFIO_IOMMU_INFO_SPAN_OK,
            vfio_iommu_info_range { start: 0, end: 0 },
            0,
        ),
        Err(p) => problem_code(&p)?,
    };
    Ok(vfio_iommu_info_verdict {
        size: 0,
        problem,
        range,
        page_size,
    })
}

/// A static description of a `VFIO_IOMMU_INFO_SPAN_*` code; never NULL, not to be freed.
#[unsafe(no_mangle)]
pub extern "C" fn vfio_iommu_info_span_problem_str(problem: u32) -> *const c_char {
    crate::result::guard_value(c"unknown".as_ptr(), || {
        span_problem_str_text(problem).as_ptr()
    })
}

fn span_problem_str_text(problem: u32) -> &'static CStr {
    let text: &'static CStr = match problem {
        VFIO_IOMMU_INFO_SPAN_OK => c"can be mapped",
        VFIO_IOMMU_INFO_SPAN_EMPTY => c"the span is empty",
        VFIO_IOMMU_INFO_SPAN_WRAPS => c"the span runs past the end of the 64-bit address space",
        VFIO_IOMMU_INFO_SPAN_NO_RANGES => c"the container reports no IOVA ranges to map into",
        VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE => {
            c"beyond the IOMMU aperture (the IOMMU cannot address it: check its address width)"
        }
        VFIO_IOMMU_INFO_SPAN_IN_HOLE => c"inside a reserved hole",
        VFIO_IOMMU_INFO_SPAN_ACROSS_RANGES => {
            c"across two IOVA ranges: a mapping must lie inside one range"
        }
        VFIO_IOMMU_INFO_SPAN_MISALIGNED => {
            c"not aligned to the smallest IOMMU page size: the address and the size must be multiples of it"
        }
        VFIO_IOMMU_INFO_SPAN_OVERLAPS => c"overlaps another fixed region of the layout",
        VFIO_IOMMU_INFO_SPAN_TOP_PAGE => {
            c"reaches the last page of the 64-bit space, which type1 can map but never unmap"
        }
        _ => c"not a VFIO_IOMMU_INFO_SPAN_* code",
    };
    text
}

symbol_versions!("VFIO_IOMMU_INFO_0": vfio_iommu_info_check, vfio_iommu_info_span_problem_str,);
