//! SM3 hash (GB/T 32905).

use sm3::{Digest, Sm3};

pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// Incremental SM3, for files too large to hold in memory (statement checksums).
#[derive(Clone, Default)]
pub struct Sm3Stream(Sm3);

impl Sm3Stream {
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn streaming_equals_one_shot() {
        let mut s = super::Sm3Stream::default();
        s.update(b"a");
        s.update(b"bc");
        assert_eq!(s.finish(), super::sm3(b"abc"));
    }

    #[test]
    fn standard_vector_abc() {
        assert_eq!(hex::encode(super::sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }
}
