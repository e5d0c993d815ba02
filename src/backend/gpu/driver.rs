//! Why a GPU the machine has may be missing from the adapters Vulkan lists.
//!
//! On a Linux GPU node, NVIDIA's device nodes (`/dev/nvidia0`, …) are there when the kernel
//! driver is loaded and this process may open the card; CUDA needs no more. Vulkan also needs the
//! driver's Vulkan part (its `nvidia_icd.json` and the library it names), which a container gets
//! only when `NVIDIA_DRIVER_CAPABILITIES` includes `graphics`: with the common
//! `compute,utility`, a scheduled job on a GPU node sees no adapter and runs on the CPU. When
//! the nodes are there but no adapter is NVIDIA's, the log says what to set.

/// NVIDIA's PCI vendor id, as adapters report it.
pub const NVIDIA_VENDOR: u32 = 0x10de;

/// What to do when this process can open an NVIDIA GPU but none of the adapters, by their PCI
/// vendor ids `vendors`, is NVIDIA's; `None` otherwise (and on other systems than Linux).
pub fn missing_driver(vendors: impl IntoIterator<Item = u32>) -> Option<String> {
    hint(&nvidia_nodes(), vendors)
}

/// [`missing_driver`] for the device nodes `nodes`.
fn hint(nodes: &[String], vendors: impl IntoIterator<Item = u32>) -> Option<String> {
    if nodes.is_empty() || vendors.into_iter().any(|v| v == NVIDIA_VENDOR) {
        return None;
    }
    Some(format!(
        "this process can open {} ({}), but Vulkan lists no NVIDIA adapter: the driver's \
         Vulkan part is not found. In a container, NVIDIA_DRIVER_CAPABILITIES must include \
         graphics (or be all) for it to be mounted; elsewhere, install it (the driver's \
         nvidia_icd.json and libGLX_nvidia), or point VK_DRIVER_FILES at its nvidia_icd.json",
        if nodes.len() == 1 {
            "an NVIDIA GPU".to_string()
        } else {
            format!("{} NVIDIA GPUs", nodes.len())
        },
        nodes.join(", ")
    ))
}

/// The GPU device nodes of NVIDIA's driver this process sees, in order.
fn nvidia_nodes() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut numbers: Vec<u32> = entries
        .flatten()
        .filter_map(|entry| gpu_node(entry.file_name().to_str()?))
        .collect();
    numbers.sort_unstable();
    numbers
        .into_iter()
        .map(|n| format!("/dev/nvidia{n}"))
        .collect()
}

/// The GPU number of a device node's name (`nvidia0`), not the driver's other nodes
/// (`nvidiactl`, `nvidia-uvm`, `nvidia-modeset`).
fn gpu_node(name: &str) -> Option<u32> {
    let number = name.strip_prefix("nvidia")?;
    number
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| number.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_nodes_are_told_from_the_driver_s_other_nodes() {
        for (name, want) in [
            ("nvidia0", Some(0)),
            ("nvidia12", Some(12)),
            ("nvidiactl", None),
            ("nvidia-uvm", None),
            ("nvidia-uvm-tools", None),
            ("nvidia-modeset", None),
            ("nvidia", None),
            ("nvidia-caps", None),
            ("dri", None),
        ] {
            assert_eq!(gpu_node(name), want, "{name}");
        }
    }

    #[test]
    fn the_hint_is_given_when_no_adapter_is_nvidia_s() {
        let one = vec!["/dev/nvidia0".to_string()];
        let two = vec!["/dev/nvidia0".to_string(), "/dev/nvidia1".to_string()];
        // lavapipe alone (Mesa's vendor id), or no adapter at all.
        let lavapipe = 0x10005;
        let hint_one = hint(&one, [lavapipe]).unwrap();
        assert!(
            hint_one.starts_with("this process can open an NVIDIA GPU (/dev/nvidia0), but")
                && hint_one.contains("NVIDIA_DRIVER_CAPABILITIES must include graphics"),
            "{hint_one}"
        );
        let hint_two = hint(&two, []).unwrap();
        assert!(hint_two.contains("2 NVIDIA GPUs (/dev/nvidia0, /dev/nvidia1)"));
        // An NVIDIA adapter listed, or no NVIDIA device: nothing to say.
        assert_eq!(hint(&one, [lavapipe, NVIDIA_VENDOR]), None);
        assert_eq!(hint(&[], [lavapipe]), None);
    }
}
