//! The insurance core's inputs built from what the payment knows (REQ 6.1 step 5): the 9001
//! sign-in of this operator and the person-info query by the payAuthNo, the codes by name
//! (`wire::core::codes`). The envelope around them (`CoreRequest`) is the client's.

use medpay_schemas::Secret;
use medpay_schemas::wire::core::codes;
use medpay_schemas::wire::core::{PersonInfoInput, PersonInfoQuery, SignInData, SignInInput};

/// Who signs in: medpay, as the hospital's mobile-payment operator (no MAC or IP of a desk).
pub fn sign_in() -> SignInInput {
    SignInInput {
        sign_in: SignInData { opter_no: "medpay".into(), mac: "00:00:00:00:00:00".into(), ip: "127.0.0.1".into() },
    }
}

/// The insured person behind a payAuthNo: the medical-insurance e-voucher is the credential.
pub fn person_info(pay_auth_no: &Secret<String>) -> PersonInfoInput {
    PersonInfoInput {
        data: PersonInfoQuery {
            mdtrt_cert_type: codes::CERT_E_VOUCHER.into(),
            mdtrt_cert_no: pay_auth_no.clone(),
            card_sn: String::new(),
            begntime: String::new(),
            psn_cert_type: String::new(),
            certno: Secret::default(),
            psn_name: Secret::default(),
        },
    }
}
