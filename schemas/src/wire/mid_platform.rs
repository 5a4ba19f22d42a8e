//! Provincial mobile-payment mid-platform (医保移动支付中台): the `data` payloads of 6201, 6202,
//! 6203, 6301 and 6401 (docs/PROTOCOLS.md §3.3). The envelope around them (appId, encData,
//! signData, ...) is in `medpay-crypto::envelope::mid_platform`. Amounts are yuan with two
//! decimals on this wire; personal data is wrapped in `Secret`.

use crate::ids::{ChrgBchno, MedOrgOrd, OrgCode, PayOrdId, PsnNo};
use crate::money::{Money, yuan};
use crate::secret::Secret;
use crate::status::{OrdStas, RefundStatus, RefundType};
use serde::{Deserialize, Serialize};

/// The operation codes (infno) of the mid-platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MidPlatformOp {
    /// 6201 费用明细上传 — fee-detail upload.
    #[serde(rename = "6201")]
    UploadFeeDetails,
    /// 6202 支付下单 — pay order / pre-settlement.
    #[serde(rename = "6202")]
    PayOrder,
    /// 6203 医保退费 — insurance refund.
    #[serde(rename = "6203")]
    Refund,
    /// 6301 医保订单结算结果查询 — order query.
    #[serde(rename = "6301")]
    QueryOrder,
    /// 6401 费用明细上传撤销 — revoke an upload.
    #[serde(rename = "6401")]
    RevokeUpload,
    /// 退费授权 — a payAuthNo for refunding a settled order's insurance part, issued by the
    /// platform itself (REQ 6.2 step 3: 获取授权 from the core / mid-platform, no patient
    /// action). The standard gives no interface number; the province's name and path are
    /// configuration (`[mid_platform.paths] refund_auth`).
    #[serde(rename = "refund_auth")]
    RefundAuthorisation,
}

impl MidPlatformOp {
    pub const ALL: [MidPlatformOp; 6] = [
        Self::UploadFeeDetails,
        Self::PayOrder,
        Self::Refund,
        Self::QueryOrder,
        Self::RevokeUpload,
        Self::RefundAuthorisation,
    ];

    pub fn infno(self) -> &'static str {
        match self {
            Self::UploadFeeDetails => "6201",
            Self::PayOrder => "6202",
            Self::Refund => "6203",
            Self::QueryOrder => "6301",
            Self::RevokeUpload => "6401",
            Self::RefundAuthorisation => "refund_auth",
        }
    }

    /// Default path, as seen in the Shanxi/Hunan family; Sichuan's is configuration.
    pub fn default_path(self) -> &'static str {
        match self {
            Self::UploadFeeDetails => "/org/local/api/hos/uldFeeInfo",
            Self::PayOrder => "/org/local/api/hos/pay_order",
            Self::Refund => "/org/local/api/hos/refund_Order",
            Self::QueryOrder => "/org/local/api/hos/query_order_info",
            Self::RevokeUpload => "/org/local/api/hos/revoke_order",
            Self::RefundAuthorisation => "/org/local/api/hos/refund_auth",
        }
    }
}

/// One fee line of 6201 (`feedetailList[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeDetail {
    /// Fee line serial within the batch.
    pub feedetl_sn: String,
    pub chrg_bchno: ChrgBchno,
    /// Prescription number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rxno: Option<String>,
    /// yyyy-MM-dd HH:mm:ss
    pub fee_ocur_time: String,
    /// Catalogue code at the insurance side.
    pub med_list_codg: String,
    /// The hospital's own catalogue code.
    pub medins_list_codg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med_list_name: Option<String>,
    #[serde(with = "yuan")]
    pub det_item_fee_sumamt: Money,
    /// Quantity, as decimal text (e.g. "2" or "0.5"): never a float.
    pub cnt: String,
    #[serde(with = "yuan")]
    pub pric: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilg_dept_codg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilg_dept_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilg_dr_codg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bilg_dr_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// 6201 fee-detail upload request (`data`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadFeeDetailsRequest {
    pub org_codg: OrgCode,
    /// Electronic-voucher institution id (电子凭证机构号).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    pub psn_no: PsnNo,
    /// Insurance type (险种), e.g. "310" employee basic medical insurance.
    pub insutype: String,
    /// Insured-area code (参保地), e.g. "510100".
    pub insu_code: String,
    pub id_no: Secret<String>,
    /// "01" resident ID card.
    pub id_type: String,
    pub user_name: Secret<String>,
    pub pay_auth_no: Secret<String>,
    /// The hospital order number: the upload's idempotency key.
    pub med_org_ord: MedOrgOrd,
    pub chrg_bchno: ChrgBchno,
    /// Medical type, e.g. "11" general outpatient, "12" registration, "41" pharmacy.
    pub med_type: String,
    /// yyyy-MM-dd HH:mm:ss
    pub begntime: String,
    #[serde(with = "yuan")]
    pub medfee_sumamt: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atddr_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dr_name: Option<String>,
    /// "lng,lat" of the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uld_latlnt: Option<String>,
    /// "01" fee type.
    pub fee_type: String,
    /// "01" settle by project.
    pub psn_setlway: String,
    /// "1" use the personal account, "0" not.
    pub acct_used_flag: String,
    /// 主诊断编码 / 名称 (the first diagnosis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dise_codg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dise_name: Option<String>,
    /// 诊断信息 (required by the platform for an outpatient visit, medType 11).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diseinfo_list: Vec<DiseInfo>,
    pub feedetail_list: Vec<FeeDetail>,
}

