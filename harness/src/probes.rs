//! What a process costs, from Linux's /proc: CPU time, context switches, memory. For the
//! benchmarks and the soak (`medpay-tools`), which read the worker's, the sandbox's and their
//! own figures by PID.

// Figures for display, not money.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

/// utime + stime of a process, in milliseconds.
pub fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks * 10.0 // CLK_TCK is 100 on Linux
}

/// Context switches of all of a process's threads so far (voluntary and not): each is a thread
/// handing work to another (a ledger statement to SQLite's thread, a woken runtime worker), a
/// large share of the worker's CPU (docs/BENCHMARKS-decisions.md). Unlike CPU time, the count
/// does not drift with the machine's speed.
pub fn context_switches(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0.0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
                .collect::<Vec<_>>()
        })
        .sum()
}

/// A memory figure (`VmRSS:`, `VmHWM:`) of a process from /proc, in MiB.
pub fn rss_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Resets this process's VmHWM so a later `rss_mib(.., "VmHWM:")` covers only what follows
/// (Linux `clear_refs` 5).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
