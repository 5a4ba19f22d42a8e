//! `medpay-sandbox`: the four counterparties (and Alipay) on loopback for demos, tests and
//! rehearsing a joint test. A binary of its own: the product (`medpay`) does not carry the
//! simulator.

use clap::Parser;
use medpay_sandbox::SandboxConfig;
use medpay_sandbox::faults::apply_flag;
use std::path::PathBuf;
use std::time::Duration;

/// The sandbox counterparties (channel, core, mid-platform, bank) on loopback.
#[derive(Parser, Debug)]
#[command(name = "medpay-sandbox", version)]
pub struct SandboxArgs {
    /// HTTPS listen address of all parties.
    #[arg(long, env = "MEDPAY_SANDBOX_LISTEN", default_value = "127.0.0.1:9443")]
    listen: String,
    /// Credentials, TLS files, statements (kept across restarts).
    #[arg(long, env = "MEDPAY_SANDBOX_DIR", default_value = ".data/sandbox")]
    data_dir: PathBuf,
    /// Lifetime of a payAuthNo, in seconds.
    #[arg(long, default_value_t = 300)]
    pay_auth_ttl_secs: u64,
    /// Delays between unacknowledged callback attempts, in seconds (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "2,5,10,30,60")]
    callback_retry_secs: Vec<u64>,
    /// Write every raw request and response into this directory.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Serve statement files over SFTP (OpenSSH sshd) on this loopback port.
    #[arg(long, env = "MEDPAY_SANDBOX_SFTP_PORT")]
    sftp_port: Option<u16>,
    /// Extra CA to trust for the hospital's callback endpoint (the sandbox CA is always trusted).
    #[arg(long)]
    callback_ca: Option<PathBuf>,
    /// The bank speaks the legacy RSA2 profile (SHA256withRSA) instead of SM2.
    #[arg(long)]
    bank_legacy_rsa2: bool,
    /// How many hospitals the parties serve (H51010500001, H51010500002, ...), each with its own
    /// keys, appIds and merchant ids; medpay's files for them are written to <data dir>/hospitals.
    #[arg(long, env = "MEDPAY_SANDBOX_HOSPITALS", default_value_t = 1)]
    hospitals: usize,
    /// The bank encrypts biz_content (SM4) and refuses business fields in clear (REQ S-4.1b).
    #[arg(long)]
    bank_encrypt: bool,
    /// Each party also on its own listener with its own CA, the mid-platform requiring a client
    /// certificate; the hospital files point at them.
    #[arg(long)]
    split_parties: bool,
    /// The parties play their joint-test environments (REQ O-5): mixed orders must say
    /// med_ins_test_env=true and the hospital files say stage = "joint_test".
    #[arg(long)]
    joint_test: bool,
    /// The payer ID digest the bank expects: md5 (the channels' documented rule) or sm3.
    #[arg(long, value_parser = ["md5", "sm3"], default_value = "md5")]
    bank_id_digest: String,
    /// The bank also sends each self-pay order's payment notice to the order's mer_url.
    #[arg(long)]
    selfpay_notices: bool,
    /// The bank writes its self-pay statements in GBK in its own layout (a Chinese memo
    /// column); the hospital files written for medpay say so.
    #[arg(long)]
    statements_gbk: bool,
    /// Global faults: callback-lost, callback-duplicate, callback-bad-signature, callback-delay=S,
    /// insurance-fails, pay-auth-expired, refund-exp, statement-late=S, statement-missing-line,
    /// statement-extra-line, statement-wrong-amount, errors:ENDPOINT=PERMILLE,
    /// timeouts:ENDPOINT=PERMILLE (endpoints: channel.wechat, core, mid.6201..mid.6401,
    /// bank.self_pay_order, bank.mixed_order, bank.query, bank.self_pay_refund, bank.refund_notify).
    #[arg(long = "fault")]
    faults: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDPAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let args = SandboxArgs::parse();
    tokio::runtime::Runtime::new()?.block_on(run(args))
}

async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let mut config = SandboxConfig {
        listen: args.listen,
        data_dir: args.data_dir,
        pay_auth_ttl: Duration::from_secs(args.pay_auth_ttl_secs),
        callback_retry: args.callback_retry_secs.into_iter().map(Duration::from_secs).collect(),
        record_dir: args.record,
        sftp_port: args.sftp_port,
        callback_ca: args.callback_ca,
        bank_legacy_rsa2: args.bank_legacy_rsa2,
        hospitals: args.hospitals,
        bank_encrypt: args.bank_encrypt,
        split_parties: args.split_parties,
        joint_test: args.joint_test,
        selfpay_notices: args.selfpay_notices,
        statements_gbk: args.statements_gbk,
        bank_id_digest: if args.bank_id_digest == "sm3" {
            medpay_crypto::id_digest::IdDigest::Sm3
        } else {
            medpay_crypto::id_digest::IdDigest::Md5
        },
        ..SandboxConfig::default()
    };
    for f in &args.faults {
        apply_flag(&mut config.faults.global, f).map_err(anyhow::Error::msg)?;
    }
    let handle = medpay_sandbox::start(config).await?;
    println!("sandbox         : {}", handle.base_url);
    println!("sandbox CA      : {} (trust this, never disable verification)", handle.ca_cert.display());
    println!("credentials     : {}", handle.credentials_path.display());
    println!(
        "hospitals       : {} ({} files for parties.hospitals_dir)",
        handle.credentials.hospitals.iter().map(|h| h.org_code.as_str()).collect::<Vec<_>>().join(", "),
        handle.hospitals_dir.display()
    );
    println!("hospital cert   : {} / {}", handle.hospital_cert.display(), handle.hospital_key.display());
    for p in &handle.parties {
        println!(
            "party {:<10}: {} (CA {}{})",
            p.party,
            p.base_url,
            p.ca_cert.display(),
            if p.client_identity.is_some() { ", client certificate required" } else { "" }
        );
    }
    if let Some(s) = &handle.sftp {
        println!(
            "statements SFTP : sftp -P {} -i {} -o UserKnownHostsFile={} {}@{}",
            s.port,
            s.private_key.display(),
            s.known_hosts.display(),
            s.user,
            s.host
        );
    }
    println!("personas        : {}/sandbox/personas", handle.base_url);
    shutdown_signal().await;
    handle.stop().await;
    Ok(())
}

/// Ctrl-C or SIGTERM (a test harness or `scripts/run.sh` stopping it).
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
