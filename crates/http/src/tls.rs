//! TLS settings for a `reqwest` client: client identity, extra trusted roots, verification.
//!
//! Files are read and checked here, before reqwest sees them, so a bad file is reported with its
//! path and what is wrong with it instead of reqwest's bare "builder error".

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How to authenticate to, and whom to trust on, the other end of a TLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file with the client certificate (and its chain); it may also hold the private key.
    pub client_cert: Option<PathBuf>,
    /// PEM file with the client's private key, when it is not in `client_cert`.
    pub client_key: Option<PathBuf>,
    /// PEM file of CA certificates to trust in addition to the built-in roots.
    pub ca_bundle: Option<PathBuf>,
    /// Verify the server's certificate (turn off only for tests).
    pub verify: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            client_cert: None,
            client_key: None,
            ca_bundle: None,
            verify: true,
        }
    }
}

/// Which file a [`TlsConfigError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// The client certificate.
    ClientCert,
    /// The client's private key.
    ClientKey,
    /// The CA bundle.
    CaBundle,
}

impl fmt::Display for TlsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClientCert => "client certificate",
            Self::ClientKey => "client key",
            Self::CaBundle => "CA bundle",
        })
    }
}

/// A TLS file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The file could not be read.
    #[error("cannot read the {what} {}", path.display())]
    Read {
        /// Which file.
        what: TlsFile,
        /// Its path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid PEM.
    #[error("the {what} {} is not valid PEM", path.display())]
    Pem {
        /// Which file.
        what: TlsFile,
        /// Its path.
        path: PathBuf,
        /// What the PEM parser said.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// No `CERTIFICATE` block where one is needed.
    #[error("the {what} {} holds no PEM certificate", path.display())]
    NoCertificate {
        /// Which file.
        what: TlsFile,
        /// Its path.
        path: PathBuf,
    },
    /// A client certificate without any private key.
    #[error(
        "the client certificate {} holds no private key: put the key in the same PEM file or give the key file as well",
        path.display()
    )]
    NoKey {
        /// The certificate file.
        path: PathBuf,
    },
    /// A key file without a certificate.
    #[error("a client key ({}) was given without a client certificate", path.display())]
    KeyWithoutCert {
        /// The key file.
        path: PathBuf,
    },
    /// The key was given twice: in the certificate file and as a key file.
    #[error(
        "both the client certificate {} and the client key {} hold a private key: give the key once",
        cert.display(),
        key.display()
    )]
    KeyTwice {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// An X.509 v1 certificate, which rustls refuses (`UnsupportedCertVersion`).
    #[error(
        "{}: X.509 v1 certificate: rustls needs an X.509 v3 certificate (make it with `openssl x509 -req ... -extfile` giving e.g. basicConstraints/extendedKeyUsage)",
        path.display()
    )]
    V1Certificate {
        /// The certificate file.
        path: PathBuf,
    },
    /// The certificate's DER is not an X.509 certificate.
    #[error("{}: the certificate is not a well-formed X.509 certificate", path.display())]
    MalformedCertificate {
        /// The certificate file.
        path: PathBuf,
    },
    /// The private key does not belong to the certificate.
    #[error(
        "the private key in {} does not belong to the certificate in {}",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The file the key came from.
        key: PathBuf,
    },
    /// The private key cannot be used (unsupported type, malformed).
    #[error("the private key in {} cannot be used", path.display())]
    UnusableKey {
        /// The file the key came from.
        path: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
    /// reqwest refused the identity.
    #[error("the client certificate and key from {} were refused", path.display())]
    Identity {
        /// The certificate file.
        path: PathBuf,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// reqwest refused the CA bundle.
    #[error("the CA bundle {} cannot be used", path.display())]
    CaBundle {
        /// The bundle.
        path: PathBuf,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
}

/// `reqwest`'s `build()` failed; the source chain says why.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct ClientBuildError {
    /// reqwest's error (its own message is just "builder error"; its sources say more).
    #[source]
    pub source: reqwest::Error,
}

fn read(what: TlsFile, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn certs_in(
    what: TlsFile,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsConfigError::Pem {
            what,
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            what,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn key_in(
    what: TlsFile,
    path: &Path,
    pem: &[u8],
) -> Result<Option<PrivateKeyDer<'static>>, TlsConfigError> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(k) => Ok(Some(k)),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => Ok(None),
        Err(source) => Err(TlsConfigError::Pem {
            what,
            path: path.to_owned(),
            source,
        }),
    }
}

/// One DER header at `pos`: (tag, start of contents, length of contents).
fn der_header(buf: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *buf.get(pos)?;
    let first = *buf.get(pos.checked_add(1)?)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), pos + 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*buf.get(pos + 2 + i)?);
        }
        (len, pos + 2 + n)
    };
    if start.checked_add(len)? > buf.len() {
        return None;
    }
    Some((tag, start, len))
}

