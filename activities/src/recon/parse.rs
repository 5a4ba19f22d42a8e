//! The statement file parser: streams a file line by line (memory stays flat however large it
//! is), checks the header and trailer totals and the SM3 checksum of the detail lines, and hands
//! each detail line to a sink. A malformed line is rejected with its line number and reason and
//! the rest of the file is still read. The default layout is the sandbox's (see
//! `sandbox/src/statements.rs`); encoding (UTF-8 or GBK), delimiter, columns and control-total
//! positions are configurable per hospital and kind (`Layout`).

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

pub use medpay_schemas::statement_layout::{Columns, Layout, TextEncoding, Totals};

/// The layout's delimiter: `|` unless it says otherwise.
fn delimiter(layout: &Layout) -> char {
    layout.delimiter.unwrap_or('|')
}

/// A line's bytes as text in the file's encoding (invalid bytes are a rejected line, never a
/// guess).
fn decode(layout: &Layout, bytes: &[u8]) -> Result<String, String> {
    match layout.encoding {
        TextEncoding::Utf8 => String::from_utf8(bytes.to_vec())
            .map_err(|_| "not valid UTF-8 (is the file GBK? set encoding = \"gbk\")".into()),
        TextEncoding::Gbk => {
            let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
            if had_errors { Err("not valid GBK".into()) } else { Ok(text.into_owned()) }
        }
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

fn detail(c: &Columns, cols: &[&str], line_no: u64) -> Result<DetailLine, String> {
    if cols.len() != c.count {
        return Err(format!("{} columns, expected {}", cols.len(), c.count));
    }
    let get = |i: usize| cols.get(i).map(|s| s.trim().to_string()).ok_or_else(|| format!("missing column {}", i + 1));
    let entry = match get(c.entry)?.as_str() {
        "PAYMENT" => Entry::Payment,
        "REFUND" => Entry::Refund,
        other => return Err(format!("entry {other:?} is neither PAYMENT nor REFUND")),
    };
    let line = DetailLine {
        line_no,
        entry,
        order_key: get(c.order_key)?,
        ref2: get(c.ref2)?,
        serial: get(c.serial)?,
        amount_fen: amount(&get(c.amount)?, "amount")?,
        amount2_fen: c.amount2.map(|i| get(i).and_then(|v| amount(&v, "personal account"))).transpose()?.unwrap_or(0),
    };
    if line.order_key.is_empty() {
        return Err("empty order key".into());
    }
    if line.amount_fen < 0 || line.amount2_fen < 0 {
        return Err("negative amount".into());
    }
    Ok(line)
}

/// Where the header and trailer disagree with what the detail lines add up to: the count, the
/// payments, the refunds and (when the layout has one) the SM3 checksum of the detail lines.
fn control_problems(
    t: &Totals,
    header: &[String],
    trailer: &[String],
    lines: u64,
    payments: i64,
    refunds: i64,
    sm3: [u8; 32],
) -> Vec<String> {
    let num = |v: &[String], i: usize| v.get(i).and_then(|s| s.parse::<i64>().ok());
    let mut problems = vec![];
    let counted = i64::try_from(lines).unwrap_or(i64::MAX);
    if num(header, t.header_lines) != Some(counted) || num(trailer, t.trailer_lines) != Some(counted) {
        problems.push(format!(
            "{counted} detail lines, header says {:?}, trailer {:?}",
            header.get(t.header_lines),
            trailer.get(t.trailer_lines)
        ));
    }
    if num(header, t.header_payments) != Some(payments) || num(trailer, t.trailer_payments) != Some(payments) {
        problems.push(format!(
            "payments sum to {payments} fen, header says {:?}, trailer {:?}",
            header.get(t.header_payments),
            trailer.get(t.trailer_payments)
        ));
    }
    if num(header, t.header_refunds) != Some(refunds) || num(trailer, t.trailer_refunds) != Some(refunds) {
        problems.push(format!(
            "refunds sum to {refunds} fen, header says {:?}, trailer {:?}",
            header.get(t.header_refunds),
            trailer.get(t.trailer_refunds)
        ));
    }
    if let Some(i) = t.trailer_sm3
        && trailer.get(i).map(String::as_str) != Some(hex::encode(sm3).as_str())
    {
        problems.push("the SM3 checksum of the detail lines does not match the trailer".into());
    }
    problems
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
    let columns = layout.columns.unwrap_or_else(|| Columns::reference(kind));
    let totals = layout.totals.unwrap_or(Totals::REFERENCE);
    let mut reader = reader;
    let mut raw = Vec::new();
    let mut line_no = 0u64;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw).map_err(|e| ParseError::Io(name.into(), e))? == 0 {
            break;
        }
        line_no += 1;
        while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            raw.pop();
        }
        if raw.is_empty() {
            continue;
        }
        // The checksum is over the file's own bytes (GBK stays GBK); fields are read decoded.
        let line = match decode(layout, &raw) {
            Ok(l) => l,
            Err(reason) => {
                loaded.rejected += 1;
                reject(Rejected { line_no, reason });
                continue;
            }
        };
        let cols: Vec<&str> = line.split(delimiter(layout)).collect();
        match cols[0] {
            "H" if header.is_none() && line_no == 1 => header = Some(cols.iter().map(|s| s.to_string()).collect()),
            "T" if trailer.is_none() => trailer = Some(cols.iter().map(|s| s.to_string()).collect()),
            "D" if trailer.is_none() => {
                if !first_detail {
                    digest.update(b"\n");
                }
                first_detail = false;
                digest.update(&raw);
                loaded.lines += 1;
                match detail(&columns, &cols, line_no) {
                    Ok(d) => {
                        match d.entry {
                            Entry::Payment => {
                                payments = payments.saturating_add(d.amount_fen).saturating_add(d.amount2_fen)
                            }
                            Entry::Refund => {
                                refunds = refunds.saturating_add(d.amount_fen).saturating_add(d.amount2_fen)
                            }
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
    let trailer = trailer
        .ok_or_else(|| ParseError::Structure(name.into(), "no trailer line (T|...): the file is incomplete".into()))?;
    loaded.payments_fen = payments;
    loaded.refunds_fen = refunds;
    let problems = control_problems(&totals, &header, &trailer, loaded.lines, payments, refunds, digest.finish());
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
        parse_all(&Layout::default(), text.as_bytes())
    }

    /// A self-pay file parsed with `layout`: what was loaded, the lines accepted and rejected.
    pub(super) fn parse_all(layout: &Layout, bytes: &[u8]) -> (Loaded, Vec<DetailLine>, Vec<Rejected>) {
        let (mut ok, mut bad) = (vec![], vec![]);
        let loaded = parse(
            "t",
            ReconKind::Selfpay,
            layout,
            bytes,
            |d| {
                ok.push(d);
                Ok(())
            },
            |r| bad.push(r),
        )
        .unwrap();
        (loaded, ok, bad)
    }

    #[test]
    fn a_good_file_adds_up() {
        let (l, ok, bad) =
            run(&file(&["D|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0", "D|2026-11-26|REFUND|SP1|MIX1||RF1|1000|0"]));
        assert_eq!((l.lines, l.payments_fen, l.refunds_fen, l.rejected, l.control_mismatch), (2, 5000, 1000, 0, None));
        assert_eq!((ok[1].entry, ok[1].serial.as_str(), ok[1].line_no), (Entry::Refund, "RF1", 3));
        assert!(bad.is_empty());
    }

    #[test]
    fn bad_lines_are_named_and_the_rest_is_kept() {
        let text = file(&[
            "D|2026-11-26|PAYMENT|SP1|MIX1|T1||5000|0",
            "D|2026-11-26|PAYMENT|SP2|MIX2|T2||12.5|0",
            "D|2026-11-26|REFUND|SP1|MIX1||RF1|1000|0",
        ]);
        let (l, ok, bad) = run(&text);
        assert_eq!(ok.len(), 2);
        assert_eq!(
            bad,
            vec![Rejected { line_no: 3, reason: "amount \"12.5\" is not an integer amount in fen".into() }]
        );
        assert_eq!(l.rejected, 1);
        assert!(
            l.control_mismatch.is_none(),
            "the totals still cover the rejected line's text: {:?}",
            l.control_mismatch
        );
    }

    /// REQ T-4.3c (integrity of files): a statement altered in transit or at rest is refused
    /// by its control totals and SM3 checksum, never reconciled.
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
        let col = prop_oneof![
            "[0-9]{0,12}",
            "-?[0-9]{1,6}\\.?[0-9]{0,3}",
            "\\PC{0,12}",
            Just(String::new()),
            Just("PAYMENT".to_string()),
            Just("REFUND".to_string())
        ];
        (prop_oneof![Just("H"), Just("D"), Just("T"), Just("X"), Just("")], proptest::collection::vec(col, 0..12))
            .prop_map(|(kind, cols)| std::iter::once(kind.to_string()).chain(cols).collect::<Vec<_>>().join("|"))
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

#[cfg(test)]
mod layouts {
    use super::tests::parse_all;
    use super::*;

    /// A bank's own layout: GBK, comma-separated, a remark in Chinese, the fields in another
    /// order, totals elsewhere and no checksum.
    fn bank_layout() -> Layout {
        Layout {
            encoding: TextEncoding::Gbk,
            delimiter: Some(','),
            columns: Some(Columns { count: 7, entry: 1, order_key: 2, ref2: 3, serial: 4, amount: 5, amount2: None }),
            totals: Some(Totals {
                header_lines: 1,
                header_payments: 2,
                header_refunds: 3,
                trailer_lines: 1,
                trailer_payments: 2,
                trailer_refunds: 3,
                trailer_sm3: None,
            }),
        }
    }

    #[test]
    fn a_gbk_statement_in_the_banks_layout_reads_as_its_utf8_twin() {
        let reference = "H|SELFPAY|M1|2026-11-26|2|5000|1000\nD|2026-11-26|PAYMENT|SP1|MX1|T1||5000|0\nD|2026-11-26|REFUND|SP1|MX1||RF1|1000|0\n";
        let digest = hex::encode(medpay_crypto::sm3::sm3(
            b"D|2026-11-26|PAYMENT|SP1|MX1|T1||5000|0\nD|2026-11-26|REFUND|SP1|MX1||RF1|1000|0",
        ));
        let reference = format!("{reference}T|2|5000|1000|{digest}\n");
        let bank =
            "H,2,5000,1000\nD,PAYMENT,SP1,MX1,,5000,门诊缴费\nD,REFUND,SP1,MX1,RF1,1000,退费（部分）\nT,2,5000,1000\n";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(bank);
        assert!(!unmappable && gbk.len() < bank.len(), "really GBK bytes");
        let (l1, d1, r1) = parse_all(&Layout::default(), reference.as_bytes());
        let (l2, d2, r2) = parse_all(&bank_layout(), &gbk);
        assert!(r1.is_empty() && r2.is_empty(), "{r1:?} {r2:?}");
        assert_eq!((l1.control_mismatch.clone(), l2.control_mismatch.clone()), (None, None));
        assert_eq!((l1.payments_fen, l1.refunds_fen, l1.lines), (l2.payments_fen, l2.refunds_fen, l2.lines));
        let key = |d: &DetailLine| (d.entry, d.order_key.clone(), d.ref2.clone(), d.serial.clone(), d.amount_fen);
        assert_eq!(d1.iter().map(key).collect::<Vec<_>>(), d2.iter().map(key).collect::<Vec<_>>());
        // Read as UTF-8, the same GBK bytes are refused line by line, never guessed.
        let (_, ok, bad) = parse_all(&Layout { encoding: TextEncoding::Utf8, ..bank_layout() }, &gbk);
        assert!(ok.is_empty() && bad.iter().all(|r| r.reason.contains("GBK")), "{bad:?}");
    }

    #[test]
    fn a_layout_is_toml_with_every_key_checked() {
        assert_eq!(toml::from_str::<Layout>("encoding = \"utf-8\"").unwrap().encoding, TextEncoding::Utf8);
        let l: Layout = toml::from_str("encoding = \"gbk\"\ndelimiter = \",\"\n[columns]\ncount = 7\nentry = 1\norder_key = 2\nref2 = 3\nserial = 4\namount = 5\n").unwrap();
        assert_eq!(l.columns.unwrap().count, 7);
        assert!(toml::from_str::<Layout>("encodng = \"gbk\"").is_err());
        assert!(toml::from_str::<Layout>("encoding = \"latin1\"").is_err());
    }
}
