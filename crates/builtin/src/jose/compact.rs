//! Compact JWS parsing: size limit, three-part split, strict base64url, strict JSON header,
//! header rules and the alg allow-list. Shared by [`verify`](super::verify) and
//! [`decode_unverified`].

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::claims::Claims;
use super::error::{JoseError, Part};
use super::json::{HEADER_NAMES, parse_object, reject_case_variants};
use super::{Alg, Limits};

/// RFC 7515 §2 base64url: URL-safe alphabet, no padding, unused trailing bits must be zero.
/// Whitespace, `=`, `+` and `/` are not in the alphabet and are rejected; so is a length ≡ 1
/// (mod 4).
pub(crate) const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Longest accepted `kid`, in bytes.
pub(crate) const MAX_KID_LEN: usize = 256;

/// The JOSE header of an accepted token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Header {
    /// The signature algorithm (already checked against the caller's allow-list).
    pub alg: Alg,
    /// The key id: 1–256 printable-ASCII bytes. An opaque lookup key, never a path or query.
    pub kid: Option<String>,
    /// `typ`, if present (not required, not interpreted).
    pub typ: Option<String>,
    /// `cty`, if present (not interpreted).
    pub cty: Option<String>,
    /// `jku` was present. It is never dereferenced or used for key selection.
    pub has_jku: bool,
    /// `x5u` was present. It is never dereferenced or used for key selection.
    pub has_x5u: bool,
    /// An embedded `jwk` was present. It is never used: keys come only from the caller.
    pub has_jwk: bool,
    /// `x5c` was present. It is never used: keys come only from the caller.
    pub has_x5c: bool,
    /// Every header member as parsed (duplicate-free), including the ones above.
    pub params: Map<String, Value>,
}

/// A token whose structure and header were checked but whose signature was **not** verified.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unverified {
    /// The checked header.
    pub header: Header,
    /// The claims, strictly parsed; registered claims have valid types. Not authenticated.
    pub claims: Claims,
}

/// A parsed token before signature verification.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) header: Header,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the bytes that were signed.
    pub(crate) signing_input: &'a [u8],
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

/// Decodes a compact JWS **without verifying its signature**, with the same strict parsing as
/// [`verify`](super::verify): size limit, three parts, strict base64url of all three, strict
/// JSON, header rules, `alg` in `allowed_algs`, non-empty signature, strict claims.
///
/// This is the Kubernetes method's path when no `pem_keys` are configured (cap's
/// `DontVerifySignature`): the claims are then authenticated by the TokenReview call, never by
/// this function. Do not use the result for any decision before that.
pub fn decode_unverified(token: &str, allowed_algs: &[Alg]) -> Result<Unverified, JoseError> {
    decode_unverified_with(token, allowed_algs, &Limits::default())
}

/// [`decode_unverified`] with explicit [`Limits`].
pub fn decode_unverified_with(
    token: &str,
    allowed_algs: &[Alg],
    limits: &Limits,
) -> Result<Unverified, JoseError> {
    let parsed = parse(token, allowed_algs, limits)?;
    let claims = Claims::parse(&parsed.payload, limits)?;
    Ok(Unverified {
        header: parsed.header,
        claims,
    })
}

/// Splits and decodes a compact JWS and checks its header. The payload is decoded but not
/// interpreted.
pub(crate) fn parse<'a>(
    token: &'a str,
    allowed_algs: &[Alg],
    limits: &Limits,
) -> Result<Parsed<'a>, JoseError> {
    if token.len() > limits.max_token_len {
        return Err(JoseError::TokenTooLarge {
            max: limits.max_token_len,
        });
    }
    if token.trim_start().starts_with('{') {
        return Err(JoseError::Malformed("JSON serialization is not supported"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed("expected three dot-separated parts"));
    };
    match parts.count() {
        0 => {}
        2 => return Err(JoseError::Malformed("JWE (five parts) is not supported")),
        _ => return Err(JoseError::Malformed("expected three dot-separated parts")),
    }

    // Four base64 characters carry three bytes: bound the header before decoding it.
    if header_b64.len() / 4 * 3 > limits.max_header_len {
        return Err(JoseError::HeaderTooLarge {
            max: limits.max_header_len,
        });
    }
    let header_bytes = decode_part(header_b64, Part::Header)?;
    if header_bytes.len() > limits.max_header_len {
        return Err(JoseError::HeaderTooLarge {
            max: limits.max_header_len,
        });
    }
    let payload = decode_part(payload_b64, Part::Payload)?;
    let signature = decode_part(signature_b64, Part::Signature)?;

    let params = parse_object(&header_bytes, limits.max_depth, Part::Header)?;
    reject_case_variants(&params, HEADER_NAMES, Part::Header)?;
    let header = check_header(params)?;
    if !allowed_algs.contains(&header.alg) {
        return Err(JoseError::AlgNotAllowed(header.alg));
    }
    if signature.is_empty() {
        return Err(JoseError::MissingSignature);
    }
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    Ok(Parsed {
        header,
        signing_input,
        payload,
        signature,
    })
}

fn decode_part(encoded: &str, part: Part) -> Result<Vec<u8>, JoseError> {
    B64URL.decode(encoded).map_err(|_| JoseError::Base64(part))
}

