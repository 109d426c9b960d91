//! The identity of the shared library: SONAME `libvfio_iommu_info.so.0` and the version
//! nodes `VFIO_IOMMU_INFO_0` (0.1), `VFIO_IOMMU_INFO_0.2` (0.2), `VFIO_IOMMU_INFO_0.3`
//! (0.3) and `VFIO_IOMMU_INFO_0.4` (0.4) from `packaging/libvfio_iommu_info.map`.
//!
//! Applied only when the Makefile links the cdylib (`VFIO_IOMMU_INFO_LINK=cdylib` with
//! `cargo rustc --lib --crate-type cdylib`). The `.symver` directives that bind each
//! export to the node (`symbol_versions!` in src/lib.rs) would give a static archive
//! duplicate definitions, so the staticlib and the rlib are built without them. The
//! cdylib is then the only artifact linked, so the plain `rustc-link-arg` reaches it
//! (`rustc-cdylib-link-arg` is deprecated for a manifest that declares no cdylib, and
//! declaring one would give every build an unversioned .so).
//!
//! rustc passes its own anonymous version script for a cdylib; GNU ld refuses a second,
//! named one, and lld accepts it but binds no symbol to a node by pattern. So the nodes
//! are only *defined* by our script, and each symbol is bound by `.symver`. rustc links with
//! its bundled lld on x86_64-unknown-linux-gnu; elsewhere we ask for lld. `make elf-check`
//! reads the result, because this has broken silently in other projects.

use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=VFIO_IOMMU_INFO_LINK");
    println!("cargo:rerun-if-changed=../packaging/libvfio_iommu_info.map");
    println!("cargo::rustc-check-cfg=cfg(vfio_iommu_info_cdylib)");
    let mode = env::var("VFIO_IOMMU_INFO_LINK").unwrap_or_default();
    match mode.as_str() {
        "cdylib" => {
            let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
            println!("cargo:rustc-cfg=vfio_iommu_info_cdylib");
            println!("cargo:rustc-link-arg=-Wl,-soname,libvfio_iommu_info.so.0");
            println!(
                "cargo:rustc-link-arg=-Wl,--version-script={dir}/../packaging/libvfio_iommu_info.map"
            );
            if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
                println!("cargo:rustc-link-arg=-fuse-ld=lld");
            }
        }
        "" | "staticlib" | "rlib" => {}
        other => panic!("VFIO_IOMMU_INFO_LINK={other:?}: expected cdylib, staticlib or rlib"),
    }
}
