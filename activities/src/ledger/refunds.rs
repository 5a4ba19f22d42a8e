//! Refunds in the ledger. Accepting a refund reserves its amounts on the payment in the same
//! transaction as the refund row, with a conditional update (and the table's CHECK behind it),
//! so two refunds racing for the same money cannot both be accepted; abandoning one releases
//! what it had not yet refunded.

use super::entities::{payment, refund};
use super::{Ledger, LedgerError};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::refund::{RefundAmounts, RefundKind, RefundState};
use medpay_schemas::status::SelfPayStatus;
use medpay_schemas::{OrgCode, RefundNo};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};

pub struct NewRefund {
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    pub refund_no: medpay_schemas::RefundNo,
    pub workflow_id: String,
    pub kind: RefundKind,
    pub amounts: RefundAmounts,
    pub request_fingerprint: String,
    pub reason: Option<String>,
    pub now_ms: i64,
}

#[derive(Debug, PartialEq)]
pub enum CreateRefundOutcome {
    New(refund::Model),
    /// The same refund was asked before: the same refund (idempotent create).
    Existing(refund::Model),
}

/// Why a refund cannot be accepted; each maps to a 4xx with a stable code.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Ineligible {
    #[error("payment {0} does not exist")]
    UnknownPayment(String),
    #[error("payment {id} is {state}: only a paid payment can be refunded")]
    NotPaid { id: String, state: PaymentState },
    #[error("payment {0}'s self-pay part was not collected: there is nothing for an anomaly refund to return")]
    NoSelfPayCollected(String),
    #[error(
        "refund {refund_no} asks for more than remains refundable on payment {id} (fund {fund}, personal account {acct}, self-pay {cash} fen left)"
    )]
    ExceedsRemaining { refund_no: medpay_schemas::RefundNo, id: String, fund: i64, acct: i64, cash: i64 },
}

