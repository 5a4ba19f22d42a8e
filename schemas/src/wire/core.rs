//! Provincial insurance core (FSI "两定" baseline): the common envelope, 9001 sign-in and
//! 1101 / `queryPsninfobyZFB` person info (docs/PROTOCOLS.md §2).

use crate::ids::{MsgId, PsnNo};
use crate::money::{Money, yuan};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// The core's one service endpoint (every interface posts here), under the party's base URL.
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// Request envelope shared by every core interface; `input` carries the operation's payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreRequest<T> {
    /// Interface number: "9001", "1101", or the Sichuan mobile-pay name `queryPsninfobyZFB`.
    pub infno: String,
    /// org code (12) + yyyyMMddHHmmss + 4-digit sequence: unique per message.
    pub msgid: MsgId,
    pub mdtrtarea_admvs: String,
    #[serde(default)]
    pub insuplc_admdvs: String,
    pub recer_sys_code: String,
    #[serde(default)]
    pub dev_no: String,
    #[serde(default)]
    pub dev_safe_info: String,
    #[serde(default)]
    pub cainfo: String,
    #[serde(default)]
    pub signtype: String,
    pub infver: String,
    /// 1 staff, 2 kiosk, 3 mobile.
    pub opter_type: String,
    pub opter: String,
    pub opter_name: String,
    /// yyyy-MM-dd HH:mm:ss
    pub inf_time: String,
    pub fixmedins_code: crate::OrgCode,
    pub fixmedins_name: String,
    /// From 9001; empty for 9001 itself.
    #[serde(default)]
    pub sign_no: String,
    pub input: T,
}

/// Response envelope; `infcode` "0" is success.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreResponse<T> {
    pub infcode: String,
    #[serde(default)]
    pub inf_refmsgid: String,
    #[serde(default)]
    pub refmsg_time: String,
    #[serde(default)]
    pub respond_time: String,
    #[serde(default)]
    pub err_msg: Option<String>,
    pub output: Option<T>,
}

/// 9001 input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInInput {
    #[serde(rename = "signIn")]
    pub sign_in: SignInData,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInData {
    pub opter_no: String,
    pub mac: String,
    pub ip: String,
}

/// 9001 output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInOutput {
    pub signinoutb: SignInResult,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInResult {
    pub sign_no: String,
    #[serde(default)]
    pub sign_time: String,
}

/// 1101 / queryPsninfobyZFB input: the e-voucher (payAuthNo) identifies the person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonInfoInput {
    pub data: PersonInfoQuery,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonInfoQuery {
    /// "01" electronic voucher.
    pub mdtrt_cert_type: String,
    /// The payAuthNo (or ecToken in some regions).
    pub mdtrt_cert_no: Secret<String>,
    #[serde(default)]
    pub card_sn: String,
    #[serde(default)]
    pub begntime: String,
    #[serde(default)]
    pub psn_cert_type: String,
    #[serde(default)]
    pub certno: Secret<String>,
    #[serde(default)]
    pub psn_name: Secret<String>,
}

/// 1101 output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonInfoOutput {
    pub baseinfo: PersonBaseInfo,
    #[serde(default)]
    pub insuinfo: Vec<PersonInsurance>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonBaseInfo {
    pub psn_no: PsnNo,
    pub psn_cert_type: String,
    pub certno: Secret<String>,
    pub psn_name: Secret<String>,
    #[serde(default)]
    pub gend: String,
    #[serde(default)]
    pub brdy: Secret<String>,
    /// Some regions return the ecToken here (`exp_content.business_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_content: Option<serde_json::Value>,
}

/// One insurance enrolment of the person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonInsurance {
    /// Insurance type, e.g. "310" employee, "390" resident.
    pub insutype: String,
    /// Insured-area code, e.g. "510100" (Chengdu).
    pub insuplc_admdvs: String,
    #[serde(default)]
    pub psn_type: String,
    /// "1" active.
    #[serde(default)]
    pub psn_insu_stas: String,
    /// Personal-account balance.
    #[serde(with = "yuan", default)]
    pub balc: Money,
    #[serde(default)]
    pub emp_name: String,
}

impl PersonInfoOutput {
    /// The active enrolment of the wanted type, or the first active one.
    pub fn active_insurance(&self, wanted_insutype: Option<&str>) -> Option<&PersonInsurance> {
        let active = self.insuinfo.iter().filter(|i| i.psn_insu_stas == "1" || i.psn_insu_stas.is_empty());
        match wanted_insutype {
            Some(t) => active.into_iter().find(|i| i.insutype == t),
            None => active.into_iter().next(),
        }
    }
}

pub use super::codes::core as codes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_active_enrolment() {
        let out: PersonInfoOutput = serde_json::from_value(serde_json::json!({
            "baseinfo": {"psn_no": "51000000000000000001", "psn_cert_type": "01",
                          "certno": "510104199001011234", "psn_name": "测试"},
            "insuinfo": [
                {"insutype": "390", "insuplc_admdvs": "510100", "psn_insu_stas": "2", "balc": "0"},
                {"insutype": "310", "insuplc_admdvs": "510100", "psn_insu_stas": "1", "balc": "123.45"}
            ]
        }))
        .unwrap();
        let ins = out.active_insurance(None).unwrap();
        assert_eq!(ins.insutype, "310");
        assert_eq!(ins.balc.fen(), 12345);
        assert!(out.active_insurance(Some("390")).is_none());
        assert!(!format!("{out:?}").contains("510104199001011234"));
    }
}
