//! The opaque handles C holds: each is a `Handle<T>`, a per-kind tag at offset 0 before
//! the object, so every entry point checks it was given a handle of the kind it expects
//! before it touches the object ([`get`], [`take`]). Passing one kind where another is
//! expected (a space where an allocator is wanted) is refused with
//! `VFIO_IOMMU_INFO_E_INVALID` instead of being undefined behaviour.
//!
//! `_free` overwrites the tag before it frees the memory, so a later use of the stale
//! pointer is refused as long as the memory was not reused: a best effort, not a
//! guarantee (the allocator may reuse the block, and reading freed memory is itself
//! undefined behaviour).
//!
//! Also the fd witness ([`FdWitness`]) of the handles that own fds they show to C.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::result::{Failure, VFIO_IOMMU_INFO_E_INVALID};

/// A type C holds through an opaque pointer (`struct vfio_iommu_info_space *`), like
/// rustls-ffi's `Castable`: the pointer given to C points to a `Handle<Self>`.
pub(crate) trait Castable: Sized {
    /// The tag of every live handle of this kind: unique among [`KINDS`].
    const TAG: u64;
    /// The C type, for messages: `"struct vfio_iommu_info_space"`.
    const NAME: &'static str;
}

/// What a handle's memory holds: the tag first, at a fixed offset whatever `T` is.
#[repr(C)]
struct Handle<T> {
    tag: u64,
    value: T,
}

/// The tag `_free` leaves behind.
const FREED: u64 = 0x5646_4949_4652_4545; // "VFIIFREE"

/// Declares a kind of handle and its tag.
macro_rules! castable {
    ($($ty:ident = $tag:literal),* $(,)?) => {
        $(impl Castable for crate::$ty {
            const TAG: u64 = $tag;
            const NAME: &'static str = concat!("struct ", stringify!($ty));
        })*
        /// Every kind, to name the kind of a handle passed in the wrong place.
        const KINDS: &[(u64, &str)] = &[$(($tag, concat!("struct ", stringify!($ty)))),*];
    };
}

castable!(
    vfio_iommu_info = 0x5646_4949_0000_0001,
    vfio_iommu_info_container = 0x5646_4949_0000_0002,
    vfio_iommu_info_space = 0x5646_4949_0000_0003,
    vfio_iommu_info_allocator = 0x5646_4949_0000_0004,
    vfio_iommu_info_layout = 0x5646_4949_0000_0005,
    vfio_iommu_info_device_info = 0x5646_4949_0000_0006,
    vfio_iommu_info_region_info = 0x5646_4949_0000_0007,
    vfio_iommu_info_iommufd = 0x5646_4949_0000_0008,
    vfio_iommu_info_guest_plan = 0x5646_4949_0000_0009,
);

// Every kind has its own tag, and none is the freed one: checked when the crate builds
// (ffi/tests/handles.rs checks the same through the C ABI for the kinds a host can make).
const _: () = {
    let mut i = 0;
    while i < KINDS.len() {
        assert!(KINDS[i].0 != FREED, "a kind has the tag of a freed handle");
        let mut j = 0;
        while j < i {
            assert!(KINDS[i].0 != KINDS[j].0, "two kinds share a tag");
            j += 1;
        }
        i += 1;
    }
};

/// A new handle for C, freed by [`take`] (through the kind's `_free`).
pub(crate) fn into_raw<T: Castable>(value: T) -> *mut T {
    Box::into_raw(Box::new(Handle { tag: T::TAG, value })).cast()
}

/// Checks `ptr` is a live handle of kind `T`: not NULL, its tag `T`'s.
///
/// # Safety
/// `ptr` must be NULL or point to at least 8 readable, 8-aligned bytes: any handle this
/// library returned, of any kind, and not freed.
unsafe fn check<T: Castable>(ptr: *const T, name: &str) -> Result<*mut Handle<T>, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: per this function's contract, a non-NULL `ptr` is a handle of some kind,
    // whose memory begins with the `u64` tag of a `#[repr(C)]` `Handle` (8-aligned).
    let tag = unsafe { ptr.cast::<u64>().read() };
    if tag == T::TAG {
        return Ok(ptr.cast::<Handle<T>>().cast_mut());
    }
    let what = match KINDS.iter().find(|(t, _)| *t == tag) {
        Some((_, kind)) => format!("a {kind}"),
        None if tag == FREED => "a handle already freed".to_string(),
        None => format!("not a handle of this library (tag {tag:#x})"),
    };
    Err(Failure::new(
        VFIO_IOMMU_INFO_E_INVALID,
        format!("{name} is {what}, not the {} expected", T::NAME),
    ))
}

/// Borrows the object of a handle of kind `T`, checked non-NULL and of the right kind.
///
/// # Safety
/// `ptr` must be NULL or a handle of any kind this library returned and that was not
/// freed; the object must outlive `'a`.
pub(crate) unsafe fn get<'a, T: Castable>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: forwarded contract.
    let handle = unsafe { check(ptr, name) }?;
    // SAFETY: `check` found `T`'s tag, so `handle` is a live `Handle<T>` made by
    // `into_raw`; it is only read through shared references until `take`.
    Ok(unsafe { &(*handle).value })
}

