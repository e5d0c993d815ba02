//! `strata info`: the adapters wgpu finds, their limits, and what `--backend auto` would pick.

use crate::backend::gpu::{AdapterSummary, list_adapters};
use crate::error::Result;
use clap::Args;

/// Flags of `strata info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `auto` picks given the adapters (best first): the first hardware adapter that can run
/// the kernels, else the CPU.
pub fn auto_pick(adapters: &[AdapterSummary]) -> String {
    match adapters
        .iter()
        .find(|a| !a.software && a.unusable.is_none())
    {
        Some(a) => format!("gpu ({})", a.name),
        None if adapters.iter().any(|a| !a.software) => {
            "cpu (no hardware GPU adapter can run the kernels)".to_string()
        }
        None => "cpu (no hardware GPU adapter)".to_string(),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

/// Runs `strata info`.
///
/// # Errors
/// Only if JSON serialization fails.
pub fn run(args: InfoArgs) -> Result<()> {
    let adapters = list_adapters();
    let auto = auto_pick(&adapters);
    if args.json {
        let value = serde_json::json!({
            "strata_version": env!("CARGO_PKG_VERSION"),
            "cpu_threads": rayon::current_num_threads(),
            "adapters": adapters,
            "auto": auto,
        });
        super::print_json(&value)?;
        return Ok(());
    }
    outln!(
        "strata {}; CPU backend: {} thread(s)",
        env!("CARGO_PKG_VERSION"),
        rayon::current_num_threads()
    );
    if adapters.is_empty() {
        outln!("no GPU adapters found (no Vulkan, Metal or DX12 driver)");
    }
    for (i, a) in adapters.iter().enumerate() {
        outln!("adapter {i}: {}", a.name);
        outln!(
            "  type {}{}, backend {}, driver {} {}",
            a.device_type,
            if a.software { " (software)" } else { "" },
            a.backend,
            a.driver,
            a.driver_info
        );
        outln!(
            "  max storage binding {}, max buffer {}, workgroups per dimension {}, workgroup memory {} B, invocations per workgroup {}, subgroup size {}..{}",
            mib(a.max_storage_buffer_binding_size),
            mib(a.max_buffer_size),
            a.max_compute_workgroups_per_dimension,
            a.max_compute_workgroup_storage_size,
            a.max_compute_invocations_per_workgroup,
            a.subgroup_size.0,
            a.subgroup_size.1
        );
        if let Some(reason) = &a.unusable {
            outln!("  cannot run Strata's kernels: {reason}");
        }
    }
    outln!("--backend auto picks: {auto}");
    Ok(())
}
