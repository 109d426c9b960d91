//! Checked conversions of what C hands us: pointers, out-parameters, sized structs.

use std::ffi::{c_char, c_int, CStr};
use std::mem::{align_of, size_of};
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use crate::handle::Castable;
use crate::result::Failure;

/// An out-parameter, checked non-NULL; written once, on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks `ptr`; `name` is the parameter's name for the error message.
    pub(crate) fn new(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| Failure::null(name))
    }

    /// Like [`Out::new`] for an optional out-parameter: NULL means "not wanted".
    pub(crate) fn optional(ptr: *mut T) -> Option<Out<T>> {
        NonNull::new(ptr).map(Out)
    }

    /// Writes the result.
    pub(crate) fn write(self, value: T) {
        // SAFETY: the pointer is non-NULL (checked in `new`), and the contract every export
        // documents is that a non-NULL out-parameter points to writable, aligned storage
        // for a `T`. `write` does not read or drop the old contents, which may be
        // uninitialized.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// A descriptor the caller passes and keeps (`name` for messages): refused with `-EBADF`
/// when it is negative or not open, so the borrow is of an open descriptor.
///
/// # Safety
/// The caller of the export keeps `fd` open for the duration of the call; the borrow must
/// not outlive the call.
pub(crate) unsafe fn caller_fd<'a>(fd: c_int, name: &str) -> Result<BorrowedFd<'a>, Failure> {
    // SAFETY: F_GETFD reads the descriptor's flags; it touches no memory and fails with
    // EBADF for a number that is not an open descriptor.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Failure::new(
            -libc::EBADF,
            format!("{name} {fd} is not an open file descriptor"),
        ));
    }
    // SAFETY: `fd` is open (checked above), hence not -1, and the caller keeps it open for
    // the call (this function's contract).
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// The two out-parameters of a list call (since 0.4): `*items` receives a pointer to the
/// first element of an array the object owns (NULL when the list is empty) and `*count`
/// its length. Both are checked before either is written.
pub(crate) struct ListOut<T> {
    items: Out<*const T>,
    count: Out<usize>,
}

impl<T> ListOut<T> {
    /// Checks both pointers (`items` and `count` in messages).
    pub(crate) fn new(items: *mut *const T, count: *mut usize) -> Result<ListOut<T>, Failure> {
        Ok(ListOut {
            items: Out::new(items, "items")?,
            count: Out::new(count, "count")?,
        })
    }

    /// Lends `list` to C: valid as long as the object that owns it.
    pub(crate) fn write(self, list: &[T]) {
        let first = if list.is_empty() {
            std::ptr::null()
        } else {
            list.as_ptr()
        };
        self.items.write(first);
        self.count.write(list.len());
    }
}

/// A struct the caller sizes: its first field is `uint32_t size`, set by the caller to
/// `sizeof` the struct it was compiled with, so later versions of the library can append
/// fields without breaking old callers. Every sized struct is copied to and from C by
/// [`copy_in`] and [`SizedOut::write_sized`], which touch only `min(caller's size, ours)`
/// bytes: nothing past the caller's struct is written, nothing past ours is read.
pub(crate) trait Sized32: Copy {
    /// Its size in the release that introduced it: a caller's smaller `size` is refused.
    /// (The whole struct until one grows; a struct that grows keeps its old size here.)
    const MIN_SIZE: usize = size_of::<Self>();

    /// Sets the `size` field to the number of bytes the library fills.
    fn with_size(self, size: u32) -> Self;
}

/// The bytes to copy between the caller's struct of `caller` bytes and ours.
fn common_size<T: Sized32>(caller: usize) -> usize {
    caller.min(size_of::<T>())
}

/// Reads the caller's struct of `caller` bytes (at least `T::MIN_SIZE`, checked by the
/// callers of this function) at `ptr` into a copy of `base`: the first
/// `min(caller, sizeof(T))` bytes, so an older caller's shorter struct keeps `base`'s
/// values (defaults) for the fields it does not know, and a newer caller's longer one is
/// read no further than ours.
///
/// # Safety
/// `ptr` must point to `caller` readable bytes, initialized where they overlap `T`.
unsafe fn copy_in<T: Sized32>(ptr: *const T, caller: usize, base: T) -> T {
    let mut value = base;
    // SAFETY: the source holds `caller` readable bytes and the destination is a whole `T`;
    // the count is at most both. `T` is plain integers (and pointers), valid for any
    // bytes, so overwriting a prefix of it keeps it valid. The two do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            ptr.cast::<u8>(),
            std::ptr::addr_of_mut!(value).cast::<u8>(),
            common_size::<T>(caller),
        )
    };
    value
}

/// A sized out-parameter whose caller's `size` was checked ([`Out::check_size`]).
pub(crate) struct SizedOut<T> {
    ptr: NonNull<T>,
    caller: usize,
}

