//! What the command's unit tests share: its documents held against `schemas/`.

use serde_json::Value;

/// Panics, naming each violation, unless `doc` (made the command's document by
/// [`vfio_iommu_info::json::document`], as `print_json` does) is what
/// `schemas/{name}.schema.json` says.
pub fn assert_schema(name: &str, doc: Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(format!("{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let doc = vfio_iommu_info::json::document(doc);
    let errors: Vec<String> = jsonschema::draft202012::new(&schema)
        .unwrap()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:?}\n{doc:#}", path.display());
}
