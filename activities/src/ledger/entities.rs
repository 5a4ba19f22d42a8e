//! Ledger rows (sea-orm entities). Kept dumb: the rules live in `ledger::Ledger`.

pub mod payment {
    use sea_orm::entity::prelude::*;

    /// One payment per (org code, HIS order no.), with every party's ids and statuses, the
    /// split in fen and the request fingerprint of the start API. No personal data.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub org_code: medpay_schemas::OrgCode,
        pub med_org_ord: medpay_schemas::MedOrgOrd,
        pub workflow_id: String,
        /// SM3 of the canonical create request: same body -> same payment, other body -> 409.
        pub request_fingerprint: String,
        pub state: medpay_schemas::payment::PaymentState,
        pub total_fen: i64,
        pub fund_fen: Option<i64>,
        pub psn_acct_fen: Option<i64>,
        pub own_pay_fen: Option<i64>,
        pub pay_ord_id: Option<medpay_schemas::PayOrdId>,
        pub ord_stas: Option<String>,
        pub out_trade_no: Option<medpay_schemas::OutTradeNo>,
        pub bank_order_id: Option<String>,
        pub mix_trade_no: Option<medpay_schemas::MixTradeNo>,
        pub sub_mchid: Option<medpay_schemas::SubMchId>,
        pub mix_pay_status: Option<String>,
        pub self_pay_status: Option<String>,
        pub med_ins_pay_status: Option<String>,
        pub failure_reason: Option<String>,
        pub created_at_ms: i64,
        pub updated_at_ms: i64,
        pub paid_at_ms: Option<i64>,
        /// Optimistic concurrency: every update bumps it.
        pub version: i64,
        /// Reserved by accepted refunds (released when one is abandoned); never above the
        /// component paid (database CHECK).
        pub refunded_fund_fen: i64,
        pub refunded_psn_acct_fen: i64,
        pub refunded_cash_fen: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod refund {
    use sea_orm::entity::prelude::*;

    /// One refund per (org code, refund no.), with each party's serials and the amounts per
    /// component. No personal data.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refunds")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub org_code: medpay_schemas::OrgCode,
        pub refund_no: medpay_schemas::RefundNo,
        pub payment_id: i64,
        pub workflow_id: String,
        /// patient, anomaly, over_collection
        pub kind: medpay_schemas::refund::RefundKind,
        pub request_fingerprint: String,
        pub state: medpay_schemas::refund::RefundState,
        pub fund_fen: i64,
        pub psn_acct_fen: i64,
        pub cash_fen: i64,
        /// Our 6203 serial (appRefdSn) and the centre's (refdSn), and 6203's last refStatus.
        pub app_refd_sn: medpay_schemas::AppRefdSn,
        pub mid_refd_sn: Option<String>,
        pub mid_status: Option<String>,
        /// Our bank refund serial (outtrx_serial_no) and the bank's (intrx_serial_no).
        pub bank_serial: String,
        pub bank_intrx_serial: Option<String>,
        pub notified: bool,
        pub reason: Option<String>,
        /// Why it needs attention, or the operator's reference / reason when closed by hand.
        pub attention: Option<String>,
        pub created_at_ms: i64,
        pub updated_at_ms: i64,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payment_event {
    use sea_orm::entity::prelude::*;

    /// Append-only log of every external exchange of a payment: digests, not contents.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub payment_id: i64,
        pub at_ms: i64,
        /// channel, core, mid-platform, bank, his
        pub party: String,
        /// e.g. "6201", "mixed_order", "callback"
        pub operation: String,
        /// SM3 hex of the raw request and response bytes.
        pub request_digest: Option<String>,
        pub response_digest: Option<String>,
        /// Whether the reply's signature verified (None when the party does not sign).
        pub signature_ok: Option<bool>,
        /// ok, rejected:<code>, unavailable, unknown, integrity
        pub outcome: String,
        /// Short, personal-data-free note for operators.
        pub detail: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