impl<T: Sized32> Out<T> {
    /// Checks the caller's `size`: at least the struct's size in the release that
    /// introduced it.
    pub(crate) fn check_size(self, name: &str) -> Result<SizedOut<T>, Failure> {
        // SAFETY: the pointer is non-NULL and, by the contract, points to the caller's
        // struct, whose first field is a `uint32_t size` the caller set. A `u32` read from
        // the start of a `T` whose first field is a `u32` is aligned.
        let caller = unsafe { self.0.as_ptr().cast::<u32>().read() };
        let ours = T::MIN_SIZE;
        if (caller as usize) < ours {
            return Err(Failure::invalid(format_args!(
                    "{name}->size is {caller}, smaller than the {ours} bytes of this struct: set it to sizeof(*{name})"
                ),
            ));
        }
        Ok(SizedOut {
            ptr: self.0,
            caller: caller as usize,
        })
    }
}

impl<T: Sized32> SizedOut<T> {
    /// Writes `value`'s first `min(caller's size, ours)` bytes, its `size` field set to
    /// that count: an older caller's shorter struct is not written past its end.
    pub(crate) fn write_sized(self, value: T) {
        let n = common_size::<T>(self.caller);
        // `n` is at most the caller's `u32`; the cast cannot truncate.
        let value = value.with_size(n as u32);
        // SAFETY: the caller's struct at `ptr` has `caller` writable bytes (its `size`, by
        // the contract); `n` is at most that and at most `sizeof(T)`, the bytes of `value`.
        // They do not overlap (`value` is a local).
        unsafe {
            std::ptr::copy_nonoverlapping(
                std::ptr::addr_of!(value).cast::<u8>(),
                self.ptr.as_ptr().cast::<u8>(),
                n,
            )
        };
    }
}

/// Borrows an object the library allocated, checked non-NULL and of the kind expected
/// (its tag: see `handle`); a handle of another kind is `VFIO_IOMMU_INFO_E_INVALID`.
///
/// # Safety
/// `ptr` must be NULL or a handle (of any kind) this library returned and that was not
/// freed.
pub(crate) unsafe fn object<'a, T: Castable>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: forwarded contract.
    unsafe { crate::handle::get(ptr, name) }
}

/// A byte buffer from C: `len` bytes at `buf`; NULL is allowed only with `len` 0.
///
/// # Safety
/// A non-NULL `buf` must point to `len` readable bytes that stay unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(buf: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    if buf.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null("buf"))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format_args!(
            "len {len} is larger than any buffer can be"
        )));
    }
    // SAFETY: `buf` is non-NULL, `len` fits `isize`, and the caller guarantees `len`
    // readable bytes that do not change while we read them.
    Ok(unsafe { std::slice::from_raw_parts(buf, len) })
}

/// An array of `n` plain structs from C (no `size` field, such as ranges); NULL is allowed
/// only with `n` 0.
///
/// # Safety
/// A non-NULL `ptr` must point to `n` initialized, aligned `T`s that stay unchanged for
/// `'a`.
pub(crate) unsafe fn array<'a, T>(ptr: *const T, n: usize, name: &str) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return if n == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(name))
        };
    }
    if n.checked_mul(size_of::<T>())
        .is_none_or(|bytes| bytes > isize::MAX as usize)
    {
        return Err(Failure::invalid(format_args!(
            "{n} elements of {name} are more than any array can hold"
        )));
    }
    // SAFETY: `ptr` is non-NULL, the array's size fits `isize`, and the caller guarantees
    // `n` initialized, aligned elements that do not change while we read them.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// An array of `n` structs the caller sizes (each begins with `uint32_t size`), copied.
/// Every element's `size` must be the same, at least `sizeof(T)` of the release that
/// introduced `T`, and a multiple of its alignment: it is the array's stride, so a caller
/// built against a later, larger struct passes its array unchanged and the library reads
/// the fields it knows from each element. NULL is allowed only with `n` 0.
///
/// # Safety
/// A non-NULL `ptr` must point to `n` initialized elements of `ptr->size` bytes each,
/// aligned for `T`.
pub(crate) unsafe fn sized_array<T: Sized32 + Default>(
    ptr: *const T,
    n: usize,
    name: &str,
) -> Result<Vec<T>, Failure> {
    if ptr.is_null() {
        return if n == 0 {
            Ok(Vec::new())
        } else {
            Err(Failure::null(name))
        };
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: `ptr` is non-NULL and points to the caller's first element, whose first
    // field is an aligned `uint32_t size`.
    let stride = unsafe { ptr.cast::<u32>().read() } as usize;
    let ours = T::MIN_SIZE;
    if stride < ours || stride % align_of::<T>() != 0 {
        return Err(Failure::invalid(format_args!(
                "{name}[0].size is {stride}, not a size of this struct ({ours} bytes, or a later, larger version): set every element's size to sizeof({name}[0])"
            ),
        ));
    }
    if stride
        .checked_mul(n)
        .is_none_or(|bytes| bytes > isize::MAX as usize)
    {
        return Err(Failure::invalid(format_args!(
            "{n} elements of {stride} bytes in {name} are more than any array can hold"
        )));
    }
    let mut out = Vec::with_capacity(n.min(4096));
    for i in 0..n {
        // SAFETY: the caller guarantees `n` elements of `stride` bytes at `ptr`, and
        // `i * stride` is below `n * stride`, which fits `isize` (checked above).
        let element = unsafe { ptr.cast::<u8>().add(i * stride) }.cast::<T>();
        // SAFETY: `element` is inside the array and aligned (the stride is a multiple of
        // `T`'s alignment); its first field is the `uint32_t size`.
        let size = unsafe { element.cast::<u32>().read() } as usize;
        if size != stride {
            return Err(Failure::invalid(format_args!(
                    "{name}[{i}].size is {size}, but {name}[0].size is {stride}: set every element's size to sizeof({name}[0])"
                ),
            ));
        }
        // SAFETY: the element has `stride` readable bytes, initialized by the caller;
        // `copy_in` reads at most `min(stride, sizeof(T))` of them. Fields an older
        // caller's struct lacks keep `T::default()`.
        out.push(unsafe { copy_in(element, stride, T::default()) });
    }
    Ok(out)
}

/// A NUL-terminated UTF-8 string from C.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string.
pub(crate) unsafe fn utf8<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|e| {
        Failure::invalid(format_args!(
            "{name} {text:?} is not UTF-8 (byte {})",
            e.valid_up_to()
        ))
    })
}

