//! How far a payment has come, as the inputs of its activities: each step takes the stage it
//! needs (the upload an identified payment, the bank order a pre-settled one), so a missing
//! identity or upload is a type error in the workflow rather than a check in every activity.
//! Personal data travels inside `Identity`'s `Secret`s, encrypted by the payload codec.

use medpay_schemas::payment_flow::{Cashier, Identity, PaymentRequest, Uploaded};
use medpay_schemas::wire::mid_platform::SettlementSplit;
use serde::{Deserialize, Serialize};

/// Before step 4: the HIS's request, and when the HIS created the payment (the time fee
/// details and orders are stamped with: the parties are idempotent on identical content only).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Started {
    pub request: PaymentRequest,
    pub created_at_ms: i64,
}

/// After step 5: the insured person, from the channel's authorisation and the core.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Identified {
    pub request: PaymentRequest,
    pub created_at_ms: i64,
    pub identity: Identity,
}

/// After step 6: the mid-platform holds the bill (6201).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BillUploaded {
    pub request: PaymentRequest,
    pub created_at_ms: i64,
    pub identity: Identity,
    pub uploaded: Uploaded,
}

/// After step 7: the split between fund, personal account and self-pay (6202).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PreSettled {
    pub request: PaymentRequest,
    pub created_at_ms: i64,
    pub identity: Identity,
    pub uploaded: Uploaded,
    pub split: SettlementSplit,
}

/// After steps 8-9: the bank's orders, what the HIS front-end opens the cashier with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ordered {
    pub request: PaymentRequest,
    pub created_at_ms: i64,
    pub identity: Identity,
    pub uploaded: Uploaded,
    pub split: SettlementSplit,
    pub cashier: Cashier,
}

impl Started {
    pub fn identified(self, identity: Identity) -> Identified {
        Identified { request: self.request, created_at_ms: self.created_at_ms, identity }
    }
}

impl Identified {
    pub fn uploaded(self, uploaded: Uploaded) -> BillUploaded {
        BillUploaded { request: self.request, created_at_ms: self.created_at_ms, identity: self.identity, uploaded }
    }
}

impl BillUploaded {
    pub fn pre_settled(self, split: SettlementSplit) -> PreSettled {
        PreSettled {
            request: self.request,
            created_at_ms: self.created_at_ms,
            identity: self.identity,
            uploaded: self.uploaded,
            split,
        }
    }
}

impl PreSettled {
    /// The upload alone, for revoking it (6401).
    pub fn bill(&self) -> BillUploaded {
        BillUploaded {
            request: self.request.clone(),
            created_at_ms: self.created_at_ms,
            identity: self.identity.clone(),
            uploaded: self.uploaded.clone(),
        }
    }

    pub fn ordered(self, cashier: Cashier) -> Ordered {
        Ordered {
            request: self.request,
            created_at_ms: self.created_at_ms,
            identity: self.identity,
            uploaded: self.uploaded,
            split: self.split,
            cashier,
        }
    }
}
