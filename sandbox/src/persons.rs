//! The sandbox's insured persons (shaped like the standard's Appendix A.3 test roster) and the
//! deterministic rules that split a bill, so tests can predict every amount to the fen.
//!
//! Split rule, for a bill of `total` fen, in this order:
//! 1. `fund = total * fund_bp / 10000`, rounded down (bp = basis points of the person's plan);
//! 2. `psn_acct = min(balance, total - fund)` when the hospital asks to use the personal account
//!    (`acctUsedFlag` = "1"), else 0;
//! 3. `own_pay = total - fund - psn_acct`.

use medpay_schemas::Money;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Person {
    /// Short handle used by tests and the patient endpoints ("mixed", "insurance-only", ...).
    pub persona: &'static str,
    pub psn_no: &'static str,
    pub name: &'static str,
    pub id_no: &'static str,
    /// Insured-area code (参保地).
    pub insuplc_admdvs: &'static str,
    /// "310" employee basic insurance, "390" resident insurance.
    pub insutype: &'static str,
    /// Fund share in basis points.
    pub fund_bp: i64,
    /// Personal-account balance at start.
    pub balance: Money,
    pub description: &'static str,
}

pub const ROSTER: [Person; 5] = [
    Person {
        persona: "mixed",
        psn_no: "51010000000000000001",
        name: "测试甲",
        id_no: "510104199001011234",
        insuplc_admdvs: "510100",
        insutype: "310",
        fund_bp: 7000,
        balance: Money::from_fen(5_000),
        description: "Chengdu employee: 70% fund, 50.00 yuan in the personal account, rest self-pay",
    },
    Person {
        persona: "insurance-only",
        psn_no: "51010000000000000002",
        name: "测试乙",
        id_no: "51010419800202002X",
        insuplc_admdvs: "510100",
        insutype: "310",
        fund_bp: 9000,
        balance: Money::from_fen(1_000_000),
        description: "Chengdu employee: 90% fund, 10,000.00 yuan in the account: nothing left to self-pay",
    },
    Person {
        persona: "self-pay-only",
        psn_no: "51070000000000000003",
        name: "测试丙",
        id_no: "510703197003033456",
        insuplc_admdvs: "510700",
        insutype: "390",
        fund_bp: 0,
        balance: Money::ZERO,
        description: "Mianyang resident, not registered for this hospital's area: everything self-pay",
    },
    Person {
        persona: "resident",
        psn_no: "51010000000000000004",
        name: "测试丁",
        id_no: "510104200004044567",
        insuplc_admdvs: "510100",
        insutype: "390",
        fund_bp: 5000,
        balance: Money::ZERO,
        description: "Chengdu resident: 50% fund, no personal account",
    },
    Person {
        persona: "relative-payer",
        psn_no: "51010000000000000005",
        name: "测试戊",
        id_no: "510104196505055678",
        insuplc_admdvs: "510100",
        insutype: "310",
        fund_bp: 6000,
        balance: Money::from_fen(2_000),
        description: "Chengdu employee paid for by a relative (family_pay_auth_no): 60% fund, 20.00 account",
    },
];

pub fn by_persona(persona: &str) -> Option<&'static Person> {
    ROSTER.iter().find(|p| p.persona == persona)
}

pub fn by_psn_no(psn_no: &str) -> Option<&'static Person> {
    ROSTER.iter().find(|p| p.psn_no == psn_no)
}

/// (fund, psn_acct, own_pay) for a bill, per the rule in the module comment.
pub fn split(person: &Person, total: Money, use_account: bool, balance: Money) -> (Money, Money, Money) {
    let fund = Money::from_fen(total.fen().saturating_mul(person.fund_bp) / 10_000);
    let rest = total.fen() - fund.fen();
    let acct = if use_account { Money::from_fen(rest.min(balance.fen()).max(0)) } else { Money::ZERO };
    let own = Money::from_fen(rest - acct.fen());
    (fund, acct, own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_add_up_and_follow_the_rule() {
        let p = by_persona("mixed").unwrap();
        let (fund, acct, own) = split(p, Money::from_fen(12_345), true, p.balance);
        assert_eq!((fund.fen(), acct.fen(), own.fen()), (8_641, 3_704, 0));
        let (fund, acct, own) = split(p, Money::from_fen(30_000), true, p.balance);
        assert_eq!((fund.fen(), acct.fen(), own.fen()), (21_000, 5_000, 4_000));
        let (_, acct, own) = split(p, Money::from_fen(30_000), false, p.balance);
        assert_eq!((acct.fen(), own.fen()), (0, 9_000));
        let s = by_persona("self-pay-only").unwrap();
        assert_eq!(split(s, Money::from_fen(999), true, s.balance), (Money::ZERO, Money::ZERO, Money::from_fen(999)));
        for person in &ROSTER {
            for total in [1, 99, 10_000, 1_234_567] {
                let (f, a, o) = split(person, Money::from_fen(total), true, person.balance);
                assert_eq!(f.fen() + a.fen() + o.fen(), total);
                assert!(f.fen() >= 0 && a.fen() >= 0 && o.fen() >= 0);
            }
        }
    }
}
