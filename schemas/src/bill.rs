//! The HIS's bill as the mid-platform's 6201 upload needs it (docs/PROTOCOLS.md §3.3): per line
//! the national catalogue code beside the hospital's own, quantity × unit price = the line's
//! amount to the fen; per visit the department, the doctor, the diagnoses and the charge batch.
//! The checks here are the API's (clear 422s naming the field); the sandbox mid-platform checks
//! the wire message again, as the real one does.

use serde::{Deserialize, Serialize};

/// One bill line from the HIS. Unknown fields are refused (one policy for every API body: a
/// misspelt field is an error the integrator sees, never a value silently dropped). The fields
/// after `amount_fen` are optional in the type only so that histories recorded before they
/// existed still replay; the API requires them ([`check_lines`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillLine {
    /// 医疗机构目录编码 (medinsListCodg): the hospital's own item code.
    pub code: String,
    pub name: String,
    pub amount_fen: i64,
    /// 医保目录编码 (medListCodg): the item's code in the national insurance catalogue.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub catalogue_code: String,
    /// 数量 (cnt): decimal text with up to 4 decimals, e.g. "2" or "0.5"; never a float.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub quantity: String,
    /// 单价 (pric) in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price_fen: Option<i64>,
    /// 费用发生时间 (feeOcurTime) "yyyy-MM-dd HH:mm:ss", Beijing time; the visit's start when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_time: Option<String>,
    /// 处方号 (rxno), for prescribed drugs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_no: Option<String>,
}

/// The visit the bill belongs to (就诊信息).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// 科室编码 / 科室名称 (deptCode / deptName, and each line's billing department).
    pub dept_code: String,
    pub dept_name: String,
    /// 医师编码 / 医师姓名 (atddrNo / drName, and each line's ordering doctor): staff, not the
    /// patient, so not personal data of the payer.
    pub doctor_code: String,
    pub doctor_name: String,
    /// 诊断 (diseinfoList): ICD-10 codes and names; at least one for an outpatient visit.
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    /// 医疗类别 (medType) when not the scene's own (12 registration, 11 outpatient, 41 pharmacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med_type: Option<String>,
    /// 收费批次号 (chrgBchno); "CB" + the HIS order no. when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_batch_no: Option<String>,
    /// 开始时间 (begntime) "yyyy-MM-dd HH:mm:ss"; the payment's creation when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    /// ICD-10 code, e.g. "J06.900".
    pub code: String,
    pub name: String,
}

/// What is wrong with a bill: the field (`lines[2].quantity`, `visit.diagnoses`) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct BillError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> BillError {
    BillError { field: field.into(), reason: reason.into() }
}

/// A quantity in ten-thousandths (4 decimals, the catalogue's precision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(text: &str) -> Option<Self> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int)
            || (!frac.is_empty() && (frac.len() > 4 || !digits(frac)))
            || (text.contains('.') && frac.is_empty())
        {
            return None;
        }
        let frac_value: i64 = format!("{frac:0<4}").parse().ok()?;
        let q = int.parse::<i64>().ok()?.checked_mul(10_000)?.checked_add(frac_value)?;
        (q > 0).then_some(Self(q))
    }

    /// quantity × unit price, rounded half up to the fen.
    pub fn times(self, unit_price_fen: i64) -> Option<i64> {
        let raw = i128::from(self.0) * i128::from(unit_price_fen);
        i64::try_from((raw + 5_000) / 10_000).ok()
    }
}

/// "yyyy-MM-dd HH:mm:ss" with plausible digits.
pub fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// A catalogue code: 1-50 of ASCII letters, digits, '.', '-'.
pub fn is_catalogue_code(c: &str) -> bool {
    (1..=50).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// An ICD-10 code: a letter, two digits, then optionally '.' and up to 4 letters or digits.
pub fn is_icd10(c: &str) -> bool {
    let b = c.as_bytes();
    let head = b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    let tail = &c[3.min(c.len())..];
    head && (tail.is_empty()
        || (tail.starts_with('.')
            && (2..=5).contains(&tail.len())
            && tail[1..].bytes().all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())))
}

