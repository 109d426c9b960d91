//! Builds the C baseline of the decode benchmark.
fn main() {
    println!("cargo:rerun-if-changed=c/unchecked_walk.c");
    cc::Build::new()
        .file("c/unchecked_walk.c")
        .opt_level(2)
        .compile("unchecked_walk");
}
