//! Planning on top of the facts: the usable space with its holes, an IOVA allocator, and
//! a guest's RAM layout that avoids the holes, and the kernel's answer to a sequence of
//! mappings predicted before any is made, or why a span is refused in words, and the
//! memlock and mapping budgets the kernel enforces on the maps.

pub mod alloc;
pub mod budget;
mod free_space;
pub mod layout;
pub mod predict;
pub mod refusal;
pub mod space;
