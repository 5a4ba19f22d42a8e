//! The moves of a refund the ledger records, each with exactly the facts its step learnt
//! (REQ 6.2 steps 4-6 and the operator's decisions): 6203's serial and status with the insurance
//! part, the bank's serial with the cash part, the operator's note with a closing decision.

use super::entities::refund;
use medpay_schemas::BankRefundSerial;
use medpay_schemas::refund::RefundState;
use medpay_schemas::status::RefundStatus;
use sea_orm::Value;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "move", rename_all = "snake_case")]
pub enum RefundMove {
    /// Step 4 answered: the platform's serial and its status. Succeeded moves the refund on;
    /// anything else (EXP) keeps it `Requested`, to be asked again.
    Insurance { refd_sn: String, status: RefundStatus },
    /// Step 5: the bank refunded the self-pay part under its serial.
    CashRefunded { bank_serial: BankRefundSerial },
    /// Step 6: the channel told through the bank; the refund is done.
    Notified,
    /// A step kept failing, or 6203 stayed EXP: an operator decides, for this reason.
    NeedsAttention { why: String },
    /// The operator's retry: back to the step it stopped at.
    Resumed { at: RefundState },
    /// The operator settled it outside the product (the note carries their reference).
    SettledOffline { note: String },
    /// The operator gave up (the note carries their reason); unrefunded parts are released.
    Abandoned { note: String },
}

impl RefundMove {
    /// The state this move records.
    pub fn state(&self) -> RefundState {
        match self {
            Self::Insurance { status, .. } if *status == RefundStatus::Succeeded => RefundState::InsuranceRefunded,
            Self::Insurance { .. } => RefundState::Requested,
            Self::CashRefunded { .. } => RefundState::CashRefunded,
            Self::Notified => RefundState::Refunded,
            Self::NeedsAttention { .. } => RefundState::NeedsAttention,
            Self::Resumed { at } => *at,
            Self::SettledOffline { .. } => RefundState::SettledOffline,
            Self::Abandoned { .. } => RefundState::Abandoned,
        }
    }

    /// The columns this move writes besides the state, its time and the version.
    pub(super) fn columns(self) -> Vec<(refund::Column, Value)> {
        use refund::Column as C;
        match self {
            Self::Insurance { refd_sn, status } => {
                vec![(C::MidRefdSn, refd_sn.into()), (C::MidStatus, status.code().to_string().into())]
            }
            Self::CashRefunded { bank_serial } => vec![(C::BankIntrxSerial, bank_serial.to_string().into())],
            Self::Notified => vec![(C::Notified, true.into())],
            Self::NeedsAttention { why: note } | Self::SettledOffline { note } | Self::Abandoned { note } => {
                vec![(C::Attention, note.into())]
            }
            Self::Resumed { .. } => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insurance_part_moves_on_only_when_the_platform_says_succeeded() {
        let answered = |status| RefundMove::Insurance { refd_sn: "R1".into(), status }.state();
        assert_eq!(answered(RefundStatus::Succeeded), RefundState::InsuranceRefunded);
        assert_eq!(answered(RefundStatus::Exception), RefundState::Requested);
        let resumed = RefundMove::Resumed { at: RefundState::CashRefunded };
        assert_eq!((resumed.state(), resumed.columns().len()), (RefundState::CashRefunded, 0));
    }
}
