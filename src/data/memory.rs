//! Memory a run will need against memory the machine will give it.
//!
//! A fit holds the whole feature matrix in memory. When the input is larger than the memory
//! left to the process, Linux does not refuse the allocation: it stops the process part way
//! through the read (the OOM killer), with no message of Strata's and exit status 137. So before
//! the read, when the row count is known or can be estimated (Parquet footers, Arrow IPC batch
//! headers; a CSV file's size over the length of its first rows), the peak is estimated and
//! compared with what the system and the process's control group (a container's limit) can
//! still give; a shortfall is logged as a warning that names both figures.
//!
//! Page cache counts as available: the kernel drops it under pressure, and a file just read (or
//! being read) fills it. So the warning only fires when the run cannot fit even then.

use std::path::Path;

/// Bytes per row beside the features' 4 each: the 64-bit ids (8), the backend's labels (4), the
/// final labels and distances (8). Measured peaks at 16 features and 64-bit ids: 83.2 bytes per
/// row at 100M rows, 83.9 at 50M, 86 at 20M (BENCHMARKS.md).
const ROW_OVERHEAD: u64 = 20;
/// Bytes a run needs whatever its size: the binary, thread stacks, buffers of a batch.
const FIXED: u64 = 64 << 20;

/// Estimated peak resident memory of a fit, predict or sweep over `rows` rows of `features`
/// features, in bytes (text ids take their length more).
pub fn peak_bytes(rows: u64, features: usize) -> u64 {
    rows.saturating_mul(4 * features as u64 + ROW_OVERHEAD)
        .saturating_add(FIXED)
}

/// The most rows of `features` features whose run fits in `bytes`: the inverse of
/// [`peak_bytes`].
pub fn rows_within(bytes: u64, features: usize) -> u64 {
    bytes.saturating_sub(FIXED) / (4 * features as u64 + ROW_OVERHEAD)
}

/// Memory the process can still be given, and what limits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// Bytes the process can still be given.
    pub bytes: u64,
    /// True when a control group's limit (a container's) is the tighter bound, false when it is
    /// the machine's memory.
    pub cgroup: bool,
}

/// What this process can still be given: the least of the system's available memory and the
/// room under each memory limit of its control group and their ancestors. None when neither
/// can be read (not Linux, or /proc not mounted).
pub fn available() -> Option<Available> {
    available_under(Path::new("/"))
}

/// [`available`] with `/proc` and `/sys/fs/cgroup` taken under `root`.
fn available_under(root: &Path) -> Option<Available> {
    let system = system_available(root);
    let group = cgroup_available(root);
    match (system, group) {
        (Some(s), Some(g)) if g < s => Some(Available {
            bytes: g,
            cgroup: true,
        }),
        (Some(s), _) => Some(Available {
            bytes: s,
            cgroup: false,
        }),
        (None, Some(g)) => Some(Available {
            bytes: g,
            cgroup: true,
        }),
        (None, None) => None,
    }
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn system_available(root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(root.join("proc/meminfo")).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("MemAvailable:")?;
        let kib: u64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kib.saturating_mul(1024))
    })
}

/// The least room under the memory limits of this process's control group and its ancestors:
/// limit − (usage − page cache) at each level that has a limit. cgroup v2 (`0::/path`, files
/// `memory.max`, `memory.current`, `memory.stat` `file`) or v1 (`N:memory:/path`, files
/// `memory.limit_in_bytes`, `memory.usage_in_bytes`, `memory.stat` `total_cache`). A path that
/// is not under the mount (a container that sees its own group as the root) is read at the
/// mount itself.
fn cgroup_available(root: &Path) -> Option<u64> {
    let groups = std::fs::read_to_string(root.join("proc/self/cgroup")).ok()?;
    let mut least: Option<u64> = None;
    for line in groups.lines() {
        let mut fields = line.splitn(3, ':').skip(1);
        let (Some(controllers), Some(path)) = (fields.next(), fields.next()) else {
            continue;
        };
        let version = if controllers.is_empty() {
            Version::Two
        } else if controllers.split(',').any(|c| c == "memory") {
            Version::One
        } else {
            continue;
        };
        let mount = root.join(version.mount());
        let own = mount.join(path.trim_start_matches('/'));
        let mut dir = if own.is_dir() { own } else { mount.clone() };
        loop {
            if let Some(room) = version.room(&dir) {
                least = Some(least.map_or(room, |l| l.min(room)));
            }
            if dir == mount || !dir.pop() || !dir.starts_with(&mount) {
                break;
            }
        }
    }
    least
}

