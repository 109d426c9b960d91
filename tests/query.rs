//! The query engine against canned kernels played through the `VfioIoctl` trait: one
//! ioctl on the common path, bounded growth otherwise, errors explained.

use std::cell::RefCell;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};

use vfio_iommu_info::encode::{CapSpec, KernelLayout, KernelState};
use vfio_iommu_info::query::{
    capture_type1_with, query_type1_with, INLINE_INFO_SIZE, MAX_INFO_CALLS,
};
use vfio_iommu_info::sys::kernel::{Kernel, VfioQuery};
use vfio_iommu_info::{Absence, ByteOrder, Errno, Error, IovaRange, Reported};

/// A kernel that answers GET_INFO from a sequence of states (the last one repeats), or
/// with an errno, and records every argsz it was handed.
struct FakeKernel {
    states: Vec<KernelState>,
    errno: Option<i32>,
    /// Bytes the fake paints past what the kernel writes, as a caller's garbage would be.
    paint: Option<u8>,
    calls: RefCell<Vec<usize>>,
}

impl FakeKernel {
    fn new(states: Vec<KernelState>) -> Self {
        FakeKernel {
            states,
            errno: None,
            paint: Some(0xAA),
            calls: RefCell::new(Vec::new()),
        }
    }
    fn failing(errno: i32) -> Self {
        FakeKernel {
            errno: Some(errno),
            ..FakeKernel::new(vec![])
        }
    }
    fn argszs(&self) -> Vec<usize> {
        self.calls.borrow().clone()
    }
}

impl Kernel for FakeKernel {
    fn vfio_query(&self, _fd: BorrowedFd<'_>, _: VfioQuery, buf: &mut [u8]) -> Result<(), Errno> {
        let argsz = u32::from_ne_bytes(buf[..4].try_into().unwrap()) as usize;
        // The one thing that would corrupt memory with a real kernel: argsz beyond the buffer.
        assert!(
            argsz <= buf.len(),
            "argsz {argsz} exceeds the {}-byte buffer",
            buf.len()
        );
        let n = self.calls.borrow().len();
        self.calls.borrow_mut().push(argsz);
        if let Some(e) = self.errno {
            return Err(Errno(e));
        }
        let state = &self.states[n.min(self.states.len() - 1)];
        if let Some(p) = self.paint {
            buf[4..].fill(p);
        }
        state.fill(&mut buf[..argsz]).map_err(Errno)
    }
}

fn fd() -> File {
    File::open("/dev/null").unwrap()
}

fn ranges(n: usize) -> Vec<IovaRange> {
    (0..n as u64)
        .map(|i| IovaRange::new(i << 32, (i << 32) + 0xfff).unwrap())
        .collect()
}

fn state(layout: KernelLayout, n: usize) -> KernelState {
    KernelState {
        layout,
        order: ByteOrder::Native,
        iova_pgsizes: 0x4020_1000,
        caps: vec![
            CapSpec::Migration(vfio_iommu_info::Migration {
                version: 1,
                flags: 0,
                pgsize_bitmap: vfio_iommu_info::PageSizes(0x1000),
                max_dirty_bitmap_size: 0x1000_0000,
            }),
            CapSpec::DmaAvail(65535),
            CapSpec::IovaRange(ranges(n)),
        ],
    }
}

#[test]
fn common_path_is_one_ioctl_and_ignores_the_untouched_tail() {
    for layout in [KernelLayout::Packed, KernelLayout::Padded] {
        let k = FakeKernel::new(vec![state(layout, 3)]);
        let f = fd();
        let info = query_type1_with(&k, f.as_fd()).unwrap();
        assert_eq!(k.argszs(), vec![INLINE_INFO_SIZE], "{layout:?}");
        assert_eq!(
            info.argsz as usize, INLINE_INFO_SIZE,
            "argsz left as passed"
        );
        assert_eq!(info.iova_ranges, Reported::Present(ranges(3)));
        assert_eq!(info.dma_avail, Reported::Present(65535));
    }
}

#[test]
fn the_inline_buffer_answers_every_chain_seen_on_real_kernels() {
    // 58 ranges is far beyond any real host (they report 2 or 3).
    let k = FakeKernel::new(vec![state(KernelLayout::Padded, 58)]);
    query_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(k.argszs().len(), 1);
}

