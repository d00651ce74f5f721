//! Who is acting, as recorded in the ledger.

use pulp_client::Auth;

/// The actor for ledger events: `explicit` (e.g. `WHEELGATE_ACTOR`) when set, else the Pulp user
/// (or OAuth2 client id, or the login name) at this host: `ci-bot@builder-7`.
pub fn actor(explicit: Option<&str>, auth: &Auth) -> String {
    if let Some(a) = explicit.map(str::trim).filter(|a| !a.is_empty()) {
        return a.to_owned();
    }
    let user = match auth {
        Auth::Basic { username, .. } => Some(username.clone()),
        Auth::OAuth2(o) => Some(o.client_id.clone()),
        _ => None,
    }
    .or_else(|| std::env::var("USER").ok())
    .unwrap_or_else(|| "unknown".into());
    format!("{user}@{}", host_name())
}

/// This machine's host name (`/etc/hostname`, else `$HOSTNAME`).
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulp_client::Secret;

    #[test]
    fn explicit_wins_then_the_pulp_user_at_this_host() {
        let basic = Auth::Basic {
            username: "ci-bot".into(),
            password: Secret::new("pw"),
        };
        assert_eq!(actor(Some(" alice "), &basic), "alice");
        assert_eq!(actor(Some("  "), &basic), format!("ci-bot@{}", host_name()));
        assert!(actor(None, &Auth::None).ends_with(&format!("@{}", host_name())));
    }
}
