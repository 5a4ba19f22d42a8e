//! `medpay-tools bench crypto`: our SM2/SM3/SM4 throughput beside `openssl speed` run on the same
//! machine in the same invocation, so the ratio is visible (figures, not a pass/fail test).

// Throughput figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use medpay_crypto::sm2::{DEFAULT_SM2_ID, Sm2PrivateKey, Sm2SignatureFormat, sm2_sign, sm2_verify};
use medpay_crypto::symmetric::{BlockCipherKind, CipherMode, IvPolicy, SymmetricCipher};
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `op` repeatedly for about `secs` and returns operations per second.
fn rate(secs: f64, mut op: impl FnMut()) -> f64 {
    let budget = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        op();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn mb_per_s(ops_per_s: f64, bytes: usize) -> f64 {
    ops_per_s * bytes as f64 / 1e6
}

/// `openssl speed sm2` -> (sign/s, verify/s).
fn openssl_sm2(secs: u32) -> Option<(f64, f64)> {
    let out = Command::new("openssl").args(["speed", "-seconds", &secs.to_string(), "sm2"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("SM2") && l.contains("bits"))?;
    let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    // "256 bits SM2 (CurveSM2) 0.0003s 0.0003s 3048.5 3453.0": the last two are the rates.
    (nums.len() >= 3).then(|| (nums[nums.len() - 2], nums[nums.len() - 1]))
}

/// `openssl speed -evp <cipher>` -> MB/s at 16 KiB blocks.
fn openssl_evp(secs: u32, cipher: &str) -> Option<f64> {
    let out = Command::new("openssl").args(["speed", "-seconds", &secs.to_string(), "-evp", cipher]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.to_ascii_lowercase().starts_with(cipher))?;
    let last = line.split_whitespace().last()?.trim_end_matches('k');
    last.parse::<f64>().ok().map(|k| k * 1000.0 / 1e6)
}

/// Prints the figures and returns them (for `medpay-tools bench product`'s report).
pub fn run(secs: u32) -> anyhow::Result<serde_json::Value> {
    let s = f64::from(secs);
    let key = Sm2PrivateKey::generate()?;
    let public = key.public_key();
    let msg = b"appId=43AF047BBA47FC8A1AE8EFB232BDBBCB&data={\"payOrdId\":\"ORD510100202611260001\",\"totlRefdAmt\":\"12.30\"}&encType=SM4&signType=SM2&timestamp=20261126120000&version=2.0.1&key=4117E877F5FA0A0188891283E4B617D5";
    let sig = sm2_sign(&key, DEFAULT_SM2_ID, msg, Sm2SignatureFormat::Der)?;

    println!("medpay-tools bench crypto: {secs} s per figure, this machine, single thread");
    let sign = rate(s, || {
        black_box(sm2_sign(&key, DEFAULT_SM2_ID, black_box(msg), Sm2SignatureFormat::Der).ok());
    });
    let verify = rate(s, || {
        black_box(sm2_verify(&public, DEFAULT_SM2_ID, black_box(msg), &sig, Sm2SignatureFormat::Der).is_ok());
    });
    let block = vec![0x5Au8; 16 * 1024];
    let k16 = [7u8; 16];
    let gcm = rate(s, || {
        black_box(SymmetricCipher::SM4_GCM.encrypt(&k16, black_box(&block)).ok());
    });
    let cbc_cipher = SymmetricCipher { cipher: BlockCipherKind::Sm4, mode: CipherMode::Cbc { iv: IvPolicy::Zero } };
    let cbc = rate(s, || {
        black_box(cbc_cipher.encrypt(&k16, black_box(&block)).ok());
    });
    let sm3 = rate(s, || {
        black_box(medpay_crypto::sm3::sm3(black_box(&block)));
    });

    let ossl_sm2 = openssl_sm2(secs);
    let ossl_cbc = openssl_evp(secs, "sm4-cbc");
    let ossl_sm3 = openssl_evp(secs, "sm3");
    let ratio = |ours: f64, theirs: Option<f64>| match theirs {
        Some(t) if t > 0.0 => format!("{:.2}x", ours / t),
        _ => "n/a (openssl missing?)".into(),
    };
    let show = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "n/a".into());
    println!("{:<28} {:>12} {:>14} {:>10}", "figure", "medpay", "openssl speed", "ratio");
    println!(
        "{:<28} {:>12.1} {:>14} {:>10}",
        "SM2 sign/s",
        sign,
        show(ossl_sm2.map(|x| x.0)),
        ratio(sign, ossl_sm2.map(|x| x.0))
    );
    println!(
        "{:<28} {:>12.1} {:>14} {:>10}",
        "SM2 verify/s",
        verify,
        show(ossl_sm2.map(|x| x.1)),
        ratio(verify, ossl_sm2.map(|x| x.1))
    );
    let gcm_mb = mb_per_s(gcm, block.len());
    let cbc_mb = mb_per_s(cbc, block.len());
    let sm3_mb = mb_per_s(sm3, block.len());
    println!(
        "{:<28} {:>12.1} {:>14} {:>10}",
        "SM4-GCM MB/s (vs sm4-cbc)",
        gcm_mb,
        show(ossl_cbc),
        ratio(gcm_mb, ossl_cbc)
    );
    println!("{:<28} {:>12.1} {:>14} {:>10}", "SM4-CBC MB/s", cbc_mb, show(ossl_cbc), ratio(cbc_mb, ossl_cbc));
    println!("{:<28} {:>12.1} {:>14} {:>10}", "SM3 MB/s", sm3_mb, show(ossl_sm3), ratio(sm3_mb, ossl_sm3));
    println!("(16 KiB blocks; OpenSSL has no SM4-GCM in 3.0, so GCM is shown beside its SM4-CBC)");
    Ok(serde_json::json!({
        "sm2_sign_per_s": sign, "sm2_verify_per_s": verify, "openssl_sm2_sign_per_s": ossl_sm2.map(|x| x.0), "openssl_sm2_verify_per_s": ossl_sm2.map(|x| x.1),
        "sm4_gcm_mb_s": gcm_mb, "sm4_cbc_mb_s": cbc_mb, "openssl_sm4_cbc_mb_s": ossl_cbc, "sm3_mb_s": sm3_mb, "openssl_sm3_mb_s": ossl_sm3,
    }))
}
