//! Workflow ids, and the numbers medpay derives from an HIS order no., with their prefixes in
//! one place. Operators find work in the Web UI by these ids and the parties keep the derived
//! numbers in their records, so a prefix here is part of the product's contract: changing one
//! is a migration, not a refactor.

use crate::recon::ReconKind;
use crate::{AppRefdSn, ChrgBchno, MedOrgOrd, OutTradeNo, RefundNo};

/// A payment's workflow: one per hospital and HIS order no. (REQ 6.1; the idempotency key of
/// the start API).
pub fn payment(org_code: &str, med_org_ord: &str) -> String {
    format!("pay-{org_code}-{med_org_ord}")
}

/// A refund's workflow: one per hospital and refund no.
pub fn refund(org_code: &str, refund_no: &str) -> String {
    format!("refund-{org_code}-{refund_no}")
}

/// One reconciliation run of a period (`yyyy-MM-dd` or `yyyy-MM`).
pub fn recon(kind: ReconKind, org_code: &str, period: &str) -> String {
    format!("recon-{}-{org_code}-{period}", kind.as_str())
}

/// The workflow a reconciliation schedule starts (it starts the period's run as a child).
pub fn recon_scheduled(kind: ReconKind, org_code: &str) -> String {
    format!("recon-{}-{org_code}-scheduled", kind.as_str())
}

/// The reconciliation schedule of a hospital.
pub fn recon_schedule(kind: ReconKind, org_code: &str) -> String {
    match kind {
        ReconKind::Selfpay => format!("recon-selfpay-daily-{org_code}"),
        ReconKind::Insurance => format!("recon-insurance-monthly-{org_code}"),
    }
}

/// A notice to the HIS after a payment's workflow ended: one per payment and event, so it is
/// sent once whoever asks (it is also the notice's `notice_id`).
pub fn his_notice(org_code: &str, med_org_ord: &str, event: &str) -> String {
    format!("his-{org_code}-{med_org_ord}-{event}")
}

/// REQ X-8a: the refund no. of the self-pay part given back when insurance failed after
/// self-pay.
pub fn anomaly_refund_no(med_org_ord: &MedOrgOrd) -> RefundNo {
    RefundNo::derived("X8A", med_org_ord)
}

/// REQ X-8b: the refund no. of an over-collection reconciliation found, keyed by the statement
/// item: the bank's self-pay part, or (`insurance`) the platform's insurance parts. The item is
/// the statement line's order key, an `OutTradeNo` or `PayOrdId` the statement's parser checked.
pub fn over_collection_refund_no(item: &str, insurance: bool) -> RefundNo {
    RefundNo::derived(if insurance { "X8BI" } else { "X8B" }, item)
}

/// A refund's serial at the mid-platform (`appRefdSn`, 6203's idempotency key): the same refund
/// always sends the same serial, so a retried call is a replay at the party, never a second
/// refund.
pub fn insurance_refund_serial(refund_no: &RefundNo) -> AppRefdSn {
    AppRefdSn::derived("RS", refund_no)
}

/// The serial of the second 6203 of a partial refund of both parts (the cash part, REQ 6.2
/// step 4's refdType rules): the first one's with "C" after it.
pub fn cash_part_serial(first: &AppRefdSn) -> AppRefdSn {
    AppRefdSn::derived("", &format!("{first}C"))
}

/// A refund's serial at the bank (`outtrx_serial_no`), shared by the cash refund and the notice.
pub fn bank_refund_serial(refund_no: &RefundNo) -> String {
    format!("RB{refund_no}")
}

/// The request id of a refund's authorisation at the channel (a fresh authCode exchanged).
pub fn channel_refund_request(refund_no: &RefundNo) -> String {
    format!("RA{refund_no}")
}

/// 收费批次号 (chrgBchno) when the HIS sends none: "CB" + the HIS order no.
pub fn charge_batch_no(med_org_ord: &MedOrgOrd) -> ChrgBchno {
    ChrgBchno::derived("CB", med_org_ord)
}

