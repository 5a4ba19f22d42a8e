//! Typed identifiers. Each party's ids get their own type so an order number can never be
//! passed where a refund serial is expected. Ids appear in workflow ids and ledger keys, so they
//! are restricted to printable ASCII without separators and never carry personal data.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is invalid: {reason}")]
pub struct IdError {
    pub kind: &'static str,
    pub value: String,
    pub reason: &'static str,
}

fn check(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    let fail = |reason| Err(IdError { kind, value: value.chars().take(80).collect(), reason });
    if value.is_empty() {
        return fail("it is empty");
    }
    if value.len() > max {
        return fail("it is too long");
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        return fail("only ASCII letters, digits, '-', '_' and '.' are allowed");
    }
    Ok(())
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[cfg_attr(feature = "ledger", derive(sea_orm::DeriveValueType))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check(stringify!($name), &value, $max)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A number medpay derives from an id it already checked (`workflow_ids`): a
            /// prefix of ASCII letters on a checked id keeps the charset, and `MAX_LEN` leaves
            /// room for the longest prefix ([`DERIVED_PREFIX_MAX`]) where a type is derived.
            #[allow(dead_code)]
            pub(crate) fn derived(prefix: &'static str, from: &str) -> Self {
                let value = format!("{prefix}{from}");
                debug_assert!(check(stringify!($name), &value, $max).is_ok(), "{value}");
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// A read-only view of the checked text: wherever a `&str` is wanted (a URL, a log
        /// field, a lookup), the id is passed as it is; nothing can change it through the view.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        /// Maps keyed by the id are read with a plain `&str` (ordering and equality are the
        /// text's own).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Room for the prefixes medpay puts before an HIS order no. or a statement key to derive a
/// number of its own (`workflow_ids`): up to two, e.g. `X8B` before the `SP` of a self-pay
/// order's number.
pub const DERIVED_PREFIX_MAX: usize = 8;

/// The longest id an HIS or a party may give us; derived numbers add a prefix to it.
const PARTY_ID_MAX: usize = 64;

/// A number derived from a party's id: room for the id and our prefix.
const DERIVED_ID_MAX: usize = PARTY_ID_MAX + DERIVED_PREFIX_MAX;

/// A refund's serial at a party: a prefix and a suffix on the longest refund no.
const REFUND_SERIAL_MAX: usize = DERIVED_ID_MAX + 4;

typed_id!(
    /// Hospital (定点医药机构) code, `orgCodg` / `fixmedins_code`. Every setting and ledger row is
    /// keyed by it: one deployment may serve many hospitals.
    OrgCode, 32
);
typed_id!(
    /// The HIS order number, `medOrgOrd` at the mid-platform and `serial_no` at the channel.
    /// One payment per HIS order: it is the payment's idempotency key.
    MedOrgOrd, PARTY_ID_MAX
);
typed_id!(
    /// Fee batch number (收费批次号), `chrgBchno`; "CB" + the HIS order no. when the HIS sends
    /// none.
    ChrgBchno, DERIVED_ID_MAX
);
typed_id!(
    /// The mid-platform's order id from 6201 (`payOrdId`, "ORD...").
    PayOrdId, 64
);
typed_id!(
    /// The bank's self-pay (aggregate) order number: our `out_trade_no`, also the institution
    /// order number of the mixed order when a self-pay part exists (REQ 6.1 step 9).
    OutTradeNo, DERIVED_ID_MAX
);
typed_id!(
    /// The bank's own id of a self-pay order (`order_id`).
    BankOrderId, 64
);
typed_id!(
    /// The mixed (insurance + self-pay) order number issued by the bank/channel, `mix_trade_no`.
    MixTradeNo, 64
);
typed_id!(
    /// The HIS refund number; the refund's idempotency key. The refunds medpay starts itself
    /// carry a derived one (`X8A` + HIS order no., `X8B`/`X8BI` + statement key), hence the room
    /// beyond the HIS's 64 (the API still holds the HIS's own to [`RefundNo::HIS_MAX_LEN`]).
    RefundNo, DERIVED_ID_MAX
);
typed_id!(
    /// Our refund serial at the mid-platform (`appRefdSn`), the 6203 idempotency key: "RS" + the
    /// refund no., and "C" after it for the second call of a partial mixed refund.
    AppRefdSn, REFUND_SERIAL_MAX
);
typed_id!(
    /// The bank's refund serial (`intrx_serial_no`), shared by the cash refund and the notify.
    BankRefundSerial, 64
);
typed_id!(
    /// The bank merchant's channel sub-merchant id (`sub_mchid`); callbacks are routed by it.
    SubMchId, 32
);
typed_id!(
    /// Insured person number at the core (`psn_no`). Not a national id number, but still personal:
    /// it stays out of logs and workflow ids.
    PsnNo, 64
);
typed_id!(
    /// Gateway message id (`msg_id` at the bank, `msgid` at the core): unique per call.
    MsgId, 64
);

impl RefundNo {
    /// The longest refund no. an HIS may send (the room beyond it is for derived numbers).
    pub const HIS_MAX_LEN: usize = PARTY_ID_MAX;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids_and_rejects_the_rest() {
        assert_eq!(MedOrgOrd::parse("HIS20261126-0001").unwrap().as_str(), "HIS20261126-0001");
        assert!(MedOrgOrd::parse("").is_err());
        assert!(MedOrgOrd::parse("a b").is_err());
        assert!(MedOrgOrd::parse("订单1").is_err());
        assert!(MedOrgOrd::parse("x".repeat(65)).is_err());
        let e = OrgCode::parse("H51/0").unwrap_err();
        assert!(e.to_string().contains("OrgCode"), "{e}");
    }

    #[test]
    fn serde_validates() {
        let ok: PayOrdId = serde_json::from_str("\"ORD510100202611260001\"").unwrap();
        assert_eq!(format!("{ok:?}"), "PayOrdId(ORD510100202611260001)");
        assert!(serde_json::from_str::<PayOrdId>("\"bad id\"").is_err());
    }
}
