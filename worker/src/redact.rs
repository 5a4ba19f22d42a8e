//! Log redaction (REQ S-4.1e, GB/T 35273): every log line passes through here before it is
//! written, so personal data cannot reach a log whichever crate or message carried it. Masked:
//! the values of fields that hold personal data or payment credentials (`payAuthNo`,
//! `payToken`, `authCode`, names, ID and phone fields, in `k=v`, `k: v` and JSON forms), and
//! free-standing 18-character resident ID numbers and mainland mobile numbers. Order numbers,
//! amounts and timestamps stay readable: operators need them.

use std::borrow::Cow;
use std::io::Write;

/// Field names whose values are masked, compared case-insensitively without `_`.
const SENSITIVE_FIELDS: [&str; 14] = [
    "payauthno",
    "familypayauthno",
    "paytoken",
    "authcode",
    "psnname",
    "name",
    "certno",
    "idno",
    "mdtrtcertno",
    "psncertno",
    "phone",
    "mobile",
    "tel",
    "psnno",
];

/// The line with personal data masked (borrowed when there is nothing to mask).
pub fn redact(line: &str) -> Cow<'_, str> {
    match mask_fields(line) {
        Cow::Borrowed(_) => mask_numbers(line),
        Cow::Owned(masked) => Cow::Owned(mask_numbers(&masked).into_owned()),
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `field=value`, `field: value`, `"field":"value"`: the value becomes `***`.
fn mask_fields(line: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i] as char) || (i > 0 && is_word(bytes[i - 1] as char)) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i] as char) {
            i += 1;
        }
        let key: String = line[start..i].chars().filter(|c| *c != '_').map(|c| c.to_ascii_lowercase()).collect();
        if !SENSITIVE_FIELDS.contains(&key.as_str()) {
            continue;
        }
        // Separator: optional closing quote, then `=` or `:`, then spaces and an opening quote.
        let mut j = i;
        if bytes.get(j) == Some(&b'\\') && bytes.get(j + 1) == Some(&b'"') {
            j += 2;
        } else if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
            j += 1;
        }
        if j >= bytes.len() || (bytes[j] != b'=' && bytes[j] != b':') {
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        let quote = (j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'' || bytes[j] == b'\\')).then(|| bytes[j]);
        if quote == Some(b'\\') && bytes.get(j + 1) == Some(&b'"') {
            j += 2;
        } else if quote.is_some() {
            j += 1;
        }
        let value_start = j;
        while j < bytes.len() && !matches!(bytes[j], b'"' | b'\'' | b'\\' | b'&' | b',' | b' ' | b'}' | b']' | b'\n') {
            j += 1;
        }
        if j == value_start {
            continue;
        }
        out.push_str(&line[copied..value_start]);
        out.push_str("***");
        copied = j;
        i = j;
    }
    if copied == 0 {
        return Cow::Borrowed(line);
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// Free-standing runs of digits that look like a resident ID number (18, the last may be X,
/// with a plausible birth date) or a mainland mobile number (11, starting 13-19).
fn mask_numbers(line: &str) -> Cow<'_, str> {
    let bytes = line.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && (bytes[i - 1] as char).is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 17 && i < bytes.len() && (bytes[i] == b'X' || bytes[i] == b'x') {
            i += 1;
        }
        if i < bytes.len() && (bytes[i] as char).is_ascii_alphanumeric() {
            continue;
        }
        let run = &line[start..i];
        let id = run.len() == 18 && looks_like_id(run);
        let phone = run.len() == 11 && run.starts_with('1') && matches!(run.as_bytes()[1], b'3'..=b'9');
        if id || phone {
            out.push_str(&line[copied..start]);
            out.push_str(&run[..3]);
            out.push_str(&"*".repeat(run.len() - 5));
            out.push_str(&run[run.len() - 2..]);
            copied = i;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(line);
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

fn looks_like_id(run: &str) -> bool {
    let year = &run[6..8];
    let month: u32 = run[10..12].parse().unwrap_or(0);
    (year == "19" || year == "20") && (1..=12).contains(&month) && !run.starts_with('0')
}

/// stderr, through [`redact`]. tracing's formatter writes each event with one `write_all`.
pub struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingStderr;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingStderr
    }
}

/// The process's logs: `MEDPAY_LOG` filters (info by default, the SDK's and the database
/// drivers' chatter at warn), `MEDPAY_LOG_FORMAT=json` for log shippers; both formats pass
/// through the redacting writer.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDPAY_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,temporalio_sdk_core=warn,temporalio_sdk=warn,sqlx=warn,sea_orm=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactingStderr);
    if std::env::var("MEDPAY_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn personal_fields_are_masked_in_every_form() {
        for (line, gone) in [
            ("refused payAuthNo=AUTH20261126000001 for order X", "AUTH20261126000001"),
            (r#"body {"payAuthNo":"AUTH1","medOrgOrd":"HIS-1"}"#, "AUTH1"),
            (r#"body {"pay_auth_no": "AUTH2"}"#, "AUTH2"),
            ("user psn_name: 测试甲 id", "测试甲"),
            (r#"{\"payToken\":\"PT-9\"}"#, "PT-9"),
            ("form auth_code=AC-1&x=1", "AC-1"),
            (r#"{"name":"测试乙"}"#, "测试乙"),
        ] {
            let r = redact(line);
            assert!(!r.contains(gone), "{line} -> {r}");
            assert!(r.contains("***"), "{line} -> {r}");
        }
        assert!(redact(r#"{"medOrgOrd":"HIS-1"}"#).contains("HIS-1"), "business keys stay");
    }

    #[test]
    fn id_and_mobile_numbers_are_masked_order_numbers_are_not() {
        let r = redact("person 510104199001011234 and 51010419800202002X called from 13812345678");
        assert!(
            !r.contains("510104199001011234") && !r.contains("51010419800202002X") && !r.contains("13812345678"),
            "{r}"
        );
        assert!(r.contains("510*************34") && r.contains("138******78"), "{r}");
        for keep in [
            "mix_trade_no=MIX202611260000000001",
            "at_ms=1764115200000",
            "amount 12345678901234567890",
            "ORD510104199001011234",
        ] {
            assert_eq!(redact(keep), keep, "not personal data");
        }
    }
}
