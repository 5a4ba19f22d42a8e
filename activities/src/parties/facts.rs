//! The onboarding facts (REQ O-5, Appendix A): what the application forms need that the
//! hospital's configuration does not hold — the hospital's and its vendor's contacts, the
//! channel merchant's details, the test persons. One TOML file per hospital, named by the
//! hospital's `onboarding_facts`; an example is `deploy/config/onboarding.example.toml`.
//!
//! The file holds personal data (test persons' ID and phone numbers), so it may be sealed at
//! rest with `medpay secrets seal` like the credentials: it is read for the forms
//! (`medpay onboarding forms`) and for the test persons' openids (the rollout gate's
//! allowlist), never logged, never put in a workflow.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnboardingFacts {
    /// 省份 (A.2), e.g. 四川.
    pub province: Option<String>,
    /// 机构负责人 (A.1).
    pub hospital_head: Option<String>,
    pub vendor: Vendor,
    pub merchant: Merchant,
    pub test_persons: Vec<TestPerson>,
}

/// 机构服务厂商 (A.1): the technical-service vendor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Vendor {
    pub name: Option<String>,
    pub head: Option<String>,
    pub head_id_number: Option<String>,
    pub phone: Option<String>,
}

/// The channel merchant's details for A.2 beyond the bank's credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Merchant {
    /// 服务商户名: the clearing bank as the channels' service provider.
    pub provider_name: Option<String>,
    /// 服务商APPID.
    pub provider_appid: Option<String>,
    /// 接入模式, e.g. 服务商模式.
    pub access_mode: Option<String>,
    /// 联系人名字 / 联系人电话.
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// Alipay's merchant no. (商户号) when the hospital takes Alipay.
    pub alipay_merchant_no: Option<String>,
}

/// 测试人员 (A.3-A.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestPerson {
    pub name: Option<String>,
    pub id_number: Option<String>,
    /// 证件类型; 身份证 when absent.
    pub id_type: Option<String>,
    pub phone: Option<String>,
    /// 参保地代码 / 参保地名称, one per insured place.
    pub insured_places: Vec<InsuredPlace>,
    /// 认证号 (A.4).
    pub auth_no: Option<String>,
    /// The person's openids in the hospital's apps: let in by the rollout gate before `live`.
    pub openids: Vec<String>,
    /// Against the sandbox only: the roster persona this person plays.
    pub persona: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsuredPlace {
    pub code: String,
    pub name: String,
}

impl OnboardingFacts {
    pub fn read(file: &Path) -> Result<Self, String> {
        // Sealed at rest like the credentials (`medpay secrets seal`), or in clear.
        let text = medpay_crypto::sealed::read_secret_file(file)
            .map_err(|e| format!("cannot read onboarding facts {}: {e}", file.display()))?;
        // The parser's message may quote the line: it is not passed on, as the file holds ID numbers.
        toml::from_str(&text).map_err(|e| {
            format!(
                "onboarding facts {} are not valid (at {:?}); see deploy/config/onboarding.example.toml",
                file.display(),
                e.span()
            )
        })
    }

    pub fn test_openids(&self) -> BTreeSet<String> {
        self.test_persons.iter().flat_map(|p| p.openids.iter().cloned()).collect()
    }
}
