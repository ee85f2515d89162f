//! SETs as compact JWS signed HS256 (RFC 7515, RFC 7518 §3.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde_json::{Value, json};

/// The SET `claims` as a compact JWS, header `{"alg":"HS256","typ":"secevent+jwt"}`
/// (RFC 8417 §2.3), keyed with `key`.
pub fn sign_hs256(key: &[u8], claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "secevent+jwt"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_verifies_with_the_same_key_only() {
        let jwt = sign_hs256(
            b"0123456789abcdef0123456789abcdef",
            &json!({"jti": "evt-1"}),
        );
        let (input, tag) = jwt.rsplit_once('.').unwrap();
        let tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
        let verify = |key: &[u8]| {
            hmac::verify(
                &hmac::Key::new(hmac::HMAC_SHA256, key),
                input.as_bytes(),
                &tag,
            )
        };
        assert!(verify(b"0123456789abcdef0123456789abcdef").is_ok());
        assert!(verify(b"0123456789abcdef0123456789abcdeF").is_err());
        let header = input.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"alg":"HS256","typ":"secevent+jwt"}"#
        );
    }
}
