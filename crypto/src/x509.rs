//! Just enough X.509 to watch certificates expire (REQ T-4.3d): the subject's common name and
//! the validity window of each certificate in a PEM file, read from the DER by hand (a full
//! X.509 crate would cost the build more than these ~100 lines).

use crate::error::CryptoError;

/// One certificate's identity and validity, times in Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertValidity {
    pub subject_cn: Option<String>,
    pub not_before: i64,
    pub not_after: i64,
}

/// Every `CERTIFICATE` block in a PEM text.
pub fn read_pem_certificates(pem: &str) -> Result<Vec<CertValidity>, CryptoError> {
    let mut out = vec![];
    let mut rest = pem;
    while let Some(begin) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[begin + 27..];
        let end = body.find("-----END CERTIFICATE-----").ok_or_else(|| bad("a BEGIN CERTIFICATE without its END"))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = crate::text::decode_base64(&b64).map_err(|_| bad("the certificate is not valid Base64"))?;
        out.push(read_der_certificate(&der)?);
        rest = &body[end..];
    }
    Ok(out)
}

fn bad(what: &str) -> CryptoError {
    CryptoError::InvalidKey(format!("certificate: {what}"))
}

/// (tag, content, rest) of the DER element at the start of `b`.
fn tlv(b: &[u8]) -> Result<(u8, &[u8], &[u8]), CryptoError> {
    let (&tag, b) = b.split_first().ok_or_else(|| bad("truncated"))?;
    let (&first, b) = b.split_first().ok_or_else(|| bad("truncated"))?;
    let (len, b) = if first < 0x80 {
        (usize::from(first), b)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return Err(bad("bad length"));
        }
        (b[..n].iter().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)), &b[n..])
    };
    if b.len() < len {
        return Err(bad("truncated"));
    }
    Ok((tag, &b[..len], &b[len..]))
}

pub fn read_der_certificate(der: &[u8]) -> Result<CertValidity, CryptoError> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let (tag, _, mut rest) = tlv(tbs)?;
    if tag == 0xa0 {
        rest = tlv(rest)?.2; // explicit version, then the serial number
    }
    let (_, _, rest) = tlv(rest)?; // signature algorithm
    let (_, _, rest) = tlv(rest)?; // issuer
    let (_, validity, rest) = tlv(rest)?;
    let (_, subject, _) = tlv(rest)?;
    let (t1, nb, after) = tlv(validity)?;
    let (t2, na, _) = tlv(after)?;
    Ok(CertValidity { subject_cn: common_name(subject), not_before: asn1_time(t1, nb)?, not_after: asn1_time(t2, na)? })
}

/// The CN (OID 2.5.4.3) of a Name, if any.
fn common_name(name: &[u8]) -> Option<String> {
    const CN: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];
    let at = name.windows(CN.len()).position(|w| w == CN)?;
    let (_, value, _) = tlv(&name[at + CN.len()..]).ok()?;
    String::from_utf8(value.to_vec()).ok()
}

/// UTCTime (0x17, YYMMDDHHMMSSZ) or GeneralizedTime (0x18, YYYYMMDDHHMMSSZ) to Unix seconds.
fn asn1_time(tag: u8, v: &[u8]) -> Result<i64, CryptoError> {
    let s = std::str::from_utf8(v).map_err(|_| bad("a time that is not text"))?;
    let digits = s.strip_suffix('Z').ok_or_else(|| bad("a time not in UTC"))?;
    let num = |r: std::ops::Range<usize>| {
        digits.get(r).and_then(|d| d.parse::<i64>().ok()).ok_or_else(|| bad("a malformed time"))
    };
    let (year, off) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0..4)?, 4),
        _ => return Err(bad("an unsupported time format")),
    };
    let (month, day, h, m, sec) = (
        num(off..off + 2)?,
        num(off + 2..off + 4)?,
        num(off + 4..off + 6)?,
        num(off + 6..off + 8)?,
        num(off + 8..off + 10)?,
    );
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec ... -subj "/CN=medpay-test-expiring/O=T" -days 10`.
    const PEM: &str = include_str!("../../tests/fixtures/expiring-cert.pem");

    #[test]
    fn reads_the_window_openssl_printed() {
        let certs = read_pem_certificates(PEM).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].subject_cn.as_deref(), Some("medpay-test-expiring"));
        // notBefore=Nov 26 19:47:31 2026 GMT, notAfter=Dec  6 19:47:31 2026 GMT (openssl x509 -dates)
        assert_eq!(certs[0].not_before, 1_795_722_451);
        assert_eq!(certs[0].not_after, 1_795_722_451 + 10 * 86_400);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nMII=",
        ] {
            assert!(read_pem_certificates(text).is_err(), "{text}");
        }
        assert_eq!(read_pem_certificates("no certificates here").unwrap(), vec![]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_der_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = read_der_certificate(&bytes);
        }
    }
}
