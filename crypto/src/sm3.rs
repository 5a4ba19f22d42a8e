//! SM3 hash (GB/T 32905).

use sm3::{Digest, Sm3};

pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn standard_vector_abc() {
        assert_eq!(
            hex::encode(super::sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }
}
