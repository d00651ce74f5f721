//! The TLS front in front of the local Pulp (config/front/front.sh, nginx demanding a client
//! certificate), read from the state file it writes per layout:
//! `<workspace>/.build/front/<layout>/front.env`, `KEY=VALUE` lines without quoting (the
//! `FRONT_*` settings followed by the PKI manifest's `PKI_*` lines).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where config/front/front.sh keeps its state: `<workspace>/.build/front`.
pub fn area() -> PathBuf {
    crate::workspace_root().join(".build/front")
}

/// A running front of one layout.
#[derive(Debug, Clone)]
pub struct Front {
    /// `plain` or `hosted`.
    pub layout: String,
    /// `https://127.0.0.1:<port>`: asks for a client certificate and answers 403 with a reason.
    pub url: String,
    /// `https://127.0.0.1:<port>`: `ssl_verify_client on` (the TLS handshake fails without one).
    pub strict_url: String,
    /// The path before a distribution's base path: `/pypi/` or `/api/pypi/<domain>/`.
    pub index_prefix: String,
    /// The CA that signed the front's server certificate (what clients must trust).
    pub ca_bundle: PathBuf,
    /// The customer's client certificate and key in one PEM (from the customer CA).
    pub client_cert: PathBuf,
    /// A client certificate and key from the internal CA (the staging `-test` paths).
    pub staging_client_cert: PathBuf,
    /// The throwaway PKI the front uses.
    pub pki: Pki,
    vars: BTreeMap<String, String>,
}

/// The throwaway PKI of config/front/pki.sh: the certificates tests need beyond the front's own.
#[derive(Debug, Clone)]
pub struct Pki {
    /// An entitlement-like client certificate alone (its key is [`entitlement_key`](Self::entitlement_key)).
    pub entitlement_cert: PathBuf,
    /// The entitlement certificate's key (PKCS#1, as subscription-manager writes it).
    pub entitlement_key: PathBuf,
    /// Certificate and key from a CA the front does not trust.
    pub other_pem: PathBuf,
    /// Certificate and key from the customer CA, expired.
    pub expired_pem: PathBuf,
    /// An X.509 v1 certificate and key from the customer CA (rustls refuses it).
    pub v1_pem: PathBuf,
}

impl Front {
    /// The front of `layout` when one is running: its `front.env` exists and the nginx in its
    /// pid file is alive; `None` otherwise. Panics on a `front.env` without a required key.
    pub fn find(layout: &str) -> Option<Self> {
        let path = area().join(layout).join("front.env");
        let text = std::fs::read_to_string(&path).ok()?;
        let front = Self::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        front.is_running().then_some(front)
    }

    /// A front from the text of a `front.env`; the first missing key is the error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let vars: BTreeMap<String, String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
            .collect();
        let get = |key: &str| {
            vars.get(key)
                .cloned()
                .ok_or_else(|| format!("no {key} in front.env"))
        };
        let path = |key: &str| get(key).map(PathBuf::from);
        Ok(Self {
            layout: get("FRONT_LAYOUT")?,
            url: get("FRONT_URL")?,
            strict_url: get("FRONT_STRICT_URL")?,
            index_prefix: get("FRONT_INDEX_PREFIX")?,
            ca_bundle: path("FRONT_CA_BUNDLE")?,
            client_cert: path("FRONT_CLIENT_CERT")?,
            staging_client_cert: path("FRONT_STAGING_CLIENT_CERT")?,
            pki: Pki {
                entitlement_cert: path("PKI_ENTITLEMENT_CERT")?,
                entitlement_key: path("PKI_ENTITLEMENT_KEY")?,
                other_pem: path("PKI_OTHER_PEM")?,
                expired_pem: path("PKI_EXPIRED_PEM")?,
                v1_pem: path("PKI_V1_PEM")?,
            },
            vars,
        })
    }

    /// Any other value of `front.env` (`FRONT_UPSTREAM_API`, `PKI_CUSTOMER_CA_KEY`, ...).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The simple index of the distribution with `base_path` as customers reach it through
    /// this front: `<url><index_prefix><base_path>/simple/`.
    pub fn index_url(&self, base_path: &str) -> String {
        format!(
            "{}{}{}/simple/",
            self.url,
            self.index_prefix,
            base_path.trim_matches('/')
        )
    }

    /// Whether the nginx named by `FRONT_PID_FILE` runs (true where `/proc` cannot tell).
    fn is_running(&self) -> bool {
        let Some(pid_file) = self.get("FRONT_PID_FILE") else {
            return true;
        };
        let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        else {
            return false;
        };
        !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
    }
}

