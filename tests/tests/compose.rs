//! docker-compose.yml cannot be started here (no Docker engine), so this checks its structure
//! and wiring: the services a deployment needs, who depends on whom, that every address points
//! at a service and port that exist, and that medpay's environment is configuration the binary
//! actually reads (`medpay config` echoes it back).

use medpay_tests::{medpay_bin, workspace_root};
use serde_yaml::Value;
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
    for name in ["postgresql", "temporal", "temporal-ui", "medpay"] {
        assert!(services[name].is_mapping(), "service {name} is missing");
    }
    let temporal = &services["temporal"];
    assert!(depends_on(temporal).contains(&"postgresql".to_string()));
    assert_eq!(env(temporal, "DB"), "postgres12", "Temporal must persist in PostgreSQL");
    assert_eq!(env(temporal, "POSTGRES_SEEDS"), "postgresql");
    assert_eq!(env(temporal, "POSTGRES_USER"), env(&services["postgresql"], "POSTGRES_USER"));
    assert!(container_ports(temporal).contains(&7233));

    let ui = &services["temporal-ui"];
    assert_eq!(env(ui, "TEMPORAL_ADDRESS"), "temporal:7233");

    let medpay = &services["medpay"];
    assert!(depends_on(medpay).contains(&"temporal".to_string()));
    assert!(depends_on(medpay).contains(&"postgresql".to_string()), "the ledger lives in PostgreSQL");
    let ledger = env(medpay, "MEDPAY_LEDGER_URL");
    assert!(ledger.starts_with("postgres://") && ledger.contains("@postgresql:5432/"), "{ledger}");
    assert!(ledger.ends_with(&format!("/{}", env(&services["postgresql"], "POSTGRES_DB"))), "the ledger database is created by the postgresql service");
    let dockerfile = medpay["build"]["dockerfile"].as_str().unwrap();
    let context = medpay["build"]["context"].as_str().unwrap();
    let dockerfile_text = std::fs::read_to_string(workspace_root().join(context).join(dockerfile)).unwrap();
    assert!(dockerfile_text.contains("--bin medpay"), "the Dockerfile must build the medpay binary");
    assert_eq!(env(medpay, "MEDPAY_TEMPORAL_ADDRESS"), "http://temporal:7233");
    let api_port: u16 = env(medpay, "MEDPAY_API_LISTEN").rsplit(':').next().unwrap().parse().unwrap();
    assert!(container_ports(medpay).contains(&api_port), "the API port must be published");

    // Every host port binds to loopback only; a proxy exposes what must be public.
    for (name, svc) in services.as_mapping().unwrap() {
        for p in svc["ports"].as_sequence().into_iter().flatten() {
            assert!(p.as_str().unwrap().starts_with("127.0.0.1:"), "{name:?} publishes {p:?} on all interfaces");
        }
    }
    // Named volumes are declared.
    for v in services["postgresql"]["volumes"].as_sequence().unwrap() {
        let name = v.as_str().unwrap().split(':').next().unwrap();
        assert!(c["volumes"].as_mapping().unwrap().contains_key(name), "volume {name} not declared");
    }
    // The codec key comes from a compose secret, never from the image or the config file.
    assert_eq!(env(medpay, "MEDPAY_PAYLOAD_KEY_FILE"), "/run/secrets/payload_keys");
    assert!(medpay["secrets"].as_sequence().unwrap().iter().any(|s| s.as_str() == Some("payload_keys")));
    assert!(c["secrets"]["payload_keys"]["file"].as_str().unwrap().starts_with("./deploy/secrets/"));
    // The mounted config directory exists in the repository.
    let mount = medpay["volumes"][0].as_str().unwrap().split(':').next().unwrap();
    assert!(workspace_root().join(mount).join("medpay.toml").is_file());
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
    assert_eq!(printed["temporal"]["payload_key_file"].as_str(), Some("/run/secrets/payload_keys"));
    assert_eq!(printed["ledger"]["url"].as_str(), Some("postgres://temporal:pw@postgresql:5432/medpay"));
}
