//! Every WGSL shader parses and validates with naga (full uniformity analysis included), and
//! every entry point translates to SPIR-V (what the Vulkan backend hands the driver) with each
//! specialisation the backend builds. Needs no adapter, so it runs everywhere.

use std::path::Path;

fn source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("shaders")
        .join(name);
    std::fs::read_to_string(&path).unwrap()
}

fn validate_module(what: &str, module: &naga::Module, source: &str) -> naga::valid::ModuleInfo {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(module)
    .unwrap_or_else(|e| panic!("{what}: {}", e.emit_to_string(source)))
}

fn validate(name: &str) {
    let source = source(name);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    validate_module(name, &module, &source);
}

/// Translates entry point `entry` of shader `name` to SPIR-V with the given override constants.
fn to_spirv(name: &str, entry: &str, constants: &[(&str, f64)]) {
    let source = source(name);
    let module = naga::front::wgsl::parse_str(&source).unwrap();
    let info = validate_module(name, &module, &source);
    let mut values = naga::back::PipelineConstants::default();
    for &(key, value) in constants {
        values.insert(key.to_string(), value);
    }
    let what = format!("{name} {entry} {constants:?}");
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, entry)),
        &values,
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    let pipeline = naga::back::spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: entry.to_string(),
    };
    let words = naga::back::spv::write_vec(
        &module,
        &info,
        &naga::back::spv::Options::default(),
        Some(&pipeline),
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(words.len() > 5, "{what}: empty SPIR-V");
}

/// Every entry point, and the register kernels for each number of vec4s (1 to 16) with the
/// points per invocation the backend picks (as many as 16 vec4s hold, at most 4) and with fewer.
#[test]
fn every_entry_point_translates_to_spirv() {
    for (name, entry) in [
        ("accumulate.wgsl", "accumulate"),
        ("assign.wgsl", "assign"),
        ("fold.wgsl", "fold_ranges"),
        ("seed.wgsl", "seed_update"),
        ("seed.wgsl", "seed_trials"),
        ("silhouette.wgsl", "silhouette"),
        ("sort.wgsl", "sort_by_cluster"),
        ("sort.wgsl", "sort_by_cluster_small"),
    ] {
        to_spirv(name, entry, &[]);
    }
    for (name, entry) in [
        ("assign.wgsl", "assign_registers"),
        ("assign.wgsl", "assign_accumulate"),
        ("silhouette.wgsl", "silhouette_registers"),
    ] {
        for vectors in 1..=16u32 {
            for rows in 1..=(16 / vectors).clamp(1, 4) {
                to_spirv(
                    name,
                    entry,
                    &[("DV", f64::from(vectors)), ("RB", f64::from(rows))],
                );
            }
        }
    }
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
            "fold.wgsl",
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
