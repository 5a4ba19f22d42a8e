//! `medpay envelope`: the signature debugger for integrators. `seal` prints every intermediate
//! value of building a message (canonical data, sign string, SM3 digest, signature in DER and
//! raw, encData); `verify` opens a captured message and names the step that disagrees.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::envelope::canonical::{NumberStyle, canonical_data};
use medpay_crypto::envelope::diagnose::diagnose_mid_platform;
use medpay_crypto::envelope::mid_platform::{MidPlatformEnvelope, MidPlatformProfile};
use medpay_crypto::signer::{PrivateKey, PublicKey, SignatureScheme};
use medpay_crypto::sm2::{Sm2SignatureFormat, sm2_digest};
use medpay_crypto::symmetric::{BlockCipherKind, CipherMode, IvPolicy, SymmetricCipher};
use medpay_crypto::text::{decode_hex_or_base64, encode_base64};
use medpay_schemas::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum EnvelopeCommand {
    /// Build a signed, encrypted message and print every intermediate value.
    Seal {
        #[command(subcommand)]
        party: SealParty,
    },
    /// Open a captured message and say which step (sign string, digest, signature, key) disagrees.
    Verify {
        #[command(subcommand)]
        party: VerifyParty,
    },
}

#[derive(Subcommand, Debug)]
pub enum SealParty {
    /// Mid-platform envelope (6201-6401).
    MidPlatform {
        #[command(flatten)]
        conn: MidPlatformArgs,
        /// Signer's private key: PKCS#8 PEM, or hex/Base64 of the 32-byte scalar (file or text).
        #[arg(long, env = "MEDPAY_PRIVATE_KEY")]
        private_key: String,
        /// The business `data` JSON (file path, or - for stdin).
        #[arg(long)]
        data: PathBuf,
        /// Timestamp text used verbatim (e.g. 20200207175759); default: now in the profile's format.
        #[arg(long)]
        timestamp: Option<String>,
    },
    /// Bank gateway envelope (form parameters).
    Bank {
        #[command(flatten)]
        conn: BankArgs,
        #[arg(long, env = "MEDPAY_PRIVATE_KEY")]
        private_key: String,
        /// The `biz_content` JSON (file path, or - for stdin).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "msg-debug-1")]
        msg_id: String,
        /// Epoch milliseconds of the timestamp; default: now.
        #[arg(long)]
        timestamp_millis: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum VerifyParty {
    /// A mid-platform request or reply (JSON).
    MidPlatform {
        #[command(flatten)]
        conn: MidPlatformArgs,
        /// The sender's public key: SPKI PEM, or hex/Base64 of 04||X||Y (file or text).
        #[arg(long)]
        public_key: String,
        /// The captured message (file path, or - for stdin).
        #[arg(long)]
        message: PathBuf,
        /// The sender's sign string from its logs, to find the first differing byte.
        #[arg(long)]
        expected_sign_string: Option<PathBuf>,
        /// Print the diagnosis as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A bank gateway request/callback form (urlencoded) or reply (JSON).
    Bank {
        #[command(flatten)]
        conn: BankArgs,
        #[arg(long)]
        public_key: String,
        /// The captured message: `k=v&...` form, or a `{"response_biz_content":...}` reply.
        #[arg(long)]
        message: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct MidPlatformArgs {
    #[arg(long, env = "MEDPAY_APP_ID")]
    app_id: String,
    #[arg(long, env = "MEDPAY_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    #[arg(long, default_value = "2.0.1")]
    version: String,
    /// How numbers in `data` are signed.
    #[arg(long, value_enum, default_value_t = Numbers::Literal)]
    numbers: Numbers,
    /// Encoding of signData.
    #[arg(long, value_enum, default_value_t = SigFormat::Raw)]
    signature: SigFormat,
    /// yyyyMMddHHmmss or epoch milliseconds.
    #[arg(long, value_enum, default_value_t = Stamp::Compact)]
    timestamp_format: Stamp,
}

#[derive(Args, Debug)]
pub struct BankArgs {
    #[arg(long, env = "MEDPAY_BANK_APP_ID")]
    app_id: String,
    /// API path, part of the signed string (e.g. /api/mimp/mixorder/V1).
    #[arg(long)]
    path: String,
    /// Use the legacy RSA2 profile instead of SM2.
    #[arg(long)]
    legacy_rsa2: bool,
    /// SM4 (or AES with --legacy-rsa2) key for biz_content, hex/Base64; omit for plaintext.
    #[arg(long, env = "MEDPAY_BANK_BIZ_KEY", hide_env_values = true)]
    biz_key: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Numbers {
    Literal,
    String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SigFormat {
    Raw,
    Der,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Stamp {
    Compact,
    EpochMillis,
}

/// A path, "-" for stdin, or (for keys) the text itself.
fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn key_text(arg: &str) -> anyhow::Result<String> {
    let p = std::path::Path::new(arg);
    if !arg.starts_with("-----") && p.is_file() {
        return std::fs::read_to_string(p).with_context(|| format!("cannot read key file {arg}"));
    }
    Ok(arg.to_string())
}

fn now_millis() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl MidPlatformArgs {
    fn envelope(&self) -> anyhow::Result<MidPlatformEnvelope> {
        let profile = MidPlatformProfile {
            version: self.version.clone(),
            numbers: match self.numbers {
                Numbers::Literal => NumberStyle::Literal,
                Numbers::String => NumberStyle::String,
            },
            sign: SignatureScheme::sm2(match self.signature {
                SigFormat::Raw => Sm2SignatureFormat::Raw,
                SigFormat::Der => Sm2SignatureFormat::Der,
            }),
            timestamp: match self.timestamp_format {
                Stamp::Compact => medpay_crypto::envelope::time::TimestampFormat::Compact,
                Stamp::EpochMillis => medpay_crypto::envelope::time::TimestampFormat::EpochMillis,
            },
            ..Default::default()
        };
        Ok(MidPlatformEnvelope::new(profile, self.app_id.clone(), Secret::new(self.app_secret.clone()))?)
    }
}

impl BankArgs {
    fn envelope(&self) -> anyhow::Result<BankGatewayEnvelope> {
        let mut profile =
            if self.legacy_rsa2 { BankGatewayProfile::legacy_rsa2() } else { BankGatewayProfile::default() };
        let key = match &self.biz_key {
            Some(k) => {
                let cipher = if self.legacy_rsa2 { BlockCipherKind::Aes } else { BlockCipherKind::Sm4 };
                profile.encrypt = Some(SymmetricCipher { cipher, mode: CipherMode::Cbc { iv: IvPolicy::Zero } });
                profile.encrypt_label = if self.legacy_rsa2 { "AES" } else { "SM4" }.into();
                Some(Secret::new(decode_hex_or_base64(k)?))
            }
            None => None,
        };
        Ok(BankGatewayEnvelope::new(profile, self.app_id.clone(), key)?)
    }
}

/// `medpay envelope seal mid-platform`: the message and every intermediate an integrator
/// compares with the platform's logs (data key, canonical data, sign string, digest, signature).
fn seal_mid_platform(
    conn: &MidPlatformArgs,
    private_key: &str,
    data: &std::path::Path,
    timestamp: Option<&str>,
) -> anyhow::Result<()> {
    let env = conn.envelope()?;
    let key = PrivateKey::from_text(&env.profile.sign, &key_text(private_key)?)?;
    let data: serde_json::Value = serde_json::from_str(&read_input(data)?).context("data is not JSON")?;
    let fields = match timestamp {
        Some(t) => env.request_fields_at(t),
        None => env.request_fields(now_millis()),
    };
    let sealed = env.seal(fields, &data, &key)?;
    println!(
        "data key      : {} (ASCII {})",
        hex::encode_upper(env.data_key()),
        String::from_utf8_lossy(env.data_key())
    );
    println!("canonical data: {}", canonical_data(&data, env.profile.numbers));
    println!("sign string   : {}", sealed.sign_string);
    if let PrivateKey::Sm2(k) = &key {
        println!(
            "SM3 digest e  : {}",
            hex::encode(sm2_digest(
                &k.public_key(),
                medpay_crypto::sm2::DEFAULT_SM2_ID,
                sealed.sign_string.as_bytes()
            )?)
        );
        let sig = medpay_crypto::sm2::sign::decode_signature(
            &sealed.signature,
            Sm2SignatureFormat::detect(&sealed.signature),
        )?;
        println!("signature DER : {}", encode_base64(sig.to_der().as_bytes()));
        println!("signature raw : {}", encode_base64(&sig.to_bytes()));
    }
    println!("encData       : {}", sealed.body["encData"].as_str().unwrap_or_default());
    println!("body          : {}", sealed.body);
    Ok(())
}

pub fn run(cmd: EnvelopeCommand) -> anyhow::Result<()> {
    match cmd {
        EnvelopeCommand::Seal { party: SealParty::MidPlatform { conn, private_key, data, timestamp } } => {
            seal_mid_platform(&conn, &private_key, &data, timestamp.as_deref())?
        }
        EnvelopeCommand::Seal { party: SealParty::Bank { conn, private_key, data, msg_id, timestamp_millis } } => {
            let env = conn.envelope()?;
            let key = PrivateKey::from_text(&env.profile.sign, &key_text(&private_key)?)?;
            let biz: serde_json::Value =
                serde_json::from_str(&read_input(&data)?).context("biz_content is not JSON")?;
            let sealed =
                env.seal_request(&conn.path, &msg_id, timestamp_millis.unwrap_or_else(now_millis), &biz, &key)?;
            println!("sign string : {}", sealed.sign_string);
            for (k, v) in &sealed.params {
                println!("param {k:<12}: {v}");
            }
            let form: String =
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&sealed.params).finish();
            println!("form body   : {form}");
        }
        EnvelopeCommand::Verify {
            party: VerifyParty::MidPlatform { conn, public_key, message, expected_sign_string, json },
        } => {
            let env = conn.envelope()?;
            let peer = PublicKey::from_text(&env.profile.sign, &key_text(&public_key)?)?;
            let expected = expected_sign_string.as_deref().map(read_input).transpose()?;
            let d = diagnose_mid_platform(&env, &read_input(&message)?, &peer, expected.as_deref().map(str::trim_end));
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                for s in &d.steps {
                    println!("[{}] {:<24} {}", if s.ok { " ok " } else { "FAIL" }, s.name, s.detail);
                }
                println!("verdict: {}", d.verdict);
            }
            if !d.verified {
                bail!("the message does not verify");
            }
        }
        EnvelopeCommand::Verify { party: VerifyParty::Bank { conn, public_key, message } } => {
            let env = conn.envelope()?;
            let peer = PublicKey::from_text(&env.profile.sign, &key_text(&public_key)?)?;
            let raw = read_input(&message)?;
            let raw = raw.trim();
            let biz = if raw.starts_with('{') {
                env.open_response(raw, &peer)?
            } else {
                let params: BTreeMap<String, String> =
                    url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
                println!("sign string : {}", medpay_crypto::envelope::bank_gateway::sign_string(&conn.path, &params));
                env.open_request(&conn.path, params, &peer)?.biz_content
            };
            println!("verified; biz_content: {biz}");
        }
    }
    Ok(())
}
