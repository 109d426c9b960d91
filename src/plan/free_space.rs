//! The free space of a guest layout, indexed so that placing a region costs O(log n)
//! however fragmented the space is (issue 18: the allocator's scan of every free extent,
//! when no size class is large enough, made a whole layout quadratic).
//!
//! It answers exactly as `IovaAllocator::alloc(size, align, u64::MAX)` would for the same
//! extents (the layout's property test holds it to the live allocator).

use std::collections::BTreeMap;

use crate::iova::IovaRange;

/// How many free extents from the bottom `IovaAllocator::alloc` looks at for a lower fit
/// than its size-class choice (its `LOWER_PEEK`).
const LOWER_PEEK: usize = 64;

/// `v` rounded up to a multiple of the power of two `a`, if that fits in 64 bits.
fn align_up(v: u64, a: u64) -> Option<u64> {
    v.checked_add(a - 1).map(|x| x & !(a - 1))
}

/// How many bytes aligned to `align` the extent `[start, end]` holds: 0 when no multiple
/// of `align` lies inside it.
fn room(start: u64, end: u64, align: u64) -> u64 {
    match align_up(start, align) {
        Some(at) if at <= end => end - at + 1,
        _ => 0,
    }
}

#[cfg(test)]
thread_local! {
    /// Counts the extents and tree nodes the placement looks at (tests bound it by n log n).
    pub(crate) static PROBES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[inline(always)]
fn probe() {
    #[cfg(test)]
    PROBES.with(|p| p.set(p.get() + 1));
}

/// The free space left by the fixed regions, for placing the others exactly where
/// `IovaAllocator::alloc(size, align, u64::MAX)` would, without its scan of every free
/// extent when no size class is large enough (quadratic over a whole layout: issue 18).
///
/// The allocator's answer, for a size rounded up to the granule and an alignment of at
/// least the granule, `need = size + align - granule`, and the extents in address order:
/// - if some extent holds at least `2^ceil(log2(need))` bytes, the lowest such extent (B;
///   each holds the span whatever its alignment) gives the span's address, unless one of
///   the 64 lowest extents starting at or below it holds the span: the first of those;
/// - otherwise the first extent that holds the span aligned, if any.
///
/// Both searches are "the first extent in address order that holds x bytes aligned to
/// a": a treap keyed by start keeps, per subtree and per alignment in use, the most bytes
/// an extent holds at that alignment, and answers in O(log n). A map keyed by start gives
/// the 64 lowest extents.
pub(crate) struct FreeSpace {
    granule: u64,
    /// Start -> inclusive end.
    by_start: BTreeMap<u64, u64>,
    tree: Treap,
}

impl FreeSpace {
    /// `extents` ascending and disjoint; `aligns` the alignments that will be asked for.
    pub(crate) fn new(
        granule: u64,
        extents: impl Iterator<Item = IovaRange>,
        aligns: impl Iterator<Item = u64>,
    ) -> FreeSpace {
        // Index 0 is alignment 1: the extent's length (B's search).
        let mut all: Vec<u64> = aligns.map(|a| a.max(granule)).collect();
        all.push(1);
        all.sort_unstable();
        all.dedup();
        let mut free = FreeSpace {
            granule,
            by_start: BTreeMap::new(),
            tree: Treap::new(all),
        };
        for e in extents {
            free.insert(e.start, e.end);
        }
        free
    }

    fn insert(&mut self, start: u64, end: u64) {
        self.by_start.insert(start, end);
        self.tree.insert(start, end);
    }

    fn remove(&mut self, start: u64) {
        self.by_start.remove(&start);
        self.tree.remove(start);
    }

    /// Takes `[at, at + size)` out of the free extent `[start, end]`.
    fn carve(&mut self, start: u64, end: u64, at: u64, size: u64) {
        self.remove(start);
        if at > start {
            self.insert(start, at - 1);
        }
        let last = at + (size - 1);
        if last < end {
            self.insert(last + 1, end);
        }
    }

    /// Where the span `size` bytes aligned to `align` (a power of two) goes, and its size
    /// rounded up to the granule; `None` when no free extent holds it.
    pub(crate) fn alloc(&mut self, size: u64, align: u64) -> Option<(u64, u64)> {
        let g = self.granule;
        let align = align.max(g);
        let size = align_up(size, g)?;
        let fit = |start: u64, end: u64| {
            let at = align_up(start, align)?;
            (at.checked_add(size - 1)? <= end).then_some(at)
        };
        let mut best: Option<(u64, u64, u64)> = None; // (at, extent start, extent end)
        if let Some(need) = size.checked_add(align - g) {
            let class = 63 - need.leading_zeros() + u32::from(!need.is_power_of_two());
            if class < 64 {
                if let Some((s, e)) = self.tree.first_holding(1, 1u64 << class) {
                    // B holds need bytes, so the span at any alignment.
                    best = fit(s, e).map(|at| (at, s, e));
                }
            }
        }
        let choice = match best {
            Some((b, ..)) => self
                .by_start
                .range(..=b)
                .take(LOWER_PEEK)
                .inspect(|_| probe())
                .filter(|(&s, &e)| e - s >= size - 1)
                .find_map(|(&s, &e)| Some((fit(s, e)?, s, e)))
                .filter(|&(at, ..)| at < b)
                .or(best),
            None => self
                .tree
                .first_holding(align, size)
                .and_then(|(s, e)| Some((fit(s, e)?, s, e))),
        };
        let (at, s, e) = choice?;
        self.carve(s, e, at, size);
        Some((at, size))
    }
}

const NIL: usize = usize::MAX;

/// A treap of disjoint extents keyed by start, each subtree holding, per alignment, the
/// most bytes one of its extents holds at that alignment. Priorities come from a hasher
/// seeded per process, so no input can be made to unbalance it; the answers do not
/// depend on its shape.
struct Treap {
    /// The alignments, ascending.
    aligns: Vec<u64>,
    start: Vec<u64>,
    end: Vec<u64>,
    prio: Vec<u64>,
    left: Vec<usize>,
    right: Vec<usize>,
    /// `aligns.len()` values per node: the subtree's most room at each alignment.
    most: Vec<u64>,
    /// Nodes removed, for reuse.
    spare: Vec<usize>,
    root: usize,
    seed: std::collections::hash_map::RandomState,
    made: u64,
}

impl Treap {
    fn new(aligns: Vec<u64>) -> Treap {
        Treap {
            aligns,
            start: Vec::new(),
            end: Vec::new(),
            prio: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            most: Vec::new(),
            spare: Vec::new(),
            root: NIL,
            seed: std::collections::hash_map::RandomState::new(),
            made: 0,
        }
    }

    fn most(&self, node: usize, a: usize) -> u64 {
        if node == NIL {
            0
        } else {
            self.most[node * self.aligns.len() + a]
        }
    }

    fn pull(&mut self, node: usize) {
        probe();
        let k = self.aligns.len();
        let (l, r) = (self.left[node], self.right[node]);
        for a in 0..k {
            let own = room(self.start[node], self.end[node], self.aligns[a]);
            self.most[node * k + a] = own.max(self.most(l, a)).max(self.most(r, a));
        }
    }

    /// Splits `node` into the extents starting below `key` and the others.
    fn split(&mut self, node: usize, key: u64) -> (usize, usize) {
        if node == NIL {
            return (NIL, NIL);
        }
        if self.start[node] < key {
            let (l, r) = self.split(self.right[node], key);
            self.right[node] = l;
            self.pull(node);
            (node, r)
        } else {
            let (l, r) = self.split(self.left[node], key);
            self.left[node] = r;
            self.pull(node);
            (l, node)
        }
    }

    /// Joins two treaps, every start of `a` below every start of `b`.
    fn merge(&mut self, a: usize, b: usize) -> usize {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.prio[a] > self.prio[b] {
            self.right[a] = self.merge(self.right[a], b);
            self.pull(a);
            a
        } else {
            self.left[b] = self.merge(a, self.left[b]);
            self.pull(b);
            b
        }
    }

    fn insert(&mut self, start: u64, end: u64) {
        self.made += 1;
        let prio = std::hash::BuildHasher::hash_one(&self.seed, (start, self.made));
        let k = self.aligns.len();
        let node = match self.spare.pop() {
            Some(n) => {
                self.start[n] = start;
                self.end[n] = end;
                self.prio[n] = prio;
                self.left[n] = NIL;
                self.right[n] = NIL;
                n
            }
            None => {
                self.start.push(start);
                self.end.push(end);
                self.prio.push(prio);
                self.left.push(NIL);
                self.right.push(NIL);
                self.most.resize(self.most.len() + k, 0);
                self.start.len() - 1
            }
        };
        self.pull(node);
        let (l, r) = self.split(self.root, start);
        let l = self.merge(l, node);
        self.root = self.merge(l, r);
    }

    fn remove(&mut self, start: u64) {
        let (l, rest) = self.split(self.root, start);
        let (mid, r) = match start.checked_add(1) {
            Some(next) => self.split(rest, next),
            None => (rest, NIL),
        };
        if mid != NIL {
            self.spare.push(mid);
        }
        self.root = self.merge(l, r);
    }

    /// The lowest extent holding `size` bytes aligned to `align` (one of `aligns`).
    fn first_holding(&self, align: u64, size: u64) -> Option<(u64, u64)> {
        let a = self.aligns.binary_search(&align).ok()?;
        let mut node = self.root;
        if self.most(node, a) < size {
            probe();
            return None;
        }
        while node != NIL {
            probe();
            let l = self.left[node];
            if self.most(l, a) >= size {
                node = l;
            } else if room(self.start[node], self.end[node], align) >= size {
                return Some((self.start[node], self.end[node]));
            } else {
                node = self.right[node];
            }
        }
        None
    }
}
