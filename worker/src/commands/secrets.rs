//! `medpay keygen` (the Temporal codec's payload key) and `medpay secrets seal` (a secret file
//! sealed at rest with the master key, REQ S-4.1e).

use std::path::Path;

/// Writes a new payload key file (mode 600); never overwrites one.
pub fn keygen(out: &Path, id: &str) -> anyhow::Result<()> {
    anyhow::ensure!(!out.exists(), "{} exists: refusing to overwrite a key file", out.display());
    write_private(out, crate::codec::Sm4GcmCodec::generate_key_file(id)?.as_bytes())?;
    println!("wrote payload key {id} to {} (mode 600)", out.display());
    Ok(())
}

/// Seals `input` into `out` with the master key from the environment, or prints a new master
/// key.
pub fn seal(input: Option<&Path>, out: Option<&Path>, generate_master_key: bool) -> anyhow::Result<()> {
    if generate_master_key {
        println!("{}", hex::encode(medpay_crypto::random::random_bytes::<16>()?));
        return Ok(());
    }
    let (Some(input), Some(out)) = (input, out) else { anyhow::bail!("--in and --out are required") };
    let master = medpay_crypto::sealed::master_key_from_env()?.ok_or_else(|| anyhow::anyhow!("set MEDPAY_MASTER_KEY (32 hex digits) or MEDPAY_MASTER_KEY_FILE; `medpay secrets seal --generate-master-key` makes one"))?;
    let plain = zeroize::Zeroizing::new(
        std::fs::read(input).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?,
    );
    anyhow::ensure!(
        !medpay_crypto::sealed::is_sealed(&String::from_utf8_lossy(&plain)),
        "{} is already sealed",
        input.display()
    );
    let sealed = medpay_crypto::sealed::seal(&master, &plain)?;
    write_private(out, sealed.as_bytes())?;
    println!(
        "sealed {} -> {} (remove the plain file once medpay runs with the sealed one)",
        input.display(),
        out.display()
    );
    Ok(())
}

/// Writes a file only its owner can read (0600 on Unix).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}
