//! Secrets compared and made here: the admin token check and the booking access codes.
//!
//! An access code is 5 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
//! drawn from the OS random generator. Events keep only its digest: an HMAC with the
//! server key `ACCESS_CODE_KEY` over the booking id and the code, naming the key so that
//! keys can be rotated (ADR 0023). Bookings of earlier releases keep their SHA-256 digest
//! salted with the booking id (ADR 0007), which is still checked.

use events::{AccessCodeDigest, BookingId};

use crate::edge::keys::{Keys, ServerKey};
use sealing::hex::hex;

/// How a keyed access-code digest begins; the key id and the HMAC follow.
const KEYED: &str = "hmac-sha256:";
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

/// The characters of an access code: digits 2-9 and A-Z without I, L and O.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of an access code.
pub const CODE_LENGTH: usize = 5;

/// A booking's access code, given to the customer once.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessCode(String);

impl std::fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessCode(***)")
    }
}

/// The OS random generator could not give bytes (never seen on Linux after boot).
#[derive(Debug, thiserror::Error)]
#[error("the OS random generator failed")]
pub struct RandomUnavailable;

impl AccessCode {
    /// A fresh code from the OS random generator.
    pub fn generate() -> Result<Self, RandomUnavailable> {
        let rng = SystemRandom::new();
        let mut code = String::with_capacity(CODE_LENGTH);
        // Rejection sampling: 248 = 8 * 31, so bytes below it map uniformly.
        let mut bytes = [0u8; 16];
        while code.len() < CODE_LENGTH {
            rng.fill(&mut bytes).map_err(|_| RandomUnavailable)?;
            for byte in bytes {
                if code.len() == CODE_LENGTH {
                    break;
                }
                if byte < 248 {
                    code.push(char::from(ALPHABET[usize::from(byte % 31)]));
                }
            }
        }
        Ok(Self(code))
    }

    /// A code as a customer typed it: case and surrounding blanks do not matter.
    pub fn from_input(raw: &str) -> Self {
        Self(raw.trim().to_ascii_uppercase())
    }

    /// A code kept by the gateway for an idempotent retry.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest kept in the booking's events: `hmac-sha256:<key id>:<hex>`, keyed with
    /// the current server key, so that nobody without it can test guesses offline.
    pub fn digest(&self, keys: &Keys, booking: BookingId) -> AccessCodeDigest {
        let key = keys.current();
        AccessCodeDigest::new(format!("{KEYED}{}:{}", key.id(), self.keyed(key, booking)))
    }

    fn keyed(&self, key: &ServerKey, booking: BookingId) -> String {
        let input = format!("{booking}\n{}", self.0);
        key.digest("access-code/v2", input.as_bytes())
    }

    /// Whether this code is the one whose digest a booking keeps (constant time): a keyed
    /// digest with the key it names (current or earlier), or the salted SHA-256 of
    /// releases before keyed digests.
    pub fn matches(&self, keys: &Keys, booking: BookingId, stored: &AccessCodeDigest) -> bool {
        let Some(keyed) = stored.as_str().strip_prefix(KEYED) else {
            return constant_time_eq(
                self.legacy_digest(booking).as_bytes(),
                stored.as_str().as_bytes(),
            );
        };
        let Some((id, expected)) = keyed.split_once(':') else {
            return false;
        };
        let Some(key) = keys.by_id(id) else {
            tracing::warn!(key_id = id, %booking, "an access-code digest names a key this booker does not have (ACCESS_CODE_PREVIOUS_KEYS)");
            return false;
        };
        constant_time_eq(self.keyed(key, booking).as_bytes(), expected.as_bytes())
    }

    /// The digest of releases before keyed digests: SHA-256 salted with the booking id.
    fn legacy_digest(&self, booking: BookingId) -> String {
        let mut input = Vec::with_capacity(80);
        input.extend_from_slice(b"restaurant-booking/access-code/v1\n");
        input.extend_from_slice(booking.to_string().as_bytes());
        input.push(b'\n');
        input.extend_from_slice(self.0.as_bytes());
        hex(digest(&SHA256, &input).as_ref())
    }
}

