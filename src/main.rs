//! The `strata` binary: parse the command line, run the library, map errors to exit codes.

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_device_select_layer();
    let cli = match strata::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            if err.use_stderr()
                && let Some(why) = strata::cli::misread_null_values(std::env::args_os())
            {
                let _ = writeln!(std::io::stderr().lock(), "error: {why}");
                return ExitCode::from(2);
            }
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    strata::logging::init(cli.verbosity());
    strata::progress::init(cli.progress, cli.verbosity());
    match strata::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr().lock(), "strata: error: {err}");
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(70))
        }
    }
}

/// Turns off Mesa's device-selection Vulkan layer for this process, unless the environment
/// configures it (`MESA_VK_DEVICE_SELECT`, or `NODEVICE_SELECT` set either way).
///
/// Where Mesa's Vulkan drivers are installed, that layer probes for a Wayland display whenever
/// adapters are listed, and with no `XDG_RUNTIME_DIR` (cron, containers, services) each probe
/// prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." on stderr: noise in a
/// scheduled job's log. Strata ranks the adapters itself, so the layer has nothing to add.
fn quiet_device_select_layer() {
    let configured = ["NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT"]
        .iter()
        .any(|key| std::env::var_os(key).is_some());
    if !configured {
        // SAFETY: called first in `main`, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}
