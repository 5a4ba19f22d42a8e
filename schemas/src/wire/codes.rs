//! The codes medpay sends to each party, named once for the requests the activities build, the
//! simulator checks and its tests rebuild (docs/PROTOCOLS.md §2-4). Each party's wire module
//! re-exports its own as `codes`.

/// The mid-platform codes medpay sends (docs/PROTOCOLS.md §3), named once for the requests the
/// activities build and the simulator's tests rebuild.
pub mod mid_platform {
    /// `idType` 01: the resident identity card (居民身份证).
    pub const ID_TYPE_RESIDENT_ID_CARD: &str = "01";
    /// `feeType` 01: the fee type the platform's interface gives for these payments (§3).
    pub const FEE_TYPE: &str = "01";
    /// `psnSetlway` 01: settlement by item (按项目结算).
    pub const SETTLE_BY_ITEM: &str = "01";
    /// `diag_type` 1: a Western-medicine diagnosis (西医诊断).
    pub const DIAGNOSIS_WESTERN: &str = "1";
    /// `vali_flag` 1: the record is valid (有效).
    pub const VALID: &str = "1";
    /// `cnt` of a bill line that states no quantity: one unit.
    pub const ONE_UNIT: &str = "1";
}

/// The bank gateway's codes medpay sends (docs/PROTOCOLS.md §4), named once for the requests
/// the activities build and the simulator's tests rebuild.
pub mod bank {
    /// `fee_type` of a self-pay order: the only value the gateway documents (§4).
    pub const FEE_TYPE: &str = "001";
    /// `payer_card_type` of a mixed order: the resident identity card.
    pub const PAYER_ID_CARD: &str = "ID_CARD";
    /// `query_type` of the mixed-order query: by the bank's mixed order no. ...
    pub const QUERY_BY_MIX_TRADE_NO: &str = "MIX_TRADE_NO";
    /// ... or by the institution's order no.
    pub const QUERY_BY_OUT_TRADE_NO: &str = "OUT_TRADE_NO";
    /// `refund_type` of a refund notice: the insurance parts only, ...
    pub const REFUND_INSURANCE: &str = "MED_REFUND";
    /// ... the self-pay part only, ...
    pub const REFUND_SELF_PAY: &str = "SELF_REFUND";
    /// ... or both.
    pub const REFUND_MIXED: &str = "MIX_REFUND";
}

/// The provincial core's codes medpay sends (docs/PROTOCOLS.md §2).
pub mod core {
    /// `opter_type` 3: a mobile channel (1 staff, 2 kiosk).
    pub const OPERATOR_MOBILE: &str = "3";
    /// `mdtrt_cert_type` 01: the medical-insurance e-voucher (电子凭证), whose number is the
    /// payAuthNo.
    pub const CERT_E_VOUCHER: &str = "01";
    /// `infver`: the interface version the core speaks.
    pub const INTERFACE_VERSION: &str = "V1.0";
}