#[derive(Clone, Copy)]
enum Version {
    One,
    Two,
}

impl Version {
    fn mount(self) -> &'static str {
        match self {
            Version::One => "sys/fs/cgroup/memory",
            Version::Two => "sys/fs/cgroup",
        }
    }

    /// Room under the limit set at `dir`, if one is set there.
    fn room(self, dir: &Path) -> Option<u64> {
        let number = |name: &str| -> Option<u64> {
            std::fs::read_to_string(dir.join(name))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        let (limit, usage, cache_key) = match self {
            // "max" does not parse: no limit.
            Version::Two => (number("memory.max")?, number("memory.current")?, "file"),
            Version::One => (
                number("memory.limit_in_bytes")?,
                number("memory.usage_in_bytes")?,
                "total_cache",
            ),
        };
        // v1 writes "no limit" as the largest page-aligned i64.
        if limit >= 1 << 62 {
            return None;
        }
        let cache = std::fs::read_to_string(dir.join("memory.stat"))
            .ok()
            .and_then(|stat| {
                stat.lines().find_map(|line| {
                    let (key, value) = line.split_once(' ')?;
                    (key == cache_key).then(|| value.trim().parse().ok())?
                })
            })
            .unwrap_or(0u64);
        Some(limit.saturating_sub(usage.saturating_sub(cache)))
    }
}

/// The warning for a run over `rows` × `features` with `available` left, if it does not fit.
pub fn shortfall(rows: u64, features: usize, available: Available) -> Option<String> {
    let need = peak_bytes(rows, features);
    if need <= available.bytes {
        return None;
    }
    let gb = |b: u64| b as f64 / 1e9;
    Some(format!(
        "about {rows} rows × {features} features need about {:.1} GB of memory, and {} has \
         about {:.1} GB left: the system may stop this run part way (exit status 137, no \
         message); use a machine with more memory, or fewer rows or features",
        gb(need),
        if available.cgroup {
            "this process's memory limit (its container or control group)"
        } else {
            "this machine"
        },
        gb(available.bytes)
    ))
}

