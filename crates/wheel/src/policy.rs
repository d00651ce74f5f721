//! A variant's tag policy: which interpreters/ABIs and platforms its index serves.

use std::str::FromStr;

use uv_platform_tags::{AbiTag, Arch, CPythonAbiVariants, LanguageTag, PlatformTag};

use crate::inspect::{WheelInfo, WheelTag};
use crate::problem::{Problem, ProblemKind};

/// The tags a variant accepts.
///
/// A wheel passes when at least one tag of its expanded tag set passes both axes:
///
/// - **python** (entries like `cp312`, or `cp313t` for free-threaded CPython): a tag passes when
///   its ABI is `none` and its interpreter is a generic `py3`/`cp3`, or a `py3X` no newer than an
///   allowed `cp3Y`, or exactly an allowed `cpXY`; or its ABI is `abi3` and its interpreter is a
///   `cp3X` no newer than an allowed (not free-threaded) `cp3Y`; or its interpreter is an allowed
///   `cpXY` and its ABI is that interpreter's own (`cp312`, `cp37m`; `cp313t` only for `cp313t`).
///   Entries that are not CPython (e.g. `pp310`) allow that exact interpreter tag with any ABI.
/// - **platforms** (entries like `linux_x86_64`, `manylinux_2_28_x86_64`): `any` always passes; an
///   exact match passes; an entry `linux_<arch>` also allows every glibc `manylinux` tag for that
///   arch (legacy `manylinux1/2010/2014` and PEP 600 `manylinux_X_Y`), but not `musllinux`; an
///   entry `manylinux_X_Y_<arch>` (or a legacy alias) allows every `manylinux` tag of that arch
///   with glibc no newer than X.Y; `musllinux_X_Y_<arch>` likewise for `musllinux`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagPolicy {
    /// Allowed interpreter/ABI tags, e.g. `["cp312"]`.
    pub python: Vec<String>,
    /// Allowed platform tags, e.g. `["linux_x86_64", "linux_aarch64"]`.
    pub platforms: Vec<String>,
}

/// A python-axis entry.
enum PythonEntry<'a> {
    CPython { minor: u8, freethreaded: bool },
    Other(&'a str),
}

fn python_entry(entry: &str) -> PythonEntry<'_> {
    // `cp312` parses as an ABI tag too; `cp313t` only as one.
    match AbiTag::from_str(entry) {
        Ok(AbiTag::CPython {
            python_version: (3, minor),
            variant,
        }) if !variant.intersects(!CPythonAbiVariants::Freethreading) => PythonEntry::CPython {
            minor,
            freethreaded: variant.contains(CPythonAbiVariants::Freethreading),
        },
        _ => PythonEntry::Other(entry),
    }
}

/// glibc (major, minor) and arch of a glibc `manylinux` platform tag.
fn manylinux(tag: &PlatformTag) -> Option<((u16, u16), Arch)> {
    match *tag {
        PlatformTag::Manylinux { major, minor, arch } => Some(((major, minor), arch)),
        PlatformTag::Manylinux1 { arch } => Some(((2, 5), arch)),
        PlatformTag::Manylinux2010 { arch } => Some(((2, 12), arch)),
        PlatformTag::Manylinux2014 { arch } => Some(((2, 17), arch)),
        _ => None,
    }
}