/// One diagnosis of the visit (the national 2201 `diseinfo` fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiseInfo {
    /// "1" western medicine.
    pub diag_type: String,
    /// 1-based order; 1 is the main diagnosis.
    pub diag_srt_no: String,
    /// ICD-10.
    pub diag_code: String,
    pub diag_name: String,
    pub diag_dept: String,
    pub dise_dor_no: String,
    pub dise_dor_name: String,
    /// yyyy-MM-dd HH:mm:ss
    pub diag_time: String,
    /// "1" valid.
    pub vali_flag: String,
}

impl UploadFeeDetailsRequest {
    /// Σ(details) must equal the total; the mid-platform rejects the upload otherwise.
    pub fn details_sum(&self) -> Result<Money, crate::money::MoneyError> {
        Money::checked_sum(self.feedetail_list.iter().map(|d| d.det_item_fee_sumamt))
    }
}

/// 6201 response (`data`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadFeeDetailsResponse {
    pub pay_ord_id: PayOrdId,
    /// A credential for the later calls on this order: stored encrypted, never logged.
    pub pay_token: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdtrt_id: Option<String>,
}

/// 6202 pay order (pre-settlement) request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrderRequest {
    pub pay_auth_no: Secret<String>,
    pub pay_ord_id: PayOrdId,
    pub pay_token: Secret<String>,
    pub org_codg: OrgCode,
    /// = medOrgOrd.
    pub org_biz_ser: MedOrgOrd,
    pub chrg_bchno: ChrgBchno,
    pub fee_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdtrt_id: Option<String>,
    pub acct_used_flag: String,
}

/// The insurance split of a bill, as every pre-settlement and query returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementSplit {
    /// Total of the bill.
    #[serde(with = "yuan")]
    pub fee_sumamt: Money,
    /// Self-pay (cash) part, paid through the channel.
    #[serde(with = "yuan")]
    pub own_pay_amt: Money,
    /// Personal-account (个账) part.
    #[serde(with = "yuan")]
    pub psn_acct_pay: Money,
    /// Fund (统筹 + other funds) part.
    #[serde(with = "yuan")]
    pub fund_pay: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("split does not add up: ownPay {own} + psnAcctPay {acct} + fundPay {fund} != feeSumamt {total}")]
pub struct SplitMismatch {
    pub own: Money,
    pub acct: Money,
    pub fund: Money,
    pub total: Money,
}

impl SettlementSplit {
    /// ownPayAmt + psnAcctPay + fundPay = feeSumamt, with checked arithmetic.
    pub fn check(&self) -> Result<(), SplitMismatch> {
        let mismatch = || SplitMismatch {
            own: self.own_pay_amt,
            acct: self.psn_acct_pay,
            fund: self.fund_pay,
            total: self.fee_sumamt,
        };
        let sum = Money::checked_sum([self.own_pay_amt, self.psn_acct_pay, self.fund_pay]).map_err(|_| mismatch())?;
        let negative = [self.own_pay_amt, self.psn_acct_pay, self.fund_pay].iter().any(|m| m.is_negative());
        if sum != self.fee_sumamt || negative { Err(mismatch()) } else { Ok(()) }
    }

    /// The insurance part (personal account + fund).
    pub fn insurance(&self) -> Result<Money, crate::money::MoneyError> {
        self.psn_acct_pay.checked_add(self.fund_pay)
    }
}

/// 6202 response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrderResponse {
    pub pay_ord_id: PayOrdId,
    pub ord_stas: OrdStas,
    #[serde(flatten)]
    pub split: SettlementSplit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_data: Option<serde_json::Value>,
}