/// Where the fields of a DER certificate's `tbsCertificate` start: `Certificate ::= SEQUENCE {
/// tbsCertificate SEQUENCE { ... } ... }`.
fn tbs_certificate(der: &[u8]) -> Option<usize> {
    let (tag, cert, _) = der_header(der, 0)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der_header(der, cert)?;
    (tag == 0x30).then_some(tbs)
}

/// The X.509 version (1, 2 or 3) of a DER certificate, or `None` if it is not one.
///
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { version [0] EXPLICIT INTEGER DEFAULT v1, ... } ... }`
pub fn x509_version(der: &[u8]) -> Option<u8> {
    let tbs = tbs_certificate(der)?;
    let (tag, explicit, _) = der_header(der, tbs)?;
    if tag != 0xa0 {
        // No version field: the default, v1 (the next field is the serial number, an INTEGER).
        return (tag == 0x02).then_some(1);
    }
    let (tag, int, len) = der_header(der, explicit)?;
    if tag != 0x02 || len != 1 {
        return None;
    }
    der.get(int)?.checked_add(1)
}

/// The certificate's subject as OpenSSL prints it with `XN_FLAG_RFC2253` (what nginx's
/// `$ssl_client_i_dn` shows for a certificate this CA issued): RDNs last to first, joined
/// by `,`, multi-valued ones by `+`, short attribute names, RFC 2253 escapes, bytes outside
/// printable ASCII as `\XX`, values of unknown string types as `#<hex DER>`.
pub fn x509_subject_rfc2253(cert_der: &[u8]) -> Option<String> {
    let tbs = tbs_certificate(cert_der)?;
    let (_, cert, _) = der_header(cert_der, 0)?;
    let (_, _, tbs_len) = der_header(cert_der, cert)?;
    let tbs_end = tbs + tbs_len;
    let mut pos = tbs;
    let mut next = |buf: &[u8]| -> Option<(u8, usize, usize)> {
        let e = der_header(buf, pos)?;
        pos = e.1 + e.2;
        (pos <= tbs_end).then_some(e)
    };
    if next(cert_der)?.0 == 0xa0 {
        next(cert_der)?; // [0] version, then the serial number
    }
    next(cert_der)?; // signature algorithm
    next(cert_der)?; // issuer
    next(cert_der)?; // validity
    let (tag, start, len) = next(cert_der)?; // subject
    if tag != 0x30 {
        return None;
    }
    let mut rdns = Vec::new();
    let mut p = start;
    while p < start + len {
        let (set_tag, s, l) = der_header(cert_der, p)?;
        if set_tag != 0x31 {
            return None;
        }
        let mut parts = Vec::new();
        let mut q = s;
        while q < s + l {
            let (_, a, al) = der_header(cert_der, q)?;
            let (oid_tag, o, ol) = der_header(cert_der, a)?;
            if oid_tag != 0x06 {
                return None;
            }
            let (vt, v, vl) = der_header(cert_der, o + ol)?;
            let name = attribute_name(cert_der.get(o..o + ol)?)?;
            let value =
                attribute_value(vt, cert_der.get(v..v + vl)?, cert_der.get(o + ol..v + vl)?)?;
            parts.push(format!("{name}={value}"));
            q = a + al;
        }
        rdns.push(parts.join("+"));
        p = s + l;
    }
    rdns.reverse();
    Some(rdns.join(","))
}

fn attribute_name(oid: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc = 0u64;
    for (i, b) in oid.iter().enumerate() {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        } else if i + 1 == oid.len() {
            return None;
        }
    }
    let dotted = arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let short = match dotted.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.42" => "GN",
        "2.5.4.46" => "dnQualifier",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return Some(dotted),
    };
    Some(short.to_owned())
}

fn attribute_value(tag: u8, bytes: &[u8], whole: &[u8]) -> Option<String> {
    let text: String = match tag {
        // UTF8String, PrintableString, T61String (as Latin-1), IA5String, NumericString
        0x0c => String::from_utf8(bytes.to_vec()).ok()?,
        0x12 | 0x13 | 0x14 | 0x16 => bytes.iter().map(|&b| char::from(b)).collect(),
        // BMPString (UTF-16BE)
        0x1e => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16(&units).ok()?
        }
        _ => {
            let hex: String = whole.iter().map(|b| format!("{b:02X}")).collect();
            return Some(format!("#{hex}"));
        }
    };
    let n = text.chars().count();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        let edge = (i == 0 && (c == '#' || c == ' ')) || (i + 1 == n && c == ' ');
        if edge || ",+\"\\<>;".contains(c) {
            out.push('\\');
            out.push(c);
        } else if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:02X}"));
            }
        }
    }
    Some(out)
}

