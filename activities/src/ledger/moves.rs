//! The moves of a payment the ledger records, each with exactly the facts its step learnt
//! (REQ 6.1 steps 4-13): 6201's order id comes with `Uploaded`, 6202's split with `PreSettled`,
//! the bank's order numbers with `Ordered`, the bank's statuses and the paid time with an
//! outcome. A move cannot carry another step's facts, and a step cannot forget its own.

use super::entities::payment;
use medpay_schemas::payment::PaymentState;
use medpay_schemas::status::OrdStas;
use medpay_schemas::wire::bank::MixedOrderState;
use medpay_schemas::wire::mid_platform::SettlementSplit;
use medpay_schemas::{MixTradeNo, OutTradeNo, PayOrdId, SubMchId};
use sea_orm::Value;
use sea_orm::sea_query::{Expr, Func, SimpleExpr};

#[derive(Clone, Debug, PartialEq)]
pub enum PaymentMove {
    /// Steps 4-5: the person identified.
    Authorised,
    /// Step 6: the mid-platform's order for the uploaded fee details.
    Uploaded { pay_ord_id: PayOrdId },
    /// Step 7: the pre-settlement's split and the platform's order status.
    PreSettled { split: SettlementSplit, ord_stas: OrdStas },
    /// The patient accepted the split.
    Confirmed,
    /// Steps 8-9: the bank's orders. (`sub_mchid`, `mix_trade_no`) is unique across payments.
    Ordered { out_trade_no: OutTradeNo, order: BankOrder },
    /// No final result within the compensating query window (REQ Q-9).
    PendingReconciliation { bank: Option<BankStatuses>, reason: Option<String> },
    /// Paid in full at `at_ms`; `note` says how it was learnt when not the usual way.
    Paid { at_ms: i64, bank: Option<BankStatuses>, note: Option<String> },
    /// Not paid; `reason` is the encoded `PaymentFailure`.
    Failed { bank: Option<BankStatuses>, reason: Option<String> },
    /// Cancelled before ordering.
    Cancelled { reason: Option<String> },
}

/// The bank's mixed order, keyed as callbacks are routed: by sub-merchant and mixed order no.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankOrder {
    pub sub_mchid: SubMchId,
    pub mix_trade_no: MixTradeNo,
}

/// The bank's three statuses of a mixed order, as it last reported them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankStatuses {
    pub mix_pay: String,
    pub self_pay: String,
    pub med_ins_pay: String,
}

impl From<&MixedOrderState> for BankStatuses {
    fn from(s: &MixedOrderState) -> Self {
        Self {
            mix_pay: s.mix_pay_status.code().to_string(),
            self_pay: s.self_pay_status.code().to_string(),
            med_ins_pay: s.med_ins_pay_status.code().to_string(),
        }
    }
}

impl PaymentMove {
    /// The state this move records.
    pub fn state(&self) -> PaymentState {
        match self {
            Self::Authorised => PaymentState::Authorised,
            Self::Uploaded { .. } => PaymentState::Uploaded,
            Self::PreSettled { .. } => PaymentState::PreSettled,
            Self::Confirmed => PaymentState::Confirmed,
            Self::Ordered { .. } => PaymentState::Ordered,
            Self::PendingReconciliation { .. } => PaymentState::PendingReconciliation,
            Self::Paid { .. } => PaymentState::Paid,
            Self::Failed { .. } => PaymentState::Failed,
            Self::Cancelled { .. } => PaymentState::Cancelled,
        }
    }

    /// An outcome as the payment's workflow reports it (a state, the bank's last answer, a
    /// reason); `None` for a state that is not an outcome (a step's state needs its facts).
    pub fn outcome(
        state: PaymentState,
        bank: Option<&MixedOrderState>,
        reason: Option<String>,
        now_ms: i64,
    ) -> Option<Self> {
        let bank = bank.map(BankStatuses::from);
        Some(match state {
            PaymentState::Paid => Self::Paid { at_ms: now_ms, bank, note: reason },
            PaymentState::Failed => Self::Failed { bank, reason },
            PaymentState::PendingReconciliation => Self::PendingReconciliation { bank, reason },
            PaymentState::Cancelled => Self::Cancelled { reason },
            _ => return None,
        })
    }

    pub(super) fn split(&self) -> Option<&SettlementSplit> {
        match self {
            Self::PreSettled { split, .. } => Some(split),
            _ => None,
        }
    }

    pub(super) fn bank_order(&self) -> Option<&BankOrder> {
        match self {
            Self::Ordered { order, .. } => Some(order),
            _ => None,
        }
    }

    /// The columns this move writes besides the state, its time and the version. The paid time
    /// is the first one known: an outcome recorded again (a retried activity, a repeated late
    /// callback) keeps it.
    pub(super) fn columns(self) -> Vec<(payment::Column, SimpleExpr)> {
        self.values()
            .into_iter()
            .map(|(c, v)| match c {
                payment::Column::PaidAtMs => (c, Func::coalesce([Expr::col(c), Expr::value(v)]).into()),
                _ => (c, Expr::value(v)),
            })
            .collect()
    }

    fn values(self) -> Vec<(payment::Column, Value)> {
        use payment::Column as C;
        let text = |v: &str| Value::from(v.to_string());
        let bank_columns = |b: Option<BankStatuses>| {
            b.map(|b| {
                vec![
                    (C::MixPayStatus, text(&b.mix_pay)),
                    (C::SelfPayStatus, text(&b.self_pay)),
                    (C::MedInsPayStatus, text(&b.med_ins_pay)),
                ]
            })
            .unwrap_or_default()
        };
        let reason_column = |r: Option<String>| r.map(|r| (C::FailureReason, Value::from(r)));
        match self {
            Self::Authorised | Self::Confirmed => vec![],
            Self::Uploaded { pay_ord_id } => vec![(C::PayOrdId, text(&pay_ord_id))],
            Self::PreSettled { split, ord_stas } => vec![
                (C::FundFen, split.fund_pay.fen().into()),
                (C::PsnAcctFen, split.psn_acct_pay.fen().into()),
                (C::OwnPayFen, split.own_pay_amt.fen().into()),
                (C::TotalFen, split.fee_sumamt.fen().into()),
                (C::OrdStas, text(ord_stas.code())),
            ],
            Self::Ordered { out_trade_no, order } => vec![
                (C::OutTradeNo, text(&out_trade_no)),
                (C::SubMchid, text(&order.sub_mchid)),
                (C::MixTradeNo, text(&order.mix_trade_no)),
            ],
            Self::PendingReconciliation { bank, reason } | Self::Failed { bank, reason } => {
                bank_columns(bank).into_iter().chain(reason_column(reason)).collect()
            }
            Self::Paid { at_ms, bank, note } => {
                bank_columns(bank).into_iter().chain(reason_column(note)).chain([(C::PaidAtMs, at_ms.into())]).collect()
            }
            Self::Cancelled { reason } => reason_column(reason).into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outcomes_are_made_from_a_bare_state() {
        for state in PaymentState::ALL {
            let made = PaymentMove::outcome(state, None, None, 7);
            let is_outcome = state.is_terminal() || state == PaymentState::PendingReconciliation;
            assert_eq!(made.is_some(), is_outcome, "{state}");
            if let Some(m) = made {
                assert_eq!(m.state(), state);
            }
        }
        let paid = PaymentMove::outcome(PaymentState::Paid, None, None, 7).unwrap();
        let paid_at = paid.values().into_iter().find(|(c, _)| matches!(c, payment::Column::PaidAtMs));
        assert_eq!(paid_at.map(|(_, v)| v), Some(Value::from(7i64)));
    }
}
