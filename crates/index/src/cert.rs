//! Client certificates for the index from entitlement certificates: subscription-manager writes
//! `<serial>.pem` and `<serial>-key.pem` (separate files) to `/etc/pki/entitlement/`; pip and uv
//! want one PEM holding both. [`find_entitlement`] picks the newest valid certificate and checks
//! its key; [`write_client_pem`] writes the combined file, mode 0600.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use wheelgate_http::{read_certificates, x509_validity, TlsConfigError, TlsFile, TlsSettings};

/// subscription-manager's entitlement directory.
pub const DEFAULT_ENTITLEMENT_DIR: &str = "/etc/pki/entitlement";

/// Why no client certificate could be made from an entitlement directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The directory cannot be listed (missing, not a directory, no permission).
    #[error("cannot read the entitlement directory {}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No `<serial>.pem` in the directory.
    #[error("no entitlement certificate (<serial>.pem with <serial>-key.pem) in {}", dir.display())]
    Empty {
        /// The directory.
        dir: PathBuf,
    },
    /// A certificate file cannot be read or is not a certificate.
    #[error("cannot use the entitlement certificate {}", path.display())]
    Unreadable {
        /// The certificate file.
        path: PathBuf,
        /// Why.
        #[source]
        source: TlsConfigError,
    },
    /// The certificate's validity period cannot be read.
    #[error("{}: cannot read the certificate's validity period", path.display())]
    Malformed {
        /// The certificate file.
        path: PathBuf,
    },
    /// Every certificate has expired.
    #[error("every entitlement certificate in {} has expired; the newest, {}, expired {}", dir.display(), newest.display(), format_time(*not_after))]
    Expired {
        /// The directory.
        dir: PathBuf,
        /// The certificate that expired last.
        newest: PathBuf,
        /// Its `notAfter`, seconds since the epoch.
        not_after: i64,
    },
    /// No certificate is valid now and at least one becomes valid later.
    #[error("the entitlement certificate {} is not valid before {}", path.display(), format_time(*not_before))]
    NotYetValid {
        /// The certificate that becomes valid first.
        path: PathBuf,
        /// Its `notBefore`, seconds since the epoch.
        not_before: i64,
    },
    /// The chosen certificate has no key file next to it.
    #[error("the entitlement certificate {} has no key: {} does not exist", cert.display(), key.display())]
    NoKey {
        /// The certificate.
        cert: PathBuf,
        /// The key file expected.
        key: PathBuf,
    },
    /// The key file does not belong to the certificate.
    #[error("the key {} does not belong to the entitlement certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The certificate and key cannot be used as a client identity (unreadable key, X.509 v1,
    /// ...).
    #[error("the entitlement certificate {} and its key cannot be used", cert.display())]
    Unusable {
        /// The certificate.
        cert: PathBuf,
        /// Why.
        #[source]
        source: TlsConfigError,
    },
    /// The combined PEM cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl CertError {
    /// Whether the entitlement directory itself is the problem (missing, empty, expired,
    /// mismatched files: bad input), as opposed to failing to write the result.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Write { .. })
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` of seconds since the epoch.
fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The entitlement certificate chosen, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    /// `<serial>.pem`.
    pub cert: PathBuf,
    /// `<serial>-key.pem`.
    pub key: PathBuf,
    /// `<serial>`, from the file name.
    pub serial: String,
    /// `notBefore`, seconds since the epoch.
    pub not_before: i64,
    /// `notAfter`, seconds since the epoch.
    pub not_after: i64,
}

impl Entitlement {
    /// `notAfter` as `YYYY-MM-DD HH:MM:SS UTC`.
    pub fn expires(&self) -> String {
        format_time(self.not_after)
    }
}

fn unix(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The newest certificate of `dir` valid at `now` (latest `notBefore`, then latest
/// `notAfter`), with its key checked to belong to it.
pub fn find_entitlement(dir: &Path, now: SystemTime) -> Result<Entitlement, CertError> {
    let now = unix(now);
    let entries = std::fs::read_dir(dir).map_err(|source| CertError::ReadDir {
        dir: dir.to_owned(),
        source,
    })?;
    let mut certs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CertError::ReadDir {
            dir: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(serial) = name.strip_suffix(".pem") else {
            continue;
        };
        // subscription-manager's serials are decimal; anything else (a `-key.pem`, or a
        // combined PEM written next to them) is not an entitlement certificate.
        if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let path = entry.path();
        let der = read_certificates(TlsFile::ClientCert, &path).map_err(|source| {
            CertError::Unreadable {
                path: path.clone(),
                source,
            }
        })?;
        let validity = der
            .first()
            .and_then(|c| x509_validity(c.as_ref()))
            .ok_or_else(|| CertError::Malformed { path: path.clone() })?;
        certs.push(Entitlement {
            key: dir.join(format!("{serial}-key.pem")),
            cert: path,
            serial: serial.to_owned(),
            not_before: validity.not_before,
            not_after: validity.not_after,
        });
    }
    let valid = certs
        .iter()
        .filter(|c| c.not_before <= now && now <= c.not_after)
        .max_by_key(|c| (c.not_before, c.not_after, c.serial.clone()));
    let Some(chosen) = valid.cloned() else {
        if let Some(first) = certs
            .iter()
            .filter(|c| c.not_before > now)
            .min_by_key(|c| c.not_before)
        {
            return Err(CertError::NotYetValid {
                path: first.cert.clone(),
                not_before: first.not_before,
            });
        }
        return match certs.iter().max_by_key(|c| c.not_after) {
            Some(last) => Err(CertError::Expired {
                dir: dir.to_owned(),
                newest: last.cert.clone(),
                not_after: last.not_after,
            }),
            None => Err(CertError::Empty {
                dir: dir.to_owned(),
            }),
        };
    };
    if !chosen.key.is_file() {
        return Err(CertError::NoKey {
            cert: chosen.cert,
            key: chosen.key,
        });
    }
    let tls = TlsSettings {
        client_cert: Some(chosen.cert.clone()),
        client_key: Some(chosen.key.clone()),
        ..TlsSettings::default()
    };
    match tls.identity() {
        Ok(_) => Ok(chosen),
        Err(TlsConfigError::KeyMismatch { .. }) => Err(CertError::KeyMismatch {
            cert: chosen.cert,
            key: chosen.key,
        }),
        Err(source) => Err(CertError::Unusable {
            cert: chosen.cert,
            source,
        }),
    }
}

fn with_newline(mut text: Vec<u8>) -> Vec<u8> {
    if !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text
}

/// Write the certificate and key of `e` as one PEM to `out`, mode 0600, replacing `out` whole
/// (written next to it, then renamed).
pub fn write_combined(e: &Entitlement, out: &Path) -> Result<(), CertError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| CertError::Unusable {
            cert: e.cert.clone(),
            source: TlsConfigError::Read {
                what: if p == e.key {
                    TlsFile::ClientKey
                } else {
                    TlsFile::ClientCert
                },
                path: p.to_owned(),
                source,
            },
        })
    };
    let mut pem = with_newline(read(&e.cert)?);
    pem.extend(with_newline(read(&e.key)?));
    let write_err = |source| CertError::Write {
        path: out.to_owned(),
        source,
    };
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "client.pem".to_owned());
    let tmp = out.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(&pem)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, out)
    })();
    pem.fill(0);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

/// [`find_entitlement`] in `dir` at the current time, then [`write_combined`] to `out`.
pub fn write_client_pem(dir: &Path, out: &Path) -> Result<Entitlement, CertError> {
    let e = find_entitlement(dir, SystemTime::now())?;
    write_combined(&e, out)?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rcgen::{date_time_ymd, CertificateParams, KeyPair};

    use super::*;

    fn at(y: i32, m: u8, d: u8) -> SystemTime {
        let t = date_time_ymd(y, m, d);
        UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).unwrap())
    }

    /// `<serial>.pem` + `<serial>-key.pem` valid from..until; returns the key.
    fn entitlement(dir: &Path, serial: &str, from: (i32, u8, u8), until: (i32, u8, u8)) -> KeyPair {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["entitlement".into()]).unwrap();
        p.not_before = date_time_ymd(from.0, from.1, from.2);
        p.not_after = date_time_ymd(until.0, until.1, until.2);
        let cert = p.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{serial}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{serial}-key.pem")), key.serialize_pem()).unwrap();
        key
    }

    #[test]
    fn picks_the_newest_valid_certificate_and_writes_one_pem_0600() {
        let d = tempfile::tempdir().unwrap();
        entitlement(d.path(), "111", (2020, 1, 1), (2030, 1, 1));
        entitlement(d.path(), "222", (2024, 1, 1), (2031, 1, 1));
        entitlement(d.path(), "333", (2010, 1, 1), (2011, 1, 1));
        entitlement(d.path(), "444", (2090, 1, 1), (2091, 1, 1));
        let e = find_entitlement(d.path(), at(2026, 6, 1)).unwrap();
        assert_eq!(e.serial, "222");
        assert_eq!(e.key, d.path().join("222-key.pem"));
        assert_eq!(e.expires(), "2031-01-01 00:00:00 UTC");
        let out = d.path().join("client.pem");
        std::fs::write(&out, "old").unwrap();
        write_combined(&e, &out).unwrap();
        // The combined file next to them is not taken for an entitlement certificate.
        assert_eq!(find_entitlement(d.path(), at(2026, 6, 1)).unwrap(), e);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("BEGIN CERTIFICATE") && text.contains("BEGIN PRIVATE KEY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The combined file is a usable identity.
        let tls = TlsSettings {
            client_cert: Some(out),
            ..TlsSettings::default()
        };
        assert!(tls.identity().unwrap().is_some());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            9,
            "no temp file left"
        );
    }

    #[test]
    fn a_missing_or_empty_directory_is_named() {
        let d = tempfile::tempdir().unwrap();
        let err = find_entitlement(d.path(), SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::Empty { .. }), "{err}");
        assert!(err.to_string().contains(&d.path().display().to_string()));
        // Key files alone do not count.
        std::fs::write(d.path().join("5-key.pem"), "x").unwrap();
        assert!(matches!(
            find_entitlement(d.path(), SystemTime::now()),
            Err(CertError::Empty { .. })
        ));
        let missing = d.path().join("nope");
        let err = find_entitlement(&missing, SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::ReadDir { .. }), "{err}");
        assert!(err.to_string().contains("nope"));
    }

    #[test]
    fn expired_and_not_yet_valid_say_when() {
        let d = tempfile::tempdir().unwrap();
        entitlement(d.path(), "1", (2020, 1, 1), (2021, 1, 1));
        entitlement(d.path(), "2", (2020, 1, 1), (2022, 3, 4));
        let err = find_entitlement(d.path(), at(2026, 1, 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "every entitlement certificate in {} has expired; the newest, {}, expired 2022-03-04 00:00:00 UTC",
                d.path().display(),
                d.path().join("2.pem").display()
            )
        );
        let err = find_entitlement(d.path(), at(2019, 1, 1)).unwrap_err();
        assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("not valid before 2020-01-01 00:00:00 UTC"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_or_foreign_key_is_refused() {
        let d = tempfile::tempdir().unwrap();
        entitlement(d.path(), "7", (2020, 1, 1), (2090, 1, 1));
        std::fs::remove_file(d.path().join("7-key.pem")).unwrap();
        let err = find_entitlement(d.path(), SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::NoKey { .. }), "{err}");
        assert!(err.to_string().contains("7-key.pem"), "{err}");

        let other = KeyPair::generate().unwrap();
        std::fs::write(d.path().join("7-key.pem"), other.serialize_pem()).unwrap();
        let err = find_entitlement(d.path(), SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains("7-key.pem") && err.to_string().contains("7.pem"));
    }

    #[test]
    fn a_file_that_is_not_a_certificate_is_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("9.pem"), "not pem\n").unwrap();
        let err = find_entitlement(d.path(), SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains("9.pem"));
    }

    #[test]
    fn times_are_formatted_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_706_745_600), "2024-02-01 00:00:00 UTC");
        assert_eq!(format_time(951_825_599), "2000-02-29 11:59:59 UTC");
    }
}
