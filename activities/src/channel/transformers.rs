//! The channels' requests built from what the payment knows: Alipay's authorisation query
//! (WeChat's user query is two fields, built by its client).

use medpay_schemas::wire::channel::AlipayAuthQueryRequest;
use medpay_schemas::{OrgCode, Secret};

/// `ol_biz_type_code` 04107: mobile payment (移动支付), the business the authorisation is for.
pub const MOBILE_PAYMENT: &str = "04107";

/// The hospital's app at Alipay's open platform, as its authorisation queries name it.
pub struct AlipayApp<'a> {
    pub app_id: &'a str,
    pub org_code: &'a OrgCode,
    /// 机构渠道认证编码: the hospital's certification code at the channel.
    pub org_chnl_crtf_code: &'a str,
}

/// The authorisation query of `auth_code`, as the hospital's Alipay app; `req_biz_no` is our
/// request's id.
pub fn alipay_auth_query(app: &AlipayApp<'_>, auth_code: &Secret<String>, req_biz_no: &str) -> AlipayAuthQueryRequest {
    AlipayAuthQueryRequest {
        alipay_user_id: None,
        open_id: None,
        auth_code: auth_code.clone(),
        ol_biz_type_code: MOBILE_PAYMENT.into(),
        org_app_id: app.app_id.into(),
        org_chnl_crtf_code: app.org_chnl_crtf_code.into(),
        org_code: app.org_code.clone(),
        req_biz_no: req_biz_no.into(),
        call_url: None,
    }
}
