//! A refund's lifecycle (REQ 6.2, X-8a, X-8b) and the moves allowed between its states. Unlike a
//! payment, a refund may leave `NeedsAttention` again (an operator's "retry now"), but never a
//! terminal state: money that went back is never "un-refunded", and an abandoned or offline
//! refund is never executed online afterwards.

use crate::Money;
use crate::Secret;
use crate::status::RefundType;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ledger", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ledger", sea_orm(rs_type = "String", db_type = "Text", rename_all = "PascalCase"))]
pub enum RefundState {
    /// Accepted; the amounts are reserved against the payment.
    Requested,
    /// The mid-platform refunded its part (6203 SUCC) or there was none.
    InsuranceRefunded,
    /// The bank refunded the self-pay part or there was none.
    CashRefunded,
    /// Every part refunded and the channel notified through the bank.
    Refunded,
    /// A step kept failing past the horizon, or 6203 stayed EXP: waits for an operator.
    NeedsAttention,
    /// An operator settled it outside the product (with a reference).
    SettledOffline,
    /// An operator abandoned it (with a reason); the unrefunded amounts are released.
    Abandoned,
}

impl RefundState {
    pub const ALL: [RefundState; 7] = [
        Self::Requested,
        Self::InsuranceRefunded,
        Self::CashRefunded,
        Self::Refunded,
        Self::NeedsAttention,
        Self::SettledOffline,
        Self::Abandoned,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Refunded | Self::SettledOffline | Self::Abandoned)
    }

    /// Re-recording the same state is allowed (idempotent retries). The progress states move
    /// forward only; `NeedsAttention` may go back to the step that failed.
    pub fn can_move_to(self, next: RefundState) -> bool {
        use RefundState::*;
        if self == next {
            return true;
        }
        if self.is_terminal() {
            return false;
        }
        match (self, next) {
            (NeedsAttention, _) => true,
            (_, NeedsAttention | SettledOffline | Abandoned) => true,
            (from, to) => to > from && to <= Refunded,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "Requested",
            Self::InsuranceRefunded => "InsuranceRefunded",
            Self::CashRefunded => "CashRefunded",
            Self::Refunded => "Refunded",
            Self::NeedsAttention => "NeedsAttention",
            Self::SettledOffline => "SettledOffline",
            Self::Abandoned => "Abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for RefundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a refund exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ledger", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ledger", sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case"))]
pub enum RefundKind {
    /// The HIS asked (REQ 6.2).
    Patient,
    /// Self-pay succeeded, insurance failed: the self-pay part goes back at once (REQ X-8a).
    Anomaly,
    /// Reconciliation found an over-collection (REQ X-8b).
    OverCollection,
}

impl RefundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Anomaly => "anomaly",
            Self::OverCollection => "over_collection",
        }
    }
}

/// The amount of each component, in fen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmounts {
    /// 基金 — the insurance fund's part.
    pub fund: Money,
    /// 个人账户 — the personal account's part.
    pub psn_acct: Money,
    /// 自费 — the self-pay (cash) part, refunded at the bank.
    pub cash: Money,
}

impl RefundAmounts {
    pub fn insurance(&self) -> Result<Money, crate::MoneyError> {
        self.fund.checked_add(self.psn_acct)
    }

    pub fn total(&self) -> Result<Money, crate::MoneyError> {
        Money::checked_sum([self.fund, self.psn_acct, self.cash])
    }

    /// The 6203 calls that refund these components, by the platform's refdType rules (ALL =
    /// everything that remains, CASH = cash only, HI = no cash): one ALL when the refund takes
    /// everything, else an HI for the insurance parts and a CASH for the cash part.
    pub fn refund_calls(&self, whole_remaining: bool) -> Vec<(RefundType, RefundAmounts)> {
        let hi = !(self.fund.is_zero() && self.psn_acct.is_zero());
        let insurance_only = RefundAmounts { cash: Money::ZERO, ..*self };
        let cash_only = RefundAmounts { fund: Money::ZERO, psn_acct: Money::ZERO, cash: self.cash };
        match (hi, self.cash.is_zero()) {
            (true, false) if whole_remaining => vec![(RefundType::All, *self)],
            (true, false) => vec![(RefundType::Insurance, insurance_only), (RefundType::Cash, cash_only)],
            (true, true) => vec![(RefundType::Insurance, *self)],
            (false, false) => vec![(RefundType::Cash, *self)],
            (false, true) => vec![],
        }
    }
}

