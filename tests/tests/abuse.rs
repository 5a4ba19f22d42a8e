//! Abuse protection (REQ S-4.1c) against the running product: the HIS API needs the hospital's
//! key and only serves that hospital; a flood from one device gets 429 with Retry-After while a
//! normal client's payment (and its bank callback) still completes; repeated failed
//! authentications block the device.

use medpay_harness::stack::*;
use medpay_harness::*;

const KEY: &str = "h51010500001-key-0123456789abcdef";

#[test]
fn keys_hospitals_floods_and_blocks() {
    let keys = std::env::temp_dir().join(format!("medpay-api-keys-{}", std::process::id()));
    // The keys file holds secrets: removed when the test ends, passed or failed.
    struct RemoveOnDrop(std::path::PathBuf);
    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _remove = RemoveOnDrop(keys.clone());
    std::fs::write(&keys, format!("# org_code=key\nH51010500001={KEY}\nH99999999999=other-hospital-key-0123456789\n"))
        .unwrap();
    let s = Stack::start(
        "abuse",
        &[
            ("MEDPAY_API_KEYS_FILE", keys.to_str().unwrap()),
            ("MEDPAY_RATE_PER_DEVICE", "2"),
            ("MEDPAY_RATE_DEVICE_BURST", "3"),
            ("MEDPAY_BLOCK_AFTER_FAILURES", "3"),
            ("MEDPAY_ORDER_BURST_MAX", "4"),
        ],
    );
    set_default_headers(&[&format!("Authorization: Bearer {KEY}")]);
    let path = "/v1/payments/H51010500001/NOPE";
    let code = |r: (u16, String)| (r.0, json(&r.1)["code"].as_str().map(String::from));
    assert_eq!(
        code(http_with("GET", &s.api, path, None, &["Authorization: Bearer wrong-key-wrong-key"]).unwrap()),
        (401, Some("UNAUTHENTICATED".into()))
    );
    let other = "Authorization: Bearer other-hospital-key-0123456789";
    assert_eq!(
        code(http_with("GET", &s.api, path, None, &[other]).unwrap()),
        (403, Some("FORBIDDEN_ORG".into())),
        "a key serves its own hospital only"
    );
    let body =
        r#"{"org_code":"H51010500001","med_org_ord":"X","scene":"outpatient","auth_code":"a","openid":"o","lines":[]}"#;
    assert_eq!(
        code(http_with("POST", &s.api, "/v1/payments", Some(body), &[other]).unwrap()).0,
        403,
        "the hospital is read from the body too"
    );
    assert_eq!(http("GET", &s.api, path, None).unwrap().0, 404, "the right key passes");
    let huge = format!(r#"{{"org_code":"H51010500001","x":"{}"}}"#, "x".repeat(2 << 20));
    assert_eq!(
        code(http("POST", &s.api, "/v1/payments", Some(&huge)).unwrap()),
        (413, Some("BODY_TOO_LARGE".into())),
        "the guard refuses an oversized body as the handler would"
    );

    // One device floods: beyond its burst it is refused with a machine-readable 429.
    let flood: Vec<u16> =
        (0..10).map(|_| http_with("GET", &s.api, path, None, &["X-Device-Id: flooder"]).unwrap().0).collect();
    assert!(flood.iter().filter(|&&c| c == 429).count() >= 5, "{flood:?}");
    let (status, answer) = http_with("GET", &s.api, path, None, &["X-Device-Id: flooder"]).unwrap();
    assert_eq!((status, json(&answer)["code"].as_str()), (429, Some("RATE_LIMITED")));
    // Meanwhile a normal client pays, its callback goes through.
    s.paid("resident", "HIS-AB-1", &[8_000]);

    // Three failed authentications from one device: it is blocked, even with the right key.
    for _ in 0..3 {
        assert_eq!(
            http_with(
                "GET",
                &s.api,
                path,
                None,
                &["X-Device-Id: guesser", "Authorization: Bearer guess-guess-guess-guess"]
            )
            .unwrap()
            .0,
            401
        );
    }
    assert_eq!(
        code(http_with("GET", &s.api, path, None, &["X-Device-Id: guesser"]).unwrap()),
        (429, Some("BLOCKED".into()))
    );
    assert_eq!(http("GET", &s.api, path, None).unwrap().0, 404, "other clients are not blocked");

    // A device creating one distinct order after another (probing order nos. or authCodes) is
    // blocked after 4 in a minute; its retries of the same order do not count; others go on.
    let create = |ord: &str| {
        let body = format!(
            r#"{{"org_code":"H51010500001","med_org_ord":"{ord}","scene":"outpatient","auth_code":"a","openid":"o","lines":[]}}"#
        );
        std::thread::sleep(std::time::Duration::from_millis(600)); // under the device's rate limit
        code(http_with("POST", &s.api, "/v1/payments", Some(&body), &["X-Device-Id: prober"]).unwrap())
    };
    for ord in ["PR-1", "PR-2", "PR-2", "PR-3", "PR-4"] {
        assert_ne!(create(ord).1.as_deref(), Some("BLOCKED"), "{ord}");
    }
    assert_eq!(create("PR-5"), (429, Some("BLOCKED".into())), "the fifth distinct order in a minute");
    assert_eq!(http("GET", &s.api, path, None).unwrap().0, 404, "other clients are not blocked");
    s.stop();
}
