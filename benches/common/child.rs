//! One benchmark measurement as a process of its own: its wall time, its own peak RSS (from
//! `wait4`, which reaps it: no `/proc`, so the same on macOS and Linux) and its stdout.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

// Each bench reads the fields it needs (one its child's stdout, the other its exit code).
#[allow(dead_code)]
pub struct Measured {
    pub seconds: f64,
    /// CPU time of the child alone (user and system), in seconds: steadier than wall time on
    /// a machine shared with other builds.
    pub cpu: f64,
    /// Peak resident set of the child alone, in bytes.
    pub peak: u64,
    /// Exit code, or -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
}

/// Runs `command` (stdin and stderr closed, stdout captured) and measures it.
#[allow(dead_code)]
pub fn measure(command: &mut Command) -> Measured {
    run(command, true)
}

/// `measure`, with the child's stdout read and thrown away as it comes.
///
/// The driver must stay small: on Linux a child spawned by `vfork` (as `Command` does) starts
/// with the driver's own peak RSS as its `ru_maxrss`, so a driver that once held a 100 MB
/// report makes every later child look at least that large.
#[allow(dead_code)]
pub fn measure_discarding(command: &mut Command) -> Measured {
    run(command, false)
}

// The child is reaped by `wait4` (which also gives its own peak RSS), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(command: &mut Command, keep_stdout: bool) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        if keep_stdout {
            pipe.read_to_string(&mut stdout).unwrap();
        } else {
            std::io::copy(&mut pipe, &mut std::io::sink()).unwrap();
        }
    }
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 reaps exactly this child and fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    let seconds = started.elapsed().as_secs_f64();
    let max = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    // getrusage counts kilobytes on Linux and the BSDs, bytes on macOS.
    let peak = if cfg!(target_os = "macos") {
        max
    } else {
        max * 1024
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let time = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Measured {
        seconds,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak,
        code,
        stdout,
    }
}
