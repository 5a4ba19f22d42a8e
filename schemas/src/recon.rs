//! Reconciliation (REQ C-6.3.1, C-6.3.2, X-8b, X-8c, Q-9): the kinds of run, the classes a
//! statement line or a ledger record lands in, and the run's summary. Workflows carry these
//! (counts and sums), never the files.

use crate::time::BeijingDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconKind {
    /// The bank's next-day self-pay statement, one file per day (REQ C-6.3.2).
    Selfpay,
    /// The mid-platform's monthly insurance detail (REQ C-6.3.1).
    Insurance,
}

impl ReconKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Selfpay => "selfpay",
            Self::Insurance => "insurance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "selfpay" => Some(Self::Selfpay),
            "insurance" => Some(Self::Insurance),
            _ => None,
        }
    }

    /// A period is a day (`yyyy-MM-dd`) for self-pay and a month (`yyyy-MM`) for insurance.
    pub fn check_period(self, period: &str) -> Result<(), String> {
        // Digits where digits belong, a month 01-12 and a day 01-31 (the API document states the
        // same pattern); a day past its month's end finds no statement.
        let num = |r: std::ops::Range<usize>| {
            period.get(r).filter(|s| s.bytes().all(|b| b.is_ascii_digit())).and_then(|s| s.parse::<u32>().ok())
        };
        let month_ok =
            period.get(4..5) == Some("-") && num(0..4).is_some() && num(5..7).is_some_and(|m| (1..=12).contains(&m));
        let ok = month_ok
            && match self {
                Self::Selfpay => {
                    period.len() == 10
                        && period.get(7..8) == Some("-")
                        && num(8..10).is_some_and(|d| (1..=31).contains(&d))
                }
                Self::Insurance => period.len() == 7,
            };
        if ok {
            Ok(())
        } else {
            Err(format!("{period:?} is not a {} period ({})", self.as_str(), self.period_format()))
        }
    }

    pub fn period_format(self) -> &'static str {
        match self {
            Self::Selfpay => "yyyy-MM-dd",
            Self::Insurance => "yyyy-MM",
        }
    }
}

/// Where a line or a record lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReconClass {
    /// Both sides agree to the fen.
    Matched,
    /// Both sides know the order; the amounts differ.
    AmountMismatch,
    /// The statement has money the hospital has no record of ("long").
    BankOnly,
    /// The hospital thinks it was paid; the statement has nothing ("short": under-collection,
    /// the HIS is told to collect, REQ X-8c).
    HospitalOnly,
    /// The statement shows the money collected for a payment the hospital closed as not paid
    /// (over-collection: refunded, REQ X-8b).
    OverCollected,
    /// The statement shows it paid while the payment is still in flight (not yet settled).
    StatusMismatch,
    /// A payment left `PendingReconciliation` that the statement shows paid: settled (REQ Q-9).
    PendingSettled,
    /// A payment left `PendingReconciliation` that the statement does not show: closed unpaid.
    PendingClosed,
    /// A pure-insurance payment left `PendingReconciliation` (no self-pay part, so not on the
    /// bank's statement): its workflow asks the platform (6301) and settles or closes it.
    PendingInsurance,
    RefundMatched,
    RefundAmountMismatch,
    /// A refund on the statement the hospital has no record of.
    RefundBankOnly,
    /// A refund the hospital made that the statement does not show.
    RefundHospitalOnly,
}

