//! The patient page's per-bill links: a random token handed to the patient, stored here only as
//! its SM3 digest with the bill it opens and when it stops working. Links live in the ledger so
//! any instance answers the page, and a restart loses none.

use super::{Ledger, LedgerError};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

/// A link as stored: which bill it opens, and the bill itself while the payment does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientLink {
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    /// The `PatientBill` as JSON, for a bill the patient has not authorised yet.
    pub bill: Option<String>,
    pub expires_at_ms: i64,
}

/// Expired links are kept a day past their end, so a patient who comes back late is told the
/// link has expired rather than that it never existed.
const KEPT_AFTER_EXPIRY_MS: i64 = 24 * 3_600_000;

impl Ledger {
    pub async fn put_patient_link(&self, token_sm3: &str, link: &PatientLink, now_ms: i64) -> Result<(), LedgerError> {
        let stale = Query::delete()
            .from_table(Alias::new("patient_links"))
            .and_where(Expr::col(Alias::new("expires_at_ms")).lt(now_ms - KEPT_AFTER_EXPIRY_MS))
            .to_owned();
        self.db.execute(&stale).await?;
        let q = Query::insert()
            .into_table(Alias::new("patient_links"))
            .columns(["token_sm3", "org_code", "med_org_ord", "bill", "expires_at_ms", "created_at_ms"].map(Alias::new))
            .values_panic([
                token_sm3.into(),
                link.org_code.clone().into(),
                link.med_org_ord.clone().into(),
                link.bill.clone().into(),
                link.expires_at_ms.into(),
                now_ms.into(),
            ])
            .to_owned();
        self.db.execute(&q).await?;
        Ok(())
    }

    /// The bill an earlier link for this HIS order carries, if any: one HIS order, one bill.
    pub async fn patient_bill_of(&self, org_code: &str, med_org_ord: &str) -> Result<Option<String>, LedgerError> {
        let q = Query::select()
            .column(Alias::new("bill"))
            .from(Alias::new("patient_links"))
            .and_where(Expr::col(Alias::new("org_code")).eq(org_code))
            .and_where(Expr::col(Alias::new("med_org_ord")).eq(med_org_ord))
            .and_where(Expr::col(Alias::new("bill")).is_not_null())
            .limit(1)
            .to_owned();
        let Some(row) = self.db.query_one(&q).await? else { return Ok(None) };
        Ok(row.try_get("", "bill")?)
    }

    pub async fn get_patient_link(&self, token_sm3: &str) -> Result<Option<PatientLink>, LedgerError> {
        let q = Query::select()
            .columns(["org_code", "med_org_ord", "bill", "expires_at_ms"].map(Alias::new))
            .from(Alias::new("patient_links"))
            .and_where(Expr::col(Alias::new("token_sm3")).eq(token_sm3))
            .to_owned();
        let Some(row) = self.db.query_one(&q).await? else { return Ok(None) };
        Ok(Some(PatientLink {
            org_code: row.try_get("", "org_code")?,
            med_org_ord: row.try_get("", "med_org_ord")?,
            bill: row.try_get("", "bill")?,
            expires_at_ms: row.try_get("", "expires_at_ms")?,
        }))
    }
}
