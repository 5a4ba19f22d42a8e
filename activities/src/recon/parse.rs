//! The statement file parser: streams a file line by line (memory stays flat however large it
//! is), checks the header and trailer totals and the SM3 checksum of the detail lines, and hands
//! each detail line to a sink. A malformed line is rejected with its line number and reason and
//! the rest of the file is still read. The default layout is the sandbox's (see
//! `medpay_sandbox::statements`); the delimiter is configurable per bank.

use medpay_schemas::recon::{Loaded, ReconKind};
use std::io::BufRead;

/// One detail line, normalised across kinds: for self-pay `order_key` is the institution order
/// no. (`out_trade_no`), `ref2` the mixed order no., `serial` the bank refund serial and
/// `amount` the cash; for insurance `order_key` is `payOrdId`, `ref2` the HIS order no.,
/// `serial` the `appRefdSn`, `amount` the fund part and `amount2` the personal account part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailLine {
    pub line_no: u64,
    pub entry: Entry,
    pub order_key: String,
    pub ref2: String,
    pub serial: String,
    pub amount_fen: i64,
    pub amount2_fen: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Payment,
    Refund,
}

impl Entry {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "PAYMENT",
            Self::Refund => "REFUND",
        }
    }
}

/// The bank's file layout. Columns are the sandbox's; banks differ mostly in the delimiter.
#[derive(Clone, Debug)]
pub struct Layout {
    pub delimiter: char,
}

impl Default for Layout {
    fn default() -> Self {
        Self { delimiter: '|' }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("statement {0}: cannot read: {1}")]
    Io(String, std::io::Error),
    #[error("statement {0}: {1}")]
    Structure(String, String),
}

/// A rejected detail line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line_no: u64,
    pub reason: String,
}

fn amount(s: &str, what: &str) -> Result<i64, String> {
    s.trim().parse::<i64>().map_err(|_| format!("{what} {s:?} is not an integer amount in fen"))
}

fn detail(kind: ReconKind, cols: &[&str], line_no: u64) -> Result<DetailLine, String> {
    let entry = match cols.get(2).copied() {
        Some("PAYMENT") => Entry::Payment,
        Some("REFUND") => Entry::Refund,
        other => return Err(format!("entry {other:?} is neither PAYMENT nor REFUND")),
    };
    let get = |i: usize| cols.get(i).map(|s| s.trim().to_string()).ok_or_else(|| format!("missing column {}", i + 1));
    let line = match kind {
        // D|date|entry|out_trade_no|mix_trade_no|third_trade_no|refund serial|amount|fee
        ReconKind::Selfpay => {
            if cols.len() != 9 {
                return Err(format!("{} columns, expected 9", cols.len()));
            }
            DetailLine { line_no, entry, order_key: get(3)?, ref2: get(4)?, serial: get(6)?, amount_fen: amount(cols[7], "amount")?, amount2_fen: 0 }
        }
        // D|date|entry|payOrdId|medOrgOrd|appRefdSn|fund|personal account
        ReconKind::Insurance => {
            if cols.len() != 8 {
                return Err(format!("{} columns, expected 8", cols.len()));
            }
            DetailLine { line_no, entry, order_key: get(3)?, ref2: get(4)?, serial: get(5)?, amount_fen: amount(cols[6], "fund")?, amount2_fen: amount(cols[7], "personal account")? }
        }
    };
    if line.order_key.is_empty() {
        return Err("empty order key".into());
    }
    if line.amount_fen < 0 || line.amount2_fen < 0 {
        return Err("negative amount".into());
    }
    Ok(line)
}