fn check_header(params: Map<String, Value>) -> Result<Header, JoseError> {
    let alg = match params.get("alg") {
        None => return Err(JoseError::MissingAlg),
        Some(Value::String(name)) => Alg::from_name(name).ok_or(JoseError::UnsupportedAlg)?,
        Some(_) => return Err(JoseError::UnsupportedAlg),
    };
    if params.contains_key("crit") {
        return Err(JoseError::CriticalHeader);
    }
    match params.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(_) => return Err(JoseError::UnencodedPayload),
    }
    for jwe_only in ["enc", "zip"] {
        if params.contains_key(jwe_only) {
            return Err(JoseError::InvalidHeader(jwe_only));
        }
    }
    let kid = match params.get("kid") {
        None => None,
        Some(Value::String(kid)) if valid_kid(kid) => Some(kid.clone()),
        Some(_) => return Err(JoseError::InvalidHeader("kid")),
    };
    let typ = optional_string(&params, "typ")?;
    let cty = optional_string(&params, "cty")?;
    Ok(Header {
        alg,
        kid,
        typ,
        cty,
        has_jku: params.contains_key("jku"),
        has_x5u: params.contains_key("x5u"),
        has_jwk: params.contains_key("jwk"),
        has_x5c: params.contains_key("x5c"),
        params,
    })
}

/// A `kid` is 1–256 bytes of printable ASCII (space through `~`).
pub(crate) fn valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_LEN && kid.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

fn optional_string(
    params: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, JoseError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JoseError::InvalidHeader(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        B64URL.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    fn parse_err(token: &str) -> JoseError {
        parse(token, &Alg::ALL, &Limits::default()).unwrap_err()
    }

    #[test]
    fn strict_base64url() {
        assert_eq!(B64URL.decode("Zm9v").unwrap(), b"foo");
        assert_eq!(B64URL.decode("_-8").unwrap(), [0xff, 0xef]);
        for bad in [
            "Zm9=", "Zm9v=", "Zm 9v", "Zm9v\n", "+/8", "Zh", "Zg==", "Z", "Zm9vY",
        ] {
            assert!(B64URL.decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn part_counts() {
        let good = token(r#"{"alg":"ES256"}"#, "{}");
        assert!(parse(&good, &Alg::ALL, &Limits::default()).is_ok());
        assert!(matches!(parse_err("a.b"), JoseError::Malformed(_)));
        assert!(matches!(parse_err("a.b.c.d"), JoseError::Malformed(_)));
        assert_eq!(
            parse_err("a.b.c.d.e"),
            JoseError::Malformed("JWE (five parts) is not supported")
        );
        assert_eq!(
            parse_err(r#"{"payload":"e30","signatures":[]}"#),
            JoseError::Malformed("JSON serialization is not supported")
        );
    }

    #[test]
    fn header_rules() {
        let err = |h: &str| parse_err(&token(h, "{}"));
        assert_eq!(err(r#"{"typ":"JWT"}"#), JoseError::MissingAlg);
        assert_eq!(err(r#"{"alg":"none"}"#), JoseError::UnsupportedAlg);
        assert_eq!(err(r#"{"alg":["RS256"]}"#), JoseError::UnsupportedAlg);
        assert_eq!(
            err(r#"{"alg":"RS256","crit":[]}"#),
            JoseError::CriticalHeader
        );
        assert_eq!(
            err(r#"{"alg":"RS256","b64":false}"#),
            JoseError::UnencodedPayload
        );
        assert_eq!(
            err(r#"{"alg":"RS256","enc":"A128GCM"}"#),
            JoseError::InvalidHeader("enc")
        );
        assert_eq!(
            err(r#"{"alg":"RS256","kid":""}"#),
            JoseError::InvalidHeader("kid")
        );
        assert_eq!(
            err(r#"{"alg":"RS256","kid":7}"#),
            JoseError::InvalidHeader("kid")
        );
        assert_eq!(
            err(r#"{"alg":"RS256","kid":"a\nb"}"#),
            JoseError::InvalidHeader("kid")
        );
        assert_eq!(
            err(r#"{"alg":"RS256","typ":1}"#),
            JoseError::InvalidHeader("typ")
        );
        assert_eq!(
            err(r#"{"alg":"RS256","ALG":"none"}"#),
            JoseError::CaseVariantName {
                part: Part::Header,
                name: "alg"
            }
        );
        let good = token(
            r#"{"alg":"RS256","b64":true,"jku":"http://x","kid":"k 1"}"#,
            "{}",
        );
        let ok = parse(&good, &[Alg::Rs256], &Limits::default()).unwrap();
        assert!(ok.header.has_jku && !ok.header.has_x5u);
        assert_eq!(ok.header.kid.as_deref(), Some("k 1"));
        assert_eq!(ok.signing_input.iter().filter(|b| **b == b'.').count(), 1);
    }

    #[test]
    fn limits_apply_before_decoding() {
        let limits = Limits {
            max_token_len: 100,
            max_header_len: 20,
            max_depth: 2,
        };
        let long = "a".repeat(101);
        assert_eq!(
            parse(&long, &Alg::ALL, &limits).unwrap_err(),
            JoseError::TokenTooLarge { max: 100 }
        );
        let big_header = token(r#"{"alg":"RS256","x":"0123456789"}"#, "{}");
        assert_eq!(
            parse(&big_header, &Alg::ALL, &limits).unwrap_err(),
            JoseError::HeaderTooLarge { max: 20 }
        );
        let deep = token(r#"{"alg":"RS256","x":[[1]]}"#, "{}");
        assert_eq!(
            parse(
                &deep,
                &Alg::ALL,
                &Limits {
                    max_header_len: 99,
                    ..limits
                }
            )
            .unwrap_err(),
            JoseError::TooDeep(Part::Header)
        );
    }
}
