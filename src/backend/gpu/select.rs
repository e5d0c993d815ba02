//! Which adapter the GPU backend opens on a machine with several: `--gpu`, or `STRATA_GPU` for
//! jobs a scheduler starts.
//!
//! Vulkan ignores `CUDA_VISIBLE_DEVICES`, so on a node shared by several jobs every job would
//! otherwise open the same, first, GPU. An adapter is named by its index in `strata info`'s
//! list, by its PCI bus id (as `nvidia-smi` prints it, `00000000:3B:00.0`, or as Vulkan reports
//! it, `0000:3b:00.0`), or by a part of its name that no other adapter's name has.

use std::sync::OnceLock;

/// Environment variable naming the adapter when `--gpu` is not given.
pub const GPU_ENV: &str = "STRATA_GPU";

static CHOSEN: OnceLock<String> = OnceLock::new();

/// Sets the adapter for the rest of the process (`--gpu`); `None` leaves `STRATA_GPU`, or the
/// best adapter, to decide.
pub fn choose(selector: Option<&str>) {
    if let Some(selector) = selector.map(str::trim).filter(|s| !s.is_empty()) {
        let _ = CHOSEN.set(selector.to_string());
    }
}

/// The selector in force, and how to name it to the user (`--gpu 1`, `STRATA_GPU=1`), if any.
pub fn requested() -> Option<(String, String)> {
    if let Some(selector) = CHOSEN.get() {
        return Some((selector.clone(), format!("--gpu {selector}")));
    }
    std::env::var(GPU_ENV)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let label = format!("{GPU_ENV}={s}");
            (s, label)
        })
}

/// The adapter `--gpu` or `STRATA_GPU` names among `adapters` (name and PCI bus id, in `strata
/// info`'s order): `None` when neither is set, or when there are no adapters (the backend then
/// says so itself); else how to name the choice (`--gpu 1`) and the adapter's index, or the
/// message for the user.
pub fn named(adapters: &[(String, String)]) -> Option<(String, Result<usize, String>)> {
    if adapters.is_empty() {
        return None;
    }
    let (selector, label) = requested()?;
    let index = pick(&selector, adapters).map_err(|why| format!("{label}: {why}"));
    Some((label, index))
}

/// A PCI address: domain, bus, device, function.
type PciAddress = (u32, u32, u32, u32);

/// Parses `[domain:]bus:device.function` in hexadecimal, any case, the domain with any number of
/// leading zeros (`nvidia-smi` prints eight digits, Vulkan four).
fn pci_address(text: &str) -> Option<PciAddress> {
    let hex = |s: &str| {
        (!s.is_empty() && s.len() <= 8)
            .then(|| u32::from_str_radix(s, 16).ok())
            .flatten()
    };
    let (rest, function) = text.trim().rsplit_once('.')?;
    let parts: Vec<&str> = rest.split(':').collect();
    let (domain, bus, device) = match parts.as_slice() {
        [domain, bus, device] => (hex(domain)?, hex(bus)?, hex(device)?),
        [bus, device] => (0, hex(bus)?, hex(device)?),
        _ => return None,
    };
    Some((domain, bus, device, hex(function)?))
}

/// The index, among `adapters` (name and PCI bus id, in `strata info`'s order), of the one
/// `selector` names; an explanation for the user when it names none or several.
pub fn pick(selector: &str, adapters: &[(String, String)]) -> Result<usize, String> {
    let listing = || {
        adapters
            .iter()
            .enumerate()
            .map(|(i, (name, bus))| {
                if bus.is_empty() {
                    format!("{i}: {name}")
                } else {
                    format!("{i}: {name} (PCI {bus})")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Ok(index) = selector.parse::<usize>() {
        return if index < adapters.len() {
            Ok(index)
        } else {
            Err(format!(
                "there is no adapter {index}; the adapters are {}",
                listing()
            ))
        };
    }
    if let Some(address) = pci_address(selector) {
        return adapters
            .iter()
            .position(|(_, bus)| pci_address(bus) == Some(address))
            .ok_or_else(|| {
                format!(
                    "no adapter is at PCI bus id {selector}; the adapters are {}",
                    listing()
                )
            });
    }
    let wanted = selector.to_lowercase();
    let matching: Vec<usize> = adapters
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| name.to_lowercase().contains(&wanted))
        .map(|(i, _)| i)
        .collect();
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "no adapter's name contains '{selector}'; the adapters are {}",
            listing()
        )),
        several => Err(format!(
            "'{selector}' is in the names of {} adapters; name one by its index or PCI bus id: \
             the adapters are {}",
            several.len(),
            listing()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Vec<(String, String)> {
        vec![
            ("NVIDIA H100 80GB HBM3".into(), "0000:1b:00.0".into()),
            ("NVIDIA H100 80GB HBM3".into(), "0000:3b:00.0".into()),
            ("NVIDIA A10".into(), "0001:c1:00.0".into()),
            ("llvmpipe (LLVM 15.0.6, 256 bits)".into(), String::new()),
        ]
    }

    #[test]
    fn an_index_a_bus_id_or_a_unique_name_picks_one_adapter() {
        let adapters = node();
        assert_eq!(pick("1", &adapters), Ok(1));
        assert_eq!(pick("3", &adapters), Ok(3));
        // nvidia-smi's form, Vulkan's, and no domain at all.
        assert_eq!(pick("00000000:3B:00.0", &adapters), Ok(1));
        assert_eq!(pick("0000:3b:00.0", &adapters), Ok(1));
        assert_eq!(pick("1b:00.0", &adapters), Ok(0));
        assert_eq!(pick("00000001:C1:00.0", &adapters), Ok(2));
        assert_eq!(pick("a10", &adapters), Ok(2));
        assert_eq!(pick("LLVMpipe", &adapters), Ok(3));
    }

    #[test]
    fn a_selector_that_names_none_or_several_says_which_there_are() {
        let adapters = node();
        let none = pick("4", &adapters).unwrap_err();
        assert!(none.starts_with("there is no adapter 4; the adapters are 0: NVIDIA H100"));
        assert!(none.contains("1: NVIDIA H100 80GB HBM3 (PCI 0000:3b:00.0)"));
        assert!(none.ends_with("3: llvmpipe (LLVM 15.0.6, 256 bits)"));
        let several = pick("h100", &adapters).unwrap_err();
        assert!(several.starts_with("'h100' is in the names of 2 adapters"));
        assert!(
            pick("0000:3c:00.0", &adapters)
                .unwrap_err()
                .starts_with("no adapter is at PCI bus id 0000:3c:00.0")
        );
        assert!(
            pick("radeon", &adapters)
                .unwrap_err()
                .starts_with("no adapter's name contains 'radeon'")
        );
        assert!(pick("0", &[]).is_err());
    }

    #[test]
    fn pci_addresses_parse_in_either_form() {
        assert_eq!(pci_address("00000000:3B:00.0"), Some((0, 0x3b, 0, 0)));
        assert_eq!(pci_address(" 0000:3b:1f.7 "), Some((0, 0x3b, 0x1f, 7)));
        assert_eq!(pci_address("c1:00.1"), Some((0, 0xc1, 0, 1)));
        for text in [
            "",
            "3b",
            "3b:00",
            "A10",
            "x:3b:00.0",
            "0:0:0:0.0",
            "3b:00.g",
        ] {
            assert_eq!(pci_address(text), None, "{text}");
        }
    }
}
