//! Scenarios and injected faults. Defaults are the happy path. Faults are set globally or per
//! order (keyed by the HIS order no. `medOrgOrd`, or the bank's `mix_trade_no`), through the
//! control API (`PUT /sandbox/control/faults`) or `medpay-sandbox --fault ...` flags. A per-order
//! setting replaces the global one for that order field by field.
//!
//! Failure shares are deterministic (every k-th call fails), not random, so a test can predict
//! exactly which attempt fails.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The bank's payment callback.
    pub callback: CallbackFault,
    /// Self-pay succeeds but the insurance settlement then fails (REQ X-8a).
    pub insurance_fails_after_self_pay: bool,
    /// Every payAuthNo the channel hands out is already expired when used.
    pub pay_auth_no_expired: bool,
    /// 6203 answers EXP; a later 6301/6203 replay resolves it to `exp_resolves_to`.
    pub refund_exp: bool,
    /// "SUCC" (default) or "FAIL": what an EXP refund turns out to be on query.
    pub exp_resolves_to: Option<String>,
    /// Per endpoint ("mid.6201", "bank.mixed_order", "channel.wechat", "core", ...).
    pub endpoints: BTreeMap<String, EndpointFault>,
    /// The statement files.
    pub statement: StatementFault,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackFault {
    pub delay_secs: u64,
    pub lost: bool,
    pub duplicate: bool,
    pub bad_signature: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointFault {
    /// Share of calls answered with HTTP 503, in per mille (500 = every second call).
    pub error_permille: u32,
    /// Share of calls that hang until the client times out, in per mille.
    pub timeout_permille: u32,
    /// How long a "timeout" call hangs before the sandbox answers 504 (default 30 s).
    pub hang_secs: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatementFault {
    /// The file appears only this many seconds after it was requested.
    pub late_secs: u64,
    /// Drop the first detail line (totals still count it: the file does not add up).
    pub missing_line: bool,
    /// Add a payment the hospital never made.
    pub extra_line: bool,
    /// Add one fen to the first payment line's amount.
    pub wrong_amount: bool,
}

/// All fault settings: global plus per order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    pub global: Faults,
    pub orders: BTreeMap<String, Faults>,
}

impl FaultConfig {
    /// Endpoint faults (503s, hangs) are decided per endpoint before a request's body is read,
    /// so the order it concerns is not known yet: they exist only globally. A per-order setting
    /// of them is refused rather than stored and silently ignored.
    pub fn check(&self) -> Result<(), String> {
        match self.orders.iter().find(|(_, f)| !f.endpoints.is_empty()) {
            Some((order, _)) => Err(format!(
                "orders.{order}.endpoints: endpoint faults apply to every call of an endpoint and can only be set under global.endpoints"
            )),
            None => Ok(()),
        }
    }

    /// The faults in force for an order known by any of `keys` (medOrgOrd, mix_trade_no, ...).
    pub fn for_order(&self, keys: &[&str]) -> &Faults {
        keys.iter().find_map(|k| self.orders.get(*k)).unwrap_or(&self.global)
    }
}

/// What an endpoint call should do, from its fault and the call's sequence number (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    None,
    Error,
    Hang(u64),
}

impl EndpointFault {
    pub fn decide(&self, call_no: u64) -> Injected {
        // Call k fails when floor(k * share) > floor((k-1) * share): exact shares, evenly spread.
        let hits =
            |permille: u32| (call_no * u64::from(permille)) / 1000 > ((call_no - 1) * u64::from(permille)) / 1000;
        if call_no == 0 {
            return Injected::None;
        }
        if hits(self.error_permille) {
            Injected::Error
        } else if hits(self.timeout_permille) {
            Injected::Hang(self.hang_secs.unwrap_or(30))
        } else {
            Injected::None
        }
    }
}