/// A throwaway nginx running a configuration `wheelgate front-config --format nginx` wrote:
/// its own master process in a temp dir, on a loopback port, stopped when dropped. The
/// generated file is included unchanged into a minimal `nginx.conf` (pid, logs, temp dirs,
/// `events {}`, `http { include ...; }`).
#[derive(Debug)]
pub struct NginxFront {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The state directory (nginx.conf, the generated include, logs/, cache/).
    pub dir: PathBuf,
    pid: Option<u32>,
}

impl NginxFront {
    /// A free TCP port on 127.0.0.1 (for `front-config --listen 127.0.0.1:<port>`).
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
    }

    /// Where the cache of a front in `dir` lives (pass it as `front-config --cache-dir`).
    pub fn cache_dir(dir: &Path) -> PathBuf {
        dir.join("cache")
    }

    /// Start nginx on `port` with `generated` (the front-config output) in `dir`, and wait
    /// until it accepts connections. Panics with nginx's error log when it does not start.
    pub fn start(dir: &Path, port: u16, generated: &str) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("nginx is not installed (make front-up installs it)");
        for d in ["logs", "tmp", "cache"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("front.conf"), generated).unwrap();
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let d = dir.display();
        let conf = format!(
            "{user}\nworker_processes 1;\ndaemon on;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\n\
             events {{ worker_connections 128; }}\n\
             http {{\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  \
             fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  \
             access_log {d}/logs/access.log;\n  include {d}/front.conf;\n}}\n",
            user = if root { "user root root;" } else { "" },
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let out = std::process::Command::new(&nginx)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(format!("{d}/"))
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .output()
            .unwrap();
        let log = || std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "nginx did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            log()
        );
        let pid = std::fs::read_to_string(dir.join("nginx.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok());
        let front = Self {
            url: format!("https://127.0.0.1:{port}"),
            dir: dir.to_owned(),
            pid,
        };
        let up = (0..100).any(|_| {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            false
        });
        assert!(up, "nginx does not answer on port {port}\n{}", log());
        front
    }
}

impl Drop for NginxFront {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "FRONT_LAYOUT=hosted
FRONT_URL=https://127.0.0.1:20420
FRONT_STRICT_URL=https://127.0.0.1:20421
FRONT_INDEX_PREFIX=/api/pypi/wheelgate/
FRONT_CA_BUNDLE=/pki/server-ca.pem
FRONT_CLIENT_CERT=/pki/client.pem
FRONT_STAGING_CLIENT_CERT=/pki/staging-client.pem
FRONT_PID_FILE=/nonexistent/nginx.pid
PKI_CUSTOMER_CA_DN=CN=wheelgate-test-customer-CA,O=wheelgate-test-PKI
PKI_ENTITLEMENT_CERT=/pki/entitlement/1.pem
PKI_ENTITLEMENT_KEY=/pki/entitlement/1-key.pem
PKI_OTHER_PEM=/pki/other-client.pem
PKI_EXPIRED_PEM=/pki/expired-client.pem
PKI_V1_PEM=/pki/v1-client.pem
";

    #[test]
    fn front_env_is_read_typed() {
        let f = Front::parse(ENV).unwrap();
        assert_eq!(f.layout, "hosted");
        assert_eq!(f.client_cert, Path::new("/pki/client.pem"));
        assert_eq!(f.pki.v1_pem, Path::new("/pki/v1-client.pem"));
        assert_eq!(
            f.get("PKI_CUSTOMER_CA_DN"),
            Some("CN=wheelgate-test-customer-CA,O=wheelgate-test-PKI")
        );
        assert_eq!(
            f.index_url("/t1-3.0-cpu/"),
            "https://127.0.0.1:20420/api/pypi/wheelgate/t1-3.0-cpu/simple/"
        );
        assert!(!f.is_running(), "no pid file");
    }

    #[test]
    fn a_missing_key_is_named() {
        let err = Front::parse("FRONT_LAYOUT=plain\n").unwrap_err();
        assert_eq!(err, "no FRONT_URL in front.env");
    }

    #[test]
    fn the_running_local_front_is_found_when_there_is_one() {
        for layout in crate::LAYOUTS {
            if let Some(f) = Front::find(layout) {
                assert_eq!(f.layout, layout);
                assert!(f.url.starts_with("https://127.0.0.1:"), "{}", f.url);
                assert!(f.ca_bundle.is_file() && f.client_cert.is_file());
            }
        }
    }
}
