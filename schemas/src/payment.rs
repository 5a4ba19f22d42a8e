//! The payment's lifecycle as the ledger records it, and the only moves allowed between its
//! states: forward only, idempotent, and never out of a terminal state (a late or duplicate
//! status source must not overwrite a settled outcome).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ledger", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ledger", sea_orm(rs_type = "String", db_type = "Text", rename_all = "PascalCase"))]
pub enum PaymentState {
    /// The HIS created the payment.
    Created,
    /// authCode exchanged for a payAuthNo; person identified (REQ 6.1 steps 4-5).
    Authorised,
    /// Fee details uploaded (6201).
    Uploaded,
    /// Pre-settlement known (6202); waiting for the patient's confirmation.
    PreSettled,
    /// The patient confirmed the split.
    Confirmed,
    /// Self-pay and mixed orders placed at the bank; the cashier is open (steps 8-10).
    Ordered,
    /// No result within the compensating query window: settled at reconciliation (REQ Q-9).
    PendingReconciliation,
    /// Paid in full (insurance and self-pay parts).
    Paid,
    /// Not paid: a party refused a step before ordering, or the bank's outcome was a failure.
    Failed,
    /// Cancelled before ordering; the upload was revoked (6401).
    Cancelled,
}

impl PaymentState {
    pub const ALL: [PaymentState; 10] = [
        Self::Created,
        Self::Authorised,
        Self::Uploaded,
        Self::PreSettled,
        Self::Confirmed,
        Self::Ordered,
        Self::PendingReconciliation,
        Self::Paid,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Paid | Self::Failed | Self::Cancelled)
    }

    /// Whether the ledger may record `next` after `self`. Re-recording the same state is allowed
    /// (idempotent retries); everything else moves forward only.
    pub fn can_move_to(self, next: PaymentState) -> bool {
        use PaymentState::*;
        if self == next {
            return true;
        }
        if self.is_terminal() {
            return false;
        }
        match next {
            // Once the bank has the order the patient may pay at any moment: cancelling then
            // could lose a payment, so only the bank's outcome closes it.
            Cancelled => self <= Confirmed,
            Paid => matches!(self, Ordered | PendingReconciliation),
            // Before ordering: a party refused a step (no money can move). After: the bank said so.
            Failed => true,
            PendingReconciliation => self == Ordered,
            forward => forward > self && forward <= Ordered,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Authorised => "Authorised",
            Self::Uploaded => "Uploaded",
            Self::PreSettled => "PreSettled",
            Self::Confirmed => "Confirmed",
            Self::Ordered => "Ordered",
            Self::PendingReconciliation => "PendingReconciliation",
            Self::Paid => "Paid",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentState::{self, *};

    #[test]
    fn terminal_states_never_move() {
        for t in [Paid, Failed, Cancelled] {
            for next in PaymentState::ALL {
                assert_eq!(t.can_move_to(next), next == t, "{t} -> {next}");
            }
        }
    }

    #[test]
    fn forward_only_and_outcomes_only_from_the_bank() {
        assert!(Created.can_move_to(Uploaded));
        assert!(!Uploaded.can_move_to(Authorised));
        assert!(!PreSettled.can_move_to(Paid), "paid needs an order at the bank");
        assert!(Created.can_move_to(Failed), "a refusal before ordering fails the payment");
        assert!(Ordered.can_move_to(Paid) && Ordered.can_move_to(Failed) && Ordered.can_move_to(PendingReconciliation));
        assert!(PendingReconciliation.can_move_to(Paid) && PendingReconciliation.can_move_to(Failed));
        assert!(!PendingReconciliation.can_move_to(Ordered));
        assert!(Confirmed.can_move_to(Cancelled) && !Ordered.can_move_to(Cancelled));
        for s in PaymentState::ALL {
            assert_eq!(PaymentState::parse(s.as_str()), Some(s));
            assert!(s.can_move_to(s));
        }
    }
}

/// The ledger stores each state by its name (`as_str`): the column's values are this list.
#[cfg(all(test, feature = "ledger"))]
mod stored_names {
    use super::PaymentState;
    use crate::refund::{RefundKind, RefundState};
    use sea_orm::ActiveEnum;

    #[test]
    fn the_ledger_stores_the_names_the_rest_of_the_product_reads() {
        for s in PaymentState::ALL {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(PaymentState::try_from_value(&s.as_str().to_string()).ok(), Some(s));
        }
        for s in RefundState::ALL {
            assert_eq!(s.to_value(), s.as_str());
        }
        for k in [RefundKind::Patient, RefundKind::Anomaly, RefundKind::OverCollection] {
            assert_eq!(k.to_value(), k.as_str());
        }
        assert!(PaymentState::try_from_value(&"Bogus".to_string()).is_err());
    }
}
