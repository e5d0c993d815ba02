//! Every WGSL shader parses and validates with naga (full uniformity analysis included). Needs
//! no adapter, so it runs everywhere.

use std::path::Path;

fn validate(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("shaders")
        .join(name);
    let source = std::fs::read_to_string(&path).unwrap();
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
}

#[test]
fn every_shader_validates() {
    let mut names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".wgsl"))
            .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "accumulate.wgsl",
            "assign.wgsl",
            "seed.wgsl",
            "silhouette.wgsl",
            "sort.wgsl"
        ],
        "a shader was added or removed: list it here"
    );
    for name in &names {
        validate(name);
    }
}
