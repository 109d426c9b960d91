//! Bounds-checked, unaligned reads of kernel-filled buffers in a chosen byte order.

use std::fmt;
use std::str::FromStr;

/// The byte order of a buffer.
///
/// The kernel fills buffers in the CPU's own order: a buffer queried on this machine is
/// [`ByteOrder::Native`]; a capture taken on another architecture needs its order named
/// (s390x, the platform of the seed's DMA window, is big-endian).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// The order of the machine running this code.
    #[default]
    Native,
    /// Little-endian (x86_64, aarch64, riscv64, ppc64le).
    Little,
    /// Big-endian (s390x, ppc64).
    Big,
}

impl ByteOrder {
    /// Resolves [`ByteOrder::Native`] to the concrete order of this machine.
    pub const fn resolve(self) -> ByteOrder {
        match self {
            ByteOrder::Native if cfg!(target_endian = "big") => ByteOrder::Big,
            ByteOrder::Native => ByteOrder::Little,
            other => other,
        }
    }

    /// The name used on command lines and in the Python API: `native`, `little` or `big`.
    pub const fn name(self) -> &'static str {
        match self {
            ByteOrder::Native => "native",
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }
}

impl fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text given for a byte order was none of `native`, `little`, `big`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown byte order {0:?}: expected native, little or big")]
pub struct ParseByteOrderError(pub String);

impl FromStr for ByteOrder {
    type Err = ParseByteOrderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(ByteOrder::Native),
            "little" | "le" => Ok(ByteOrder::Little),
            "big" | "be" => Ok(ByteOrder::Big),
            other => Err(ParseByteOrderError(other.to_owned())),
        }
    }
}

/// A byte slice read at absolute offsets; every read is bounds-checked and unaligned.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    big: bool,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8], order: ByteOrder) -> Self {
        Reader {
            buf,
            big: order.resolve() == ByteOrder::Big,
        }
    }

    /// The concrete byte order (never [`ByteOrder::Native`]).
    #[inline]
    pub(crate) fn order(&self) -> ByteOrder {
        if self.big {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The u32 at `offset`, or `None` when it does not lie wholly inside the buffer.
    #[inline]
    pub(crate) fn u32_at(&self, offset: usize) -> Option<u32> {
        Some(self.fields::<4>(offset)?.u32(0))
    }

    /// The `N` bytes at `offset` (a fixed-size structure), or `None` when any of them lies
    /// outside the buffer. Checked once here, its fields then read without further checks.
    #[inline]
    pub(crate) fn fields<const N: usize>(&self, offset: usize) -> Option<Fields<'a, N>> {
        let end = offset.checked_add(N)?;
        let bytes = self.buf.get(offset..end)?.try_into().ok()?;
        Some(Fields {
            bytes,
            big: self.big,
        })
    }
}

/// A fixed-size structure known to lie inside its buffer, read at constant offsets.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a, const N: usize> {
    bytes: &'a [u8; N],
    big: bool,
}

/// A reader of one integer type at a field offset of a [`Fields`]; an offset past `N` (a
/// bug in a layout constant, caught by the tests) reads 0 rather than panicking. With a
/// constant offset the check compiles away.
macro_rules! field {
    ($name:ident, $t:ty) => {
        #[inline]
        pub(crate) fn $name(&self, at: usize) -> $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            let Some(b) = at
                .checked_add(SIZE)
                .and_then(|end| self.bytes.get(at..end))
                .and_then(|b| <[u8; SIZE]>::try_from(b).ok())
            else {
                return 0;
            };
            if self.big {
                <$t>::from_be_bytes(b)
            } else {
                <$t>::from_le_bytes(b)
            }
        }
    };
}

impl<const N: usize> Fields<'_, N> {
    field!(u8, u8);
    field!(u16, u16);
    field!(u32, u32);
    field!(u64, u64);
}

impl fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reader({} bytes, big-endian: {})", self.len(), self.big)
    }
}

/// A writer of one integer type at an absolute offset, in a chosen order (the inverse of
/// [`Reader`]); panics if the bytes lie outside `buf` (callers size their buffers).
macro_rules! put {
    ($name:ident, $t:ty) => {
        #[inline]
        pub(crate) fn $name(buf: &mut [u8], offset: usize, v: $t, order: ByteOrder) {
            let b = match order.resolve() {
                ByteOrder::Big => v.to_be_bytes(),
                _ => v.to_le_bytes(),
            };
            buf[offset..offset + b.len()].copy_from_slice(&b);
        }
    };
}

put!(put_u16, u16);
put!(put_u32, u32);
put!(put_u64, u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_unaligned_and_bounded() {
        let buf = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let le = Reader::new(&buf, ByteOrder::Little);
        assert_eq!(le.u32_at(1), Some(0x0403_0201));
        assert_eq!(le.u32_at(6), Some(0x0908_0706));
        assert_eq!(le.u32_at(7), None);
        assert_eq!(le.u32_at(usize::MAX - 1), None);
        let f = le.fields::<8>(1).unwrap();
        assert_eq!(f.u64(0), 0x0807_0605_0403_0201);
        assert_eq!(f.u16(6), 0x0807);
        assert_eq!(f.u32(6), 0, "a field past the structure reads 0, no panic");
        assert!(le.fields::<8>(3).is_none());
        assert!(le.fields::<8>(usize::MAX - 4).is_none());
        let be = Reader::new(&buf, ByteOrder::Big);
        assert_eq!(be.fields::<2>(8).unwrap().u16(0), 0x0809);
        assert_eq!(be.u32_at(6), Some(0x0607_0809));
        assert_eq!(be.u32_at(7), None);
    }

    #[test]
    fn native_resolves_to_this_machine() {
        let one = 1u32.to_ne_bytes();
        let r = Reader::new(&one, ByteOrder::Native);
        assert_eq!(r.u32_at(0), Some(1));
        assert_ne!(ByteOrder::Native.resolve(), ByteOrder::Native);
    }

    #[test]
    fn put_then_read_round_trips_in_both_orders() {
        for order in [ByteOrder::Little, ByteOrder::Big, ByteOrder::Native] {
            let mut buf = [0u8; 16];
            put_u16(&mut buf, 1, 0xBEEF, order);
            put_u32(&mut buf, 3, 0xDEAD_BEEF, order);
            put_u64(&mut buf, 7, u64::MAX - 5, order);
            let r = Reader::new(&buf, order).fields::<16>(0).unwrap();
            assert_eq!(r.u16(1), 0xBEEF);
            assert_eq!(r.u32(3), 0xDEAD_BEEF);
            assert_eq!(r.u64(7), u64::MAX - 5);
        }
    }

    #[test]
    fn parses_names() {
        assert_eq!("big".parse::<ByteOrder>(), Ok(ByteOrder::Big));
        assert_eq!("little".parse::<ByteOrder>(), Ok(ByteOrder::Little));
        assert_eq!("native".parse::<ByteOrder>(), Ok(ByteOrder::Native));
        assert!("middle".parse::<ByteOrder>().is_err());
    }
}
