//! Helpers shared by the integration tests of the root crate (`mod common;` in each test
//! file that needs them; see ffi/tests/common for the exports' own).

pub mod capture_meta;
pub mod guest_snapshot;
