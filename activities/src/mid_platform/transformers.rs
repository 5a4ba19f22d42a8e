//! The mid-platform's requests built from the payment's and the refund's domain values (REQ 6.1
//! steps 6-7 and the day's close, REQ 6.2 steps 3-4): what each field of 6201, 6202, 6301, 6401,
//! the refund authorisation and 6203 is filled with, and the party's codes
//! by name (`wire::mid_platform::codes`). The payment's activities send them; the simulator's
//! tests send the same ones, so both sides are tried against one construction.

use medpay_schemas::payment_flow::{Identity, PaymentRequest, Uploaded};
use medpay_schemas::refund::{RefundAmounts, RefundInput};
use medpay_schemas::status::RefundType;
use medpay_schemas::time::BeijingTime;
use medpay_schemas::wire::mid_platform::codes;
use medpay_schemas::wire::mid_platform::{
    DiseInfo, FeeDetail, PayOrderRequest, RefundAuthorisationRequest, RefundRequest, UploadFeeDetailsRequest,
    UploadedOrderRequest,
};
use medpay_schemas::{AppRefdSn, ChrgBchno, IdError, Money, MoneyError, PayOrdId, Secret};

/// What cannot become a request: the bill's own data, found wanting. Never the party's fault.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("the bill's charge batch no.: {0}")]
    ChargeBatch(#[from] IdError),
    #[error("the bill's total: {0}")]
    Total(#[from] MoneyError),
}

/// 6201: the bill's fee details for the person the core identified.
pub struct FeeUpload<'a> {
    pub request: &'a PaymentRequest,
    pub identity: &'a Identity,
    /// The payment's creation: the visit's start when the HIS gave none (the platform is
    /// idempotent on identical content, so a retry must send the same time).
    pub created_at_ms: i64,
}

/// 收费批次号: the HIS's own, or "CB" + the HIS order no.
pub fn charge_batch(request: &PaymentRequest) -> Result<ChrgBchno, IdError> {
    match request.visit.as_ref().and_then(|v| v.charge_batch_no.clone()) {
        Some(c) => ChrgBchno::parse(c),
        None => Ok(medpay_schemas::workflow_ids::charge_batch_no(&request.med_org_ord)),
    }
}

fn flag(yes: bool) -> String {
    if yes { "1" } else { "0" }.into()
}

impl TryFrom<FeeUpload<'_>> for UploadFeeDetailsRequest {
    type Error = TransformError;

    fn try_from(u: FeeUpload<'_>) -> Result<Self, TransformError> {
        let (r, id) = (u.request, u.identity);
        let visit = r.visit.clone().unwrap_or_default();
        let chrg = charge_batch(r)?;
        let begntime = visit.begin_time.clone().unwrap_or_else(|| BeijingTime::of(u.created_at_ms).dashed());
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let diagnoses = visit.diagnoses.iter().enumerate().map(|(i, d)| DiseInfo {
            diag_type: codes::DIAGNOSIS_WESTERN.into(),
            diag_srt_no: (i + 1).to_string(),
            diag_code: d.code.clone(),
            diag_name: d.name.clone(),
            diag_dept: visit.dept_name.clone(),
            dise_dor_no: visit.doctor_code.clone(),
            dise_dor_name: visit.doctor_name.clone(),
            diag_time: begntime.clone(),
            vali_flag: codes::VALID.into(),
        });
        let details = r.lines.iter().enumerate().map(|(i, l)| FeeDetail {
            feedetl_sn: (i + 1).to_string(),
            chrg_bchno: chrg.clone(),
            rxno: l.rx_no.clone(),
            fee_ocur_time: l.fee_time.clone().unwrap_or_else(|| begntime.clone()),
            // A line of a request accepted before the API required its details (a payment in
            // flight across the upgrade): one unit, the hospital's code, as then.
            med_list_codg: if l.catalogue_code.is_empty() { l.code.clone() } else { l.catalogue_code.clone() },
            medins_list_codg: l.code.clone(),
            med_list_name: Some(l.name.clone()),
            det_item_fee_sumamt: Money::from_fen(l.amount_fen),
            cnt: if l.quantity.is_empty() { codes::ONE_UNIT.into() } else { l.quantity.clone() },
            pric: Money::from_fen(l.unit_price_fen.unwrap_or(l.amount_fen)),
            bilg_dept_codg: some(&visit.dept_code),
            bilg_dept_name: some(&visit.dept_name),
            bilg_dr_codg: some(&visit.doctor_code),
            bilg_dr_name: some(&visit.doctor_name),
            med_type: None,
            memo: None,
        });
        Ok(UploadFeeDetailsRequest {
            org_codg: r.org_code.clone(),
            org_id: None,
            psn_no: id.psn_no.clone(),
            insutype: id.insutype.clone(),
            insu_code: id.insu_code.clone(),
            id_no: id.id_no.clone(),
            id_type: codes::ID_TYPE_RESIDENT_ID_CARD.into(),
            user_name: id.name.clone(),
            pay_auth_no: id.pay_auth_no.clone(),
            med_org_ord: r.med_org_ord.clone(),
            chrg_bchno: chrg.clone(),
            med_type: visit.med_type.clone().unwrap_or_else(|| r.scene.med_type().into()),
            begntime: begntime.clone(),
            medfee_sumamt: r.total()?,
            dept_code: some(&visit.dept_code),
            dept_name: some(&visit.dept_name),
            atddr_no: some(&visit.doctor_code),
            dr_name: some(&visit.doctor_name),
            uld_latlnt: None,
            fee_type: codes::FEE_TYPE.into(),
            psn_setlway: codes::SETTLE_BY_ITEM.into(),
            acct_used_flag: flag(r.use_personal_account),
            dise_codg: visit.diagnoses.first().map(|d| d.code.clone()),
            dise_name: visit.diagnoses.first().map(|d| d.name.clone()),
            diseinfo_list: diagnoses.collect(),
            feedetail_list: details.collect(),
        })
    }
}

