//! What the sandbox parties remember: authorisations, mid-platform orders and refunds, bank
//! orders, refunds, notifies and callback attempts. Everything lives in memory behind one
//! mutex (short critical sections, never held across an await) and is kept in the data
//! directory (`books`): a restarted sandbox is the same province, its bank remembers its
//! orders and never issues a number twice, as a real one does.

use medpay_schemas::Money;
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, OrdStas, RefundStatus, SelfPayStatus};
use medpay_schemas::wire::mid_platform::SettlementSplit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthCode {
    pub persona: String,
    pub channel: String,
    pub for_relative: bool,
    pub used: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PayAuth {
    pub psn_no: String,
    pub expires_ms: i64,
    /// The first order that used it; any other order is refused (single use).
    pub bound_order: Option<String>,
    pub for_relative: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MidOrder {
    pub org_code: String,
    pub pay_ord_id: String,
    pub med_org_ord: String,
    pub pay_token: String,
    pub psn_no: String,
    /// Canonical JSON of the 6201 data, to tell a replay from a conflicting re-upload.
    pub upload_fingerprint: String,
    pub total: Money,
    pub use_account: bool,
    pub split: Option<SettlementSplit>,
    pub ord_stas: OrdStas,
    pub settled_ms: Option<i64>,
    pub refunded_fund: Money,
    pub refunded_acct: Money,
    pub refunded_cash: Money,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MidRefund {
    pub app_refd_sn: String,
    pub pay_ord_id: String,
    pub refd_sn: String,
    pub fingerprint: String,
    pub status: RefundStatus,
    /// What an EXP refund turns into when asked again.
    pub resolves_to: RefundStatus,
    pub fund: Money,
    pub acct: Money,
    pub cash: Money,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SelfPayOrder {
    pub org_code: String,
    pub out_trade_no: String,
    pub order_id: String,
    pub total: Money,
    pub status: SelfPayStatus,
    pub created_ms: i64,
    pub paid_ms: Option<i64>,
    pub third_trade_no: Option<String>,
    pub refunded: Money,
    /// Where the bank sends the self-pay notice (`--selfpay-notices`).
    #[serde(default)]
    pub mer_url: String,
    /// The entry the patient paid from (5 app, 7 official account, 8 life account, 9 mini-program).
    #[serde(default)]
    pub access_type: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MixedOrder {
    pub org_code: String,
    pub mix_trade_no: String,
    pub out_trade_no: String,
    pub serial_no: String,
    pub pay_order_id: String,
    pub sub_mchid: String,
    pub fingerprint: String,
    pub callback_url: String,
    pub total: Money,
    pub gov: Money,
    pub own_acct: Money,
    pub other: Money,
    pub cash: Money,
    pub mix_status: MixPayStatus,
    pub self_status: SelfPayStatus,
    pub med_status: MedInsPayStatus,
    pub created_ms: i64,
    pub paid_ms: Option<i64>,
    pub med_ins_fail_reason: Option<String>,
    /// As ordered: the payer pays for a relative; the joint-test flag.
    #[serde(default)]
    pub pay_for_relatives: bool,
    #[serde(default)]
    pub med_ins_test_env: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BankRefund {
    pub outtrx_serial_no: String,
    pub intrx_serial_no: String,
    pub out_trade_no: String,
    pub amount: Money,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefundNotice {
    pub mix_trade_no: String,
    pub out_refund_no: String,
    pub refund_type: String,
    pub cash_refund_fee: Money,
    pub med_refund_total_fee: Money,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallbackAttempt {
    pub mix_trade_no: String,
    pub msg_id: String,
    pub at_ms: i64,
    /// HTTP status, or 0 when the connection failed.
    pub http_status: u16,
    /// The hospital's answer verified as the documented acknowledgement.
    pub acknowledged: bool,
    pub bad_signature: bool,
    pub detail: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub seq: u64,
    /// Ids up to here may have been handed out (see `next_id`); kept in its own file.
    #[serde(skip)]
    pub seq_reserved: u64,
    /// Where `seq_reserved` is kept; `None` for a sandbox without a data directory of its own.
    #[serde(skip)]
    pub seq_file: Option<std::path::PathBuf>,
    pub auth_codes: BTreeMap<String, AuthCode>,
    pub pay_auths: BTreeMap<String, PayAuth>,
    /// sign_no -> the org code it was issued to (9001), each valid beside the others.
    pub sign_nos: BTreeMap<String, String>,
    pub mid_orders: BTreeMap<String, MidOrder>,
    /// (org code, medOrgOrd) -> payOrdId of the live (not revoked) order.
    #[serde(with = "pairs")]
    pub mid_by_med_org_ord: BTreeMap<(String, String), String>,
    pub mid_refunds: BTreeMap<String, MidRefund>,
    pub self_pay_orders: BTreeMap<String, SelfPayOrder>,
    pub mixed_orders: BTreeMap<String, MixedOrder>,
    pub mixed_by_out_trade_no: BTreeMap<String, String>,
    pub bank_refunds: BTreeMap<String, BankRefund>,
    pub refund_notices: Vec<RefundNotice>,
    pub callbacks: Vec<CallbackAttempt>,
    /// Personal-account balances, by psn_no, after the payments made so far.
    pub balances: BTreeMap<String, Money>,
    /// Per-endpoint call counters for deterministic fault shares.
    pub calls: BTreeMap<String, u64>,
}

impl State {
    /// A fresh id with a prefix: "ORD", "MIX", "AUTH", ... (unique within this sandbox run).
    ///
    /// Never repeats, even across a restart after a crash: before a number past the reserved
    /// mark is used, the mark moves 1,000 ahead in its own file (one small write per thousand
    /// ids), and a restart continues after the mark.
    pub fn next_id(&mut self, prefix: &str, now_ms: i64) -> String {
        self.seq += 1;
        if self.seq > self.seq_reserved {
            self.seq_reserved = self.seq + SEQ_BLOCK;
            if let Some(path) = &self.seq_file
                && let Err(e) = crate::disk::write_atomically(path, self.seq_reserved.to_string().as_bytes())
            {
                tracing::error!("cannot keep the id sequence in {}: {e}", path.display());
            }
        }
        format!("{prefix}{}{:06}", crate::clock::compact_date(now_ms), self.seq)
    }
}

/// Ids reserved per write of the sequence file.
const SEQ_BLOCK: u64 = 1_000;

/// A map with tuple keys as a JSON list of `[key, value]` pairs (JSON keys are strings).
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    type Map = BTreeMap<(String, String), String>;

    pub fn serialize<S: Serializer>(m: &Map, s: S) -> Result<S::Ok, S::Error> {
        m.iter().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        Ok(Vec::<((String, String), String)>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_never_repeat_across_a_crash_between_snapshots() {
        let dir = std::env::temp_dir().join(format!("sandbox-seq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let seq_file = dir.join("seq");
        let mut first = State { seq_file: Some(seq_file.clone()), ..Default::default() };
        let issued: Vec<String> = (0..5).map(|_| first.next_id("MIX", 0)).collect();
        // A crash: the books were never written, only the sequence file.
        let mut second =
            State { seq: crate::disk::reserved_seq(&seq_file), seq_file: Some(seq_file), ..Default::default() };
        let next = second.next_id("MIX", 0);
        assert!(!issued.contains(&next), "{next} was issued before the crash: {issued:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_books_round_trip_with_tuple_keys() {
        let mut st = State::default();
        st.mid_by_med_org_ord.insert(("H1".into(), "HIS-1".into()), "ORD1".into());
        st.seq = 7;
        let back: State = serde_json::from_slice(&serde_json::to_vec(&st).unwrap()).unwrap();
        assert_eq!(back.mid_by_med_org_ord, st.mid_by_med_org_ord);
        assert_eq!(back.seq, 7);
    }
}
