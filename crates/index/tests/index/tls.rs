//! Client certificates against a loopback rustls server that requires one.

use std::error::Error as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use url::Url;
use wheelgate_http::{TlsConfigError, TlsSettings, TransportFailure};
use wheelgate_index::{IndexClient, IndexError, SetupError};

use crate::pki::{write, Ca};
use crate::quick_config;

const ROOT: &str = r#"<html><body><a href="demo-pkg/">demo-pkg</a></body></html>"#;

/// The PKI and files of one test.
struct Setup {
    dir: tempfile::TempDir,
    server_ca: PathBuf,
    /// A PEM holding the client certificate and its key.
    client_pem: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// A client certificate from a CA the server does not trust.
    stranger_pem: PathBuf,
    client_ca: Ca,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Setup {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server_ca = Ca::new("wheelgate test server CA");
        let client_ca = Ca::new("wheelgate test client CA");
        let stranger_ca = Ca::new("some other CA");
        let server = server_ca.issue(&["127.0.0.1", "localhost"], false);
        let client = client_ca.issue(&["customer-1"], true);
        let stranger = stranger_ca.issue(&["customer-1"], true);
        let d = dir.path();
        let server_ca_path = write(d, "server-ca.pem", &server_ca.pem());
        let client_pem = write(
            d,
            "client.pem",
            &format!("{}{}", client.key_pem, client.cert_pem),
        );
        let client_cert = write(d, "client-cert.pem", &client.cert_pem);
        let client_key = write(d, "client-key.pem", &client.key_pem);
        let stranger_pem = write(
            d,
            "stranger.pem",
            &format!("{}{}", stranger.cert_pem, stranger.key_pem),
        );

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(client_ca.issuer.der().to_vec()))
            .unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(server.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone())),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ROOT}",
                        ROOT.len()
                    );
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            dir,
            server_ca: server_ca_path,
            client_pem,
            client_cert,
            client_key,
            stranger_pem,
            client_ca,
            addr,
            task,
        }
    }

    fn url(&self) -> Url {
        Url::parse(&format!("https://{}/simple/", self.addr)).unwrap()
    }

    fn client(&self, tls: TlsSettings) -> Result<IndexClient, SetupError> {
        let mut config = quick_config();
        config.tls = tls;
        IndexClient::new(config)
    }

    async fn root(&self, tls: TlsSettings) -> Result<usize, IndexError> {
        let c = self.client(tls).unwrap();
        Ok(c.root(&self.url())
            .await?
            .map(|r| r.projects.len())
            .unwrap_or(0))
    }
}

/// The error and its causes joined as `main` prints them on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        parts.push(c.to_string());
        cur = c.source();
    }
    parts.join(": ")
}

#[tokio::test]
async fn right_certificate_and_ca_read_the_page() {
    let s = Setup::new().await;
    let combined = TlsSettings {
        client_cert: Some(s.client_pem.clone()),
        ca_bundle: Some(s.server_ca.clone()),
        ..TlsSettings::default()
    };
    assert_eq!(s.root(combined).await.unwrap(), 1);
    let separate = TlsSettings {
        client_cert: Some(s.client_cert.clone()),
        client_key: Some(s.client_key.clone()),
        ca_bundle: Some(s.server_ca.clone()),
        ..TlsSettings::default()
    };
    assert_eq!(s.root(separate).await.unwrap(), 1);
}

#[tokio::test]
async fn anonymous_client_is_told_a_certificate_is_required() {
    let s = Setup::new().await;
    let err = s
        .root(TlsSettings {
            ca_bundle: Some(s.server_ca.clone()),
            ..TlsSettings::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.transport_failure(),
        Some(&TransportFailure::ClientCertRequired),
        "{}",
        chain(&err)
    );
    assert!(
        chain(&err).starts_with(&format!(
            "GET {}: TLS: the server requires a client certificate",
            s.url()
        )),
        "{}",
        chain(&err)
    );
    assert!(err.hint().unwrap().contains("[customer] client_cert"));
    assert!(err.is_access_problem());
}

#[tokio::test]
async fn certificate_from_another_ca_is_rejected() {
    let s = Setup::new().await;
    let err = s
        .root(TlsSettings {
            client_cert: Some(s.stranger_pem.clone()),
            ca_bundle: Some(s.server_ca.clone()),
            ..TlsSettings::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.transport_failure(),
            Some(TransportFailure::ClientCertRejected { .. })
        ),
        "{}",
        chain(&err)
    );
    assert!(chain(&err).contains("the server rejected the client certificate"));
}

#[tokio::test]
async fn untrusted_server_says_unknown_issuer() {
    let s = Setup::new().await;
    let err = s
        .root(TlsSettings {
            client_cert: Some(s.client_pem.clone()),
            ..TlsSettings::default()
        })
        .await
        .unwrap_err();
    assert!(
        chain(&err).starts_with(&format!(
            "GET {}: TLS: certificate verify failed: unknown issuer",
            s.url()
        )),
        "{}",
        chain(&err)
    );
    assert!(err.hint().unwrap().contains("[customer] ca_bundle"));
}

#[tokio::test]
async fn mismatched_key_is_refused_before_connecting() {
    let s = Setup::new().await;
    let other = s.client_ca.issue(&["customer-2"], true);
    let key = write(s.dir.path(), "other-key.pem", &other.key_pem);
    let err = s
        .client(TlsSettings {
            client_cert: Some(s.client_cert.clone()),
            client_key: Some(key),
            ..TlsSettings::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, SetupError::Tls(TlsConfigError::KeyMismatch { .. })),
        "{err:?}"
    );
    let err = s
        .client(TlsSettings {
            client_cert: Some(s.client_cert.clone()),
            ..TlsSettings::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, SetupError::Tls(TlsConfigError::NoKey { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn x509_v1_client_certificate_is_explained() {
    let s = Setup::new().await;
    let d = s.dir.path();
    let ca_cert = write(d, "client-ca.pem", &s.client_ca.pem());
    let ca_key = write(d, "client-ca-key.pem", &s.client_ca.key_pem);
    let key = d.join("v1-key.pem");
    let csr = d.join("v1.csr");
    let cert = d.join("v1-cert.pem");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    run(&[
        &os("req"),
        &os("-new"),
        &os("-newkey"),
        &os("ec"),
        &os("-pkeyopt"),
        &os("ec_paramgen_curve:prime256v1"),
        &os("-nodes"),
        &os("-subj"),
        &os("/CN=v1-client"),
        &os("-keyout"),
        key.as_os_str(),
        &os("-out"),
        csr.as_os_str(),
    ]);
    // `x509 -req` without -extfile makes an X.509 v1 certificate.
    run(&[
        &os("x509"),
        &os("-req"),
        &os("-in"),
        csr.as_os_str(),
        &os("-CA"),
        ca_cert.as_os_str(),
        &os("-CAkey"),
        ca_key.as_os_str(),
        &os("-CAcreateserial"),
        &os("-days"),
        &os("1"),
        &os("-out"),
        cert.as_os_str(),
    ]);
    let err = s
        .client(TlsSettings {
            client_cert: Some(cert.clone()),
            client_key: Some(key),
            ..TlsSettings::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, SetupError::Tls(TlsConfigError::V1Certificate { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "X.509 v1 certificate: rustls needs an X.509 v3 certificate (make it with `openssl x509 -req ... -extfile`"
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&cert.display().to_string()));
    assert!(err.hint().unwrap().contains("-extfile"));
    assert!(err.source().is_none() || !chain(&err).contains("builder error"));
}