/// Streams `reader` into `sink` (accepted lines) and `reject` (bad lines); returns the counts
/// and any disagreement with the header, the trailer or the checksum.
pub fn parse(
    name: &str,
    kind: ReconKind,
    layout: &Layout,
    reader: impl BufRead,
    mut sink: impl FnMut(DetailLine) -> Result<(), String>,
    mut reject: impl FnMut(Rejected),
) -> Result<Loaded, ParseError> {
    let mut loaded = Loaded::default();
    let mut digest = medpay_crypto::sm3::Sm3Stream::default();
    let mut first_detail = true;
    let (mut header, mut trailer): (Option<Vec<String>>, Option<Vec<String>>) = (None, None);
    let (mut payments, mut refunds) = (0i64, 0i64);
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| ParseError::Io(name.into(), e))?;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(layout.delimiter).collect();
        match cols[0] {
            "H" if header.is_none() && line_no == 1 => header = Some(cols.iter().map(|s| s.to_string()).collect()),
            "T" if trailer.is_none() => trailer = Some(cols.iter().map(|s| s.to_string()).collect()),
            "D" if trailer.is_none() => {
                if !first_detail {
                    digest.update(b"\n");
                }
                first_detail = false;
                digest.update(line.as_bytes());
                loaded.lines += 1;
                match detail(kind, &cols, line_no) {
                    Ok(d) => {
                        match d.entry {
                            Entry::Payment => payments = payments.saturating_add(d.amount_fen).saturating_add(d.amount2_fen),
                            Entry::Refund => refunds = refunds.saturating_add(d.amount_fen).saturating_add(d.amount2_fen),
                        }
                        sink(d).map_err(|e| ParseError::Structure(name.into(), e))?;
                    }
                    Err(reason) => {
                        loaded.rejected += 1;
                        reject(Rejected { line_no, reason });
                    }
                }
            }
            other => {
                loaded.rejected += 1;
                reject(Rejected { line_no, reason: format!("unexpected record type {other:?} here") });
            }
        }
    }
    let header = header.ok_or_else(|| ParseError::Structure(name.into(), "no header line (H|...) first".into()))?;
    let trailer = trailer.ok_or_else(|| ParseError::Structure(name.into(), "no trailer line (T|...): the file is incomplete".into()))?;
    loaded.payments_fen = payments;
    loaded.refunds_fen = refunds;
    let num = |v: &[String], i: usize| v.get(i).and_then(|s| s.parse::<i64>().ok());
    let mut problems = vec![];
    let counted = i64::try_from(loaded.lines).unwrap_or(i64::MAX);
    if num(&header, 4) != Some(counted) || num(&trailer, 1) != Some(counted) {
        problems.push(format!("{counted} detail lines, header says {:?}, trailer {:?}", header.get(4), trailer.get(1)));
    }
    if num(&header, 5) != Some(payments) || num(&trailer, 2) != Some(payments) {
        problems.push(format!("payments sum to {payments} fen, header says {:?}, trailer {:?}", header.get(5), trailer.get(2)));
    }
    if num(&header, 6) != Some(refunds) || num(&trailer, 3) != Some(refunds) {
        problems.push(format!("refunds sum to {refunds} fen, header says {:?}, trailer {:?}", header.get(6), trailer.get(3)));
    }
    if trailer.get(4).map(String::as_str) != Some(hex::encode(digest.finish()).as_str()) {
        problems.push("the SM3 checksum of the detail lines does not match the trailer".into());
    }
    loaded.control_mismatch = (!problems.is_empty()).then(|| problems.join("; "));
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(lines: &[&str]) -> String {
        let joined = lines.join("\n");
        let digest = hex::encode(medpay_crypto::sm3::sm3(joined.as_bytes()));
        format!("H|SELFPAY|M1|2026-11-26|{}|5000|1000\n{joined}\nT|{}|5000|1000|{digest}\n", lines.len(), lines.len())
    }

    fn run(text: &str) -> (Loaded, Vec<DetailLine>, Vec<Rejected>) {
        let (mut ok, mut bad) = (vec![], vec![]);
        let loaded = parse("t", ReconKind::Selfpay, &Layout::default(), text.as_bytes(), |d| {
            ok.push(d);
            Ok(())
        }, |r| bad.push(r))
        .unwrap();
        (loaded, ok, bad)
    }

    #[test]
    fn a_good_file_adds_up() {
        let (l, ok, bad) = run(&file(&["D|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0", "D|2026-11-26|REFUND|SP1|MIX1||RF1|1000|0"]));
        assert_eq!((l.lines, l.payments_fen, l.refunds_fen, l.rejected, l.control_mismatch), (2, 5000, 1000, 0, None));
        assert_eq!((ok[1].entry, ok[1].serial.as_str(), ok[1].line_no), (Entry::Refund, "RF1", 3));
        assert!(bad.is_empty());
    }

    #[test]
    fn bad_lines_are_named_and_the_rest_is_kept() {
        let text = file(&["D|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0", "D|2026-11-26|PAYMENT|SP2|MIX2|T2||12.5|0", "D|2026-11-26|REFUND|SP1|MIX1||RF1|1000|0"]);
        let (l, ok, bad) = run(&text);
        assert_eq!(ok.len(), 2);
        assert_eq!(bad, vec![Rejected { line_no: 3, reason: "amount \"12.5\" is not an integer amount in fen".into() }]);
        assert_eq!(l.rejected, 1);
        assert!(l.control_mismatch.is_none(), "the totals still cover the rejected line's text: {:?}", l.control_mismatch);
    }

    #[test]
    fn a_changed_amount_or_a_missing_trailer_is_caught() {
        let tampered = file(&["D|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0"]).replace("||5000|0", "||5001|0");
        let (l, _, _) = run(&tampered);
        assert!(l.control_mismatch.unwrap().contains("SM3"));
        let cut = "H|SELFPAY|M1|2026-11-26|1|5000|0\nD|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0\n";
        assert!(parse("t", ReconKind::Selfpay, &Layout::default(), cut.as_bytes(), |_| Ok(()), |_| {}).is_err());
    }

    /// Statement lines as a bank might garble them: known and unknown record types, short and
    /// long rows, numbers and non-numbers, non-ASCII.
    fn garbled_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let col = prop_oneof!["[0-9]{0,12}", "-?[0-9]{1,6}\\.?[0-9]{0,3}", "\\PC{0,12}", Just(String::new()), Just("PAYMENT".to_string()), Just("REFUND".to_string())];
        (prop_oneof![Just("H"), Just("D"), Just("T"), Just("X"), Just("")], proptest::collection::vec(col, 0..12)).prop_map(|(kind, cols)| std::iter::once(kind.to_string()).chain(cols).collect::<Vec<_>>().join("|"))
    }

    proptest::proptest! {
        /// Whatever the file holds, parsing ends with an answer (never a panic), and every
        /// detail line read before the trailer is accounted for: accepted or rejected with a
        /// line number.
        #[test]
        fn any_statement_is_parsed_or_refused_without_panics(lines in proptest::collection::vec(garbled_line(), 0..40)) {
            let text = lines.join("\n");
            let (mut accepted, mut rejected) = (0u64, vec![]);
            if let Ok(l) = parse("t", ReconKind::Selfpay, &Layout::default(), text.as_bytes(), |_| { accepted += 1; Ok(()) }, |r| rejected.push(r)) {
                // `lines` counts the detail lines, accepted or not; `rejected` any refused line.
                proptest::prop_assert_eq!(l.rejected, rejected.len() as u64);
                proptest::prop_assert!(accepted <= l.lines && l.lines <= accepted + l.rejected);
                proptest::prop_assert!(rejected.iter().all(|r| r.line_no >= 1 && r.line_no <= lines.len() as u64));
            }
        }

        /// A good file with one detail byte changed is never accepted as it was: a line is
        /// rejected, or the control totals or the checksum disagree.
        #[test]
        fn a_changed_byte_never_passes_unnoticed(pos in 0usize..200, byte in proptest::char::range('0', 'z')) {
            let detail = ["D|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0", "D|2026-11-26|REFUND|SP1|MIX1||RF1|1000|0"];
            let good = file(&detail);
            let body_start = good.find('\n').unwrap() + 1;
            let body_end = good.rfind("\nT|").unwrap();
            let p = body_start + pos % (body_end - body_start);
            let mut changed = good.clone().into_bytes();
            proptest::prop_assume!(changed[p] != byte as u8 && changed[p] != b'\n' && changed[p] != b'|');
            changed[p] = byte as u8;
            let text = String::from_utf8(changed).unwrap();
            if let Ok(l) = parse("t", ReconKind::Selfpay, &Layout::default(), text.as_bytes(), |_| Ok(()), |_| {}) {
                proptest::prop_assert!(l.rejected > 0 || l.control_mismatch.is_some(), "unnoticed change at {p}: {text}");
            }
        }
    }
}