/// The lines' 6201 fields: catalogue code, quantity × unit price = amount, fee time.
pub fn check_lines(lines: &[BillLine]) -> Result<(), BillError> {
    for (i, l) in lines.iter().enumerate() {
        let f = |name: &str| format!("lines[{i}].{name}");
        if !is_catalogue_code(&l.catalogue_code) {
            return Err(err(
                f("catalogue_code"),
                "the item's national insurance catalogue code (医保目录编码) is required: 1-50 letters, digits, '.' or '-'",
            ));
        }
        let quantity = Quantity::parse(&l.quantity).ok_or_else(|| {
            err(
                f("quantity"),
                format!("{:?} is not a positive decimal with at most 4 decimals (e.g. \"2\" or \"0.5\")", l.quantity),
            )
        })?;
        let price = l.unit_price_fen.ok_or_else(|| err(f("unit_price_fen"), "the unit price in fen is required"))?;
        if price < 0 {
            return Err(err(f("unit_price_fen"), format!("{price} is negative")));
        }
        if quantity.times(price) != Some(l.amount_fen) {
            return Err(err(
                f("amount_fen"),
                format!(
                    "quantity {} × unit price {price} fen = {} fen, but amount_fen is {}: the mid-platform refuses a line whose amount is not its quantity times its price",
                    l.quantity,
                    quantity.times(price).map_or("overflow".into(), |v| v.to_string()),
                    l.amount_fen
                ),
            ));
        }
        if let Some(t) = l.fee_time.as_deref().filter(|t| !is_timestamp(t)) {
            return Err(err(f("fee_time"), format!("{t:?} is not \"yyyy-MM-dd HH:mm:ss\"")));
        }
    }
    Ok(())
}