/// The institution's order no. at the bank (out_trade_no, REQ 6.1 step 9): the self-pay
/// order's ("SP" + HIS order no.), or "MX" + HIS order no. when there is no self-pay part.
pub fn out_trade_no(med_org_ord: &MedOrgOrd, has_self_pay: bool) -> OutTradeNo {
    OutTradeNo::derived(if has_self_pay { "SP" } else { "MX" }, med_org_ord)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefixes are contract: a changed one would orphan running workflows and the
    /// parties' records.
    #[test]
    fn prefixes_are_stable() {
        assert_eq!(payment("H1", "O1"), "pay-H1-O1");
        assert_eq!(refund("H1", "R1"), "refund-H1-R1");
        assert_eq!(recon(ReconKind::Selfpay, "H1", "2026-11-27"), "recon-selfpay-H1-2026-11-27");
        assert_eq!(recon_scheduled(ReconKind::Insurance, "H1"), "recon-insurance-H1-scheduled");
        assert_eq!(recon_schedule(ReconKind::Selfpay, "H1"), "recon-selfpay-daily-H1");
        assert_eq!(recon_schedule(ReconKind::Insurance, "H1"), "recon-insurance-monthly-H1");
        assert_eq!(his_notice("H1", "O1", "payment.settled_late"), "his-H1-O1-payment.settled_late");
        let o1 = MedOrgOrd::parse("O1").unwrap();
        assert_eq!(anomaly_refund_no(&o1), "X8AO1");
        assert_eq!(over_collection_refund_no("S1", false), "X8BS1");
        assert_eq!(over_collection_refund_no("S1", true), "X8BIS1");
        assert_eq!(charge_batch_no(&o1), "CBO1");
        assert_eq!(out_trade_no(&o1, true), "SPO1");
        assert_eq!(out_trade_no(&o1, false), "MXO1");
        let r1 = RefundNo::parse("R1").unwrap();
        assert_eq!(insurance_refund_serial(&r1), "RSR1");
        assert_eq!(cash_part_serial(&insurance_refund_serial(&r1)), "RSR1C");
        assert_eq!((bank_refund_serial(&r1), channel_refund_request(&r1)), ("RBR1".into(), "RAR1".into()));
    }

    /// The class of defect: a number derived from the longest HIS order no. the API accepts
    /// must still be a valid id of its type (before, "CB" / "SP" + a 64-character order no. was
    /// refused by the upload and the order, failing the payment after the patient authorised).
    #[test]
    fn numbers_derived_from_the_longest_ids_are_valid() {
        let longest = MedOrgOrd::parse("9".repeat(MedOrgOrd::MAX_LEN)).unwrap();
        let roundtrip = |s: &str, ok: bool| assert!(ok, "{s} ({} characters) is not a valid id", s.len());
        let x8a = anomaly_refund_no(&longest);
        roundtrip(&x8a, RefundNo::parse(x8a.as_str()).is_ok());
        // A statement's key is a self-pay order's number (itself derived) or the platform's order.
        for (key, insurance) in [(out_trade_no(&longest, true).to_string(), false), ("9".repeat(64), true)] {
            let x8b = over_collection_refund_no(&key, insurance);
            roundtrip(&x8b, RefundNo::parse(x8b.as_str()).is_ok());
        }
        let cb = charge_batch_no(&longest);
        roundtrip(&cb, ChrgBchno::parse(cb.as_str()).is_ok());
        for self_pay in [true, false] {
            let out = out_trade_no(&longest, self_pay);
            roundtrip(&out, OutTradeNo::parse(out.as_str()).is_ok());
        }
        // A refund's serials, of the longest refund no. there is (an X8B one of a self-pay order).
        let x8b = over_collection_refund_no(&out_trade_no(&longest, true), false);
        let second = cash_part_serial(&insurance_refund_serial(&x8b));
        roundtrip(&second, AppRefdSn::parse(second.as_str()).is_ok());
    }
}