/// Parses a `--fault` flag: `callback-lost`, `callback-duplicate`, `callback-bad-signature`,
/// `callback-delay=SECS`, `insurance-fails`, `pay-auth-expired`, `refund-exp`,
/// `statement-late=SECS`, `statement-missing-line`, `statement-extra-line`,
/// `statement-wrong-amount`, `errors:ENDPOINT=PERMILLE`, `timeouts:ENDPOINT=PERMILLE`.
pub fn apply_flag(f: &mut Faults, flag: &str) -> Result<(), String> {
    let (name, value) = match flag.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (flag, None),
    };
    let num = |v: Option<&str>| -> Result<u64, String> {
        v.ok_or_else(|| format!("--fault {name} needs =NUMBER"))?
            .parse()
            .map_err(|_| format!("--fault {flag}: not a number"))
    };
    match name {
        "callback-lost" => f.callback.lost = true,
        "callback-duplicate" => f.callback.duplicate = true,
        "callback-bad-signature" => f.callback.bad_signature = true,
        "callback-delay" => f.callback.delay_secs = num(value)?,
        "insurance-fails" => f.insurance_fails_after_self_pay = true,
        "pay-auth-expired" => f.pay_auth_no_expired = true,
        "refund-exp" => f.refund_exp = true,
        "statement-late" => f.statement.late_secs = num(value)?,
        "statement-missing-line" => f.statement.missing_line = true,
        "statement-extra-line" => f.statement.extra_line = true,
        "statement-wrong-amount" => f.statement.wrong_amount = true,
        n if n.starts_with("errors:") || n.starts_with("timeouts:") => {
            let (kind, endpoint) = n.split_once(':').unwrap_or_default();
            let permille = u32::try_from(num(value)?).map_err(|_| "permille too large".to_string())?.min(1000);
            let e = f.endpoints.entry(endpoint.to_string()).or_default();
            if kind == "errors" { e.error_permille = permille } else { e.timeout_permille = permille }
        }
        _ => return Err(format!("unknown fault {flag:?}; see `medpay-sandbox --help`")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_and_deterministic() {
        let half = EndpointFault { error_permille: 500, ..Default::default() };
        let fails: Vec<bool> = (1..=10).map(|k| half.decide(k) == Injected::Error).collect();
        assert_eq!(fails.iter().filter(|f| **f).count(), 5);
        assert_eq!(fails, [false, true, false, true, false, true, false, true, false, true]);
        let all = EndpointFault { error_permille: 1000, ..Default::default() };
        assert!((1..=5).all(|k| all.decide(k) == Injected::Error));
        assert!((1..=5).all(|k| EndpointFault::default().decide(k) == Injected::None));
    }

    #[test]
    fn flags_parse() {
        let mut f = Faults::default();
        for flag in ["callback-lost", "callback-delay=70", "errors:bank.mixed_order=250", "statement-wrong-amount"] {
            apply_flag(&mut f, flag).unwrap();
        }
        assert!(f.callback.lost);
        assert_eq!(f.callback.delay_secs, 70);
        assert_eq!(f.endpoints["bank.mixed_order"].error_permille, 250);
        assert!(apply_flag(&mut f, "nonsense").is_err());
    }

    #[test]
    fn per_order_endpoint_faults_are_refused_not_ignored() {
        let mut c = FaultConfig::default();
        c.orders.insert("HIS1".into(), Faults { refund_exp: true, ..Default::default() });
        assert!(c.check().is_ok());
        let mut e = Faults::default();
        e.endpoints.insert("mid.6201".into(), EndpointFault { error_permille: 1000, ..Default::default() });
        c.orders.insert("HIS2".into(), e);
        assert!(c.check().unwrap_err().contains("orders.HIS2.endpoints"));
    }

    #[test]
    fn per_order_settings_win() {
        let mut c = FaultConfig::default();
        c.orders.insert("HIS1".into(), Faults { refund_exp: true, ..Default::default() });
        assert!(c.for_order(&["HIS1"]).refund_exp);
        assert!(!c.for_order(&["HIS2"]).refund_exp);
    }
}