/// An uploaded order and the person it is for, as 6301 (query) and 6401 (revoke) both name it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedOrderRequest {
    pub pay_ord_id: PayOrdId,
    pub org_codg: OrgCode,
    pub pay_token: Secret<String>,
    pub id_no: Secret<String>,
    pub user_name: Secret<String>,
    pub id_type: String,
}

/// 6301 response. While `ordStas` is 0/1/2 the reply may carry only the order id and status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryOrderResponse {
    pub pay_ord_id: PayOrdId,
    pub ord_stas: OrdStas,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med_org_ord: Option<MedOrgOrd>,
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub split: Option<SettlementSplit>,
    /// ALL | CASH | HI
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setl_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_time: Option<String>,
}

/// The refund authorisation request: the settled order and the refund it is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundAuthorisationRequest {
    pub pay_ord_id: PayOrdId,
    pub org_codg: OrgCode,
    pub med_org_ord: MedOrgOrd,
    /// The refund's serial (the 6203 that will use the payAuthNo).
    pub app_refd_sn: crate::ids::AppRefdSn,
}

/// The refund authorisation: a payAuthNo good for that refund's 6203 only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundAuthorisationResponse {
    pub pay_auth_no: Secret<String>,
    /// yyyyMMddHHmmss, when given.
    #[serde(default)]
    pub expire_time: String,
}

/// 6203 insurance refund request. `appRefdSn` is the idempotency key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub pay_ord_id: PayOrdId,
    pub app_refd_sn: crate::ids::AppRefdSn,
    /// yyyyMMddHHmmss
    pub app_refd_time: String,
    #[serde(with = "yuan")]
    pub totl_refd_amt: Money,
    #[serde(with = "yuan")]
    pub cash_refd_amt: Money,
    #[serde(with = "yuan")]
    pub psn_acct_refd_amt: Money,
    #[serde(with = "yuan")]
    pub fund_refd_amt: Money,
    pub refd_type: RefundType,
    pub pay_auth_no: Secret<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_content: Option<String>,
}

/// 6203 response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    /// Centre refund serial.
    pub refd_sn: String,
    pub ref_status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi_fefd_sn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi_trns_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi_trns_time: Option<String>,
}

/// 6301 order query request.
pub type QueryOrderRequest = UploadedOrderRequest;

/// 6401 revoke-upload request.
pub type RevokeUploadRequest = UploadedOrderRequest;

/// 6401 response `data` (often empty; the envelope's `success`/`message` carry the result).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeUploadResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_ord_id: Option<PayOrdId>,
}

/// The envelope's business header of every reply (`code` 0 = ok).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyHeader {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub success: bool,
}

pub use super::codes::mid_platform as codes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_must_add_up() {
        let ok: SettlementSplit =
            serde_json::from_str(r#"{"feeSumamt":"100.00","ownPayAmt":"30.50","psnAcctPay":"19.50","fundPay":50}"#)
                .unwrap();
        ok.check().unwrap();
        assert_eq!(ok.insurance().unwrap().fen(), 6950);
        let bad = SettlementSplit { fund_pay: Money::from_fen(4999), ..ok };
        assert!(bad.check().unwrap_err().to_string().contains("feeSumamt"));
    }

    #[test]
    fn pay_order_response_reads_the_flattened_split_and_status() {
        let r: PayOrderResponse = serde_json::from_str(
            r#"{"payOrdId":"ORD1","ordStas":"1","feeSumamt":"12.30","ownPayAmt":"2.30","psnAcctPay":"0","fundPay":"10.00"}"#,
        )
        .unwrap();
        assert_eq!(r.ord_stas, OrdStas::PreSettled);
        assert_eq!(r.split.own_pay_amt.fen(), 230);
        r.split.check().unwrap();
    }

    #[test]
    fn query_response_tolerates_a_bare_status_reply() {
        let r: QueryOrderResponse = serde_json::from_str(r#"{"payOrdId":"ORD1","ordStas":2}"#).unwrap();
        assert_eq!(r.ord_stas, OrdStas::AwaitingPayment);
        assert!(r.split.is_none());
    }

    #[test]
    fn personal_data_is_not_debug_printed() {
        let r = RevokeUploadRequest {
            pay_ord_id: PayOrdId::parse("ORD1").unwrap(),
            org_codg: OrgCode::parse("H51010500001").unwrap(),
            pay_token: Secret::new("tok-secret".into()),
            id_no: Secret::new("510104199001011234".into()),
            user_name: Secret::new("张三".into()),
            id_type: "01".into(),
        };
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("5101041990") && !dbg.contains("张三") && !dbg.contains("tok-secret"), "{dbg}");
        assert!(serde_json::to_string(&r).unwrap().contains("510104199001011234"));
    }
}