/// Logs a warning when `rows` × `features` will not fit in the memory left (a debug line with
/// both figures otherwise). `rows` may be an estimate (a CSV input's).
pub fn warn_if_short(rows: u64, features: usize) {
    let Some(available) = available() else {
        return;
    };
    match shortfall(rows, features, available) {
        Some(message) => log::warn!("{message}"),
        None => log::debug!(
            "memory: about {:.2} GB needed for {rows} rows × {features} features, {:.2} GB \
             available",
            peak_bytes(rows, features) as f64 / 1e9,
            available.bytes as f64 / 1e9
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake root with the given files (path relative to the root, contents).
    fn fake_root(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let root =
            std::env::temp_dir().join(format!("strata-memory-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, contents) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        root
    }

    fn room(bytes: u64, cgroup: bool) -> Available {
        Available { bytes, cgroup }
    }

    /// `MemAvailable` of [`MEMINFO`].
    const MACHINE: Available = Available {
        bytes: 20_000_000 * 1024,
        cgroup: false,
    };

    const MEMINFO: &str = "MemTotal:       24684096 kB\nMemFree:         1000000 kB\n\
                           MemAvailable:   20000000 kB\nBuffers:            1234 kB\n";

    #[test]
    fn the_peak_grows_with_rows_and_features() {
        // 100M × 16: 100e6 × (64 + 20) + 64 MiB.
        assert_eq!(peak_bytes(100_000_000, 16), 8_400_000_000 + (64 << 20));
        assert_eq!(peak_bytes(0, 16), 64 << 20);
        assert_eq!(peak_bytes(u64::MAX, 16), u64::MAX);
        // The inverse: the largest row count whose peak fits.
        let budget = peak_bytes(1_000_000, 16);
        assert_eq!(rows_within(budget, 16), 1_000_000);
        assert_eq!(rows_within(budget - 1, 16), 999_999);
        assert_eq!(rows_within(1 << 20, 16), 0);
    }

    #[test]
    fn the_machine_bounds_when_no_group_limits() {
        // cgroup v2 with no limit ("max") at the process's group and the root.
        let root = fake_root(
            "nolimit",
            &[
                ("proc/meminfo", MEMINFO),
                ("proc/self/cgroup", "0::/jobs/nightly\n"),
                ("sys/fs/cgroup/jobs/nightly/memory.max", "max\n"),
                ("sys/fs/cgroup/jobs/nightly/memory.current", "5000\n"),
            ],
        );
        assert_eq!(available_under(&root), Some(MACHINE));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_v2_limit_counts_page_cache_as_room_and_ancestors_bound_too() {
        // The job's group: 8 GB limit, 6 GB used of which 5 GB page cache: 7 GB of room. Its
        // parent: 10 GB limit, 9.5 GB used, no cache: 0.5 GB, the tightest.
        let root = fake_root(
            "v2",
            &[
                ("proc/meminfo", MEMINFO),
                ("proc/self/cgroup", "0::/jobs/nightly\n"),
                ("sys/fs/cgroup/jobs/nightly/memory.max", "8000000000\n"),
                ("sys/fs/cgroup/jobs/nightly/memory.current", "6000000000\n"),
                (
                    "sys/fs/cgroup/jobs/nightly/memory.stat",
                    "anon 1000000000\nfile 5000000000\nkernel 0\n",
                ),
                ("sys/fs/cgroup/jobs/memory.max", "10000000000\n"),
                ("sys/fs/cgroup/jobs/memory.current", "9500000000\n"),
            ],
        );
        assert_eq!(available_under(&root), Some(room(500_000_000, true)));
        // Without the parent's limit, the job's own: 8 − (6 − 5) = 7 GB.
        std::fs::write(root.join("sys/fs/cgroup/jobs/memory.max"), "max\n").unwrap();
        assert_eq!(available_under(&root).unwrap().bytes, 7_000_000_000);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_v1_limit_is_read_at_the_mount_when_the_path_is_not_there() {
        // A container shows its host path but mounts its own group as the root.
        let root = fake_root(
            "v1",
            &[
                ("proc/meminfo", MEMINFO),
                // A line that is not one (skipped) before the memory controller's.
                (
                    "proc/self/cgroup",
                    "5:cpu:/\ngarbage\n4:memory:/docker/abc\n0::/\n",
                ),
                ("sys/fs/cgroup/memory/memory.limit_in_bytes", "4000000000\n"),
                ("sys/fs/cgroup/memory/memory.usage_in_bytes", "3000000000\n"),
                (
                    "sys/fs/cgroup/memory/memory.stat",
                    "cache 100\nrss 5\ntotal_cache 1000000000\n",
                ),
            ],
        );
        assert_eq!(available_under(&root), Some(room(2_000_000_000, true)));
        // "No limit" in v1 is a huge number: the machine bounds.
        std::fs::write(
            root.join("sys/fs/cgroup/memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        assert_eq!(available_under(&root), Some(MACHINE));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn nothing_readable_gives_none() {
        let root = fake_root("empty", &[]);
        std::fs::create_dir_all(&root).unwrap();
        assert_eq!(available_under(&root), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_warning_fires_only_past_the_room_and_names_both_figures() {
        let need = peak_bytes(100_000_000, 16);
        assert_eq!(shortfall(100_000_000, 16, room(need, false)), None);
        let message = shortfall(100_000_000, 16, room(need - 1, true)).unwrap();
        assert!(message.contains("about 100000000 rows × 16 features need about 8.5 GB"));
        assert!(message.contains("memory limit (its container"));
        assert!(message.contains("about 8.5 GB left"));
        let message = shortfall(100_000_000, 16, room(4_000_000_000, false)).unwrap();
        assert!(message.contains("this machine has about 4.0 GB left"));
    }
}
