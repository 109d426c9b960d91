//! Checked conversions of what C hands us: pointers, out-parameters, sized structs.

use std::ffi::{c_char, CStr};
use std::mem::size_of;
use std::ptr::NonNull;

use crate::result::Failure;

/// An out-parameter, checked non-NULL; written once, on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks `ptr`; `name` is the parameter's name for the error message.
    pub(crate) fn new(ptr: *mut T, function: &str, name: &str) -> Result<Out<T>, Failure> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| Failure::null(function, name))
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

/// A struct the caller sizes: its first field is `uint32_t size`, set by the caller to
/// `sizeof` the struct it was compiled with, so later versions of the library can append
/// fields without breaking old callers.
pub(crate) trait Sized32: Copy {
    /// Sets the `size` field to the number of bytes the library fills.
    fn with_size(self, size: u32) -> Self;
}

impl<T: Sized32> Out<T> {
    /// Checks the caller's `size` and writes `value` with `size` set to what was filled.
    pub(crate) fn check_size(&self, function: &str, name: &str) -> Result<(), Failure> {
        // SAFETY: the pointer is non-NULL and, by the contract, points to the caller's
        // struct, whose first field is a `uint32_t size` the caller set. A `u32` read from
        // the start of a `T` whose first field is a `u32` is aligned.
        let caller = unsafe { self.0.as_ptr().cast::<u32>().read() };
        let ours = size_of::<T>();
        if (caller as usize) < ours {
            return Err(Failure::invalid(
                function,
                format_args!(
                    "{name}->size is {caller}, smaller than the {ours} bytes of this struct: set it to sizeof(*{name})"
                ),
            ));
        }
        Ok(())
    }

    /// Writes `value` with its `size` field set to the bytes filled.
    pub(crate) fn write_sized(self, value: T) {
        // The struct is at most a few dozen bytes; the cast cannot truncate.
        self.write(value.with_size(size_of::<T>() as u32));
    }
}

/// Borrows an object the library allocated, checked non-NULL.
///
/// # Safety
/// `ptr` must be NULL or a pointer this library returned and that was not freed.
pub(crate) unsafe fn object<'a, T>(
    ptr: *const T,
    function: &str,
    name: &str,
) -> Result<&'a T, Failure> {
    // SAFETY: per this function's contract, a non-NULL `ptr` points to a live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(function, name))
}

/// A byte buffer from C: `len` bytes at `buf`; NULL is allowed only with `len` 0.
///
/// # Safety
/// A non-NULL `buf` must point to `len` readable bytes that stay unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(
    buf: *const u8,
    len: usize,
    function: &str,
) -> Result<&'a [u8], Failure> {
    if buf.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(function, "buf"))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(
            function,
            format_args!("len {len} is larger than any buffer can be"),
        ));
    }
    // SAFETY: `buf` is non-NULL, `len` fits `isize`, and the caller guarantees `len`
    // readable bytes that do not change while we read them.
    Ok(unsafe { std::slice::from_raw_parts(buf, len) })
}

/// A NUL-terminated UTF-8 string from C.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string.
pub(crate) unsafe fn utf8<'a>(
    ptr: *const c_char,
    function: &str,
    name: &str,
) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(function, name));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|e| {
        Failure::invalid(
            function,
            format_args!("{name} {text:?} is not UTF-8 (byte {})", e.valid_up_to()),
        )
    })
}
