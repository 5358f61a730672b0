//! A worker binary as a child process: started with exactly the environment it is
//! given, its peak resident memory read from `/proc`, stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::Command;

use crate::error::BenchError;

/// The fetch-page binary's file name, as cargo builds it (also its package's name).
pub(crate) const FETCH_PAGE: &str = "fetch-page";
/// The write-descriptors binary's file name, as cargo builds it.
pub(crate) const WRITE_DESCRIPTORS: &str = "write-descriptors";
/// How long the worker gets to drain once asked to stop, before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// The environment of a worker process: the settings variables `settings_env` (as
/// `Rig::env` gives them), plus the bench lane's topology `prefix`, queues that expire
/// when the bench is gone, and metrics on a free port.
pub(crate) fn worker_env(
    mut settings_env: Vec<(String, String)>,
    prefix: &str,
) -> Vec<(String, String)> {
    settings_env.extend([
        ("ESTAFETTE__BROKER__PREFIX".to_owned(), prefix.to_owned()),
        (
            "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS".to_owned(),
            testkit::QUEUE_EXPIRES.as_secs().to_string(),
        ),
        (
            "ESTAFETTE__METRICS__LISTEN".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
    ]);
    settings_env
}

/// Where cargo puts the binary `name` of the benchmark's own profile: next to the
/// benchmark's executable.
pub(crate) fn binary_path(name: &str) -> Result<PathBuf, BenchError> {
    Ok(std::env::current_exe()
        .map_err(BenchError::Process)?
        .with_file_name(name))
}

/// Builds `binary` (a worker, named as its package) next to the benchmark when the
/// benchmark runs under cargo (`cargo run` sets `CARGO`), in the same profile, so the
/// whole benchmark stays one command and never measures a binary older than the code
/// (cargo does nothing when it is up to date). Returns whether the binary is there.
pub(crate) async fn ensure_built(binary: &Path) -> Result<bool, BenchError> {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return Ok(binary.is_file());
    };
    let release = binary
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|profile| profile == "release");
    let Some(package) = binary.file_name().and_then(|name| name.to_str()) else {
        return Ok(false);
    };
    eprintln!("building {package} next to the benchmark");
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package]);
    if release {
        build.arg("--release");
    }
    let status = build.status().await.map_err(BenchError::Process)?;
    Ok(status.success() && binary.is_file())
}

/// A running worker process.
pub(crate) struct Worker {
    child: tokio::process::Child,
    pid: u32,
}

impl Worker {
    /// Starts `binary` with `env` as its whole environment; its logs at warning and
    /// above go to the benchmark's standard error.
    pub(crate) fn spawn(binary: &Path, env: &[(String, String)]) -> Result<Worker, BenchError> {
        let child = Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(BenchError::Process)?;
        let pid = child
            .id()
            .ok_or_else(|| BenchError::Process(std::io::Error::other("exited at once")))?;
        Ok(Worker { child, pid })
    }

    /// Waits until the process exits by itself.
    pub(crate) async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The most resident memory the process has held so far (`VmHWM`), in KiB.
    pub(crate) fn peak_resident_kib(&self) -> Result<u64, BenchError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(BenchError::Process)?;
        high_water_mark_kib(&status).ok_or_else(|| {
            BenchError::Process(std::io::Error::other("no VmHWM line in /proc/<pid>/status"))
        })
    }

    /// The processor time the process has used so far, from `/proc/<pid>/stat`;
    /// `ticks_per_second` is the kernel's `CLK_TCK` ([`clock_ticks_per_second`]).
    pub(crate) fn cpu_time(&self, ticks_per_second: u64) -> Result<CpuTime, BenchError> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .map_err(BenchError::Process)?;
        cpu_time_of(&stat, ticks_per_second).ok_or_else(|| {
            BenchError::Process(std::io::Error::other("unreadable /proc/<pid>/stat"))
        })
    }

    /// Sends SIGTERM and waits for the process to drain and exit; kills it after
    /// [`STOP_GRACE`].
    pub(crate) async fn stop(mut self) -> Result<ExitStatus, BenchError> {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .map_err(BenchError::Process)?;
        if !signalled.success() {
            return Err(BenchError::Process(std::io::Error::other(format!(
                "kill -TERM {} failed",
                self.pid
            ))));
        }
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(waited) => waited.map_err(BenchError::Process),
            Err(_) => {
                self.child.kill().await.map_err(BenchError::Process)?;
                Err(BenchError::WorkerStop(format!(
                    "the worker still ran {STOP_GRACE:?} after SIGTERM"
                )))
            }
        }
    }
}

/// Processor time a process used, in user mode and in the kernel on its behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CpuTime {
    /// `utime`.
    pub(crate) user: Duration,
    /// `stime`.
    pub(crate) system: Duration,
}

impl CpuTime {
    /// What was used between `earlier` and `self`.
    pub(crate) fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of the times in
/// `/proc/<pid>/stat`.
pub(crate) async fn clock_ticks_per_second() -> Result<u64, BenchError> {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .await
        .map_err(BenchError::Process)?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|ticks| *ticks > 0)
        .ok_or_else(|| BenchError::Process(std::io::Error::other("getconf CLK_TCK gave no number")))
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command
/// name in field 2 may hold spaces and parentheses, so fields are counted from the
/// last `)`.
fn cpu_time_of(stat: &str, ticks_per_second: u64) -> Option<CpuTime> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let mut ticks = || -> Option<Duration> {
        let ticks: u64 = fields.next()?.parse().ok()?;
        Some(Duration::from_nanos(
            ticks.checked_mul(1_000_000_000)? / ticks_per_second.max(1),
        ))
    };
    Some(CpuTime {
        user: ticks()?,
        system: ticks()?,
    })
}

/// The `VmHWM` of a `/proc/<pid>/status` text, in KiB.
fn high_water_mark_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_water_mark_is_read_in_kib() {
        let status =
            "Name:\tfetch-page\nVmPeak:\t  812345 kB\nVmHWM:\t   23456 kB\nVmRSS:\t   20000 kB\n";
        assert_eq!(high_water_mark_kib(status), Some(23_456));
        assert_eq!(high_water_mark_kib("Name:\tx\n"), None);
    }

    #[test]
    fn processor_time_is_read_past_the_command_name() {
        let stat = "4242 (fetch (page) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 37 0 0 20 0 3 0 100 123456 789 18446744073709551615";
        let time = cpu_time_of(stat, 100).expect("a stat line");
        assert_eq!(time.user, Duration::from_millis(2500));
        assert_eq!(time.system, Duration::from_millis(370));
        assert_eq!(cpu_time_of("4242 (x) S 1", 100), None);
    }

    #[tokio::test]
    async fn the_clock_ticks_are_known() {
        assert!(clock_ticks_per_second().await.expect("getconf answers") > 0);
    }

    #[test]
    fn the_binary_is_looked_for_next_to_the_benchmark() {
        let path = binary_path(FETCH_PAGE).expect("current exe");
        assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(FETCH_PAGE));
    }

    #[tokio::test]
    async fn a_process_is_measured_and_stopped() {
        let child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .expect("sleep starts");
        let pid = child.id().expect("running");
        let worker = Worker { child, pid };
        assert!(worker.peak_resident_kib().expect("a high-water mark") > 0);
        let ticks = clock_ticks_per_second().await.expect("getconf answers");
        assert!(worker.cpu_time(ticks).is_ok());
        let status = worker.stop().await.expect("stops");
        assert!(!status.success());
    }
}