#[test]
fn a_larger_chain_grows_once_to_exactly_the_needed_size() {
    let s = state(KernelLayout::Padded, 100);
    let needed = s.needed_size();
    let k = FakeKernel::new(vec![s]);
    let info = query_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(k.argszs(), vec![INLINE_INFO_SIZE, needed]);
    assert_eq!(info.iova_ranges.present().unwrap().len(), 100);
    assert_eq!(info.argsz as usize, needed);
}

#[test]
fn a_size_that_grows_between_calls_is_followed() {
    let states = vec![
        state(KernelLayout::Padded, 100),
        state(KernelLayout::Padded, 200),
    ];
    let (n1, n2) = (states[0].needed_size(), states[1].needed_size());
    let k = FakeKernel::new(states);
    let info = query_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(k.argszs(), vec![INLINE_INFO_SIZE, n1, n2]);
    assert_eq!(info.iova_ranges.present().unwrap().len(), 200);
}

#[test]
fn a_size_that_never_settles_is_bounded() {
    let states: Vec<_> = (1..=10)
        .map(|i| state(KernelLayout::Padded, 100 * i))
        .collect();
    let k = FakeKernel::new(states);
    let err = query_type1_with(&k, fd().as_fd()).unwrap_err();
    assert_eq!(k.argszs().len(), MAX_INFO_CALLS);
    assert!(
        matches!(
            err,
            Error::SizeUnstable {
                calls: MAX_INFO_CALLS,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_absurd_size_is_refused() {
    // 70000 ranges need more than the 1 MiB bound.
    let k = FakeKernel::new(vec![state(KernelLayout::Padded, 70_000)]);
    let err = query_type1_with(&k, fd().as_fd()).unwrap_err();
    assert!(matches!(err, Error::SizeTooLarge { .. }), "{err}");
    assert_eq!(k.argszs().len(), 1);
}

#[test]
fn pre_5_4_kernel_answers_in_one_call_without_a_chain() {
    let mut s = state(KernelLayout::Legacy, 0);
    s.caps.clear();
    let k = FakeKernel::new(vec![s]);
    let info = query_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(k.argszs().len(), 1);
    assert_eq!(
        info.iova_ranges,
        Reported::Absent(Absence::NoCapabilityChain)
    );
    assert_eq!(info.iova_pgsizes.map(|p| p.0), Some(0x4020_1000));
}

#[test]
fn capture_returns_the_buffer_as_filled() {
    let s = state(KernelLayout::Packed, 2);
    let k = FakeKernel {
        paint: None,
        ..FakeKernel::new(vec![s.clone()])
    };
    let raw = capture_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(raw.len(), INLINE_INFO_SIZE);
    assert_eq!(&raw[24..s.needed_size()], &s.encode()[24..]);
    assert!(
        raw[s.needed_size()..].iter().all(|&b| b == 0),
        "the library zeroes its buffer"
    );
}

#[test]
fn kernel_errors_are_explained() {
    let cases = [
        (libc::EINVAL, "VFIO_SET_IOMMU"),
        (libc::ENOTTY, "not a VFIO container"),
        (libc::EBADF, "not an open file descriptor"),
        (libc::ENODEV, "no IOAS"),
    ];
    for (errno, hint) in cases {
        let k = FakeKernel::failing(errno);
        let f = fd();
        let err = query_type1_with(&k, f.as_fd()).unwrap_err();
        assert_eq!(err.errno(), Some(Errno(errno)));
        let text = err.to_string();
        assert!(text.starts_with("VFIO_IOMMU_GET_INFO on fd "), "{text}");
        assert!(text.contains(hint), "{text}");
        assert_eq!(k.argszs().len(), 1, "errors are not retried");
    }
}

#[test]
fn a_reply_without_pgsizes_is_not_taken_for_type1() {
    struct HotResetInfo;
    impl Kernel for HotResetInfo {
        fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, buf: &mut [u8]) -> Result<(), Errno> {
            // vfio_pci_hot_reset_info {argsz, flags 0, count 1} + one device.
            buf[4..8].copy_from_slice(&0u32.to_ne_bytes());
            buf[8..12].copy_from_slice(&1u32.to_ne_bytes());
            Ok(())
        }
    }
    let err = query_type1_with(&HotResetInfo, fd().as_fd()).unwrap_err();
    assert!(
        matches!(err, Error::NotType1Reply { flags: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_malformed_kernel_reply_names_the_ioctl_and_offset() {
    struct Looping;
    impl Kernel for Looping {
        fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, buf: &mut [u8]) -> Result<(), Errno> {
            buf[4..8].copy_from_slice(&3u32.to_ne_bytes());
            buf[16..20].copy_from_slice(&24u32.to_ne_bytes());
            buf[24..26].copy_from_slice(&9u16.to_ne_bytes());
            buf[28..32].copy_from_slice(&24u32.to_ne_bytes());
            Ok(())
        }
    }
    let err = query_type1_with(&Looping, fd().as_fd()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("VFIO_IOMMU_GET_INFO on fd"), "{text}");
    assert!(
        text.contains("byte offset 28") && text.contains("loops"),
        "{text}"
    );
}

#[test]
fn iommufd_compat_partial_fill_grows_like_type1() {
    // iommufd's compat GET_INFO sets argsz to the exact total and may leave partly written
    // caps with cap_offset 0 when short: the query grows and gets the whole chain.
    struct Compat {
        inner: KernelState,
        calls: RefCell<usize>,
    }
    impl Kernel for Compat {
        fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, buf: &mut [u8]) -> Result<(), Errno> {
            *self.calls.borrow_mut() += 1;
            let full = self.inner.encode();
            let argsz = u32::from_ne_bytes(buf[..4].try_into().unwrap()) as usize;
            let n = argsz.min(full.len());
            buf[..n].copy_from_slice(&full[..n]);
            if argsz < full.len() {
                buf[16..20].copy_from_slice(&0u32.to_ne_bytes());
            }
            buf[..4].copy_from_slice(&(full.len() as u32).to_ne_bytes());
            Ok(())
        }
    }
    let k = Compat {
        inner: KernelState::padded(
            0x1000,
            vec![CapSpec::IovaRange(ranges(90)), CapSpec::DmaAvail(u32::MAX)],
        ),
        calls: RefCell::new(0),
    };
    let info = query_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(*k.calls.borrow(), 2);
    assert_eq!(info.iova_ranges.present().unwrap().len(), 90);
    assert_eq!(info.dma_avail, Reported::Present(u32::MAX));
}

#[test]
fn a_reply_with_cap_offset_beyond_the_buffer_grows_like_cap_offset_0() {
    // The decoder calls this "did not fit"; the query must then ask again, not hand back
    // a truncated answer.
    struct FarOffset {
        inner: KernelState,
        calls: RefCell<usize>,
    }
    impl Kernel for FarOffset {
        fn vfio_query(&self, _: BorrowedFd<'_>, _: VfioQuery, buf: &mut [u8]) -> Result<(), Errno> {
            *self.calls.borrow_mut() += 1;
            self.inner.fill(buf).map_err(Errno)?;
            if *self.calls.borrow() == 1 {
                buf[..4].copy_from_slice(&(self.inner.needed_size() as u32).to_ne_bytes());
                buf[16..20].copy_from_slice(&5000u32.to_ne_bytes());
            }
            Ok(())
        }
    }
    let k = FarOffset {
        inner: state(KernelLayout::Padded, 100),
        calls: RefCell::new(0),
    };
    let info = query_type1_with(&k, fd().as_fd()).unwrap();
    assert_eq!(*k.calls.borrow(), 2);
    assert_eq!(info.iova_ranges.present().unwrap().len(), 100);
}

#[test]
fn the_system_ioctl_refuses_an_argsz_larger_than_its_buffer() {
    use vfio_iommu_info::sys::kernel::SystemKernel;
    let null = fd();
    // The kernel would answer ENOTTY on /dev/null: EINVAL shows the call never reached it.
    let mut buf = [0u8; 32];
    buf[..4].copy_from_slice(&64u32.to_ne_bytes());
    assert_eq!(
        SystemKernel.vfio_query(null.as_fd(), VfioQuery::IommuGetInfo, &mut buf),
        Err(Errno(libc::EINVAL))
    );
    let mut short = [0u8; 12];
    short[..4].copy_from_slice(&12u32.to_ne_bytes());
    assert_eq!(
        SystemKernel.vfio_query(null.as_fd(), VfioQuery::IommuGetInfo, &mut short),
        Err(Errno(libc::EINVAL))
    );
    let mut ok = [0u8; 32];
    ok[..4].copy_from_slice(&32u32.to_ne_bytes());
    assert_eq!(
        SystemKernel.vfio_query(null.as_fd(), VfioQuery::IommuGetInfo, &mut ok),
        Err(Errno(libc::ENOTTY))
    );
}
