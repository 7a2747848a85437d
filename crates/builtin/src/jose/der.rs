//! PEM framing and the small, strict DER walk needed to find a public key: SubjectPublicKeyInfo
//! (RFC 5280 §4.1.2.7), PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1) and the SPKI inside an X.509
//! certificate. Nothing is verified here; the key bytes go to aws-lc afterwards.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::JoseError;

/// One PEM block: its label and decoded body.
#[derive(Debug)]
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// The first PEM block in `text` (text before it is ignored, as Go's `pem.Decode` does; later
/// blocks are ignored, as Vault's `ParsePublicKeyPEM` does).
pub(crate) fn first_pem_block(text: &str) -> Result<PemBlock, JoseError> {
    const BEGIN: &str = "-----BEGIN ";
    let start = text
        .find(BEGIN)
        .ok_or(JoseError::InvalidPem("no PEM block found"))?;
    let after = &text[start + BEGIN.len()..];
    let label_end = after
        .find("-----")
        .ok_or(JoseError::InvalidPem("unterminated BEGIN line"))?;
    let label = &after[..label_end];
    if label.contains(['\r', '\n']) {
        return Err(JoseError::InvalidPem("unterminated BEGIN line"));
    }
    let body = &after[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body
        .find(&end_marker)
        .ok_or(JoseError::InvalidPem("no matching END line"))?;
    let b64: String = body[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if b64.contains(':') {
        return Err(JoseError::InvalidPem("PEM headers are not supported"));
    }
    let der = STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| JoseError::InvalidPem("body is not base64"))?;
    Ok(PemBlock {
        label: label.to_owned(),
        der,
    })
}

/// The named curve of an EC SPKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcCurve {
    P256,
    P384,
    P521,
}

/// What an SPKI contains.
#[derive(Debug)]
pub(crate) enum SpkiKey<'a> {
    /// RSA modulus and exponent, big-endian magnitudes without leading zeros.
    Rsa { n: &'a [u8], e: &'a [u8] },
    /// An EC key; `spki` is the whole SubjectPublicKeyInfo DER for aws-lc.
    Ec { curve: EcCurve, spki: &'a [u8] },
    /// A raw 32-byte Ed25519 public key.
    Ed25519 { raw: &'a [u8] },
}

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_EXPLICIT_0: u8 = 0xa0;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Reads one TLV with a single-byte tag and a minimal definite length; returns the tag,
    /// the value and the whole encoding.
    fn any(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), JoseError> {
        let input = self.rest;
        let (&tag, rest) = input.split_first().ok_or(JoseError::InvalidDer)?;
        if tag & 0x1f == 0x1f {
            return Err(JoseError::InvalidDer);
        }
        let (&first, mut rest) = rest.split_first().ok_or(JoseError::InvalidDer)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err(JoseError::InvalidDer);
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            // DER: the shortest length form, no leading zero bytes.
            if len < 0x80 || bytes[0] == 0 {
                return Err(JoseError::InvalidDer);
            }
            len
        };
        if rest.len() < len {
            return Err(JoseError::InvalidDer);
        }
        let (value, after) = rest.split_at(len);
        let whole = &input[..input.len() - after.len()];
        self.rest = after;
        Ok((tag, value, whole))
    }

    fn expect(&mut self, tag: u8) -> Result<&'a [u8], JoseError> {
        match self.any()? {
            (t, value, _) if t == tag => Ok(value),
            _ => Err(JoseError::InvalidDer),
        }
    }

    fn finish(&self) -> Result<(), JoseError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(JoseError::InvalidDer)
        }
    }
}

