//! Differential tests against an independent implementation: the OpenSSL 3 CLI (installed by
//! `.ci/run`). Each primitive is checked in both directions. OpenSSL signs SM2 with an EMPTY
//! distinguishing ID unless told, so every SM2 call passes `distid:1234567812345678` explicitly.

use medpay_crypto::rsa2::{RsaPrivate, RsaPublic};
use medpay_crypto::sm2::*;
use medpay_crypto::symmetric::{BlockCipherKind, CipherMode, IvPolicy, SymmetricCipher};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("medpay-ossl-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    fn write(&self, file: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out =
        Command::new("openssl").args(args).output().expect("the openssl CLI must be installed (.ci/run installs it)");
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const ID_OPT: &str = "distid:1234567812345678";
const MESSAGES: [&str; 3] = ["", "appId=43AF&data={\"a\":1}&key=secret", "高平市人民医院-SM2交叉验证消息-0123456789"];

#[test]
fn sm2_signatures_cross_verify_both_ways() {
    let s = Scratch::new("sm2sig");
    let ours = Sm2PrivateKey::generate().unwrap();
    let our_pub = s.write("our_pub.pem", ours.public_key().to_spki_pem().unwrap());
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", p(&s.path("theirs.pem"))]);
    let theirs = Sm2PrivateKey::from_text(&std::fs::read_to_string(s.path("theirs.pem")).unwrap()).unwrap();
    let their_pub = theirs.public_key();

    for (i, msg) in MESSAGES.iter().enumerate() {
        let msg_file = s.write(&format!("m{i}"), msg);
        // ours -> OpenSSL
        let sig = sm2_sign(&ours, DEFAULT_SM2_ID, msg.as_bytes(), Sm2SignatureFormat::Der).unwrap();
        let sig_file = s.write(&format!("s{i}"), &sig);
        let out = openssl(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            p(&our_pub),
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            ID_OPT,
            "-in",
            p(&msg_file),
            "-sigfile",
            p(&sig_file),
        ]);
        assert!(String::from_utf8_lossy(&out).contains("Signature Verified Successfully"), "message {i}");
        // OpenSSL -> ours (DER, and the same signature re-encoded as raw r||s)
        let their_sig = openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            p(&s.path("theirs.pem")),
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            ID_OPT,
            "-in",
            p(&msg_file),
        ]);
        sm2_verify(&their_pub, DEFAULT_SM2_ID, msg.as_bytes(), &their_sig, Sm2SignatureFormat::Der).unwrap();
        let raw = medpay_crypto::sm2::sign::decode_signature(&their_sig, Sm2SignatureFormat::Der).unwrap().to_bytes();
        sm2_verify(&their_pub, DEFAULT_SM2_ID, msg.as_bytes(), &raw, Sm2SignatureFormat::Raw).unwrap();
        // Without the ID OpenSSL uses "", and we must notice.
        let empty_id_sig = openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            p(&s.path("theirs.pem")),
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            p(&msg_file),
        ]);
        assert!(
            sm2_verify(&their_pub, DEFAULT_SM2_ID, msg.as_bytes(), &empty_id_sig, Sm2SignatureFormat::Der).is_err()
        );
        sm2_verify(&their_pub, "", msg.as_bytes(), &empty_id_sig, Sm2SignatureFormat::Der).unwrap();
    }
}

#[test]
fn sm2_encryption_interoperates_in_asn1_layout() {
    let s = Scratch::new("sm2enc");
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", p(&s.path("k.pem"))]);
    openssl(&["pkey", "-in", p(&s.path("k.pem")), "-pubout", "-out", p(&s.path("pub.pem"))]);
    let key = Sm2PrivateKey::from_text(&std::fs::read_to_string(s.path("k.pem")).unwrap()).unwrap();
    let asn1 = Sm2CipherFormat { layout: Sm2CipherLayout::Asn1, point_prefix: true };
    let plain = "510104199001011234 张三".as_bytes();
    // OpenSSL -> ours
    let pt_file = s.write("pt", plain);
    let ct = openssl(&["pkeyutl", "-encrypt", "-pubin", "-inkey", p(&s.path("pub.pem")), "-in", p(&pt_file)]);
    assert_eq!(sm2_decrypt(&key, &ct, asn1).unwrap(), plain);
    // ours -> OpenSSL
    let ours = sm2_encrypt(&key.public_key(), plain, asn1).unwrap();
    let ct_file = s.write("ct", &ours);
    assert_eq!(openssl(&["pkeyutl", "-decrypt", "-inkey", p(&s.path("k.pem")), "-in", p(&ct_file)]), plain);
}

