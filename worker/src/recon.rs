//! Reconciliation wiring: the activities' settings from the configuration, the Temporal
//! Schedules the product creates for itself (daily self-pay, monthly insurance, per hospital),
//! and starting a run by hand (API and CLI).

use crate::config::ReconConfig;
use anyhow::Context;
use medpay_activities::recon::fetch::SftpSettings;
use medpay_activities::recon::{ReconSettings, parse::Layout};
use medpay_schemas::OrgCode;
use medpay_schemas::recon::{ReconInput, ReconKind};
use medpay_schemas::workflow_ids;
use medpay_workflows::recon::ReconWorkflow;
use temporalio_client::schedules::{
    CreateScheduleOptions, ScheduleAction, ScheduleCalendarSpec, ScheduleError, ScheduleSpec,
};
use temporalio_client::{Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions};

pub fn settings(cfg: &ReconConfig) -> anyhow::Result<ReconSettings> {
    let sftp = match &cfg.sftp_host {
        Some(host) => Some(SftpSettings {
            host: host.clone(),
            port: cfg.sftp_port,
            user: cfg.sftp_user.clone(),
            key_file: cfg.sftp_key_file.clone().context("recon.sftp_key_file (MEDPAY_RECON_SFTP_KEY_FILE) is required with recon.sftp_host")?,
            known_hosts: cfg.sftp_known_hosts.clone().context("recon.sftp_known_hosts (MEDPAY_RECON_SFTP_KNOWN_HOSTS) is required with recon.sftp_host: host keys are never trusted on first use")?,
            selfpay_remote: cfg.selfpay_remote.clone(),
            insurance_remote: cfg.insurance_remote.clone(),
        }),
        None => None,
    };
    Ok(ReconSettings {
        sftp,
        staging_dir: cfg.staging_dir.clone(),
        reports_dir: cfg.reports_dir.clone(),
        layout: Layout::default(),
    })
}

/// Creates the schedules that are missing (existing ones are left as operators may have
/// paused or changed them). Missed runs are caught up by the server's catch-up window.
pub async fn ensure_schedules(
    client: &Client,
    task_queue: &str,
    cfg: &ReconConfig,
    orgs: &[OrgCode],
) -> anyhow::Result<Vec<String>> {
    let (hour, minute) =
        cfg.selfpay_at.split_once(':').with_context(|| format!("recon.selfpay_at {:?} is not H:MM", cfg.selfpay_at))?;
    let mut created = vec![];
    for org in orgs {
        for kind in [ReconKind::Selfpay, ReconKind::Insurance] {
            let calendar = match kind {
                ReconKind::Selfpay => ScheduleCalendarSpec::builder()
                    .hour(hour.trim().to_string())
                    .minute(minute.trim().to_string())
                    .build(),
                ReconKind::Insurance => ScheduleCalendarSpec::builder()
                    .day_of_month(cfg.insurance_day.to_string())
                    .hour(hour.trim().to_string())
                    .minute(minute.trim().to_string())
                    .build(),
            };
            let id = workflow_ids::recon_schedule(kind, org);
            let input = ReconInput { kind, org_code: org.clone(), period: None };
            let opts = CreateScheduleOptions::builder()
                .action(ScheduleAction::start_workflow(
                    ReconWorkflow::run,
                    input,
                    task_queue.to_string(),
                    workflow_ids::recon_scheduled(kind, org),
                ))
                .spec(
                    ScheduleSpec::builder()
                        .calendars(vec![calendar])
                        .timezone_name("Asia/Shanghai".to_string())
                        .build(),
                )
                .note(format!("medpay {} reconciliation of {org} (REQ C-6.3)", kind.as_str()))
                .build();
            match client.create_schedule(id.clone(), opts).await {
                Ok(_) => created.push(id),
                Err(ScheduleError::Rpc(s)) if s.code() == tonic::Code::AlreadyExists => {}
                Err(e) => return Err(anyhow::anyhow!("cannot create schedule {id}: {e}")),
            }
        }
    }
    Ok(created)
}

/// Starts (or re-runs) one reconciliation; a run still in progress is joined, not doubled.
pub async fn start(
    client: &Client,
    task_queue: &str,
    kind: ReconKind,
    org: &OrgCode,
    period: &str,
) -> anyhow::Result<String> {
    kind.check_period(period).map_err(anyhow::Error::msg)?;
    let id = workflow_ids::recon(kind, org, period);
    let options = WorkflowStartOptions::new(task_queue.to_string(), id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
        .build();
    client
        .start_workflow(
            ReconWorkflow::run,
            ReconInput { kind, org_code: org.clone(), period: Some(period.to_string()) },
            options,
        )
        .await
        .with_context(|| format!("cannot start reconciliation {id}"))?;
    Ok(id)
}
