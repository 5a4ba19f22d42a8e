//! Reconciliation activities (REQ C-6.3.1, C-6.3.2, X-8b, X-8c, Q-9): fetch the statement over
//! SFTP to local staging, stream it into the database, classify it against the ledger, list the
//! actions the workflow takes, and write the report. Workflows only ever see file references,
//! counts and short action lists (Temporal's 2 MB payload limit).

pub mod classify;
pub mod fetch;
pub mod parse;
mod queries;
pub mod resolution;
pub mod store;
pub mod synthetic;
pub mod three_way;

pub use queries::{ExceptionRow, exceptions, load, pending_actions, run_state, write_csv};

use crate::failure::{bad, retry};
use crate::http::now_ms;
use crate::ledger::Ledger;
use crate::parties::Parties;
use medpay_schemas::recon::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

#[derive(Clone, Debug)]
pub struct ReconSettings {
    /// Without SFTP, statements are expected in `staging_dir` already (pushed by the bank).
    pub sftp: Option<fetch::SftpSettings>,
    pub staging_dir: PathBuf,
    pub reports_dir: PathBuf,
    pub layout: parse::Layout,
}

#[derive(Clone)]
pub struct ReconActivities {
    pub ledger: Ledger,
    pub parties: Option<Arc<Parties>>,
    pub settings: Arc<ReconSettings>,
}

/// A reconciliation run: one kind, one hospital, one period (two hospitals reconciling the same
/// day are two runs, each with its own statement lines and items).
pub fn run_id(kind: ReconKind, org_code: &str, period: &str) -> String {
    format!("{}-{org_code}-{period}", kind.as_str())
}

/// One action the workflow takes for an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconAction {
    pub item_key: String,
    pub action: ReconActionKind,
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    pub workflow_id: String,
    pub statement_fen: i64,
    /// The hospital's amount (an under-collection's sum the patient owes, REQ X-8c).
    #[serde(default)]
    pub ledger_fen: i64,
    /// The statement line's two amounts (self-pay: the amount and 0; insurance: fund and
    /// personal account), for an X-8b refund of exactly what was collected.
    #[serde(default)]
    pub statement_amounts: (i64, i64),
}

/// What reconciliation does about one classified item (`recon_items.action`, written by
/// `classify`'s SQL under these names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconActionKind {
    /// A pending payment the statement shows paid: its workflow (or the ledger) settles it Paid.
    Settle,
    /// A pending payment the statement does not show: closed as Failed, nothing was collected.
    Close,
    /// REQ X-8b: collected for a payment the hospital closed: refunded.
    Refund,
    /// A pending pure-insurance payment: its workflow asks the platform (6301).
    QueryInsurance,
    /// REQ X-8c: served but not paid: the HIS is told.
    NotifyHis,
}

impl ReconActionKind {
    pub const ALL: [Self; 5] = [Self::Settle, Self::Close, Self::Refund, Self::QueryInsurance, Self::NotifyHis];

    /// The name in `recon_items.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settle => "settle",
            Self::Close => "close",
            Self::Refund => "refund",
            Self::QueryInsurance => "query_insurance",
            Self::NotifyHis => "notify_his",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl ReconActivities {
    fn statements_of(&self, org_code: &str) -> Option<&crate::parties::onboarding::StatementsConfig> {
        self.parties.as_ref()?.hospitals.get(org_code)?.config.statements.as_ref()
    }

    /// The hospital's own SFTP server when its file names one, else the deployment's.
    fn sftp_for(&self, org_code: &str) -> Option<fetch::SftpSettings> {
        match self.statements_of(org_code).and_then(|st| st.sftp.as_ref()) {
            Some(h) => {
                let global = self.settings.sftp.as_ref();
                let template = |own: &Option<String>, theirs: Option<&String>, reference: &str| {
                    own.clone().or_else(|| theirs.cloned()).unwrap_or_else(|| reference.to_string())
                };
                Some(fetch::SftpSettings {
                    host: h.host.clone(),
                    port: h.port,
                    user: h.user.clone(),
                    key_file: h.key_file.clone(),
                    known_hosts: h.known_hosts.clone(),
                    selfpay_remote: template(
                        &h.selfpay_remote,
                        global.map(|g| &g.selfpay_remote),
                        fetch::SELFPAY_REMOTE,
                    ),
                    insurance_remote: template(
                        &h.insurance_remote,
                        global.map(|g| &g.insurance_remote),
                        fetch::INSURANCE_REMOTE,
                    ),
                })
            }
            None => self.settings.sftp.clone(),
        }
    }

    /// The hospital's statement layout for the kind when its file gives one, else the deployment's.
    fn layout_for(&self, org_code: &str, kind: ReconKind) -> parse::Layout {
        match self.statements_of(org_code) {
            Some(st) => match kind {
                ReconKind::Selfpay => st.selfpay.clone(),
                ReconKind::Insurance => st.insurance.clone(),
            },
            None => self.settings.layout.clone(),
        }
    }
}

#[activities]
impl ReconActivities {
    /// Fetches the period's file to staging (or finds it there); "not yet" is retried.
    #[activity]
    pub async fn fetch_statement(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReconInput,
    ) -> Result<StagedFile, ActivityError> {
        let period = input.period.clone().ok_or_else(|| bad("the period must be resolved before fetching".into()))?;
        input.kind.check_period(&period).map_err(bad)?;
        let id = run_id(input.kind, &input.org_code, &period);
        let local = self.settings.staging_dir.join(format!("{id}.txt"));
        if let Some(sftp) = self.sftp_for(&input.org_code).as_ref() {
            let mer_id = self
                .parties
                .as_ref()
                .and_then(|p| p.hospitals.get(input.org_code.as_str()))
                .map(|h| h.params.bank.mer_id.clone())
                .ok_or_else(|| bad(format!("hospital {} is not configured", input.org_code)))?;
            let template = match input.kind {
                ReconKind::Selfpay => &sftp.selfpay_remote,
                ReconKind::Insurance => &sftp.insurance_remote,
            };
            let remote = fetch::remote_path(template, &mer_id, &input.org_code, &period);
            fetch::fetch(sftp, &remote, &local).await.map_err(|e| retry(e.to_string()))?;
        } else if !local.is_file() {
            return Err(retry(format!("statement {} is not in the staging directory yet", local.display())));
        }
        let staged = StagedFile {
            run_id: id,
            kind: input.kind,
            org_code: input.org_code,
            period,
            path: local.display().to_string(),
        };
        store::upsert_run(&self.ledger, &staged, "Fetched", None, now_ms()).await.map_err(|e| retry(e.to_string()))?;
        Ok(staged)
    }