#[test]
fn sm3_and_sm4_match_openssl() {
    let s = Scratch::new("sm34");
    let data = "{\"payOrdId\":\"ORD1\",\"中\":1}".repeat(7);
    let f = s.write("data", &data);
    let dgst = String::from_utf8(openssl(&["dgst", "-sm3", "-r", p(&f)])).unwrap();
    assert_eq!(dgst.split_whitespace().next().unwrap(), hex::encode(medpay_crypto::sm3::sm3(data.as_bytes())));

    let key = "0123456789abcdeffedcba9876543210";
    let cbc_zero = SymmetricCipher { cipher: BlockCipherKind::Sm4, mode: CipherMode::Cbc { iv: IvPolicy::Zero } };
    for (cipher, ossl, iv) in
        [(SymmetricCipher::SM4_ECB, "-sm4-ecb", None), (cbc_zero, "-sm4-cbc", Some("00000000000000000000000000000000"))]
    {
        let mut args = vec!["enc", ossl, "-K", key, "-in", p(&f)];
        if let Some(iv) = iv {
            args.extend(["-iv", iv]);
        }
        let theirs = openssl(&args);
        let ours = cipher.encrypt(&hex::decode(key).unwrap(), data.as_bytes()).unwrap();
        assert_eq!(ours, theirs, "{ossl} ciphertexts differ");
        let ct_file = s.write("ct", &ours);
        let mut dec = vec!["enc", "-d", ossl, "-K", key, "-in", p(&ct_file)];
        if let Some(iv) = iv {
            dec.extend(["-iv", iv]);
        }
        assert_eq!(openssl(&dec), data.as_bytes());
    }
}

#[test]
fn legacy_rsa2_and_aes_match_openssl() {
    let s = Scratch::new("rsa");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p(&s.path("rsa.pem"))]);
    openssl(&["pkey", "-in", p(&s.path("rsa.pem")), "-pubout", "-out", p(&s.path("rsa_pub.pem"))]);
    let key = RsaPrivate::from_text(&std::fs::read_to_string(s.path("rsa.pem")).unwrap()).unwrap();
    let public = RsaPublic::from_text(&std::fs::read_to_string(s.path("rsa_pub.pem")).unwrap()).unwrap();
    let msg = "/api/x/V1?app_id=A&biz_content={\"a\":\"中\"}&msg_id=1";
    let f = s.write("msg", msg);
    let theirs = openssl(&["dgst", "-sha256", "-sign", p(&s.path("rsa.pem")), p(&f)]);
    let ours = key.sign(msg.as_bytes()).unwrap();
    assert_eq!(ours, theirs, "PKCS#1 v1.5 is deterministic: signatures must be identical");
    public.verify(msg.as_bytes(), &theirs).unwrap();
    let sig_file = s.write("sig", &ours);
    let out = openssl(&["dgst", "-sha256", "-verify", p(&s.path("rsa_pub.pem")), "-signature", p(&sig_file), p(&f)]);
    assert!(String::from_utf8_lossy(&out).contains("Verified OK"));

    let aes = SymmetricCipher { cipher: BlockCipherKind::Aes, mode: CipherMode::Cbc { iv: IvPolicy::Zero } };
    let key = "000102030405060708090a0b0c0d0e0f";
    let theirs = openssl(&["enc", "-aes-128-cbc", "-K", key, "-iv", "00000000000000000000000000000000", "-in", p(&f)]);
    assert_eq!(aes.encrypt(&hex::decode(key).unwrap(), msg.as_bytes()).unwrap(), theirs);
}
