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

/// Shader `name` parsed and validated, with what validation found; panics with naga's own
/// report when either fails.
fn validated(name: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let source = source(name);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    (module, info)
}

/// Translates entry point `entry` of shader `name` to SPIR-V with the given override constants.
fn to_spirv(name: &str, entry: &str, constants: &[(&str, f64)]) {
    let (module, info) = validated(name);
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

/// Entry points without override constants.
const PLAIN_ENTRIES: [(&str, &str); 8] = [
    ("accumulate.wgsl", "accumulate"),
    ("assign.wgsl", "assign"),
    ("fold.wgsl", "fold_ranges"),
    ("seed.wgsl", "seed_update"),
    ("seed.wgsl", "seed_trials"),
    ("silhouette.wgsl", "silhouette"),
    ("sort.wgsl", "sort_by_cluster"),
    ("sort.wgsl", "sort_by_cluster_small"),
];

/// Entry points specialised by DV (vec4s per point) and RB (points per invocation).
const REGISTER_ENTRIES: [(&str, &str); 3] = [
    ("assign.wgsl", "assign_registers"),
    ("assign.wgsl", "assign_accumulate"),
    ("silhouette.wgsl", "silhouette_registers"),
];

/// Every entry point, and the register kernels for each number of vec4s (1 to 16) with the
/// points per invocation the backend picks (as many as 16 vec4s hold, at most 4) and with fewer.
#[test]
fn every_entry_point_translates_to_spirv() {
    for (name, entry) in PLAIN_ENTRIES {
        to_spirv(name, entry, &[]);
    }
    for (name, entry) in REGISTER_ENTRIES {
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
        validated(name);
    }
}

/// What entry point `entry` of shader `name` asks of an adapter: the bytes of workgroup memory
/// it uses, its invocations per workgroup, and the storage buffers it uses.
fn needs(name: &str, entry: &str) -> (u32, u32, u32) {
    let (module, info) = validated(name);
    let index = module
        .entry_points
        .iter()
        .position(|e| e.name == entry)
        .unwrap_or_else(|| panic!("{name} has no entry point {entry}"));
    let uses = info.get_entry_point(index);
    let (mut bytes, mut storage) = (0, 0);
    for (handle, global) in module.global_variables.iter() {
        if uses[handle].is_empty() {
            continue;
        }
        match global.space {
            naga::AddressSpace::WorkGroup => {
                bytes += module.types[global.ty].inner.size(module.to_ctx());
            }
            naga::AddressSpace::Storage { .. } => storage += 1,
            _ => {}
        }
    }
    let invocations = module.entry_points[index].workgroup_size.iter().product();
    (bytes, invocations, storage)
}

/// The adapter requirements the backend checks before opening a device (and that `strata info`
/// reports) are what the shaders declare: the most of any kernel but the one-pass step, which
/// the backend uses only where its own larger figures fit.
#[test]
fn the_adapter_requirements_match_what_the_shaders_declare() {
    use strata::backend::gpu::context::{
        REQUIRED_INVOCATIONS, REQUIRED_STORAGE_BUFFERS, REQUIRED_WORKGROUP_BYTES,
        STEP_STORAGE_BUFFERS, STEP_WORKGROUP_BYTES,
    };
    let (mut bytes, mut storage) = (0, 0);
    for (name, entry) in PLAIN_ENTRIES.iter().chain(&REGISTER_ENTRIES) {
        let (b, invocations, s) = needs(name, entry);
        assert_eq!(invocations, REQUIRED_INVOCATIONS, "{name} {entry}");
        if *entry == "assign_accumulate" {
            assert_eq!((b, s), (STEP_WORKGROUP_BYTES, STEP_STORAGE_BUFFERS));
        } else {
            bytes = bytes.max(b);
            storage = storage.max(s);
        }
    }
    assert_eq!(bytes, REQUIRED_WORKGROUP_BYTES);
    assert_eq!(storage, REQUIRED_STORAGE_BUFFERS);
}
