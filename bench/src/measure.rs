//! CPU time and memory of a process and of its threads, read from `/proc`
//! (Linux only: the bench reports nothing it cannot read there).
//!
//! Times come from `/proc/PID/stat` (`utime` + `stime`), in clock ticks of
//! `USER_HZ`, which Linux fixes at 100 per second for this interface on every
//! architecture it runs on; a phase lasts seconds, so 10 ms steps are fine.
//! A process's own line counts every thread it ever had, dead ones included;
//! the per-thread lines (`/proc/PID/task/TID/stat`) only the living ones,
//! which is why totals come from the process line and per-thread figures are
//! a breakdown only.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`).
const CLOCK_TICKS_PER_SECOND: u64 = 100;
/// Fields after the command name: `utime` is the 12th, `stime` the 13th
/// (fields 14 and 15 of the whole line, counting from 1).
const USER_TIME_FIELD_AFTER_NAME: usize = 11;
const SYSTEM_TIME_FIELD_AFTER_NAME: usize = 12;
/// Directories below a data directory that [`directory_bytes`] descends into.
const DIRECTORY_DEPTH_MAX: usize = 8;
/// Threads of one process the breakdown reads (a center has a few dozen).
const THREADS_MAX: usize = 100_000;

/// CPU time spent, user and system together, in milliseconds.
pub type CpuMs = u64;

/// The name and CPU time of one thread, from its `stat` line.
fn parse_stat(line: &str) -> Option<(String, CpuMs)> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let name = line.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
    let user: u64 = fields.get(USER_TIME_FIELD_AFTER_NAME)?.parse().ok()?;
    let system: u64 = fields.get(SYSTEM_TIME_FIELD_AFTER_NAME)?.parse().ok()?;
    Some((name, (user + system) * 1_000 / CLOCK_TICKS_PER_SECOND))
}

fn invalid(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a stat line", path.display()))
}

/// CPU time of process `pid`, every thread it ever had included.
pub fn process_cpu_ms(pid: u32) -> io::Result<CpuMs> {
    let path = Path::new("/proc").join(pid.to_string()).join("stat");
    let line = std::fs::read_to_string(&path)?;
    parse_stat(&line).map(|(_, cpu)| cpu).ok_or_else(|| invalid(&path))
}

/// CPU time of the living threads of `pid`, summed by thread name (a
/// runtime's workers share a name).
pub fn thread_cpu_ms(pid: u32) -> io::Result<BTreeMap<String, CpuMs>> {
    let directory = Path::new("/proc").join(pid.to_string()).join("task");
    let mut by_name = BTreeMap::new();
    for entry in std::fs::read_dir(&directory)?.take(THREADS_MAX) {
        let path = entry?.path().join("stat");
        // A thread may end between listing and reading: skip it.
        let Ok(line) = std::fs::read_to_string(&path) else { continue };
        let (name, cpu) = parse_stat(&line).ok_or_else(|| invalid(&path))?;
        *by_name.entry(name).or_insert(0) += cpu;
    }
    Ok(by_name)
}

/// Resident memory of process `pid` (`VmRSS`), in bytes.
pub fn resident_bytes(pid: u32) -> io::Result<u64> {
    let path = Path::new("/proc").join(pid.to_string()).join("status");
    let status = std::fs::read_to_string(&path)?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kibibytes| kibibytes.trim().parse::<u64>().ok())
        .map(|kibibytes| kibibytes * 1_024)
        .ok_or_else(|| invalid(&path))
}

/// Bytes of all files under `directory` (what a data directory occupies).
pub fn directory_bytes(directory: &Path) -> io::Result<u64> {
    fn walk(directory: &Path, depth: usize) -> io::Result<u64> {
        let mut total = 0;
        for entry in std::fs::read_dir(directory)? {
            let entry = entry?;
            let metadata = entry.metadata()?;
            if metadata.is_dir() && depth < DIRECTORY_DEPTH_MAX {
                total += walk(&entry.path(), depth + 1)?;
            } else if metadata.is_file() {
                total += metadata.len();
            }
        }
        Ok(total)
    }
    walk(directory, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_name_and_cpu_time_even_with_spaces_and_parentheses_in_the_name() {
        let line = "4242 (sled-io (2) x) S 1 4242 4242 0 -1 4194624 500 0 0 0 150 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat(line), Some(("sled-io (2) x".to_owned(), 2_000)));
        assert_eq!(parse_stat("4242 (short) S 1"), None);
    }

    #[test]
    fn this_process_has_cpu_time_memory_and_named_threads() {
        let pid = std::process::id();
        let busy: u64 = (0..2_000_000u64).fold(0, |sum, value| sum.wrapping_add(value * value));
        assert!(busy > 0);
        assert!(resident_bytes(pid).unwrap() > 0);
        let threads = thread_cpu_ms(pid).unwrap();
        assert!(!threads.is_empty());
        assert!(process_cpu_ms(pid).unwrap() >= threads.values().copied().max().unwrap_or(0));
    }

    #[test]
    fn a_directory_counts_the_bytes_of_its_files_below_it() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir(directory.path().join("db")).unwrap();
        std::fs::write(directory.path().join("db/a"), [0u8; 100]).unwrap();
        std::fs::write(directory.path().join("b"), [0u8; 23]).unwrap();
        assert_eq!(directory_bytes(directory.path()).unwrap(), 123);
    }
}