    /// Streams the file into `statement_lines` (replacing an earlier load of the same run).
    #[activity]
    pub async fn load_statement(
        self: Arc<Self>,
        _ctx: ActivityContext,
        f: StagedFile,
    ) -> Result<Loaded, ActivityError> {
        load(&self.ledger, &self.layout_for(&f.org_code, f.kind), &f).await.map_err(retry)
    }

    /// Classifies the run; returns the totals per class.
    #[activity]
    pub async fn classify(
        self: Arc<Self>,
        _ctx: ActivityContext,
        f: StagedFile,
    ) -> Result<BTreeMap<String, ClassTotal>, ActivityError> {
        classify::classify(&self.ledger, &f.run_id, f.kind, &f.org_code, &f.period)
            .await
            .map_err(|e| retry(e.to_string()))
    }

    /// Up to `limit` items whose action has not been taken yet.
    #[activity]
    pub async fn pending_actions(
        self: Arc<Self>,
        _ctx: ActivityContext,
        f: StagedFile,
    ) -> Result<Vec<ReconAction>, ActivityError> {
        pending_actions(&self.ledger, &f.run_id, 200).await.map_err(retry)
    }

    /// Marks items acted (the workflow did what they asked).
    #[activity]
    pub async fn mark_acted(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: (String, Vec<String>),
    ) -> Result<(), ActivityError> {
        use sea_orm::ConnectionTrait;
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        let (run, keys) = input;
        let q = Query::update()
            .table(Alias::new("recon_items"))
            .value(Alias::new("acted"), true)
            .and_where(Expr::col(Alias::new("run_id")).eq(run))
            .and_where(Expr::col(Alias::new("item_key")).is_in(keys))
            .to_owned();
        self.ledger.connection().execute(&q).await.map_err(|e| retry(e.to_string()))?;
        Ok(())
    }

    /// For a payment whose workflow has already ended: record the statement's verdict in the
    /// ledger directly (Paid, or Failed when the statement does not show it).
    #[activity]
    pub async fn settle_in_ledger(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: (ReconAction, bool),
    ) -> Result<(), ActivityError> {
        let (a, paid) = input;
        let message = format!(
            "settled by reconciliation ({}): {}",
            a.item_key,
            if paid { "the statement shows it paid" } else { "the statement does not show it" }
        );
        // A failed one carries its failure code; a paid one only a note.
        let reason = if paid {
            message
        } else {
            medpay_schemas::failure::PaymentFailure::new(
                medpay_schemas::failure::FailureCode::NotPaidPerStatement,
                message,
            )
            .encode()
        };
        let step = if paid {
            crate::ledger::PaymentMove::Paid { at_ms: now_ms(), bank: None, note: Some(reason) }
        } else {
            crate::ledger::PaymentMove::Failed { bank: None, reason: Some(reason) }
        };
        match self.ledger.advance(&a.org_code, &a.med_org_ord, step, now_ms()).await {
            Ok(_) | Err(crate::ledger::LedgerError::IllegalTransition { .. }) => Ok(()),
            Err(e) => Err(retry(e.to_string())),
        }
    }

    /// Writes the exception list as CSV and stores the summary with the run.
    #[activity]
    pub async fn report(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: (StagedFile, Loaded, u64),
    ) -> Result<ReconSummary, ActivityError> {
        let (f, loaded, actions_taken) = input;
        let classes = classify::totals(&self.ledger, &f.run_id).await.map_err(|e| retry(e.to_string()))?;
        let csv = self.settings.reports_dir.join(format!("recon-{}.csv", f.run_id));
        write_csv(&self.ledger, &f.run_id, &csv).await.map_err(retry)?;
        let summary = ReconSummary {
            run_id: f.run_id.clone(),
            kind: Some(f.kind),
            period: f.period.clone(),
            loaded,
            classes,
            actions_taken,
            report_csv: Some(csv.display().to_string()),
        };
        let json = serde_json::to_string(&summary).map_err(|e| bad(e.to_string()))?;
        store::upsert_run(&self.ledger, &f, "Reported", Some(&json), now_ms())
            .await
            .map_err(|e| retry(e.to_string()))?;
        crate::metrics::inc(crate::metrics::RECON_RUNS, &[("org", &f.org_code), ("kind", f.kind.as_str())]);
        for (class, total) in &summary.classes {
            crate::metrics::add(
                crate::metrics::RECON_ITEMS,
                &[("org", &f.org_code), ("kind", f.kind.as_str()), ("class", class)],
                total.count,
            );
        }
        Ok(summary)
    }
}
