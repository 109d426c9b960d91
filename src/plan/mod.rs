//! Planning on top of the facts: the usable space with its holes, an IOVA allocator, and
//! a guest's RAM layout that avoids the holes.

pub mod alloc;
mod free_space;
pub mod layout;
pub mod refusal;
pub mod space;