/// 6202 and 6301: the uploaded order of the identified person.
pub struct UploadedOrder<'a> {
    pub request: &'a PaymentRequest,
    pub identity: &'a Identity,
    pub uploaded: &'a Uploaded,
}

impl TryFrom<UploadedOrder<'_>> for PayOrderRequest {
    type Error = TransformError;

    fn try_from(o: UploadedOrder<'_>) -> Result<Self, TransformError> {
        Ok(PayOrderRequest {
            pay_auth_no: o.identity.pay_auth_no.clone(),
            pay_ord_id: o.uploaded.pay_ord_id.clone(),
            pay_token: o.uploaded.pay_token.clone(),
            org_codg: o.request.org_code.clone(),
            org_biz_ser: o.request.med_org_ord.clone(),
            chrg_bchno: charge_batch(o.request)?,
            fee_type: codes::FEE_TYPE.into(),
            mdtrt_id: None,
            acct_used_flag: flag(o.request.use_personal_account),
        })
    }
}

/// 6301 (the order's status) and 6401 (the upload withdrawn: the patient never confirmed, or
/// the HIS cancelled) name the order alike.
impl From<UploadedOrder<'_>> for UploadedOrderRequest {
    fn from(o: UploadedOrder<'_>) -> Self {
        UploadedOrderRequest {
            pay_ord_id: o.uploaded.pay_ord_id.clone(),
            org_codg: o.request.org_code.clone(),
            pay_token: o.uploaded.pay_token.clone(),
            id_no: o.identity.id_no.clone(),
            user_name: o.identity.name.clone(),
            id_type: codes::ID_TYPE_RESIDENT_ID_CARD.into(),
        }
    }
}

/// REQ 6.2 step 3: the platform's authorisation of one refund's 6203, under its serial.
pub fn refund_authorisation(refund: &RefundInput, pay_ord_id: &PayOrdId, sn: AppRefdSn) -> RefundAuthorisationRequest {
    RefundAuthorisationRequest {
        pay_ord_id: pay_ord_id.clone(),
        org_codg: refund.org_code.clone(),
        med_org_ord: refund.med_org_ord.clone(),
        app_refd_sn: sn,
    }
}

/// REQ 6.2 step 4: one 6203 call — the components it returns under its refund type, with a
/// payAuthNo for this call only.
pub struct InsuranceRefund<'a> {
    pub pay_ord_id: &'a PayOrdId,
    pub sn: AppRefdSn,
    pub refd_type: RefundType,
    pub amounts: RefundAmounts,
    pub pay_auth_no: Secret<String>,
    pub at_ms: i64,
}

impl TryFrom<InsuranceRefund<'_>> for RefundRequest {
    type Error = MoneyError;

    fn try_from(r: InsuranceRefund<'_>) -> Result<Self, MoneyError> {
        Ok(RefundRequest {
            pay_ord_id: r.pay_ord_id.clone(),
            app_refd_sn: r.sn,
            app_refd_time: BeijingTime::of(r.at_ms).compact(),
            totl_refd_amt: r.amounts.total()?,
            cash_refd_amt: r.amounts.cash,
            psn_acct_refd_amt: r.amounts.psn_acct,
            fund_refd_amt: r.amounts.fund,
            refd_type: r.refd_type,
            pay_auth_no: r.pay_auth_no,
            exp_content: None,
        })
    }
}
