//! Planning on top of the facts: the usable space with its holes, an IOVA allocator, and
//! a guest's RAM layout that avoids the holes, and the kernel's answer to a sequence of
//! mappings predicted before any is made, or why a span is refused in words; the space a
//! container will have after another group is attached; the memlock
//! and mapping budgets the kernel enforces on the maps; a whole guest's plan and its
//! settings in the VMMs' own words.

pub mod alloc;
pub mod attach;
pub mod budget;
mod free_space;
pub mod guest;
pub mod layout;
pub mod predict;
pub mod refusal;
pub mod settings;
pub mod space;