/// Unit tests of the sized-struct helpers for a struct that grew between releases, which
/// no struct of the C ABI has done yet: an older caller's shorter struct cannot be made
/// through the exports (ffi/tests/sized_structs.rs covers the newer caller and the
/// refused size through them).
#[cfg(test)]
mod tests {
    use super::*;

    /// A struct that grew: 8 bytes in the release that introduced it, 16 now.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct Grown {
        size: u32,
        old: u32,
        new: u64,
    }

    impl Sized32 for Grown {
        const MIN_SIZE: usize = 8;
        fn with_size(self, size: u32) -> Self {
            Grown { size, ..self }
        }
    }

    const CANARY: u8 = 0xAA;

    /// Writes a `Grown` into a 32-byte buffer of canaries whose `size` says `caller`.
    fn write_for(caller: u32) -> [u8; 32] {
        let mut buf = [0u64; 4];
        let bytes: &mut [u8; 32] = bytemuck_bytes(&mut buf);
        bytes.fill(CANARY);
        bytes[..4].copy_from_slice(&caller.to_ne_bytes());
        let out = Out::new(buf.as_mut_ptr().cast::<Grown>(), "out").unwrap();
        let value = Grown {
            size: 0,
            old: 0x1111_1111,
            new: 0x2222_2222_2222_2222,
        };
        out.check_size("out").unwrap().write_sized(value);
        *bytemuck_bytes(&mut buf)
    }

    fn bytemuck_bytes(buf: &mut [u64; 4]) -> &mut [u8; 32] {
        // SAFETY: 32 initialized bytes, any bit pattern is a valid u8, alignment 1.
        unsafe { &mut *buf.as_mut_ptr().cast::<[u8; 32]>() }
    }

    #[test]
    fn an_older_callers_struct_is_written_only_up_to_its_size() {
        let bytes = write_for(8);
        assert_eq!(bytes[..4], 8u32.to_ne_bytes(), "size is what was filled");
        assert_eq!(bytes[4..8], 0x1111_1111u32.to_ne_bytes());
        assert!(bytes[8..].iter().all(|&b| b == CANARY), "{bytes:x?}");
    }

    #[test]
    fn sized_arrays_read_the_common_prefix_of_each_element() {
        // An older caller: 8-byte elements; the new field keeps its default.
        let old: [u32; 4] = [8, 5, 8, 6];
        // SAFETY: two 8-byte elements, each starting with its size.
        let got = unsafe { sized_array(old.as_ptr().cast::<Grown>(), 2, "r") }.unwrap();
        assert_eq!(
            got,
            [
                Grown {
                    size: 8,
                    old: 5,
                    new: 0
                },
                Grown {
                    size: 8,
                    old: 6,
                    new: 0
                }
            ]
        );
        // A newer caller: 24-byte elements whose last 8 bytes are not ours to read.
        let mut newer = [0u64; 6];
        for (i, e) in newer.chunks_mut(3).enumerate() {
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&24u32.to_ne_bytes());
            bytes[4..].copy_from_slice(&(i as u32 + 1).to_ne_bytes());
            e[0] = u64::from_ne_bytes(bytes);
            e[1] = 7;
            e[2] = u64::MAX;
        }
        // SAFETY: two 24-byte elements, each starting with its size.
        let got = unsafe { sized_array(newer.as_ptr().cast::<Grown>(), 2, "r") }.unwrap();
        assert_eq!(
            got,
            [
                Grown {
                    size: 24,
                    old: 1,
                    new: 7
                },
                Grown {
                    size: 24,
                    old: 2,
                    new: 7
                }
            ]
        );
    }
}
