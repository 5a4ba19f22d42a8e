//! `medpay run` against a real Temporal dev server: health, readiness, the self-check workflow
//! through the API and through `medpay doctor`, JSON errors, readiness loss when Temporal goes
//! away, and a clean stop on SIGTERM.

use medpay_harness::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_service_runs_its_workflow_end_to_end() {
    let temporal = TemporalDevServer::start();
    let api = format!("127.0.0.1:{}", free_port());
    let task_queue = format!("medpay-test-{}", std::process::id());
    let keys = payload_key_file();
    let token_file = std::env::temp_dir().join(format!("medpay-codec-token-{}", std::process::id()));
    std::fs::write(&token_file, "operator-token-123\n").unwrap();
    let mut medpay = Proc::spawn(
        Command::new(medpay_bin())
            .arg("run")
            .env("MEDPAY_CODEC_TOKEN_FILE", &token_file)
            .env(
                "MEDPAY_LEDGER_URL",
                format!(
                    "sqlite://{}?mode=rwc",
                    std::env::temp_dir().join(format!("medpay-ledger-{}.db", std::process::id())).display()
                ),
            )
            .env("MEDPAY_PAYLOAD_KEY_FILE", &keys)
            .env("MEDPAY_TEMPORAL_ADDRESS", temporal.address())
            .env("MEDPAY_API_LISTEN", &api)
            .env("MEDPAY_TASK_QUEUE", &task_queue),
    );
    medpay.wait_for_line("medpay API", Duration::from_secs(60));
    wait_until("/healthz", Duration::from_secs(30), || {
        http("GET", &api, "/healthz", None).map(|r| r.0 == 200).unwrap_or(false)
    });

    let (status, body) = http("GET", &api, "/readyz", None).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["ledger"], "reachable");

    let (status, body) = http("POST", &api, "/v1/diagnostics/self-check", Some("")).unwrap();
    assert_eq!(status, 200, "{body}");
    let report = json(&body);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3, "{report}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{report}");
    let workflow_id = report["workflow_id"].as_str().unwrap().to_string();
    assert!(workflow_id.starts_with("selfcheck-"), "{report}");

    // The recorded history replays against this build (the determinism guard operators use).
    let history = std::env::temp_dir().join(format!("medpay-history-{}.json", std::process::id()));
    let export = Command::new(medpay_bin())
        .args(["history", "export", &workflow_id, "--out", history.to_str().unwrap()])
        .env("MEDPAY_PAYLOAD_KEY_FILE", &keys)
        .env("MEDPAY_TEMPORAL_ADDRESS", temporal.address())
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    // The server holds only encrypted payloads: no "json/plain" payload, no readable input.
    let recorded = std::fs::read_to_string(&history).unwrap();
    assert!(recorded.contains("YmluYXJ5L2VuY3J5cHRlZA=="), "payloads must be binary/encrypted");
    assert!(!recorded.contains("anNvbi9wbGFpbg=="), "a json/plain payload reached the server");
    assert!(
        !recorded.contains("requested_by") && !recorded.contains("cmVxdWVzdGVkX2J5"),
        "the workflow input is readable"
    );
    let replay =
        Command::new(medpay_bin()).arg("replay").arg(&history).env("MEDPAY_PAYLOAD_KEY_FILE", &keys).output().unwrap();
    assert!(
        replay.status.success(),
        "{}{}",
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&replay.stderr)
    );
    // The Web UI's codec endpoint decodes the workflow input for an authorised operator only.
    let history_json = json(&recorded);
    let input =
        &history_json["events"][0]["attributes"]["WorkflowExecutionStartedEventAttributes"]["input"]["payloads"][0];
    let request = serde_json::json!({"payloads": [input]}).to_string();
    let (status, _) = http("POST", &api, "/codec/decode", Some(&request)).unwrap();
    assert_eq!(status, 401, "decoding without the token must be refused");
    let (status, body) = http_with(
        "POST",
        &api,
        "/codec/decode",
        Some(&request),
        &["Authorization: Bearer operator-token-123", "Origin: http://127.0.0.1:8233"],
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let decoded = &json(&body)["payloads"][0];
    assert_eq!(decoded["metadata"]["encoding"], "anNvbi9wbGFpbg==", "json/plain after decoding");
    assert_eq!(decoded["data"], "eyJyZXF1ZXN0ZWRfYnkiOiJhcGkifQ==", "the input {{\"requested_by\":\"api\"}}");
    // Without the key the encrypted history cannot be replayed.
    let no_key = Command::new(medpay_bin()).arg("replay").arg(&history).output().unwrap();
    assert!(!no_key.status.success(), "an encrypted history replayed without its key");
    let _ = std::fs::remove_file(&history);

    let out = Command::new(medpay_bin())
        .arg("doctor")
        .env("MEDPAY_PAYLOAD_KEY_FILE", &keys)
        .env("MEDPAY_TEMPORAL_ADDRESS", temporal.address())
        .env("MEDPAY_TASK_QUEUE", &task_queue)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "doctor failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.matches("[ ok ]").count(), 3, "{stdout}");

    let (status, body) = http("GET", &api, "/v1/nope", None).unwrap();
    assert_eq!(status, 404);
    assert_eq!(json(&body)["code"], "NOT_FOUND");

    // The served OpenAPI document is the repo's, and every path in it is routed (none falls
    // through to the NOT_FOUND fallback).
    let (status, served) = http("GET", &api, "/openapi.json", None).unwrap();
    assert_eq!(status, 200);
    let doc = json(&served);
    assert!(
        doc == json(&std::fs::read_to_string(workspace_root().join("docs/openapi.json")).unwrap()),
        "the served /openapi.json is not docs/openapi.json"
    );
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{org}", "H1")
            .replace("{ord}", "O1")
            .replace("{refund_no}", "R1")
            .replace("{kind}", "selfpay")
            .replace("{period}", "2026-11-26");
        for method in ops.as_object().unwrap().keys() {
            let (_, body) = http(&method.to_uppercase(), &api, &concrete, Some("{}")).unwrap();
            // The router's fallback answers the code NOT_FOUND (other 404s name what is unknown);
            // a body that merely mentions the phrase (the OpenAPI document itself) is routed.
            let fallback = serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v["code"] == "NOT_FOUND");
            assert!(!fallback, "{method} {path} is documented but not routed");
        }
    }

    // Bad input: a 4xx with a stable code and a message, and nothing stored.
    let cases: [(&str, String, u16, &str); 4] = [
        ("/v1/payments", "{not json".into(), 400, "MALFORMED_JSON"),
        ("/v1/payments", r#"{"org_code": 1}"#.into(), 422, "INVALID_BODY"),
        ("/v1/payments", format!(r#"{{"org_code":"{}"}}"#, "x".repeat(2 << 20)), 413, "BODY_TOO_LARGE"),
        (
            "/v1/payments",
            r#"{"org_code":"H1","med_org_ord":"O1","scene":"outpatient","auth_code":"a","openid":"o","lines":[{"code":"L","name":"n","amount_fen":-5}]}"#.into(),
            422,
            "INVALID_PAYMENT",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = http("POST", &api, path, Some(&body)).unwrap();
        assert_eq!(
            (got, json(&answer)["code"].as_str().map(String::from)),
            (status, Some(code.to_string())),
            "{}",
            &answer[..answer.len().min(300)]
        );
    }
    assert_eq!(http("GET", &api, "/v1/payments/H1/O1", None).unwrap().0, 404, "a refused payment is not stored");

    // Temporal goes away: still alive, no longer ready, with a machine-readable reason.
    drop(temporal);
    wait_until("/readyz to report 503", Duration::from_secs(60), || {
        http("GET", &api, "/readyz", None).map(|(s, _)| s == 503).unwrap_or(false)
    });
    let (_, body) = http("GET", &api, "/readyz", None).unwrap();
    assert_eq!(json(&body)["code"], "TEMPORAL_UNAVAILABLE");
    assert_eq!(http("GET", &api, "/healthz", None).unwrap().0, 200);

    let status = medpay.terminate(Duration::from_secs(30));
    assert!(status.success(), "medpay should stop cleanly on SIGTERM, exited with {status}");
}

#[test]
fn no_workflow_runs_without_a_payload_key() {
    let out = Command::new(medpay_bin())
        .arg("run")
        .env("MEDPAY_TEMPORAL_ADDRESS", format!("http://127.0.0.1:{}", free_port()))
        .env_remove("MEDPAY_PAYLOAD_KEY_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("payload_key_file") && stderr.contains("medpay keygen"), "{stderr}");
}

#[test]
fn doctor_reports_an_unreachable_server_clearly() {
    let out = Command::new(medpay_bin())
        .arg("doctor")
        .env("MEDPAY_PAYLOAD_KEY_FILE", payload_key_file())
        .env("MEDPAY_TEMPORAL_ADDRESS", format!("http://127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the Temporal server"), "{stderr}");
}
