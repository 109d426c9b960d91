//! Checked conversions of what C hands us: pointers, out-parameters, sized structs.

use std::ffi::{c_char, CStr};
use std::mem::{align_of, size_of};
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

/// An array of `n` plain structs from C (no `size` field, such as ranges); NULL is allowed
/// only with `n` 0.
///
/// # Safety
/// A non-NULL `ptr` must point to `n` initialized, aligned `T`s that stay unchanged for
/// `'a`.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    n: usize,
    function: &str,
    name: &str,
) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return if n == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(function, name))
        };
    }
    if n.checked_mul(size_of::<T>())
        .is_none_or(|bytes| bytes > isize::MAX as usize)
    {
        return Err(Failure::invalid(
            function,
            format_args!("{n} elements of {name} are more than any array can hold"),
        ));
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
/// A non-NULL `ptr` must point to `n` elements of `ptr->size` bytes each, aligned for
/// `T`, whose first `sizeof(T)` bytes are initialized.
pub(crate) unsafe fn sized_array<T: Sized32>(
    ptr: *const T,
    n: usize,
    function: &str,
    name: &str,
) -> Result<Vec<T>, Failure> {
    if ptr.is_null() {
        return if n == 0 {
            Ok(Vec::new())
        } else {
            Err(Failure::null(function, name))
        };
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: `ptr` is non-NULL and points to the caller's first element, whose first
    // field is an aligned `uint32_t size`.
    let stride = unsafe { ptr.cast::<u32>().read() } as usize;
    let ours = size_of::<T>();
    if stride < ours || stride % align_of::<T>() != 0 {
        return Err(Failure::invalid(
            function,
            format_args!(
                "{name}[0].size is {stride}, not a size of this struct ({ours} bytes, or a later, larger version): set every element's size to sizeof({name}[0])"
            ),
        ));
    }
    if stride
        .checked_mul(n)
        .is_none_or(|bytes| bytes > isize::MAX as usize)
    {
        return Err(Failure::invalid(
            function,
            format_args!(
                "{n} elements of {stride} bytes in {name} are more than any array can hold"
            ),
        ));
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
            return Err(Failure::invalid(
                function,
                format_args!(
                    "{name}[{i}].size is {size}, but {name}[0].size is {stride}: set every element's size to sizeof({name}[0])"
                ),
            ));
        }
        // SAFETY: the element is aligned and at least `sizeof(T)` bytes long, and the
        // caller initialized them; `T` is plain integers, valid for any bit pattern.
        out.push(unsafe { element.read() });
    }
    Ok(out)
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