/// Takes back the object of a handle of kind `T` for its `_free`: `Ok(None)` for NULL, a
/// refusal for another kind (nothing freed). The tag is overwritten before the memory is
/// freed.
///
/// # Safety
/// `ptr` must be NULL or a handle of any kind this library returned and that was not
/// freed, used by no other thread.
pub(crate) unsafe fn take<T: Castable>(ptr: *mut T) -> Result<Option<T>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let handle = unsafe { check(ptr, "the handle") }?;
    // SAFETY: `handle` is a live `Handle<T>` (its tag is `T`'s). A volatile write, so the
    // store is not dropped as dead before the deallocation.
    unsafe { std::ptr::addr_of_mut!((*handle).tag).write_volatile(FREED) };
    // SAFETY: `handle` came from `Box::into_raw` in `into_raw` and, per the contract, is
    // freed once, here.
    let boxed = unsafe { Box::from_raw(handle) };
    Ok(Some(boxed.value))
}

/// The whole body of a kind's `_free`, named `function`: NULL is accepted and ignored; a
/// pointer that is not a live handle of kind `T` is refused (nothing freed, the refusal
/// kept as the last error); a handle's object is dropped.
///
/// # Safety
/// `ptr` must be NULL or a handle of any kind this library returned and that was not
/// freed, used by no other thread.
pub(crate) unsafe fn free_handle<T: Castable>(ptr: *mut T, function: &str) {
    // SAFETY: forwarded contract.
    unsafe {
        free_handle_with(ptr, function, |object| {
            drop(object);
            Ok(())
        })
    }
}

/// [`free_handle`] for the kinds that own fds: the object is given to `release` (which
/// checks the fds' witnesses before they are closed), whose refusal is kept as the last
/// error.
///
/// # Safety
/// As [`free_handle`].
pub(crate) unsafe fn free_handle_with<T: Castable>(
    ptr: *mut T,
    function: &str,
    release: impl FnOnce(T) -> Result<(), Failure>,
) {
    crate::result::guard_free(function, || {
        // SAFETY: forwarded contract; `take` checks the handle's kind.
        match unsafe { take(ptr) }? {
            Some(object) => release(object),
            None => Ok(()),
        }
    })
}

/// A private duplicate of an fd a handle owns and shows to C, kept to check, before the
/// handle closes the number, that the number still names the file the handle opened: a
/// caller that closed it (against the contract) may have got the number back for another
/// file since, which the handle must not close.
#[derive(Debug)]
pub(crate) struct FdWitness {
    number: RawFd,
    /// `None` when the duplicate could not be made (no fd left): the check is skipped.
    dup: Option<OwnedFd>,
}

impl FdWitness {
    pub(crate) fn new(fd: BorrowedFd<'_>) -> FdWitness {
        FdWitness {
            number: fd.as_raw_fd(),
            dup: fd.try_clone_to_owned().ok(),
        }
    }

    /// Whether the number still names the file the witness saw (true when unknown).
    fn holds(&self) -> bool {
        let Some(dup) = &self.dup else { return true };
        // SAFETY: kcmp and fstat only name the number; nothing is read or closed through
        // this borrow, which does not outlive the call.
        let number = unsafe { BorrowedFd::borrow_raw(self.number) };
        ::vfio_iommu_info::ioctl::same_open_file(number, dup.as_fd()) == Ok(true)
    }
}

/// Drops `owner`, which closes the fds `witnesses` watch, unless one of them no longer
/// names its file: then `owner` is leaked (its memory and fds) rather than closing a
/// number the caller reused, and the refusal says which.
pub(crate) fn release<T>(owner: T, witnesses: &[FdWitness]) -> Result<(), Failure> {
    if let Some(w) = witnesses.iter().find(|w| !w.holds()) {
        std::mem::forget(owner);
        return Err(Failure::invalid(format_args!(
                "fd {} no longer refers to the file the handle opened (the caller closed it, and the number was reused): left open, the handle's other fds and memory leaked; never close a handle's fds",
                w.number
            ),
        ));
    }
    drop(owner);
    Ok(())
}

/// The one unit test left in this crate: the witness is crate-private, and no handle that
/// owns an fd (a container, an iommufd) can be made on a host without VFIO or
/// /dev/iommu, so the lab covers the C path and this covers the check itself.
#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::FromRawFd;

    #[test]
    fn release_leaves_a_reused_number_open() {
        let zero = File::open("/dev/zero").unwrap();
        let owned: OwnedFd = File::open("/dev/null").unwrap().into();
        let number = owned.as_raw_fd();
        let witness = FdWitness::new(owned.as_fd());
        assert!(witness.holds());
        // The caller closes the number and it is reused for another file: dup2 does both.
        // SAFETY: `number` is ours (held by `owned`, which is then leaked by `release`).
        assert_eq!(unsafe { libc::dup2(zero.as_raw_fd(), number) }, number);
        let err = release(owned, &[witness]).unwrap_err();
        assert!(err
            .message
            .contains(&format!("fd {number} no longer refers")));
        // SAFETY: only compared, then closed: the number is ours, now naming /dev/zero.
        let reused = unsafe { OwnedFd::from_raw_fd(number) };
        assert_eq!(
            ::vfio_iommu_info::ioctl::same_open_file(reused.as_fd(), zero.as_fd()),
            Ok(true),
            "release closed a number it no longer owned"
        );
        // A number still naming its file is closed as usual.
        let owned: OwnedFd = File::open("/dev/null").unwrap().into();
        let witness = FdWitness::new(owned.as_fd());
        release(owned, &[witness]).unwrap();
    }
}
