//! The custom search attributes operators filter on in the Web UI (registered by
//! `scripts/devstack.sh` and the test dev server). Ids and states only: never personal data.

use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributeUpdate};

pub const ORG_CODE: SearchAttributeKey<String> = SearchAttributeKey::keyword("MedpayOrgCode");
/// The HIS order no.: how an operator finds a payment (and its refunds) from a complaint.
pub const MED_ORG_ORD: SearchAttributeKey<String> = SearchAttributeKey::keyword("MedpayMedOrgOrd");
pub const PAYMENT_STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("MedpayPaymentState");
pub const REFUND_STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("MedpayRefundState");

/// The attributes a payment or refund carries from its first task.
pub fn identity(org_code: &str, med_org_ord: &str) -> [SearchAttributeUpdate; 2] {
    [ORG_CODE.value_set(org_code.to_string()), MED_ORG_ORD.value_set(med_org_ord.to_string())]
}
