//! Looking into a running `Stack` from outside: the sandbox's faults and books, a workflow's
//! history through the `temporal` CLI, the check that no personal data reached the server.

use crate::stack::Stack;
use crate::*;
use serde_json::Value;
use std::process::Command;

impl Stack {
    pub fn faults(&self, f: Value) {
        let out = Command::new("curl")
            .args([
                "-sS",
                "-X",
                "PUT",
                "--cacert",
                self.ca.to_str().unwrap(),
                "-H",
                "content-type: application/json",
                "-d",
                &f.to_string(),
                &self.sandbox_url("/sandbox/control/faults"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    }

    /// The sandbox's own books (orders, refunds, callbacks, notices).
    pub fn books(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sS", "--cacert", self.ca.to_str().unwrap(), &self.sandbox_url("/sandbox/control/state")])
            .output()
            .unwrap();
        json(&String::from_utf8_lossy(&out.stdout))
    }

    /// A workflow's history as JSON, through the real `temporal` CLI.
    pub fn history(&self, workflow_id: &str) -> Value {
        let out = Command::new(temporal_bin())
            .args([
                "workflow",
                "show",
                "--workflow-id",
                workflow_id,
                "--address",
                &format!("127.0.0.1:{}", self.temporal.port),
                "--output",
                "json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json(&String::from_utf8_lossy(&out.stdout))
    }

    /// The issue-7 privacy check: no test person's name, ID number or insurance number, and no
    /// payAuthNo or payToken the sandbox issued, in any workflow's history exported with the
    /// `temporal` CLI (ids, search attributes, memos and payloads as stored), in the workflow
    /// list, nor in `medpay run`'s log (worker and API) so far. Returns how many histories and
    /// log lines were searched for how many values.
    pub fn assert_no_personal_data(&mut self) -> (usize, usize, usize) {
        let address = format!("127.0.0.1:{}", self.temporal.port);
        let out = Command::new("curl")
            .args(["-sS", "--cacert", self.ca.to_str().unwrap(), &self.sandbox_url("/sandbox/personas")])
            .output()
            .unwrap();
        let personas = json(&String::from_utf8_lossy(&out.stdout));
        let books = self.books();
        let mut needles: Vec<String> = vec![];
        for p in personas["personas"].as_array().unwrap() {
            for field in ["name", "id_no", "psn_no"] {
                needles.push(p[field].as_str().unwrap().to_string());
            }
        }
        for field in ["issued_pay_auth_nos", "issued_pay_tokens"] {
            needles.extend(
                books[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter(|v| !v.is_empty())
                    .map(String::from),
            );
        }
        assert!(
            books["issued_pay_auth_nos"].as_array().is_some_and(|a| !a.is_empty()),
            "the run issued no payAuthNo: nothing to look for"
        );
        let list = Command::new(temporal_bin())
            .args(["workflow", "list", "--address", &address, "--output", "json", "--limit", "1000"])
            .output()
            .unwrap();
        assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
        let list_text = String::from_utf8_lossy(&list.stdout).to_string();
        let ids: Vec<String> = serde_json::from_str::<Value>(&list_text)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["execution"]["workflowId"].as_str().map(String::from))
            .collect();
        assert!(ids.len() >= 3, "too few workflows to check: {ids:?}");
        let mut haystacks = vec![("workflow list".to_string(), list_text)];
        for id in &ids {
            haystacks.push((format!("history of {id}"), self.history(id).to_string()));
        }
        let log = self.medpay.output_so_far();
        haystacks.push(("medpay's log".into(), log.join("\n")));
        for (what, text) in &haystacks {
            for n in &needles {
                assert!(!text.contains(n.as_str()), "personal data {n:?} found in {what}");
            }
        }
        (ids.len(), log.len(), needles.len())
    }
}
