//! The identity of the shared library: SONAME `libvfio_iommu_info.so.0` and the version
//! nodes `VFIO_IOMMU_INFO_0` (0.1), `VFIO_IOMMU_INFO_0.2` (0.2), `VFIO_IOMMU_INFO_0.3`
//! (0.3), `VFIO_IOMMU_INFO_0.4` (0.4), `VFIO_IOMMU_INFO_0.5` (0.5) and `VFIO_IOMMU_INFO_0.6`
//! (0.6) from
//! `packaging/libvfio_iommu_info.map`, the same
//! whichever way the library is built:
//!
//! - the Makefile links the cdylib with `VFIO_IOMMU_INFO_LINK=cdylib` (`cargo rustc --lib
//!   --crate-type cdylib`), and builds the static archive in a second call without the
//!   versions (`VFIO_IOMMU_INFO_LINK=staticlib`);
//! - cargo-c (`cargo cbuild`/`cargo cinstall`) always enables the crate's `capi` feature
//!   and builds the cdylib and the staticlib in ONE rustc call (`--crate-type staticlib
//!   --crate-type cdylib --cfg cargo_c`, its own `-soname`): `CARGO_FEATURE_CAPI` is how
//!   this script knows (a build script does not see cargo-c's `--cfg cargo_c`, which it
//!   passes to the library's own rustc call only). `VFIO_IOMMU_INFO_LINK=staticlib` with
//!   `cargo cinstall --library-type staticlib` gives cargo-c's archive without versions.
//!
//! Each export is bound to its node by a `.symver NAME, NAME@@@NODE` next to its
//! definition (`symbol_versions!` in src/lib.rs). `@@@` keeps only the versioned name in
//! the object (`@@` kept the plain name too, which gives a static archive built from the
//! same objects duplicate definitions), so cargo-c's archive links into executables with
//! GNU ld, gold and lld (`packaging/check-cargo-c-replay` shows it in `make c-test`). Such
//! an archive cannot go into a *shared object* linked by GNU ld unless that link defines
//! the nodes; the Makefile's archive carries no versions.
//!
//! rustc passes its own anonymous version script for a cdylib; GNU ld refuses a second,
//! named one, and lld accepts it but binds no symbol to a node by pattern or by name
//! (rustc's script names every export first). So the nodes are only *defined* by our
//! script, and each symbol is bound by `.symver`. rustc links with its bundled lld on
//! x86_64-unknown-linux-gnu; elsewhere we ask for lld. The plain `rustc-link-arg` reaches
//! the cdylib: it is the only artifact linked in both builds (`rustc-cdylib-link-arg`
//! warns for a manifest that declares no cdylib, and declaring one would give every build
//! an unversioned .so). `make elf-check` reads the result, because this has broken
//! silently in other projects.

use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=VFIO_IOMMU_INFO_LINK");
    // ffi/libvfio_iommu_info.map links to packaging/ (a file in the published package).
    println!("cargo:rerun-if-changed=libvfio_iommu_info.map");
    println!("cargo::rustc-check-cfg=cfg(vfio_iommu_info_cdylib)");
    let cargo_c = env::var_os("CARGO_FEATURE_CAPI").is_some();
    let mode = env::var("VFIO_IOMMU_INFO_LINK").unwrap_or_default();
    let versioned = match mode.as_str() {
        "cdylib" => true,
        "" => cargo_c,
        "staticlib" | "rlib" => false,
        other => panic!("VFIO_IOMMU_INFO_LINK={other:?}: expected cdylib, staticlib or rlib"),
    };
    if versioned {
        let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-cfg=vfio_iommu_info_cdylib");
        println!("cargo:rustc-link-arg=-Wl,-soname,libvfio_iommu_info.so.0");
        println!("cargo:rustc-link-arg=-Wl,--version-script={dir}/libvfio_iommu_info.map");
        if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
            println!("cargo:rustc-link-arg=-fuse-ld=lld");
        }
    }
}