/// The visit's 6201 fields; `outpatient` visits need at least one diagnosis.
pub fn check_visit(visit: Option<&Visit>, outpatient: bool) -> Result<(), BillError> {
    let v = visit.ok_or_else(|| {
        err("visit", "the visit (department, doctor, diagnoses) is required by the mid-platform's fee upload (6201)")
    })?;
    for (name, value) in [
        ("dept_code", &v.dept_code),
        ("dept_name", &v.dept_name),
        ("doctor_code", &v.doctor_code),
        ("doctor_name", &v.doctor_name),
    ] {
        if value.trim().is_empty() || value.len() > 100 {
            return Err(err(format!("visit.{name}"), "required, at most 100 bytes"));
        }
    }
    if outpatient && v.diagnoses.is_empty() {
        return Err(err("visit.diagnoses", "an outpatient visit needs at least one diagnosis (ICD-10 code and name)"));
    }
    for (i, d) in v.diagnoses.iter().enumerate() {
        if !is_icd10(&d.code) {
            return Err(err(
                format!("visit.diagnoses[{i}].code"),
                format!("{:?} is not an ICD-10 code (e.g. \"J06.900\")", d.code),
            ));
        }
        if d.name.trim().is_empty() {
            return Err(err(format!("visit.diagnoses[{i}].name"), "required"));
        }
    }
    if let Some(t) =
        v.med_type.as_deref().filter(|t| !(1..=6).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(err("visit.med_type", format!("{t:?} is not a medical type code (e.g. \"11\")")));
    }
    if let Some(b) = v.charge_batch_no.as_deref().filter(|b| !is_catalogue_code(b)) {
        return Err(err("visit.charge_batch_no", format!("{b:?}: 1-50 letters, digits, '.' or '-'")));
    }
    if let Some(t) = v.begin_time.as_deref().filter(|t| !is_timestamp(t)) {
        return Err(err("visit.begin_time", format!("{t:?} is not \"yyyy-MM-dd HH:mm:ss\"")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: &str, price: i64, amount: i64) -> BillLine {
        BillLine {
            code: "H1".into(),
            name: "n".into(),
            amount_fen: amount,
            catalogue_code: "XJ01CAA040A001010101445".into(),
            quantity: quantity.into(),
            unit_price_fen: Some(price),
            fee_time: None,
            rx_no: None,
        }
    }

    #[test]
    fn quantities_are_exact_decimals_and_amounts_are_checked_to_the_fen() {
        assert_eq!(Quantity::parse("2").unwrap().times(1_250), Some(2_500));
        assert_eq!(Quantity::parse("0.5").unwrap().times(333), Some(167), "half up");
        assert_eq!(Quantity::parse("1.3333").unwrap().times(300), Some(400));
        for bad in ["", "0", "-1", "1.", ".5", "1.23456", "1e3", "1,5", " 1"] {
            assert!(Quantity::parse(bad).is_none(), "{bad:?}");
        }
        assert!(check_lines(&[line("3", 1_000, 3_000)]).is_ok());
        let e = check_lines(&[line("3", 1_000, 3_000), line("2", 1_000, 2_001)]).unwrap_err();
        assert_eq!(e.field, "lines[1].amount_fen");
        let mut no_catalogue = line("1", 1, 1);
        no_catalogue.catalogue_code.clear();
        assert_eq!(check_lines(&[no_catalogue]).unwrap_err().field, "lines[0].catalogue_code");
    }

    #[test]
    fn visits_need_their_people_and_outpatients_a_diagnosis() {
        let v = Visit {
            dept_code: "0301".into(),
            dept_name: "内科".into(),
            doctor_code: "D001".into(),
            doctor_name: "王医生".into(),
            ..Default::default()
        };
        assert!(check_visit(Some(&v), false).is_ok());
        assert_eq!(check_visit(Some(&v), true).unwrap_err().field, "visit.diagnoses");
        assert_eq!(check_visit(None, false).unwrap_err().field, "visit");
        let with = Visit {
            diagnoses: vec![Diagnosis { code: "J06.900".into(), name: "急性上呼吸道感染".into() }],
            ..v.clone()
        };
        assert!(check_visit(Some(&with), true).is_ok());
        for bad in ["j06", "J6", "J06.", "J06.123456", "06.9"] {
            assert!(!is_icd10(bad), "{bad}");
        }
        assert!(is_icd10("J06") && is_icd10("K29.700"));
    }
}

/// The sandbox HIS's sample bill details, for the harness (tests, benchmark, soak, drills) whose
/// bills are written as code, name and amount: each line becomes one unit at its amount with a
/// catalogue code, and an outpatient visit with one diagnosis is added. A real HIS sends its own.
pub mod sample {
    use serde_json::{Value, json};

    /// Completes `{.., "lines": [...]}` in place (a create body, or a patient link's `bill`).
    pub fn complete(bill: &mut Value) {
        if let Some(lines) = bill.get_mut("lines").and_then(Value::as_array_mut) {
            for l in lines.iter_mut().filter_map(Value::as_object_mut) {
                let (code, fen) = (
                    l.get("code").and_then(Value::as_str).unwrap_or("X").to_string(),
                    l.get("amount_fen").cloned().unwrap_or(json!(0)),
                );
                l.entry("catalogue_code")
                    .or_insert_with(|| json!(format!("NC{}", code.replace(|c: char| !c.is_ascii_alphanumeric(), ""))));
                l.entry("quantity").or_insert_with(|| json!("1"));
                l.entry("unit_price_fen").or_insert(fen);
            }
        }
        if let Some(b) = bill.as_object_mut() {
            b.entry("visit").or_insert_with(visit);
        }
    }

    /// A general-medicine outpatient visit with one diagnosis.
    pub fn visit() -> Value {
        json!({"dept_code": "A03", "dept_name": "全科医疗科", "doctor_code": "D0001", "doctor_name": "李医生",
               "diagnoses": [{"code": "J06.900", "name": "急性上呼吸道感染"}]})
    }
}
