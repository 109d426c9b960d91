//! The committed header is what cbindgen generates from the code now. After changing an
//! export, regenerate it with `make header` (or VFIO_IOMMU_INFO_BLESS=1 cargo test).

use std::path::Path;

fn generate() -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/vfio_iommu_info.h");
    let fresh = generate();
    if std::env::var_os("VFIO_IOMMU_INFO_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/vfio_iommu_info.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        panic!(
            "{} is stale from line {}: run `make header` and commit it",
            path.display(),
            line + 1
        );
    }
}
