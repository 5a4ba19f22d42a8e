//! The channels' requests built from what the payment knows: Alipay's authorisation query
//! (WeChat's user query is two fields, built by its client).

use super::AlipayClient;
use medpay_schemas::Secret;
use medpay_schemas::wire::channel::AlipayAuthQueryRequest;

/// `ol_biz_type_code` 04107: mobile payment (移动支付), the business the authorisation is for.
pub const MOBILE_PAYMENT: &str = "04107";

/// The authorisation query of `auth_code`, as the hospital's Alipay app; `req_biz_no` is our
/// request's id.
pub fn alipay_auth_query(
    client: &AlipayClient,
    auth_code: &Secret<String>,
    req_biz_no: &str,
) -> AlipayAuthQueryRequest {
    AlipayAuthQueryRequest {
        alipay_user_id: None,
        open_id: None,
        auth_code: auth_code.clone(),
        ol_biz_type_code: MOBILE_PAYMENT.into(),
        org_app_id: client.envelope.app_id.clone(),
        org_chnl_crtf_code: client.org_chnl_crtf_code.clone(),
        org_code: client.org_code.clone(),
        req_biz_no: req_biz_no.into(),
        call_url: None,
    }
}
