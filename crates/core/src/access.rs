//! `[access]` on Pulp: the content guards of a catalog and which distributions they guard.
//!
//! One x509 guard per scope that asks for one (`guard = "x509"`), named
//! `<product>-access-production` / `<product>-access-staging`, shared by every release of the
//! product. Production distributions get the production guard, the `-test` (staging)
//! distributions the staging one. The catalog is the source of truth: `init` creates missing
//! guards, replaces a guard's CA that differs from the catalog's, and (re)attaches the right
//! guard (or detaches one for `guard = "none"`); `status` reports each of these as a finding.
//! Without an `[access]` table (or without a scope in it) wheelgate leaves guards alone.

use pulp_client::{ContentGuard, GuardKind, PulpClient};
use serde::Serialize;

use crate::catalog::{AccessRule, Catalog};
use crate::error::Result;

/// Which distributions an `[access.*]` table covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The production distributions (customers; `[access.production]`).
    Production,
    /// The staging `-test` distributions (internal users; `[access.staging]`).
    Staging,
}

impl Scope {
    /// Both scopes, production first.
    pub const ALL: [Scope; 2] = [Scope::Production, Scope::Staging];

    /// The catalog key: `production` or `staging`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
        }
    }

    /// The scope's rule in the catalog, if it has one.
    pub fn rule(self, catalog: &Catalog) -> Option<&AccessRule> {
        match self {
            Self::Production => catalog.access.production.as_ref(),
            Self::Staging => catalog.access.staging.as_ref(),
        }
    }

    /// The CA PEM of the scope's x509 guard, when the catalog asks for one.
    pub fn x509_ca(self, catalog: &Catalog) -> Option<&str> {
        self.rule(catalog)
            .filter(|r| r.guard == crate::catalog::GuardMode::X509)
            .and_then(|r| r.ca_pem.as_deref())
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of a scope's x509 guard: `<product>-access-<scope>`.
pub fn guard_name(catalog: &Catalog, scope: Scope) -> String {
    format!("{}-access-{scope}", catalog.product)
}

/// The catalog's guards as they are in Pulp, loaded once per command.
#[derive(Debug, Clone, Default)]
pub struct AccessState {
    /// The production guard (`None`: not asked for, or missing).
    pub production: Option<ContentGuard>,
    /// The staging guard (`None`: not asked for, or missing).
    pub staging: Option<ContentGuard>,
}

impl AccessState {
    /// Read the guards the catalog asks for (concurrently; nothing is read for a scope
    /// without `guard = "x509"`).
    pub async fn load(client: &PulpClient, catalog: &Catalog) -> Result<Self> {
        let get = |scope: Scope| async move {
            match scope.x509_ca(catalog) {
                None => Ok(None),
                Some(_) => {
                    client
                        .guard_by_name(GuardKind::X509, &guard_name(catalog, scope))
                        .await
                }
            }
        };
        let (production, staging) =
            futures::try_join!(get(Scope::Production), get(Scope::Staging))?;
        Ok(Self {
            production,
            staging,
        })
    }

    /// A scope's guard as found.
    pub fn guard(&self, scope: Scope) -> Option<&ContentGuard> {
        match scope {
            Scope::Production => self.production.as_ref(),
            Scope::Staging => self.staging.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_names_and_scopes() {
        let c = Catalog::parse(
            std::path::Path::new("w.toml"),
            "product = \"p\"\n[access.staging]\nguard = \"none\"\n",
        )
        .unwrap();
        assert_eq!(guard_name(&c, Scope::Production), "p-access-production");
        assert_eq!(guard_name(&c, Scope::Staging), "p-access-staging");
        assert!(Scope::Production.rule(&c).is_none());
        assert!(Scope::Staging.rule(&c).is_some());
        assert_eq!(Scope::Staging.x509_ca(&c), None, "guard = none");
    }
}