/// Compares two secrets without an early exit: the time taken does not tell how much of a
/// guess was right. Both are hashed first, so their lengths do not show either.
pub fn secrets_equal(given: &str, expected: &str) -> bool {
    let a = digest(&SHA256, given.as_bytes());
    let b = digest(&SHA256, expected.as_bytes());
    constant_time_eq(a.as_ref(), b.as_ref())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_generated_code_has_five_characters_of_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = AccessCode::generate().expect("rng");
            assert_eq!(code.expose().len(), CODE_LENGTH);
            assert!(
                code.expose().bytes().all(|c| ALPHABET.contains(&c)),
                "{}",
                code.expose()
            );
            for look_alike in ['0', 'O', '1', 'I', 'L'] {
                assert!(!code.expose().contains(look_alike));
            }
        }
    }

    #[test]
    fn generated_codes_are_not_repeated_in_a_thousand_draws() {
        let codes: HashSet<String> = (0..1000)
            .map(|_| AccessCode::generate().expect("rng").expose().to_owned())
            .collect();
        // 31^5 = 28.6 million codes: a repeat in 1000 draws has odds of about 1.7%.
        assert!(codes.len() >= 998, "{} distinct", codes.len());
    }

    fn key(hex: &str) -> ServerKey {
        ServerKey::parse(&hex.repeat(32)).expect("key")
    }

    fn keys() -> Keys {
        Keys::new(key("01"), vec![])
    }

    #[test]
    fn a_code_matches_its_own_digest_whatever_the_case_typed_and_nothing_else() {
        let (keys, booking) = (keys(), BookingId::new());
        let code = AccessCode::generate().expect("rng");
        let stored = code.digest(&keys, booking);
        assert!(!stored.as_str().contains(code.expose()));
        let typed = AccessCode::from_input(&format!(" {} ", code.expose().to_lowercase()));
        assert!(typed.matches(&keys, booking, &stored));
        assert!(!code.matches(&keys, BookingId::new(), &stored));
        assert!(
            !AccessCode::from_input("22222").matches(&keys, booking, &stored)
                || code.expose() == "22222"
        );
    }

    #[test]
    fn a_digest_is_keyed_and_names_its_key() {
        let (keys, booking) = (keys(), BookingId::new());
        let code = AccessCode::from_input("K7QX2");
        let stored = code.digest(&keys, booking);
        let expected_prefix = format!("hmac-sha256:{}:", keys.current().id());
        assert!(stored.as_str().starts_with(&expected_prefix), "{stored:?}");
        // Without the key, the code does not match: another key cannot check it.
        let other = Keys::new(key("02"), vec![]);
        assert!(!code.matches(&other, booking, &stored));
    }

    #[test]
    fn after_a_rotation_codes_digested_with_the_earlier_key_still_match() {
        let booking = BookingId::new();
        let code = AccessCode::from_input("K7QX2");
        let before = code.digest(&Keys::new(key("01"), vec![]), booking);
        let rotated = Keys::new(key("02"), vec![key("01")]);
        assert!(code.matches(&rotated, booking, &before));
        let after = code.digest(&rotated, booking);
        assert_ne!(before, after, "new digests use the new key");
        assert!(code.matches(&rotated, booking, &after));
        // Once the earlier key is dropped, its digests no longer match.
        assert!(!code.matches(&Keys::new(key("02"), vec![]), booking, &before));
    }

    #[test]
    fn a_code_of_a_booking_made_before_keyed_digests_still_matches() {
        // The digest release 203c1c3 wrote for this booking and code.
        let booking = BookingId::parse("0193f0b4-7c1e-7000-8000-000000000001").expect("id");
        let code = AccessCode::from_input("K7QX2");
        let legacy = AccessCodeDigest::new(
            "5ae6db7373a776db9c3e6d73de558036f5395a762f7867c4cbca3a85ea4a70f5",
        );
        assert!(code.matches(&keys(), booking, &legacy));
        assert!(!AccessCode::from_input("K7QX3").matches(&keys(), booking, &legacy));
    }

    #[test]
    fn secrets_compare_equal_only_when_identical() {
        assert!(secrets_equal("token", "token"));
        assert!(!secrets_equal("token", "token "));
        assert!(!secrets_equal("", "token"));
    }
}
