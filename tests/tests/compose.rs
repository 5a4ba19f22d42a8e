//! docker-compose.yml cannot be started here (no Docker engine), so this checks its structure
//! and wiring: the services a deployment needs (Temporal's schema set up by its admin tools, the
//! server image, the UI decoding through medpay's codec), who depends on whom, that every address
//! points at a service and port that exist, that what must survive is on volumes, and that
//! medpay's environment is configuration the binary actually reads: `medpay config` echoes it
//! back, and `medpay config check` passes on the mounted files (a hospital, its sealed
//! credentials, the sealed secrets and the master key laid out as the compose file mounts them).

use medpay_harness::{Proc, free_port, medpay_bin, sandbox_bin, workspace_root};
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn compose() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("docker-compose.yml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn env(service: &Value, key: &str) -> String {
    match &service["environment"][key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("environment {key} missing: {other:?}"),
    }
}

fn depends_on(service: &Value) -> Vec<String> {
    match &service["depends_on"] {
        Value::Sequence(s) => s.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        Value::Mapping(m) => m.keys().filter_map(|k| k.as_str().map(String::from)).collect(),
        _ => vec![],
    }
}

/// Container ports a service publishes ("127.0.0.1:8233:8080" -> 8080).
fn container_ports(service: &Value) -> Vec<u16> {
    service["ports"]
        .as_sequence()
        .map(|ps| ps.iter().filter_map(|p| p.as_str()?.rsplit(':').next()?.parse().ok()).collect())
        .unwrap_or_default()
}

