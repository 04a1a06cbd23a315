//! Secrets compared and made here: the admin token check and the booking access codes.
//!
//! An access code is 5 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
//! drawn from the OS random generator. Events keep only its digest, salted with the
//! booking id, so two bookings with the same code have different digests (ADR 0007).

use events::{AccessCodeDigest, BookingId};
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

    /// The digest kept in the booking's events.
    pub fn digest(&self, booking: BookingId) -> AccessCodeDigest {
        let mut input = Vec::with_capacity(80);
        input.extend_from_slice(b"restaurant-booking/access-code/v1\n");
        input.extend_from_slice(booking.to_string().as_bytes());
        input.push(b'\n');
        input.extend_from_slice(self.0.as_bytes());
        AccessCodeDigest::new(hex(digest(&SHA256, &input).as_ref()))
    }

    /// Whether this code is the one whose digest a booking keeps (constant time).
    pub fn matches(&self, booking: BookingId, stored: &AccessCodeDigest) -> bool {
        constant_time_eq(
            self.digest(booking).as_str().as_bytes(),
            stored.as_str().as_bytes(),
        )
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

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
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

    #[test]
    fn a_code_matches_its_own_digest_whatever_the_case_typed_and_nothing_else() {
        let booking = BookingId::new();
        let code = AccessCode::generate().expect("rng");
        let stored = code.digest(booking);
        assert!(!stored.as_str().contains(code.expose()));
        let typed = AccessCode::from_input(&format!(" {} ", code.expose().to_lowercase()));
        assert!(typed.matches(booking, &stored));
        assert!(!code.matches(BookingId::new(), &stored));
        assert!(
            !AccessCode::from_input("22222").matches(booking, &stored) || code.expose() == "22222"
        );
    }

    #[test]
    fn secrets_compare_equal_only_when_identical() {
        assert!(secrets_equal("token", "token"));
        assert!(!secrets_equal("token", "token "));
        assert!(!secrets_equal("", "token"));
    }
}