impl TagPolicy {
    /// A policy from python and platform entries.
    pub fn new<S: Into<String>>(
        python: impl IntoIterator<Item = S>,
        platforms: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            python: python.into_iter().map(Into::into).collect(),
            platforms: platforms.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the tag's interpreter and ABI pass the python axis.
    pub fn allows_python(&self, tag: &WheelTag) -> bool {
        let py = LanguageTag::from_str(&tag.python).ok();
        let abi = AbiTag::from_str(&tag.abi).ok();
        // Pure Python 3 always passes.
        if abi == Some(AbiTag::None)
            && matches!(
                py,
                Some(
                    LanguageTag::Python {
                        major: 3,
                        minor: None
                    } | LanguageTag::CPythonMajor { major: 3 }
                )
            )
        {
            return true;
        }
        self.python.iter().any(|entry| match python_entry(entry) {
            PythonEntry::Other(e) => tag.python == e,
            PythonEntry::CPython {
                minor: allowed,
                freethreaded,
            } => match (py, abi) {
                (
                    Some(LanguageTag::Python {
                        major: 3,
                        minor: Some(m),
                    }),
                    Some(AbiTag::None),
                ) => m <= allowed,
                (
                    Some(LanguageTag::CPython {
                        python_version: (3, m),
                    }),
                    Some(AbiTag::None),
                ) => m == allowed,
                (
                    Some(LanguageTag::CPython {
                        python_version: (3, m),
                    }),
                    Some(AbiTag::Abi3),
                ) => !freethreaded && m <= allowed,
                (
                    Some(LanguageTag::CPython {
                        python_version: (3, m),
                    }),
                    Some(AbiTag::Abi3T),
                ) => m <= allowed,
                (
                    Some(LanguageTag::CPython {
                        python_version: (3, m),
                    }),
                    Some(AbiTag::CPython {
                        python_version: (3, am),
                        variant,
                    }),
                ) => {
                    m == allowed
                        && am == allowed
                        && variant.contains(CPythonAbiVariants::Freethreading) == freethreaded
                        && !variant.contains(CPythonAbiVariants::Debug)
                }
                _ => false,
            },
        })
    }

    /// Whether the tag's platform passes the platform axis.
    pub fn allows_platform(&self, tag: &WheelTag) -> bool {
        if tag.platform == "any" {
            return true;
        }
        let wheel = PlatformTag::from_str(&tag.platform).ok();
        self.platforms.iter().any(|entry| {
            if *entry == tag.platform {
                return true;
            }
            let (Some(wheel), Ok(entry)) = (wheel.as_ref(), PlatformTag::from_str(entry)) else {
                return false;
            };
            match (&entry, manylinux(wheel)) {
                (PlatformTag::Linux { arch }, Some((_, wheel_arch))) => *arch == wheel_arch,
                (PlatformTag::Musllinux { major, minor, arch }, None) => matches!(
                    *wheel,
                    PlatformTag::Musllinux { major: wm, minor: wn, arch: wa }
                        if wa == *arch && (wm, wn) <= (*major, *minor)
                ),
                (_, Some((glibc, wheel_arch))) => {
                    manylinux(&entry).is_some_and(|(max, arch)| arch == wheel_arch && glibc <= max)
                }
                _ => false,
            }
        })
    }

    /// Whether one tag passes both axes.
    pub fn allows(&self, tag: &WheelTag) -> bool {
        self.allows_python(tag) && self.allows_platform(tag)
    }

    /// `Ok` when at least one of the wheel's tags is allowed; otherwise a
    /// [`ProblemKind::TagNotAllowed`] problem naming the wheel's tags, why each fails, and what
    /// the variant allows.
    pub fn check(&self, wheel: &WheelInfo) -> Result<(), Problem> {
        if wheel.tags.iter().any(|t| self.allows(t)) {
            return Ok(());
        }
        let tags = wheel
            .tags
            .iter()
            .map(|t| {
                let why = match (self.allows_python(t), self.allows_platform(t)) {
                    (false, false) => "interpreter/ABI and platform not allowed",
                    (false, true) => "interpreter/ABI not allowed",
                    _ => "platform not allowed",
                };
                format!("{t} ({why})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                v.join(", ")
            }
        };
        Err(Problem::new(
            &wheel.path,
            ProblemKind::TagNotAllowed,
            format!(
                "none of the wheel's tags is allowed by the variant: {tags}; the variant allows \
                 python: {} and platforms: {} (pure-Python py3-none-any wheels always pass)",
                list(&self.python),
                list(&self.platforms)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> WheelTag {
        s.parse().unwrap()
    }

    fn policy() -> TagPolicy {
        TagPolicy::new(["cp312"], ["linux_x86_64", "linux_aarch64"])
    }

    #[test]
    fn python_axis() {
        let p = policy();
        for ok in [
            "py3-none-any",
            "cp3-none-any",
            "py311-none-any",
            "py312-none-any",
            "cp312-none-any",
            "cp312-cp312-linux_x86_64",
            "cp38-abi3-linux_x86_64",
            "cp312-abi3-linux_x86_64",
        ] {
            assert!(p.allows_python(&tag(ok)), "{ok}");
        }
        for bad in [
            "py2-none-any",
            "py313-none-any",
            "cp311-none-any",
            "cp311-cp311-linux_x86_64",
            "cp313-cp313-linux_x86_64",
            "cp313-abi3-linux_x86_64",
            "cp312-cp312d-linux_x86_64",
            "cp313-cp313t-linux_x86_64",
            "pp310-pypy310_pp73-linux_x86_64",
            "py3-abi3-any",
        ] {
            assert!(!p.allows_python(&tag(bad)), "{bad}");
        }
    }

    #[test]
    fn python_axis_free_threaded_legacy_and_other_interpreters() {
        let ft = TagPolicy::new(["cp313t"], ["any"]);
        assert!(ft.allows_python(&tag("cp313-cp313t-linux_x86_64")));
        assert!(!ft.allows_python(&tag("cp313-cp313-linux_x86_64")));
        assert!(!ft.allows_python(&tag("cp312-abi3-linux_x86_64")));
        assert!(ft.allows_python(&tag("py313-none-any")));
        let legacy = TagPolicy::new(["cp37"], ["any"]);
        assert!(legacy.allows_python(&tag("cp37-cp37m-linux_x86_64")));
        let pypy = TagPolicy::new(["pp310"], ["any"]);
        assert!(pypy.allows_python(&tag("pp310-pypy310_pp73-linux_x86_64")));
        assert!(!pypy.allows_python(&tag("cp310-cp310-linux_x86_64")));
        // An empty python list still lets pure-Python wheels through.
        let empty = TagPolicy::new(Vec::<String>::new(), vec!["any".to_string()]);
        assert!(empty.allows_python(&tag("py3-none-any")));
        assert!(!empty.allows_python(&tag("py311-none-any")));
    }

    #[test]
    fn platform_axis() {
        let p = policy();
        for ok in [
            "py3-none-any",
            "cp312-cp312-linux_x86_64",
            "cp312-cp312-linux_aarch64",
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp312-cp312-manylinux_2_39_aarch64",
            "cp312-cp312-manylinux2014_x86_64",
            "cp312-cp312-manylinux2010_x86_64",
            "cp312-cp312-manylinux1_x86_64",
        ] {
            assert!(p.allows_platform(&tag(ok)), "{ok}");
        }
        for bad in [
            "cp312-cp312-musllinux_1_2_x86_64",
            "cp312-cp312-manylinux_2_17_ppc64le",
            "cp312-cp312-linux_ppc64le",
            "cp312-cp312-macosx_11_0_arm64",
            "cp312-cp312-win_amd64",
            "cp312-cp312-linux_x86_64_ubi9",
        ] {
            assert!(!p.allows_platform(&tag(bad)), "{bad}");
        }
    }

    #[test]
    fn manylinux_and_musllinux_entries_allow_older_glibc_or_musl() {
        let p = TagPolicy::new(
            ["cp312"],
            ["manylinux_2_28_x86_64", "musllinux_1_2_aarch64"],
        );
        for ok in [
            "manylinux_2_28_x86_64",
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
            "manylinux1_x86_64",
            "musllinux_1_1_aarch64",
            "musllinux_1_2_aarch64",
        ] {
            assert!(
                p.allows_platform(&tag(&format!("cp312-cp312-{ok}"))),
                "{ok}"
            );
        }
        for bad in [
            "manylinux_2_34_x86_64",
            "manylinux_2_17_aarch64",
            "linux_x86_64",
            "musllinux_1_3_aarch64",
            "musllinux_1_2_x86_64",
        ] {
            assert!(
                !p.allows_platform(&tag(&format!("cp312-cp312-{bad}"))),
                "{bad}"
            );
        }
        let legacy = TagPolicy::new(["cp312"], ["manylinux2014_x86_64"]);
        assert!(legacy.allows_platform(&tag("cp312-cp312-manylinux_2_17_x86_64")));
        assert!(!legacy.allows_platform(&tag("cp312-cp312-manylinux_2_28_x86_64")));
        // Unknown platform tags match only exactly.
        let custom = TagPolicy::new(["cp312"], ["linux_x86_64_ubi9"]);
        assert!(custom.allows_platform(&tag("cp312-cp312-linux_x86_64_ubi9")));
    }

    #[test]
    fn both_axes_must_pass_on_the_same_tag() {
        let p = policy();
        assert!(p.allows(&tag("cp312-cp312-manylinux_2_28_x86_64")));
        assert!(!p.allows(&tag("cp311-cp311-manylinux_2_28_x86_64")));
        assert!(!p.allows(&tag("cp312-cp312-win_amd64")));
        assert!(!p.allows(&tag("py2-none-any")));
    }
}