/// A certificate's validity period, in seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// `notBefore`.
    pub not_before: i64,
    /// `notAfter`.
    pub not_after: i64,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An X.509 `Time`: UTCTime (tag 0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (0x18,
/// `YYYYMMDDHHMMSSZ`), as RFC 5280 requires them (UTC, seconds, no fraction).
fn der_time(tag: u8, bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy: i64 = digits.get(..2)?.parse().ok()?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                digits.get(2..)?,
            )
        }
        (0x18, 14) => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// The validity period of a DER certificate, or `None` if it is not a well-formed one.
///
/// `TBSCertificate ::= SEQUENCE { version [0] OPTIONAL, serialNumber, signature, issuer,
/// validity SEQUENCE { notBefore Time, notAfter Time }, ... }`
pub fn x509_validity(der: &[u8]) -> Option<Validity> {
    let tbs = tbs_certificate(der)?;
    let mut pos = tbs;
    let (tag, start, len) = der_header(der, pos)?;
    if tag == 0xa0 {
        pos = start + len;
    }
    // serialNumber, signature, issuer.
    for expected in [0x02, 0x30, 0x30] {
        let (tag, start, len) = der_header(der, pos)?;
        if tag != expected {
            return None;
        }
        pos = start + len;
    }
    let (tag, validity, _) = der_header(der, pos)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, start, len) = der_header(der, validity)?;
    let not_before = der_time(tag, der.get(start..start + len)?)?;
    let (tag, start, len) = der_header(der, start + len)?;
    let not_after = der_time(tag, der.get(start..start + len)?)?;
    Some(Validity {
        not_before,
        not_after,
    })
}

/// The certificates in PEM file `path`, read and parsed with a [`TlsConfigError`] naming the
/// file (at least one, else [`TlsConfigError::NoCertificate`]).
pub fn read_certificates(
    what: TlsFile,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = read(what, path)?;
    certs_in(what, path, &pem)
}

impl TlsSettings {
    /// Whether a client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.client_cert.is_some()
    }

    /// Read and check the client identity: a PEM with certificate and key, or a certificate
    /// file plus a key file. `Ok(None)` when no client certificate is configured.
    pub fn identity(&self) -> Result<Option<reqwest::Identity>, TlsConfigError> {
        let Some(cert_path) = &self.client_cert else {
            return match &self.client_key {
                Some(key) => Err(TlsConfigError::KeyWithoutCert { path: key.clone() }),
                None => Ok(None),
            };
        };
        let cert_pem = read(TlsFile::ClientCert, cert_path)?;
        let certs = certs_in(TlsFile::ClientCert, cert_path, &cert_pem)?;
        match certs.first().and_then(|c| x509_version(c.as_ref())) {
            None => {
                return Err(TlsConfigError::MalformedCertificate {
                    path: cert_path.clone(),
                })
            }
            Some(1) => {
                return Err(TlsConfigError::V1Certificate {
                    path: cert_path.clone(),
                })
            }
            Some(_) => {}
        }
        let key_in_cert = key_in(TlsFile::ClientCert, cert_path, &cert_pem)?;
        let (key, key_path, mut pem) = match &self.client_key {
            Some(key_path) => {
                if key_in_cert.is_some() {
                    return Err(TlsConfigError::KeyTwice {
                        cert: cert_path.clone(),
                        key: key_path.clone(),
                    });
                }
                let key_pem = read(TlsFile::ClientKey, key_path)?;
                let Some(key) = key_in(TlsFile::ClientKey, key_path, &key_pem)? else {
                    return Err(TlsConfigError::Pem {
                        what: TlsFile::ClientKey,
                        path: key_path.clone(),
                        source: rustls::pki_types::pem::Error::NoItemsFound,
                    });
                };
                let mut pem = cert_pem;
                pem.push(b'\n');
                pem.extend(key_pem);
                (key, key_path, pem)
            }
            None => match key_in_cert {
                Some(key) => (key, cert_path, cert_pem),
                None => {
                    return Err(TlsConfigError::NoKey {
                        path: cert_path.clone(),
                    })
                }
            },
        };
        let provider = rustls::crypto::ring::default_provider();
        match rustls::sign::CertifiedKey::from_der(certs, key, &provider) {
            Ok(_) => {}
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                return Err(TlsConfigError::KeyMismatch {
                    cert: cert_path.clone(),
                    key: key_path.clone(),
                })
            }
            Err(source) => {
                return Err(TlsConfigError::UnusableKey {
                    path: key_path.clone(),
                    source,
                })
            }
        }
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|source| TlsConfigError::Identity {
                path: cert_path.clone(),
                source,
            });
        // The PEM holds the private key: don't keep a copy around longer than needed.
        pem.fill(0);
        identity.map(Some)
    }

    /// Read the CA bundle's certificates (empty when none is configured).
    pub fn roots(&self) -> Result<Vec<reqwest::Certificate>, TlsConfigError> {
        let Some(path) = &self.ca_bundle else {
            return Ok(Vec::new());
        };
        let pem = read(TlsFile::CaBundle, path)?;
        // Checked here for a message naming the file; reqwest parses it again.
        certs_in(TlsFile::CaBundle, path, &pem)?;
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| TlsConfigError::CaBundle {
            path: path.clone(),
            source,
        })
    }

    /// Add these settings to a client builder (rustls, the identity, extra roots, verification).
    pub fn apply(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, TlsConfigError> {
        builder = builder.use_rustls_tls();
        if !self.verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        for cert in self.roots()? {
            builder = builder.add_root_certificate(cert);
        }
        if let Some(identity) = self.identity()? {
            builder = builder.identity(identity);
        }
        Ok(builder)
    }
}

