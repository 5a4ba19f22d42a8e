//! A bank's or the platform's statement file layout (对账文件格式), per hospital and kind: the
//! encoding, the delimiter, where the detail fields are and where the header and trailer carry
//! their control totals. No public layout exists for the Sichuan banks or the mid-platform
//! (docs/PROTOCOLS.md §4.4): the reference is ours and the sandbox's, and a hospital's file
//! overrides what its bank does differently. The parser is `activities::recon::parse`.

use crate::recon::ReconKind;

/// A bank's statement layout for one kind: the file's encoding, the delimiter, where the fields
/// are, and where the header and trailer carry their control totals. Every field defaults to the
/// sandbox's layout (which follows the reference); a hospital's file overrides what its bank does
/// differently (`[statements.selfpay]`, `[statements.insurance]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Layout {
    pub encoding: TextEncoding,
    /// One character; `|` when absent.
    pub delimiter: Option<char>,
    /// Where the detail fields are (0-based); the kind's reference columns when absent.
    pub columns: Option<Columns>,
    /// Where the header and trailer carry the control totals; the reference's when absent.
    pub totals: Option<Totals>,
}

/// The statement file's character encoding (many banks still write GBK).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TextEncoding {
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "gbk")]
    Gbk,
}

/// Detail-line columns (0-based). `amount2` is the insurance file's personal-account part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// How many columns a detail line has.
    pub count: usize,
    pub entry: usize,
    pub order_key: usize,
    pub ref2: usize,
    pub serial: usize,
    pub amount: usize,
    #[serde(default)]
    pub amount2: Option<usize>,
}

/// Control totals: where the header and the trailer give the detail count and the payment and
/// refund sums, and where the trailer gives the SM3 checksum of the detail lines (if it does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub header_lines: usize,
    pub header_payments: usize,
    pub header_refunds: usize,
    pub trailer_lines: usize,
    pub trailer_payments: usize,
    pub trailer_refunds: usize,
    #[serde(default)]
    pub trailer_sm3: Option<usize>,
}

impl Columns {
    /// The reference layout: self-pay `D|date|entry|out_trade_no|mix_trade_no|third_trade_no|
    /// refund serial|amount|fee`, insurance `D|date|entry|payOrdId|medOrgOrd|appRefdSn|fund|
    /// personal account`.
    pub fn reference(kind: ReconKind) -> Self {
        match kind {
            ReconKind::Selfpay => {
                Self { count: 9, entry: 2, order_key: 3, ref2: 4, serial: 6, amount: 7, amount2: None }
            }
            ReconKind::Insurance => {
                Self { count: 8, entry: 2, order_key: 3, ref2: 4, serial: 5, amount: 6, amount2: Some(7) }
            }
        }
    }
}

impl Totals {
    pub const REFERENCE: Totals = Totals {
        header_lines: 4,
        header_payments: 5,
        header_refunds: 6,
        trailer_lines: 1,
        trailer_payments: 2,
        trailer_refunds: 3,
        trailer_sm3: Some(4),
    };
}