/// What a refund workflow starts with. Ids only; the fresh payAuthNo is derived from
/// `auth_code` inside an activity (REQ 6.2 step 3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundInput {
    pub org_code: crate::OrgCode,
    pub med_org_ord: crate::MedOrgOrd,
    /// The HIS refund no. (or `X8A…` / `X8B…` for refunds the product starts itself).
    pub refund_no: crate::RefundNo,
    pub kind: RefundKind,
    pub amounts: RefundAmounts,
    /// A fresh authCode from the channel and the patient's openid (REQ 6.2 step 3); required
    /// when an insurance part is refunded.
    pub auth_code: Option<Secret<String>>,
    pub openid: Option<String>,
    /// The channel that issued `auth_code` (WeChat when absent).
    #[serde(default, skip_serializing_if = "crate::channel::Channel::is_wechat")]
    pub channel: crate::channel::Channel,
    pub reason: Option<String>,
    /// How long a failing step keeps retrying before the refund needs attention.
    pub attention_after_secs: u64,
}

/// An operator's decision on a refund that needs attention, given through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperatorAction {
    /// Try the failed step again now; with a fresh authCode when the last one was refused.
    Retry {
        #[serde(default)]
        auth_code: Option<Secret<String>>,
    },
    /// The money went back outside the product; `reference` names the proof.
    MarkDoneOffline { reference: String },
    /// Give up; the unrefunded amounts become refundable again.
    Abandon { reason: String },
}

/// The refund workflow's view (its `status` query and the API's `workflow` field).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RefundView {
    pub state: Option<RefundState>,
    pub insurance_refund_sn: Option<String>,
    pub bank_refund_serial: Option<crate::BankRefundSerial>,
    pub notified: bool,
    /// Why it needs attention (or how it ended when an operator closed it).
    pub attention: Option<String>,
    /// The notices the HIS acknowledged, by `notice_id` (none when no HIS endpoint is set).
    #[serde(default)]
    pub his_notices: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::RefundState::*;
    use super::*;

    #[test]
    fn terminal_states_never_move_and_progress_only_forward() {
        for t in [Refunded, SettledOffline, Abandoned] {
            for n in RefundState::ALL {
                assert_eq!(t.can_move_to(n), t == n, "{t} -> {n}");
            }
        }
        assert!(Requested.can_move_to(CashRefunded));
        assert!(!CashRefunded.can_move_to(InsuranceRefunded));
        assert!(CashRefunded.can_move_to(NeedsAttention) && NeedsAttention.can_move_to(CashRefunded));
        assert!(NeedsAttention.can_move_to(SettledOffline));
    }

    #[test]
    fn refund_type_follows_the_components() {
        let m = Money::from_fen;
        let a = RefundAmounts { fund: m(1), psn_acct: m(0), cash: m(2) };
        assert_eq!(a.refund_calls(true), vec![(RefundType::All, a)]);
        // A partial refund of both parts: HI for the insurance parts, CASH for the cash.
        assert_eq!(
            a.refund_calls(false),
            vec![
                (RefundType::Insurance, RefundAmounts { cash: m(0), ..a }),
                (RefundType::Cash, RefundAmounts { fund: m(0), psn_acct: m(0), cash: m(2) })
            ]
        );
        let cash = RefundAmounts { fund: m(0), psn_acct: m(0), cash: m(2) };
        assert_eq!(cash.refund_calls(true), vec![(RefundType::Cash, cash)]);
        let hi = RefundAmounts { fund: m(3), psn_acct: m(1), cash: m(0) };
        assert_eq!(hi.refund_calls(false), vec![(RefundType::Insurance, hi)]);
        for s in RefundState::ALL {
            assert_eq!(RefundState::parse(s.as_str()), Some(s));
        }
    }
}
