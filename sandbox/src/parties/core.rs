//! The provincial insurance core (FSI baseline, docs/PROTOCOLS.md §2): one endpoint
//! `POST /core/fsi/api/rsfComIfsService/callService` routed on `infno`:
//! 9001 sign-in, and 1101 / `queryPsninfobyZFB` person info for the holder of a payAuthNo.
//!
//! `infcode` "0" is success; failures carry `infcode` "-1" and `err_msg`. Calls must carry the
//! hospital's signature (`cainfo`, `signtype` "SM2"); replies carry the core's.

use crate::app::{App, HospitalKeys, core_scheme};
use crate::persons;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use medpay_crypto::envelope::core as signature;
use medpay_schemas::Money;
use serde_json::{Value, json};

/// A reply, signed with the core's key when the caller is a known hospital (REQ S-4.1a).
fn reply(msgid: &str, output: Option<Value>, err: Option<String>) -> Response {
    Json(body(msgid, output, err)).into_response()
}

fn signed(keys: &HospitalKeys, msgid: &str, output: Option<Value>, err: Option<String>) -> Response {
    let mut b = body(msgid, output, err);
    if let Err(e) = signature::sign(&mut b, &core_scheme(), &keys.core_key) {
        return reply(msgid, None, Some(format!("the sandbox core could not sign its reply: {e}")));
    }
    Json(b).into_response()
}

fn body(msgid: &str, output: Option<Value>, err: Option<String>) -> Value {
    let now = crate::clock::now_ms();
    json!({
        "infcode": if err.is_none() { "0" } else { "-1" },
        "inf_refmsgid": format!("SANDBOX{msgid}"),
        "refmsg_time": crate::clock::dashed(now),
        "respond_time": crate::clock::dashed(now),
        "err_msg": err,
        "output": output,
    })
}

pub async fn call_service(State(app): State<App>, body: String) -> Response {
    if let Some(r) = app.inject("core").await {
        return r;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return reply("", None, Some("request is not JSON".into()));
    };
    let msgid = req["msgid"].as_str().unwrap_or_default().to_string();
    let org = req["fixmedins_code"].as_str().unwrap_or_default().to_string();
    let Some(keys) = app.hospital_by_org(&org) else {
        return reply(&msgid, None, Some(format!("fixmedins_code {org:?} is not a sandbox hospital")));
    };
    // Unsigned or mis-signed calls are refused, as the real core refuses them.
    if let Err(e) = signature::verify(&req, &core_scheme(), &keys.hospital_core_public) {
        return signed(keys, &msgid, None, Some(format!("signature check failed (cainfo/signtype): {e}")));
    }
    let reply = |msgid: &str, output, err| signed(keys, msgid, output, err);
    let now = crate::clock::now_ms();
    match req["infno"].as_str().unwrap_or_default() {
        "9001" => {
            let mut st = app.state();
            let sign_no = st.next_id("SIGN", now);
            // Each terminal's sign-in stays valid beside the others' (several medpay instances
            // of one hospital each sign in), as the core keeps one per operator terminal.
            st.sign_nos.insert(sign_no.clone(), org);
            reply(
                &msgid,
                Some(json!({"signinoutb": {"sign_no": sign_no, "sign_time": crate::clock::dashed(now)}})),
                None,
            )
        }
        "1101" | "queryPsninfobyZFB" => {
            let st = app.state();
            if req["sign_no"].as_str().and_then(|n| st.sign_nos.get(n)) != Some(&org) {
                return reply(
                    &msgid,
                    None,
                    Some("sign_no is not one this core issued to the hospital: sign in with 9001 first".into()),
                );
            }
            let cert_no = req["input"]["data"]["mdtrt_cert_no"].as_str().unwrap_or_default();
            let Some(auth) = st.pay_auths.get(cert_no) else {
                return reply(&msgid, None, Some("mdtrt_cert_no (payAuthNo) unknown".into()));
            };
            if auth.expires_ms < now {
                return reply(&msgid, None, Some("payAuthNo expired: authorise again".into()));
            }
            let Some(p) = persons::by_psn_no(&auth.psn_no) else {
                return reply(&msgid, None, Some("person unknown".into()));
            };
            let balance = st.balances.get(p.psn_no).copied().unwrap_or(p.balance);
            reply(
                &msgid,
                Some(json!({
                    "baseinfo": {"psn_no": p.psn_no, "psn_cert_type": "01", "certno": p.id_no, "psn_name": p.name, "gend": "1", "brdy": ""},
                    "insuinfo": [{"insutype": p.insutype, "insuplc_admdvs": p.insuplc_admdvs, "psn_type": "1101",
                                  "psn_insu_stas": "1", "balc": Money::to_yuan_string(balance), "emp_name": "沙箱单位"}]
                })),
                None,
            )
        }
        other => reply(&msgid, None, Some(format!("infno {other:?} is not offered by the sandbox core"))),
    }
}
