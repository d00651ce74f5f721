//! Exit codes, in one place: what each means (also the help text's table) and how an error
//! maps to one.

use std::process::ExitCode;

/// The exit-code table shown under `wheelgate --help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  operation failed (server, network, task)
  2  usage error or invalid input (nothing was changed)
  3  refused by policy
  4  busy: another run holds the lock (mirror); nothing was changed, try again later";

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success.
    Success,
    /// 1: the operation failed (server, network, task).
    Failure,
    /// 2: usage error or invalid input, or the user declined; nothing was changed.
    Usage,
    /// 3: refused by policy (e.g. vetting failed).
    Refused,
    /// 4: another run holds the lock on what this one would read or change (a mirror's release
    /// store); nothing was changed, the same command can simply run again later.
    Busy,
}

impl ExitStatus {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Refused => 3,
            Self::Busy => 4,
        }
    }

    /// The status an error ends the command with.
    pub fn of_error(err: &anyhow::Error) -> Self {
        // An entitlement directory without a usable certificate is bad input; failing to write
        // the result is not.
        if let Some(e) = err.downcast_ref::<wheelgate_index::CertError>() {
            return if e.is_bad_input() {
                Self::Usage
            } else {
                Self::Failure
            };
        }
        let locked = err.chain().any(|c| {
            c.downcast_ref::<wheelgate_mirror::MirrorError>()
                .is_some_and(wheelgate_mirror::MirrorError::is_locked)
        });
        if locked {
            return Self::Busy;
        }
        match err
            .downcast_ref::<wheelgate_core::Error>()
            .map(|e| e.class())
        {
            Some(wheelgate_core::ErrorClass::Invalid) => Self::Usage,
            Some(wheelgate_core::ErrorClass::Refused) => Self::Refused,
            Some(wheelgate_core::ErrorClass::Failed) | None => Self::Failure,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_table_lists_every_status() {
        for s in [
            ExitStatus::Success,
            ExitStatus::Failure,
            ExitStatus::Usage,
            ExitStatus::Refused,
            ExitStatus::Busy,
        ] {
            assert!(EXIT_CODES.contains(&format!("  {}  ", s.code())), "{s:?}");
        }
    }

    #[test]
    fn errors_map_by_class() {
        let usage = anyhow::Error::new(wheelgate_core::Error::Usage("x".into()));
        assert_eq!(ExitStatus::of_error(&usage), ExitStatus::Usage);
        let no_certs = anyhow::Error::new(wheelgate_index::CertError::Empty {
            dir: "/etc/pki/entitlement".into(),
        })
        .context("client-cert failed");
        assert_eq!(ExitStatus::of_error(&no_certs), ExitStatus::Usage);
        let locked = anyhow::Error::new(wheelgate_mirror::MirrorError::Locked {
            lock: "/m/p/3.0/.mirror.lock".into(),
            writing: true,
        })
        .context("mirror of release 3.0 failed");
        assert_eq!(ExitStatus::of_error(&locked), ExitStatus::Busy);
        let other = anyhow::anyhow!("boom");
        assert_eq!(ExitStatus::of_error(&other), ExitStatus::Failure);
    }
}
