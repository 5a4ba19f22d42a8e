//! The channel adapters: the patient's authorisation in WeChat or Alipay exchanged for the
//! payAuthNo the insurance parties accept (REQ 6.1 step 4, REQ 6.2 step 3).

mod alipay;
pub mod transformers;
mod wechat;

pub use alipay::AlipayClient;
pub use wechat::WechatClient;

const PARTY: &str = "channel";