/// A `reqwest::ClientBuilder` with `settings` applied; add timeouts, headers etc. and finish it
/// with [`build_client`].
pub fn client_builder(settings: &TlsSettings) -> Result<reqwest::ClientBuilder, TlsConfigError> {
    settings.apply(reqwest::Client::builder())
}

/// Finish a builder, keeping reqwest's whole error chain when it fails.
pub fn build_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, ClientBuildError> {
    builder
        .build()
        .map_err(|source| ClientBuildError { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_escapes_like_openssl_rfc2253() {
        assert_eq!(attribute_value(0x0c, b"a,b", b"").unwrap(), "a\\,b");
        assert_eq!(attribute_value(0x13, b" x ", b"").unwrap(), "\\ x\\ ");
        assert_eq!(
            attribute_value(0x0c, "é".as_bytes(), b"").unwrap(),
            "\\C3\\A9"
        );
        assert_eq!(attribute_name(&[0x55, 0x04, 0x03]).unwrap(), "CN");
        assert_eq!(
            attribute_name(&[0x2a, 0x86, 0x48, 0x01]).unwrap(),
            "1.2.840.1"
        );
    }

    #[test]
    fn der_version_of_v1_and_v3_headers() {
        // SEQUENCE { SEQUENCE { [0] { INTEGER 2 } INTEGER 1 } }
        let v3 = [
            0x30, 0x0a, 0x30, 0x08, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01,
        ];
        assert_eq!(x509_version(&v3), Some(3));
        // SEQUENCE { SEQUENCE { INTEGER 1 } }: no version field
        let v1 = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01];
        assert_eq!(x509_version(&v1), Some(1));
        // Long-form lengths.
        let long = [0x30, 0x81, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01];
        assert_eq!(x509_version(&long), Some(1));
        // Truncated or not a certificate.
        assert_eq!(x509_version(&v3[..6]), None);
        assert_eq!(x509_version(b"hello"), None);
        assert_eq!(x509_version(&[]), None);
    }

    #[test]
    fn der_times() {
        assert_eq!(der_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(der_time(0x17, b"240101000000Z"), Some(1_704_067_200));
        assert_eq!(der_time(0x17, b"240201000000Z"), Some(1_706_745_600));
        assert_eq!(der_time(0x18, b"20240101000000Z"), Some(1_704_067_200));
        assert_eq!(der_time(0x18, b"99991231235959Z"), Some(253_402_300_799));
        assert_eq!(der_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(der_time(0x17, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(der_time(0x17, b"2401010000Z"), None);
        assert_eq!(der_time(0x17, b"241301000000Z"), None);
        assert_eq!(der_time(0x18, b"240101000000Z"), None);
        assert_eq!(der_time(0x17, b"240101000000+0100"), None);
    }

    #[test]
    fn key_without_cert_is_refused() {
        let s = TlsSettings {
            client_key: Some("/k.pem".into()),
            ..TlsSettings::default()
        };
        assert!(matches!(
            s.identity(),
            Err(TlsConfigError::KeyWithoutCert { .. })
        ));
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let s = TlsSettings {
            ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..TlsSettings::default()
        };
        let err = client_builder(&s).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read the CA bundle /nonexistent/ca.pem"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn pem_without_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pem");
        std::fs::write(&p, "not a pem\n").unwrap();
        let s = TlsSettings {
            client_cert: Some(p.clone()),
            ..TlsSettings::default()
        };
        assert!(matches!(
            s.identity(),
            Err(TlsConfigError::NoCertificate {
                what: TlsFile::ClientCert,
                ..
            })
        ));
        let s = TlsSettings {
            ca_bundle: Some(p),
            ..TlsSettings::default()
        };
        assert!(matches!(
            s.roots(),
            Err(TlsConfigError::NoCertificate {
                what: TlsFile::CaBundle,
                ..
            })
        ));
    }

    #[test]
    fn no_settings_build_a_client() {
        let b = client_builder(&TlsSettings::default()).unwrap();
        build_client(b).unwrap();
    }
}
