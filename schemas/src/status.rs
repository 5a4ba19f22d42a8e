//! Every party's status codes. Unknown codes are kept as a non-final `Unknown(code)` instead of
//! failing to parse: a province or bank adding a code must never make us drop a message or guess
//! an outcome (docs/PROTOCOLS.md §3.4, §5).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! coded_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal, final: $final:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A code this build does not know. Never final: it is investigated, not guessed.
            Unknown(String),
        }

        impl $name {
            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => Self::$variant,)*
                    other => Self::Unknown(other.to_string()),
                }
            }

            pub fn code(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Unknown(c) => c,
                }
            }

            /// Final states never change again; unknown codes are not final.
            pub fn is_final(&self) -> bool {
                match self {
                    $(Self::$variant => $final,)*
                    Self::Unknown(_) => false,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::from_code(&code_text(d)?))
            }
        }
    };
}

/// Codes arrive as strings ("1") or numbers (1) depending on the party's serializer.
fn code_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected a status code, got {other}"))),
    }
}

coded_enum!(
    /// Mid-platform order status `ordStas` (docs/PROTOCOLS.md §3.4). "Final" here means the
    /// settlement outcome is decided; refunds may still follow a settled order.
    OrdStas {
        /// 已保存
        Saved = "0", final: false;
        /// 预结算完成
        PreSettled = "1", final: false;
        /// 待支付 / 结算中
        AwaitingPayment = "2", final: false;
        /// 自费完成
        SelfPayDone = "3", final: true;
        /// 医保支付完成
        InsurancePaid = "4", final: true;
        /// 院内结算完成
        HospitalSettled = "5", final: true;
        /// 结算完成
        Settled = "6", final: true;
        /// 已退款
        Refunded = "7", final: true;
        /// 已医保全部退款
        InsuranceFullyRefunded = "8", final: true;
        /// 仅自费全部退款
        SelfPayOnlyFullyRefunded = "9", final: true;
        /// 仅自费部分退款
        SelfPayOnlyPartlyRefunded = "10", final: true;
        /// 医保全部退自费部分退款
        InsuranceFullSelfPayPartRefunded = "11", final: true;
        /// 已撤销
        Revoked = "12", final: true;
        /// 医保已撤销
        InsuranceRevoked = "13", final: true;
        /// 异常 — needs investigation, so not final.
        Abnormal = "14", final: false;
        /// 结算失败
        SettlementFailed = "15", final: true;
        /// 医保结算失败自费冲正失败 — self-pay still held, needs a refund: not final.
        SettlementFailedReversalFailed = "16", final: false;
        /// 退款中
        Refunding = "17", final: false;
    }
);

/// What a payment engine does with an `ordStas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrdStasClass {
    Processing,
    Settled,
    RefundedOrCancelled,
    Failed,
    Unknown,
}

impl OrdStas {
    pub fn class(&self) -> OrdStasClass {
        use OrdStas::*;
        match self {
            Saved | PreSettled | AwaitingPayment | Refunding => OrdStasClass::Processing,
            SelfPayDone | InsurancePaid | HospitalSettled | Settled => OrdStasClass::Settled,
            Refunded
            | InsuranceFullyRefunded
            | SelfPayOnlyFullyRefunded
            | SelfPayOnlyPartlyRefunded
            | InsuranceFullSelfPayPartRefunded
            | Revoked
            | InsuranceRevoked => OrdStasClass::RefundedOrCancelled,
            Abnormal | SettlementFailed | SettlementFailedReversalFailed => OrdStasClass::Failed,
            Unknown(_) => OrdStasClass::Unknown,
        }
    }
}

coded_enum!(
    /// Mixed-order status at the bank/channel (`mix_pay_status`).
    MixPayStatus {
        Created = "MIX_PAY_CREATED", final: false;
        UserPaying = "MIX_PAY_USER_PAYING", final: false;
        Success = "MIX_PAY_SUCCESS", final: true;
        Fail = "MIX_PAY_FAIL", final: true;
        Reversed = "MIX_PAY_REVERSED", final: true;
        Refund = "MIX_PAY_REFUND", final: true;
    }
);

coded_enum!(
    /// Self-pay (cash) part status (`self_pay_status`).
    SelfPayStatus {
        Created = "SELF_PAY_CREATED", final: false;
        Success = "SELF_PAY_SUCCESS", final: true;
        Fail = "SELF_PAY_FAIL", final: true;
        Refund = "SELF_PAY_REFUND", final: true;
        NoSelfPay = "NO_SELF_PAY", final: true;
    }
);

coded_enum!(
    /// Insurance part status (`med_ins_pay_status`).
    MedInsPayStatus {
        Created = "MED_INS_PAY_CREATED", final: false;
        Success = "MED_INS_PAY_SUCCESS", final: true;
        Fail = "MED_INS_PAY_FAIL", final: true;
        Refund = "MED_INS_PAY_REFUND", final: true;
        NoMedInsPay = "NO_MED_INS_PAY", final: true;
    }
);

coded_enum!(
    /// 6203 insurance refund result `refStatus`. EXP needs a query or a person (REQ 6.2, §3.3).
    RefundStatus {
        Succeeded = "SUCC", final: true;
        Failed = "FAIL", final: true;
        Exception = "EXP", final: false;
    }
);

coded_enum!(
    /// 6203 refund type `refdType`.
    RefundType {
        /// Every component.
        All = "ALL", final: true;
        /// Cash (self-pay) only.
        Cash = "CASH", final: true;
        /// Insurance only.
        Insurance = "HI", final: true;
    }
);

coded_enum!(
    /// Mixed-order type (`mix_pay_type`).
    MixPayType {
        CashOnly = "CASH_ONLY", final: true;
        InsuranceOnly = "INSURANCE_ONLY", final: true;
        CashAndInsurance = "CASH_AND_INSURANCE", final: true;
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ord_stas_parses_strings_numbers_and_unknown_codes() {
        let s: OrdStas = serde_json::from_str("\"6\"").unwrap();
        assert_eq!(s, OrdStas::Settled);
        let n: OrdStas = serde_json::from_str("4").unwrap();
        assert_eq!(n, OrdStas::InsurancePaid);
        let u: OrdStas = serde_json::from_str("21").unwrap();
        assert_eq!(u, OrdStas::Unknown("21".into()));
        assert!(!u.is_final());
        assert_eq!(u.class(), OrdStasClass::Unknown);
        assert_eq!(serde_json::to_string(&OrdStas::Refunding).unwrap(), "\"17\"");
    }

    #[test]
    fn every_known_ord_stas_round_trips() {
        for code in 0..=17 {
            let s = OrdStas::from_code(&code.to_string());
            assert!(!matches!(s, OrdStas::Unknown(_)), "{code} should be known");
            assert_eq!(s.code(), code.to_string());
        }
    }

    #[test]
    fn channel_statuses_keep_unknown_codes_non_final() {
        let m: MixPayStatus = serde_json::from_str("\"MIX_PAY_SOMETHING_NEW\"").unwrap();
        assert!(!m.is_final());
        assert!(MixPayStatus::Success.is_final());
        assert!(!RefundStatus::Exception.is_final());
        assert!(serde_json::from_str::<RefundStatus>("null").is_err());
    }
}
