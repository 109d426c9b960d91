//! The one grow-and-retry loop of every query whose answer may not fit the buffer the
//! caller offered: `VFIO_IOMMU_GET_INFO`, `VFIO_DEVICE_GET_INFO`,
//! `VFIO_DEVICE_GET_REGION_INFO` (the kernel raises `argsz`), `IOMMU_IOAS_IOVA_RANGES`
//! (`num_iovas` with `EMSGSIZE`) and `IOMMU_GET_HW_INFO` (`data_len`).
//!
//! The first call uses an inline buffer sized for every answer seen on real kernels, so
//! the common path is one ioctl and no allocation. When the kernel says it needs more, the
//! buffer grows to what it said and the call is made again: at most [`MAX_QUERY_CALLS`]
//! calls (the size can change between calls while groups or devices are attached), never
//! beyond the query's limit. The same conditions give the same errors for every query:
//! [`Error::SizeTooLarge`] and [`Error::SizeUnstable`].

use crate::error::Error;

/// How many calls a query makes at most before giving up on a size that keeps growing.
pub const MAX_QUERY_CALLS: usize = 4;

/// What one call gave.
#[derive(Debug)]
pub(crate) enum Fill<R> {
    /// The answer fit.
    Done(R),
    /// The kernel needs a buffer of this many elements.
    Grow(usize),
}

/// The query's name and target, for the errors.
pub(crate) struct Asked<'a> {
    /// The ioctl (`VFIO_DEVICE_GET_INFO`).
    pub ioctl: &'static str,
    /// What it was issued on (`fd 7`, `device 0000:00:03.0 (fd 7)`), built only on error.
    pub target: &'a dyn Fn() -> String,
    /// The unit of the buffer's length (`bytes`, `ranges`).
    pub unit: &'static str,
    /// The most elements the query accepts to allocate.
    pub limit: usize,
}

/// Calls `fill` on a zeroed buffer of `N` elements (inline), then of the size the kernel
/// asked for, until it answers [`Fill::Done`]; returns the answer and the calls it took.
pub(crate) fn grow_and_retry<T, R, const N: usize>(
    asked: &Asked<'_>,
    mut fill: impl FnMut(&mut [T]) -> Result<Fill<R>, Error>,
) -> Result<(R, u32), Error>
where
    T: Copy + Default,
{
    let mut inline = [T::default(); N];
    let mut heap: Vec<T> = Vec::new();
    let mut len = N;
    let mut calls = 0u32;
    loop {
        calls += 1;
        let buf: &mut [T] = if len <= N {
            inline.fill(T::default());
            &mut inline[..]
        } else {
            heap.clear();
            heap.resize(len, T::default());
            &mut heap[..]
        };
        let needed = match fill(buf)? {
            Fill::Done(answer) => return Ok((answer, calls)),
            Fill::Grow(needed) => needed,
        };
        if needed > asked.limit {
            return Err(Error::SizeTooLarge {
                ioctl: asked.ioctl,
                target: (asked.target)(),
                asked: needed as u64,
                limit: asked.limit,
                unit: asked.unit,
            });
        }
        if calls as usize >= MAX_QUERY_CALLS {
            return Err(Error::SizeUnstable {
                ioctl: asked.ioctl,
                target: (asked.target)(),
                calls: calls as usize,
                last: needed,
                unit: asked.unit,
            });
        }
        // A kernel asking for no more than it had is answered with one more element, so
        // every call makes progress.
        len = needed.max(len + 1).min(asked.limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(limit: usize) -> Asked<'static> {
        Asked {
            ioctl: "TEST_IOCTL",
            target: &|| "fd 9".to_owned(),
            unit: "bytes",
            limit,
        }
    }

    #[test]
    fn an_answer_that_fits_takes_one_call_on_the_inline_buffer() {
        let (lens, calls) =
            grow_and_retry::<u8, _, 16>(&asked(64), |b| Ok(Fill::Done(b.len()))).unwrap();
        assert_eq!((lens, calls), (16, 1));
    }

    #[test]
    fn the_buffer_grows_to_what_the_kernel_asks_for() {
        let mut seen = Vec::new();
        let (len, calls) = grow_and_retry::<u8, _, 16>(&asked(64), |b| {
            seen.push(b.len());
            Ok(if b.len() < 40 {
                Fill::Grow(40)
            } else {
                Fill::Done(b.len())
            })
        })
        .unwrap();
        assert_eq!((len, calls, seen), (40, 2, vec![16, 40]));
    }

    #[test]
    fn too_large_and_unstable_sizes_are_the_same_errors_for_every_query() {
        let e = grow_and_retry::<u8, (), 16>(&asked(64), |_| Ok(Fill::Grow(65))).unwrap_err();
        assert!(
            matches!(
                e,
                Error::SizeTooLarge {
                    asked: 65,
                    limit: 64,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("TEST_IOCTL on fd 9 asked for 65 bytes"),
            "{e}"
        );
        let mut calls = 0;
        let e = grow_and_retry::<u8, (), 16>(&asked(1 << 20), |b| {
            calls += 1;
            Ok(Fill::Grow(b.len() + 8))
        })
        .unwrap_err();
        assert_eq!(calls, MAX_QUERY_CALLS);
        assert!(
            matches!(
                e,
                Error::SizeUnstable {
                    calls: MAX_QUERY_CALLS,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn a_kernel_asking_for_no_more_still_makes_progress() {
        let mut seen = Vec::new();
        let _ = grow_and_retry::<u8, (), 4>(&asked(64), |b| {
            seen.push(b.len());
            Ok(Fill::Grow(0))
        });
        assert_eq!(seen, vec![4, 5, 6, 7]);
    }

    #[test]
    fn every_buffer_is_zeroed_before_the_call() {
        let _ = grow_and_retry::<u8, (), 8>(&asked(64), |b| {
            assert!(b.iter().all(|&x| x == 0));
            b.fill(0xaa);
            Ok(Fill::Grow(8))
        });
    }
}
