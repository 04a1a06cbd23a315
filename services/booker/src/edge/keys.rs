//! The server secret `ACCESS_CODE_KEY` and the keyed digests made with it (HMAC-SHA256):
//! what must be compared or used as a key without being kept in clear (client addresses,
//! emails) is kept only as such a digest, which nobody without the key can reverse or test
//! guesses against.

use std::fmt;

use base64::Engine as _;
use ring::hmac;

/// Fewest bytes of key material accepted.
pub const MIN_KEY_BYTES: usize = 32;

/// The booker's server key.
#[derive(Clone)]
pub struct ServerKey {
    key: hmac::Key,
    id: String,
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({}, ***)", self.id)
    }
}

impl ServerKey {
    /// A key given as hex or base64 (standard or URL-safe, padding optional) of at least
    /// [`MIN_KEY_BYTES`] bytes.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = decode_hex(raw)
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(raw).ok())
            .or_else(|| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(raw)
                    .ok()
            })
            .or_else(|| base64::engine::general_purpose::URL_SAFE.decode(raw).ok())
            .or_else(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(raw)
                    .ok()
            })
            .ok_or_else(|| "must be hex or base64".to_owned())?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "must hold at least {MIN_KEY_BYTES} bytes (it holds {}); make one with `openssl rand -hex 32`",
                bytes.len()
            ));
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let id = sealing::hex::hex(&hmac::sign(&key, b"restaurant-booking/key-id").as_ref()[..4]);
        Ok(Self { key, id })
    }

    /// A short name of the key (8 hex digits), kept beside what it made, so that a digest
    /// made with an earlier key is checked with that key (rotation). It tells nothing
    /// about the key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The keyed digest of `data` for the purpose `label` (different purposes never give
    /// the same digest for the same data), as 64 hex digits.
    pub fn digest(&self, label: &str, data: &[u8]) -> String {
        sealing::hex::hex(&self.derive(label, data))
    }

    /// The same digest as 32 bytes: key material derived for `label` and `data`.
    pub fn derive(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(label.as_bytes());
        context.update(b"\n");
        context.update(data);
        let mut out = [0_u8; 32];
        out.copy_from_slice(context.sign().as_ref());
        out
    }
}

/// The current key, which makes every new digest, and the earlier ones still accepted
/// when checking (`ACCESS_CODE_PREVIOUS_KEYS`).
#[derive(Debug, Clone)]
pub struct Keys {
    current: ServerKey,
    previous: Vec<ServerKey>,
}

impl Keys {
    pub fn new(current: ServerKey, previous: Vec<ServerKey>) -> Self {
        Self { current, previous }
    }

    pub fn current(&self) -> &ServerKey {
        &self.current
    }

    /// Every key, the current one first.
    pub fn all(&self) -> impl Iterator<Item = &ServerKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// The key of this id, current or earlier.
    pub fn by_id(&self, id: &str) -> Option<&ServerKey> {
        self.all().find(|key| key.id == id)
    }
}

fn decode_hex(raw: &str) -> Option<Vec<u8>> {
    if !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    sealing::hex::unhex(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_key_of_32_bytes_is_taken_as_hex_or_base64_and_both_are_the_same_key() {
        let from_hex = ServerKey::parse(HEX).expect("hex");
        let from_base64 =
            ServerKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("base64");
        let unpadded =
            ServerKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").expect("no padding");
        let digest = from_hex.digest("t", b"data");
        assert_eq!(from_base64.digest("t", b"data"), digest);
        assert_eq!(unpadded.digest("t", b"data"), digest);
        assert_eq!(digest.len(), 64);
    }

    #[test]
    fn a_short_or_garbled_key_is_refused_saying_why() {
        let short = ServerKey::parse("00ff").expect_err("2 bytes");
        assert!(short.contains("at least 32 bytes"), "{short}");
        assert!(ServerKey::parse("not a key!").is_err());
        assert!(ServerKey::parse("").is_err());
    }

    #[test]
    fn digests_depend_on_the_key_and_the_purpose() {
        let key = ServerKey::parse(HEX).expect("key");
        let other = ServerKey::parse(&HEX.replace("00", "ff")).expect("other key");
        assert_ne!(key.digest("a", b"x"), key.digest("b", b"x"));
        assert_ne!(key.digest("a", b"x"), other.digest("a", b"x"));
        assert_eq!(key.digest("a", b"x"), key.digest("a", b"x"));
    }

    #[test]
    fn a_key_never_shows_in_debug_output_only_its_id() {
        let key = ServerKey::parse(HEX).expect("key");
        assert_eq!(format!("{key:?}"), format!("ServerKey({}, ***)", key.id()));
        assert_eq!(key.id().len(), 8);
        assert!(!HEX.contains(key.id()));
    }

    #[test]
    fn keys_are_found_by_id_current_or_earlier() {
        let old = ServerKey::parse(&HEX.replace("00", "ff")).expect("old");
        let current = ServerKey::parse(HEX).expect("current");
        assert_ne!(old.id(), current.id());
        let keys = Keys::new(current.clone(), vec![old.clone()]);
        assert_eq!(
            keys.by_id(current.id()).map(ServerKey::id),
            Some(current.id())
        );
        assert_eq!(keys.by_id(old.id()).map(ServerKey::id), Some(old.id()));
        assert!(keys.by_id("00000000").is_none());
    }
}
