//! URLs safe to print: credentials in the userinfo part are masked.

use std::fmt;

use url::Url;

const MASK: &str = "****";

/// A copy of `url` with its password (or, without a password, its username, which may be a
/// token) replaced by `****`. Everything else is kept so the URL still says where it points.
pub fn redact_url(url: &Url) -> Url {
    let mut out = url.clone();
    if url.password().is_some() {
        // Setting a password only fails for URLs that cannot have one, which had none.
        let _ = out.set_password(Some(MASK));
    } else if !url.username().is_empty() {
        let _ = out.set_username(MASK);
    }
    out
}

/// Displays a URL with [`redact_url`] applied; use it in messages and log fields.
#[derive(Debug, Clone, Copy)]
pub struct SafeUrl<'a>(pub &'a Url);

impl fmt::Display for SafeUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.username().is_empty() && self.0.password().is_none() {
            f.write_str(self.0.as_str())
        } else {
            f.write_str(redact_url(self.0).as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn password_is_masked_username_kept() {
        let r = redact_url(&u("https://alice:s3cret@pulp.example/pulp/api/v3/?a=1"));
        assert_eq!(
            r.as_str(),
            "https://alice:****@pulp.example/pulp/api/v3/?a=1"
        );
        assert!(!SafeUrl(&u("https://alice:s3cret@h/"))
            .to_string()
            .contains("s3cret"));
    }

    #[test]
    fn lone_username_is_masked_as_it_may_be_a_token() {
        let r = redact_url(&u("https://tok123@index.example/simple/"));
        assert_eq!(r.as_str(), "https://****@index.example/simple/");
    }

    #[test]
    fn url_without_credentials_is_unchanged() {
        let s = "https://index.example:8443/api/pypi/d/prod/simple/";
        assert_eq!(redact_url(&u(s)).as_str(), s);
        assert_eq!(SafeUrl(&u(s)).to_string(), s);
    }
}
