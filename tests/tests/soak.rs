//! The short soak in CI: `medpay-tools soak` with payments and refunds while the worker is
//! SIGKILLed every few seconds, the Temporal server restarts once, every party endpoint fails a
//! share of calls and callbacks are lost, duplicated and forged; its audit against the
//! sandbox's books must find nothing lost, nothing doubled and no money difference. (The long
//! run, 200 payments and 50 refunds, is quoted in the README.)

use medpay_harness::{temporal_bin, tools_bin};
use std::process::Command;

#[test]
fn payments_and_refunds_survive_kills_restarts_and_faults() {
    let out = Command::new(tools_bin())
        .args([
            "soak",
            "--payments",
            "16",
            "--refunds",
            "4",
            "--concurrency",
            "4",
            "--kill-every-secs",
            "3",
            "--fault-permille",
            "80",
            "--callback-fault-percent",
            "10",
        ])
        .env("MEDPAY_TEMPORAL_BIN", temporal_bin())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "soak audit failed:\n{text}");
    let summary = text.lines().find(|l| l.starts_with("payments ")).unwrap_or_else(|| panic!("no audit line:\n{text}"));
    assert!(summary.contains("lost 0  doubled 0") && summary.contains("money difference 0 fen"), "{summary}");
    let kills: u32 = text
        .split(" worker kills")
        .next()
        .and_then(|h| h.rsplit('(').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(kills >= 2, "the worker was killed only {kills} times: the soak did not exercise recovery:\n{text}");
    assert!(text.contains("1 Temporal restarts"), "{text}");
    let field = |name: &str| {
        summary
            .split(&format!("{name} "))
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    // A worker killed between the channel's authCode exchange and its recording fails that
    // payment (single-use code; README known limits): rare, so most must complete.
    assert!(field("paid") >= 12 && field("refunded") == 4, "too few completed: {summary}");
    eprintln!("{summary}");
}