/// A non-negative DER INTEGER as a big-endian magnitude without leading zeros.
fn unsigned_integer(value: &[u8]) -> Result<&[u8], JoseError> {
    match value {
        [] => Err(JoseError::InvalidDer),
        [first, ..] if first & 0x80 != 0 => Err(JoseError::InvalidDer),
        [0, next, ..] if next & 0x80 == 0 => Err(JoseError::InvalidDer),
        [0, rest @ ..] => Ok(rest),
        _ => Ok(value),
    }
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` → `(n, e)`.
pub(crate) fn parse_pkcs1(der: &[u8]) -> Result<(&[u8], &[u8]), JoseError> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.expect(TAG_SEQUENCE)?);
    outer.finish()?;
    let n = unsigned_integer(seq.expect(TAG_INTEGER)?)?;
    let e = unsigned_integer(seq.expect(TAG_INTEGER)?)?;
    seq.finish()?;
    Ok((n, e))
}

/// Parses a SubjectPublicKeyInfo.
pub(crate) fn parse_spki(der: &[u8]) -> Result<SpkiKey<'_>, JoseError> {
    let mut outer = Reader::new(der);
    let mut spki = Reader::new(outer.expect(TAG_SEQUENCE)?);
    outer.finish()?;
    let mut alg_id = Reader::new(spki.expect(TAG_SEQUENCE)?);
    let oid = alg_id.expect(TAG_OID)?;
    let params = if alg_id.is_empty() {
        None
    } else {
        Some(alg_id.any()?)
    };
    alg_id.finish()?;
    let bits = spki.expect(TAG_BIT_STRING)?;
    spki.finish()?;
    let [0, key @ ..] = bits else {
        return Err(JoseError::InvalidDer);
    };
    match oid {
        OID_RSA => {
            if !matches!(params, None | Some((TAG_NULL, [], _))) {
                return Err(JoseError::InvalidDer);
            }
            let (n, e) = parse_pkcs1(key)?;
            Ok(SpkiKey::Rsa { n, e })
        }
        OID_EC => {
            let curve = match params {
                Some((TAG_OID, OID_P256, _)) => EcCurve::P256,
                Some((TAG_OID, OID_P384, _)) => EcCurve::P384,
                Some((TAG_OID, OID_P521, _)) => EcCurve::P521,
                Some((TAG_OID, _, _)) => return Err(JoseError::UnsupportedCurve),
                _ => return Err(JoseError::InvalidDer),
            };
            Ok(SpkiKey::Ec { curve, spki: der })
        }
        OID_ED25519 if params.is_none() => Ok(SpkiKey::Ed25519 { raw: key }),
        OID_ED448 | OID_X25519 => Err(JoseError::UnsupportedCurve),
        _ => Err(JoseError::UnsupportedKeyType),
    }
}

/// The SubjectPublicKeyInfo DER inside an X.509 certificate. Validity, issuer and extensions
/// are not looked at (Vault uses only the certificate's public key).
pub(crate) fn certificate_spki(der: &[u8]) -> Result<&[u8], JoseError> {
    let mut outer = Reader::new(der);
    let mut cert = Reader::new(outer.expect(TAG_SEQUENCE)?);
    outer.finish()?;
    let mut tbs = Reader::new(cert.expect(TAG_SEQUENCE)?);
    let (mut tag, _, _) = tbs.any()?;
    if tag == TAG_EXPLICIT_0 {
        // version, then serialNumber
        tag = tbs.any()?.0;
    }
    if tag != TAG_INTEGER {
        return Err(JoseError::InvalidDer);
    }
    // signature AlgorithmIdentifier, issuer, validity, subject
    for _ in 0..4 {
        tbs.expect(TAG_SEQUENCE)?;
    }
    match tbs.any()? {
        (TAG_SEQUENCE, _, whole) => Ok(whole),
        _ => Err(JoseError::InvalidDer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_framing() {
        let text = "junk\n-----BEGIN PUBLIC KEY-----\nMAMC\r\nAQE=\n-----END PUBLIC KEY-----\n";
        let block = first_pem_block(text).unwrap();
        assert_eq!(block.label, "PUBLIC KEY");
        assert_eq!(block.der, [0x30, 0x03, 0x02, 0x01, 0x01]);
        for bad in [
            "no pem here",
            "-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n",
            "-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END RSA PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nProc-Type: 4\nMAMCAQE=\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMAMCAQE\n-----END PUBLIC KEY-----",
        ] {
            assert!(
                matches!(first_pem_block(bad), Err(JoseError::InvalidPem(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn der_lengths_are_strict() {
        // long form for a short length
        assert!(Reader::new(&[0x30, 0x81, 0x01, 0x00]).any().is_err());
        // leading zero in the long form
        assert!(Reader::new(&[0x30, 0x82, 0x00, 0x80]).any().is_err());
        // indefinite
        assert!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).any().is_err());
        // truncated
        assert!(Reader::new(&[0x30, 0x05, 0x00]).any().is_err());
        let mut ok = Reader::new(&[0x02, 0x01, 0x05, 0xff]);
        assert_eq!(
            ok.any().unwrap(),
            (0x02, &[0x05][..], &[0x02, 0x01, 0x05][..])
        );
        assert!(ok.finish().is_err());
    }

    #[test]
    fn integers() {
        assert_eq!(unsigned_integer(&[0x00, 0x80]).unwrap(), [0x80]);
        assert_eq!(unsigned_integer(&[0x7f]).unwrap(), [0x7f]);
        assert!(unsigned_integer(&[0x80]).is_err());
        assert!(unsigned_integer(&[0x00, 0x01]).is_err());
        assert!(unsigned_integer(&[]).is_err());
        let pkcs1 = [0x30, 0x07, 0x02, 0x02, 0x00, 0xc1, 0x02, 0x01, 0x03];
        assert_eq!(parse_pkcs1(&pkcs1).unwrap(), (&[0xc1][..], &[0x03][..]));
        assert!(parse_pkcs1(&pkcs1[..8]).is_err());
    }

    #[test]
    fn spki_algorithms() {
        // id-Ed448 (well-formed), a wrong outer length, and an unknown OID
        let ed448 = [
            0x30, 0x0a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x01, 0x00,
        ];
        assert_eq!(parse_spki(&ed448).unwrap_err(), JoseError::UnsupportedCurve);
        let mut short = ed448;
        short[1] = 0x07;
        assert_eq!(parse_spki(&short).unwrap_err(), JoseError::InvalidDer);
        let unknown = [
            0x30, 0x09, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x03, 0x01, 0x00,
        ];
        assert_eq!(
            parse_spki(&unknown).unwrap_err(),
            JoseError::UnsupportedKeyType
        );
    }
}
