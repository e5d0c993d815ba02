//! `strata info`: the adapters wgpu finds, their limits, and what `--backend auto` would pick.

use crate::backend::gpu::{AdapterSummary, driver, list_adapters, select};
use crate::error::Result;
use clap::Args;

/// Flags of `strata info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gpu: super::GpuArg,
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

/// What `auto` picks when `--gpu` or `STRATA_GPU` names `adapter`.
fn auto_pick_named(adapter: &AdapterSummary) -> String {
    if adapter.software {
        format!("cpu ('{}' is a software adapter)", adapter.name)
    } else if adapter.unusable.is_some() {
        format!("cpu ('{}' cannot run the kernels)", adapter.name)
    } else {
        format!("gpu ({})", adapter.name)
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
    args.gpu.apply(false)?;
    let memory = crate::data::memory::available();
    let adapters = list_adapters();
    // The adapter --gpu or STRATA_GPU names, as the GPU backend would resolve it.
    let listed: Vec<(String, String)> = adapters
        .iter()
        .map(|a| (a.name.clone(), a.pci_bus_id.clone()))
        .collect();
    let named = select::named(&listed);
    let auto = match &named {
        Some((_, Ok(index))) => auto_pick_named(&adapters[*index]),
        Some((_, Err(_))) => "none: a run would stop on the error above".to_string(),
        None => auto_pick(&adapters),
    };
    let driver_hint = driver::missing_driver(adapters.iter().map(|a| a.vendor));
    if args.json {
        let value = serde_json::json!({
            "strata_version": env!("CARGO_PKG_VERSION"),
            "cpu_threads": rayon::current_num_threads(),
            "cpu_simd": crate::backend::Simd::chosen().name(),
            "memory_available": memory.map(|m| serde_json::json!({
                "bytes": m.bytes,
                "limited_by": if m.cgroup { "cgroup" } else { "machine" },
            })),
            "adapters": adapters,
            "gpu": named.as_ref().map(|(choice, result)| serde_json::json!({
                "choice": choice,
                "adapter": result.as_ref().ok(),
                "error": result.as_ref().err(),
            })),
            "auto": auto,
            "driver_hint": driver_hint,
        });
        super::print_json(&value)?;
        return Ok(());
    }
    outln!(
        "strata {}; CPU backend: {} thread(s), {} kernels",
        env!("CARGO_PKG_VERSION"),
        rayon::current_num_threads(),
        crate::backend::Simd::chosen().name()
    );
    if let Some(m) = memory {
        outln!(
            "memory available: {:.1} GB ({}), enough for a fit of about {:.0} million rows × 16 \
             features",
            m.bytes as f64 / 1e9,
            if m.cgroup {
                "the limit of this process's container or control group"
            } else {
                "this machine"
            },
            crate::data::memory::rows_within(m.bytes, 16) as f64 / 1e6
        );
    }
    if adapters.is_empty() {
        outln!("no GPU adapters found (no Vulkan, Metal or DX12 driver)");
    }
    for (i, a) in adapters.iter().enumerate() {
        outln!("adapter {i}: {}", a.name);
        outln!(
            "  type {}{}, backend {}, {}driver {} {}",
            a.device_type,
            if a.software { " (software)" } else { "" },
            a.backend,
            if a.pci_bus_id.is_empty() {
                String::new()
            } else {
                format!("PCI {}, ", a.pci_bus_id)
            },
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
    match &named {
        Some((choice, Ok(index))) => outln!("{choice} names adapter {index}"),
        Some((_, Err(why))) => outln!("{why}"),
        None => {}
    }
    outln!("--backend auto picks: {auto}");
    if let Some(hint) = &driver_hint {
        outln!("{hint}");
    }
    Ok(())
}