#[test]
fn services_and_wiring() {
    let c = compose();
    let services = &c["services"];
    for name in ["postgresql", "temporal-admin-tools", "temporal", "temporal-create-namespace", "temporal-ui", "medpay"]
    {
        assert!(services[name].is_mapping(), "service {name} is missing");
    }
    // Temporal's schema by its admin tools (not the development-only auto-setup image), then the
    // server image, then the namespace.
    let admin = &services["temporal-admin-tools"];
    assert!(admin["image"].as_str().unwrap().starts_with("temporalio/admin-tools:"));
    assert_eq!(env(admin, "SQL_PLUGIN"), "postgres12");
    assert_eq!(env(admin, "SQL_HOST"), "postgresql");
    let script = admin["command"][0].as_str().unwrap();
    for db in ["temporal", "temporal_visibility"] {
        assert!(script.contains(&format!("--db {db} update-schema")), "{script}");
    }
    let temporal = &services["temporal"];
    assert!(temporal["image"].as_str().unwrap().starts_with("temporalio/server:"), "not the auto-setup image");
    assert_eq!(
        temporal["depends_on"]["temporal-admin-tools"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    assert_eq!(env(temporal, "DB"), "postgres12", "Temporal must persist in PostgreSQL");
    assert_eq!(env(temporal, "POSTGRES_SEEDS"), "postgresql");
    assert_eq!(
        (env(temporal, "DBNAME"), env(temporal, "VISIBILITY_DBNAME")),
        ("temporal".into(), "temporal_visibility".into())
    );
    assert_eq!(env(temporal, "POSTGRES_USER"), env(&services["postgresql"], "POSTGRES_USER"));
    assert_eq!(env(admin, "SQL_USER"), env(&services["postgresql"], "POSTGRES_USER"));
    assert!(container_ports(temporal).contains(&7233));

    let medpay = &services["medpay"];
    assert!(depends_on(medpay).contains(&"postgresql".to_string()), "the ledger lives in PostgreSQL");
    assert_eq!(
        medpay["depends_on"]["temporal-create-namespace"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    let ledger = env(medpay, "MEDPAY_LEDGER_URL");
    assert!(ledger.starts_with("postgres://") && ledger.contains("@postgresql:5432/"), "{ledger}");
    assert!(
        ledger.ends_with(&format!("/{}", env(&services["postgresql"], "POSTGRES_DB"))),
        "the ledger database is created by the postgresql service"
    );
    let dockerfile = medpay["build"]["dockerfile"].as_str().unwrap();
    let context = medpay["build"]["context"].as_str().unwrap();
    let dockerfile_text = std::fs::read_to_string(workspace_root().join(context).join(dockerfile)).unwrap();
    assert!(dockerfile_text.contains("--bin medpay"), "the Dockerfile must build the medpay binary");
    for package in ["openssh-client", "ca-certificates"] {
        assert!(
            dockerfile_text.contains(package),
            "the image needs {package} (statements over SFTP; channels on public CAs)"
        );
    }
    assert_eq!(env(medpay, "MEDPAY_TEMPORAL_ADDRESS"), "http://temporal:7233");
    let api_port: u16 = env(medpay, "MEDPAY_API_LISTEN").rsplit(':').next().unwrap().parse().unwrap();
    assert!(container_ports(medpay).contains(&api_port), "the API port must be published");

    // The UI decodes payloads through medpay's codec endpoint (as the browser reaches it), with
    // the operator's token.
    let ui = &services["temporal-ui"];
    assert_eq!(env(ui, "TEMPORAL_ADDRESS"), "temporal:7233");
    let host_api = medpay["ports"][0].as_str().unwrap().rsplit_once(':').unwrap().0.to_string();
    assert_eq!(env(ui, "TEMPORAL_CODEC_ENDPOINT"), format!("http://{host_api}/codec"));
    assert_eq!(env(ui, "TEMPORAL_CODEC_PASS_ACCESS_TOKEN"), "true");
    assert!(!env(medpay, "MEDPAY_CODEC_TOKEN_FILE").is_empty(), "the codec endpoint requires a token");

    // Every host port binds to loopback only; a proxy exposes what must be public.
    for (name, svc) in services.as_mapping().unwrap() {
        for p in svc["ports"].as_sequence().into_iter().flatten() {
            assert!(p.as_str().unwrap().starts_with("127.0.0.1:"), "{name:?} publishes {p:?} on all interfaces");
        }
    }
    // What must survive is on declared named volumes: the database, statements, reports.
    let declared = c["volumes"].as_mapping().unwrap();
    let named = |svc: &Value| -> Vec<(String, String)> {
        svc["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|v| {
                let mut parts = v.as_str()?.split(':');
                Some((parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .filter(|(src, _)| !src.starts_with('.'))
            .collect()
    };
    for (src, _) in named(&services["postgresql"]).into_iter().chain(named(medpay)) {
        assert!(declared.contains_key(src.as_str()), "volume {src} not declared");
    }
    let medpay_volumes: Vec<String> = named(medpay).into_iter().map(|(_, dst)| dst).collect();
    for var in ["MEDPAY_RECON_STAGING_DIR", "MEDPAY_RECON_REPORTS_DIR"] {
        assert!(medpay_volumes.contains(&env(medpay, var)), "{var} is not on a named volume: {medpay_volumes:?}");
    }
    // The master key is a compose secret from the git-ignored folder; the sealed files and the
    // hospitals' files are mounted read-only.
    assert_eq!(env(medpay, "MEDPAY_MASTER_KEY_FILE"), "/run/secrets/master_key");
    assert!(medpay["secrets"].as_sequence().unwrap().iter().any(|s| s.as_str() == Some("master_key")));
    assert!(c["secrets"]["master_key"]["file"].as_str().unwrap().starts_with("./deploy/secrets/"));
    let ignored = std::fs::read_to_string(workspace_root().join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == "/deploy/secrets"), "secrets never in git");
    let mounts: Vec<&str> = medpay["volumes"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        mounts.contains(&"./deploy/config:/etc/medpay:ro")
            && mounts.contains(&"./deploy/secrets:/run/medpay-secrets:ro"),
        "{mounts:?}"
    );
    assert!(env(medpay, "MEDPAY_PARTIES_HOSPITALS_DIR").starts_with("/etc/medpay/"));
    assert!(
        workspace_root().join("deploy/config/hospitals").is_dir()
            && workspace_root().join("deploy/config/medpay.toml").is_file()
    );
}

/// The compose file's container paths mapped onto a folder of the test's: (container, host).
fn mounts(root: &Path) -> Vec<(String, PathBuf)> {
    vec![
        ("/etc/medpay".into(), root.join("etc/medpay")),
        ("/run/medpay-secrets".into(), root.join("run/medpay-secrets")),
        ("/run/secrets".into(), root.join("run/secrets")),
    ]
}

fn mapped(v: &str, root: &Path) -> String {
    mounts(root)
        .iter()
        .fold(v.to_string(), |acc, (container, host)| acc.replace(container.as_str(), host.to_str().unwrap()))
}

/// `medpay config check` passes on the files as the compose file mounts them: a hospital, its
/// sealed credentials, the sealed payload keys, API keys and codec token, and the master key.
#[test]
fn config_check_passes_on_the_mounted_files() {
    let root = std::env::temp_dir().join(format!("medpay-compose-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (_, host) in mounts(&root) {
        std::fs::create_dir_all(host).unwrap();
    }
    copy_dir(&workspace_root().join("deploy/config"), &root.join("etc/medpay"));
    // A hospital's parameters, as a sandbox issues them.
    let sandbox_dir = root.join("sandbox");
    let mut sandbox = Proc::spawn(Command::new(sandbox_bin()).args([
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--data-dir",
        sandbox_dir.to_str().unwrap(),
    ]));
    sandbox.wait_for_line("personas", std::time::Duration::from_secs(30));
    drop(sandbox);
    let master = "00112233445566778899aabbccddeeff";
    std::fs::write(root.join("run/secrets/master_key"), master).unwrap();
    let seal = |input: &Path, name: &str| {
        let out = Command::new(medpay_bin())
            .args([
                "secrets",
                "seal",
                "--in",
                input.to_str().unwrap(),
                "--out",
                root.join("run/medpay-secrets").join(name).to_str().unwrap(),
            ])
            .env("MEDPAY_MASTER_KEY", master)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    seal(&sandbox_dir.join("credentials.json"), "H51010500001.credentials.json.sealed");
    let plain = root.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let keys = Command::new(medpay_bin())
        .args(["keygen", "--out", plain.join("payload.keys").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(keys.status.success());
    std::fs::write(plain.join("api-keys"), "H51010500001=an-api-key-of-the-hospital-0123\n").unwrap();
    std::fs::write(plain.join("codec-token"), "a-codec-token-for-operators-0123\n").unwrap();
    seal(&plain.join("payload.keys"), "payload.keys.sealed");
    seal(&plain.join("api-keys"), "api-keys.sealed");
    seal(&plain.join("codec-token"), "codec-token.sealed");
    // The hospital's file names container paths, as it would in the deployment.
    let hospital = std::fs::read_to_string(sandbox_dir.join("hospitals/H51010500001.toml")).unwrap();
    std::fs::copy(sandbox_dir.join("tls/ca.pem"), root.join("etc/medpay/hospitals/sandbox-ca.pem")).unwrap();
    let hospital = hospital
        .replace(
            sandbox_dir.join("credentials.json").to_str().unwrap(),
            "/run/medpay-secrets/H51010500001.credentials.json.sealed",
        )
        .replace(sandbox_dir.join("tls/ca.pem").to_str().unwrap(), "/etc/medpay/hospitals/sandbox-ca.pem");
    std::fs::write(root.join("etc/medpay/hospitals/H51010500001.toml"), mapped(&hospital, &root)).unwrap();

    let c = compose();
    let mut cmd = Command::new(medpay_bin());
    cmd.args(["config", "check"]).env_clear();
    for (k, v) in c["services"]["medpay"]["environment"].as_mapping().unwrap() {
        let v = v.as_str().unwrap().replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}", "pw");
        cmd.env(k.as_str().unwrap(), mapped(&v, &root));
    }
    let out = cmd.output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{report}");
    for what in ["payload codec keys", "API keys", "codec token", "credentials and keys"] {
        assert!(report.lines().any(|l| l.contains(what) && l.contains(" ok ")), "{what}: {report}");
    }
    assert!(report.contains("1 hospital(s)") && report.contains(", 0 failed"), "{report}");
    let _ = std::fs::remove_dir_all(&root);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().filter_map(Result::ok) {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn medpay_reads_the_compose_environment_and_config_file() {
    let c = compose();
    let medpay = &c["services"]["medpay"];
    let mut cmd = Command::new(medpay_bin());
    cmd.arg("config").env_clear();
    for (k, v) in medpay["environment"].as_mapping().unwrap() {
        let (k, v) = (k.as_str().unwrap(), v.as_str().unwrap());
        if k == "MEDPAY_PAYLOAD_KEY_FILE" || k == "MEDPAY_LEDGER_URL" {
            cmd.env(k, v.replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}", "pw"));
        } else if k == "MEDPAY_CONFIG" {
            // The container path of the mounted file -> its place in the repository.
            cmd.env(k, workspace_root().join("deploy/config/medpay.toml"));
        } else {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: toml::Value = toml::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(printed["temporal"]["address"].as_str(), Some("http://temporal:7233"));
    assert_eq!(printed["temporal"]["task_queue"].as_str(), Some("medpay"));
    assert_eq!(printed["api"]["listen"].as_str(), Some("0.0.0.0:8080"));
    assert_eq!(printed["temporal"]["payload_key_file"].as_str(), Some("/run/medpay-secrets/payload.keys.sealed"));
    assert_eq!(printed["parties"]["hospitals_dir"].as_str(), Some("/etc/medpay/hospitals"));
    assert_eq!(printed["recon"]["reports_dir"].as_str(), Some("/var/lib/medpay/reports"));
    assert_eq!(printed["api"]["guard"]["keys_file"].as_str(), Some("/run/medpay-secrets/api-keys.sealed"));
    assert_eq!(printed["ledger"]["url"].as_str(), Some("postgres://temporal:pw@postgresql:5432/medpay"));
}