impl ReconClass {
    pub const ALL: [ReconClass; 13] = [
        Self::Matched,
        Self::AmountMismatch,
        Self::BankOnly,
        Self::HospitalOnly,
        Self::OverCollected,
        Self::StatusMismatch,
        Self::PendingSettled,
        Self::PendingClosed,
        Self::PendingInsurance,
        Self::RefundMatched,
        Self::RefundAmountMismatch,
        Self::RefundBankOnly,
        Self::RefundHospitalOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matched => "MATCHED",
            Self::AmountMismatch => "AMOUNT_MISMATCH",
            Self::BankOnly => "BANK_ONLY",
            Self::HospitalOnly => "HOSPITAL_ONLY",
            Self::OverCollected => "OVER_COLLECTED",
            Self::StatusMismatch => "STATUS_MISMATCH",
            Self::PendingSettled => "PENDING_SETTLED",
            Self::PendingClosed => "PENDING_CLOSED",
            Self::PendingInsurance => "PENDING_INSURANCE",
            Self::RefundMatched => "REFUND_MATCHED",
            Self::RefundAmountMismatch => "REFUND_AMOUNT_MISMATCH",
            Self::RefundBankOnly => "REFUND_BANK_ONLY",
            Self::RefundHospitalOnly => "REFUND_HOSPITAL_ONLY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Everything but the matched classes is an exception for the report.
    pub fn is_exception(self) -> bool {
        !matches!(self, Self::Matched | Self::RefundMatched)
    }
}

/// A reconciliation run's input. Without `period`, the scheduled default: yesterday (self-pay)
/// or last month (insurance), in Beijing time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconInput {
    pub kind: ReconKind,
    pub org_code: crate::OrgCode,
    pub period: Option<String>,
}

/// A statement file fetched to local staging: a reference, never the contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    pub run_id: String,
    pub kind: ReconKind,
    pub org_code: crate::OrgCode,
    pub period: String,
    pub path: String,
}

/// What loading a file found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded {
    pub lines: u64,
    pub payments_fen: i64,
    pub refunds_fen: i64,
    /// Detail lines refused (with their line numbers and reasons in the run's errors).
    pub rejected: u64,
    /// Header/trailer totals or the checksum disagree with the lines.
    pub control_mismatch: Option<String>,
}

/// Count and sum (fen) of one class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTotal {
    pub count: u64,
    pub fen: i64,
}

/// The run's summary (the API's JSON and the CLI's table).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconSummary {
    pub run_id: String,
    pub kind: Option<ReconKind>,
    pub period: String,
    pub loaded: Loaded,
    pub classes: BTreeMap<String, ClassTotal>,
    /// Actions taken this run (settled, closed, refunds started, notices); a re-run takes none.
    pub actions_taken: u64,
    pub report_csv: Option<String>,
}

/// Yesterday (self-pay) or last month (insurance), Beijing time: a scheduled run's period.
pub fn default_period(kind: ReconKind, now_ms: i64) -> String {
    match kind {
        ReconKind::Selfpay => BeijingDate::of(now_ms).previous().to_string(),
        ReconKind::Insurance => BeijingDate::of(now_ms).previous_month(),
    }
}

/// Fen as yuan with two decimals, for reports.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_periods_in_beijing_time() {
        // 2026-11-26T16:30:00Z is 2026-11-27 00:30 in Beijing.
        let ms = 1_795_710_600_000;
        assert_eq!(default_period(ReconKind::Selfpay, ms), "2026-11-26");
        assert_eq!(default_period(ReconKind::Insurance, ms), "2026-10");
    }

    #[test]
    fn periods_and_yuan() {
        assert!(ReconKind::Selfpay.check_period("2026-11-26").is_ok());
        assert!(ReconKind::Selfpay.check_period("2026-11").is_err());
        assert!(ReconKind::Insurance.check_period("2026-11").is_ok());
        assert!(ReconKind::Insurance.check_period("2026-11'; DROP").is_err());
        for bad in ["8049-71-07", "2026-00-01", "2026-11-32", "2026-1--01", "+026-11-01"] {
            assert!(ReconKind::Selfpay.check_period(bad).is_err(), "{bad}");
        }
        assert!(ReconKind::Insurance.check_period("2026-13").is_err());
        assert_eq!((yuan(12_345), yuan(-5), yuan(0)), ("123.45".to_string(), "-0.05".to_string(), "0.00".to_string()));
        for c in ReconClass::ALL {
            assert_eq!(ReconClass::parse(c.as_str()), Some(c));
        }
    }
}