impl Ledger {
    /// Accepts a refund and reserves its amounts, or returns the same refund for the same
    /// request. `Err(Ineligible)` is wrapped in `LedgerError::Ineligible`.
    pub async fn create_refund(&self, r: NewRefund) -> Result<CreateRefundOutcome, LedgerError> {
        if let Some(existing) = self.get_refund(&r.org_code, &r.refund_no).await? {
            return self.same_refund(existing, &r);
        }
        let txn = super::begin_write(&self.db).await?;
        let id = format!("{}/{}", r.org_code, r.med_org_ord);
        let p = payment::Entity::find()
            .filter(payment::Column::OrgCode.eq(r.org_code.as_str()))
            .filter(payment::Column::MedOrgOrd.eq(r.med_org_ord.as_str()))
            .one(&txn)
            .await?
            .ok_or_else(|| Ineligible::UnknownPayment(id.clone()))?;
        eligible(r.kind, &p, &id)?;
        let a = r.amounts;
        let exceeds = || Ineligible::ExceedsRemaining {
            refund_no: r.refund_no.clone(),
            id: id.clone(),
            fund: p.fund_fen.unwrap_or(0) - p.refunded_fund_fen,
            acct: p.psn_acct_fen.unwrap_or(0) - p.refunded_psn_acct_fen,
            cash: p.own_pay_fen.unwrap_or(0) - p.refunded_cash_fen,
        };
        // One UPDATE, conditional on the room left: the database evaluates it against the row as
        // it is now, so of two racing refunds only the one that fits is accepted.
        let reserved = payment::Entity::update_many()
            .col_expr(payment::Column::RefundedFundFen, Expr::col(payment::Column::RefundedFundFen).add(a.fund.fen()))
            .col_expr(
                payment::Column::RefundedPsnAcctFen,
                Expr::col(payment::Column::RefundedPsnAcctFen).add(a.psn_acct.fen()),
            )
            .col_expr(payment::Column::RefundedCashFen, Expr::col(payment::Column::RefundedCashFen).add(a.cash.fen()))
            .col_expr(payment::Column::Version, Expr::col(payment::Column::Version).add(1))
            .filter(payment::Column::Id.eq(p.id))
            .filter(Expr::col(payment::Column::RefundedFundFen).add(a.fund.fen()).lte(p.fund_fen.unwrap_or(0)))
            .filter(
                Expr::col(payment::Column::RefundedPsnAcctFen).add(a.psn_acct.fen()).lte(p.psn_acct_fen.unwrap_or(0)),
            )
            .filter(Expr::col(payment::Column::RefundedCashFen).add(a.cash.fen()).lte(p.own_pay_fen.unwrap_or(0)))
            .exec(&txn)
            .await?;
        if reserved.rows_affected != 1 {
            txn.rollback().await?;
            // The same refund asked twice at once: the other request reserved it first.
            if let Some(existing) = self.get_refund(&r.org_code, &r.refund_no).await? {
                return self.same_refund(existing, &r);
            }
            return Err(exceeds().into());
        }
        let row = new_row(&r, p.id);
        match row.insert(&txn).await {
            Ok(m) => {
                txn.commit().await?;
                Ok(CreateRefundOutcome::New(m))
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                // Another request created it first; our reservation rolls back with the txn.
                txn.rollback().await?;
                let existing = self.get_refund(&r.org_code, &r.refund_no).await?.ok_or(LedgerError::Db(e))?;
                self.same_refund(existing, &r)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn same_refund(&self, existing: refund::Model, r: &NewRefund) -> Result<CreateRefundOutcome, LedgerError> {
        if existing.request_fingerprint == r.request_fingerprint {
            Ok(CreateRefundOutcome::Existing(existing))
        } else {
            Err(LedgerError::RefundConflict { org_code: r.org_code.clone(), refund_no: r.refund_no.clone() })
        }
    }

    pub async fn get_refund(
        &self,
        org_code: &OrgCode,
        refund_no: &RefundNo,
    ) -> Result<Option<refund::Model>, LedgerError> {
        Ok(refund::Entity::find()
            .filter(refund::Column::OrgCode.eq(org_code.as_str()))
            .filter(refund::Column::RefundNo.eq(refund_no.as_str()))
            .one(&self.db)
            .await?)
    }

    pub async fn refunds_of(&self, payment_id: i64) -> Result<Vec<refund::Model>, LedgerError> {
        Ok(refund::Entity::find()
            .filter(refund::Column::PaymentId.eq(payment_id))
            .order_by_asc(refund::Column::Id)
            .all(&self.db)
            .await?)
    }

    pub async fn refunds_in_state(&self, state: RefundState) -> Result<Vec<refund::Model>, LedgerError> {
        Ok(refund::Entity::find()
            .filter(refund::Column::State.eq(state.as_str()))
            .order_by_asc(refund::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Records the move if the refund's state machine allows it. Moving to `Abandoned` releases
    /// the components not yet refunded (in the same transaction).
    pub async fn advance_refund(
        &self,
        org_code: &OrgCode,
        refund_no: &RefundNo,
        step: super::RefundMove,
        now_ms: i64,
    ) -> Result<refund::Model, LedgerError> {
        let to = step.state();
        let columns = step.columns();
        let not_found = || LedgerError::RefundNotFound { org_code: org_code.clone(), refund_no: refund_no.clone() };
        for _ in 0..5 {
            let current = self.get_refund(org_code, refund_no).await?.ok_or_else(not_found)?;
            let from = current.state;
            if from == to && to.is_terminal() {
                return Ok(current);
            }
            if !from.can_move_to(to) {
                return Err(LedgerError::IllegalRefundTransition {
                    refund_no: refund_no.clone(),
                    from: current.state,
                    to,
                });
            }
            let txn = super::begin_write(&self.db).await?;
            let mut q = refund::Entity::update_many()
                .col_expr(refund::Column::State, Expr::value(to.as_str()))
                .col_expr(refund::Column::UpdatedAtMs, Expr::value(now_ms))
                .col_expr(refund::Column::Version, Expr::value(current.version + 1));
            for (col, v) in &columns {
                q = q.col_expr(*col, Expr::value(v.clone()));
            }
            let done = q
                .filter(refund::Column::Id.eq(current.id))
                .filter(refund::Column::Version.eq(current.version))
                .exec(&txn)
                .await?;
            if done.rows_affected != 1 {
                txn.rollback().await?;
                continue;
            }
            if to == RefundState::Abandoned {
                release_unrefunded(&txn, &current).await?;
            }
            txn.commit().await?;
            return self.get_refund(org_code, refund_no).await?.ok_or_else(not_found);
        }
        Err(LedgerError::Contended(format!("refund {org_code}/{refund_no}")))
    }
}

/// Whether a payment may be refunded this way: a patient's refund needs it paid; an anomaly
/// refund (REQ X-8a) needs its self-pay part collected; an over-collection's evidence is the
/// bank's statement (REQ X-8b).
fn eligible(kind: RefundKind, p: &payment::Model, id: &str) -> Result<(), Ineligible> {
    match kind {
        RefundKind::Anomaly if p.self_pay_status.as_deref() != Some(SelfPayStatus::Success.code()) => {
            Err(Ineligible::NoSelfPayCollected(id.to_string()))
        }
        RefundKind::Patient if p.state != PaymentState::Paid => {
            Err(Ineligible::NotPaid { id: id.to_string(), state: p.state })
        }
        RefundKind::Anomaly | RefundKind::OverCollection | RefundKind::Patient => Ok(()),
    }
}

/// The refund's row as accepted: its amounts reserved, its party serials derived from its no.
fn new_row(r: &NewRefund, payment_id: i64) -> refund::ActiveModel {
    let a = r.amounts;
    refund::ActiveModel {
        org_code: Set(r.org_code.clone()),
        refund_no: Set(r.refund_no.clone()),
        payment_id: Set(payment_id),
        workflow_id: Set(r.workflow_id.clone()),
        kind: Set(r.kind),
        request_fingerprint: Set(r.request_fingerprint.clone()),
        state: Set(RefundState::Requested),
        fund_fen: Set(a.fund.fen()),
        psn_acct_fen: Set(a.psn_acct.fen()),
        cash_fen: Set(a.cash.fen()),
        app_refd_sn: Set(medpay_schemas::workflow_ids::insurance_refund_serial(&r.refund_no)),
        bank_serial: Set(medpay_schemas::workflow_ids::bank_refund_serial(&r.refund_no)),
        notified: Set(false),
        reason: Set(r.reason.clone()),
        created_at_ms: Set(r.now_ms),
        updated_at_ms: Set(r.now_ms),
        version: Set(0),
        ..Default::default()
    }
}

/// Gives back the reservation of the parts an abandoned refund never refunded: the insurance
/// part unless 6203 succeeded, the cash part unless the bank refunded it.
async fn release_unrefunded(txn: &impl ConnectionTrait, r: &refund::Model) -> Result<(), LedgerError> {
    let insurance_done = r.mid_status.as_deref() == Some("SUCC");
    let cash_done = r.bank_intrx_serial.is_some();
    let (fund, acct) = if insurance_done { (0, 0) } else { (r.fund_fen, r.psn_acct_fen) };
    let cash = if cash_done { 0 } else { r.cash_fen };
    payment::Entity::update_many()
        .col_expr(payment::Column::RefundedFundFen, Expr::col(payment::Column::RefundedFundFen).sub(fund))
        .col_expr(payment::Column::RefundedPsnAcctFen, Expr::col(payment::Column::RefundedPsnAcctFen).sub(acct))
        .col_expr(payment::Column::RefundedCashFen, Expr::col(payment::Column::RefundedCashFen).sub(cash))
        .filter(payment::Column::Id.eq(r.payment_id))
        .exec(txn)
        .await?;
    Ok(())
}
