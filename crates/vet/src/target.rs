//! Target environments (one CPython on one Linux machine) and wheel installability in them.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use uv_pep440::{Version, VersionSpecifiers};
use uv_pep508::{MarkerEnvironment, MarkerEnvironmentBuilder};
use uv_platform_tags::{AbiTag, Arch, CPythonAbiVariants, LanguageTag, PlatformTag};
use wheelgate_wheel::WheelTag;

/// A target that can't be built.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not a CPython interpreter tag.
    #[error("{0:?} is not a CPython interpreter tag like cp312 or cp313t")]
    Python(String),
    /// Not a Linux platform tag or machine.
    #[error("{0:?} is not a glibc Linux platform tag like linux_x86_64 or manylinux_2_28_aarch64")]
    Platform(String),
    /// Not `<python>-<platform>`.
    #[error("{0:?} is not a target like cp312-linux_x86_64")]
    Syntax(String),
    /// The PEP 508 marker environment rejected the values.
    #[error("no PEP 508 marker environment for Python {python}")]
    Environment {
        /// The Python version, e.g. `3.12`.
        python: String,
        /// Why.
        #[source]
        source: Box<uv_pep440::VersionParseError>,
    },
}

/// A target environment: one CPython version on one glibc Linux machine.
///
/// Its PEP 508 marker environment is `python_version` `X.Y`, `python_full_version` and
/// `implementation_version` `X.Y.0`, `sys_platform` `linux`, `platform_system` `Linux`,
/// `os_name` `posix`, `platform_machine` the machine, `implementation_name` `cpython`,
/// `platform_python_implementation` `CPython`, and empty `platform_release`/`platform_version`.
///
/// `Requires-Python` admits the target when it admits some release `X.Y.Z` of its minor series
/// (Z in 0..=50): `>=3.12.1` installs on a 3.12 target, `<3.12` does not. Markers see `X.Y.0`.
#[derive(Debug, Clone)]
pub struct Target {
    /// (major, minor), e.g. `(3, 12)`.
    pub python: (u8, u8),
    /// Free-threaded build (`cp313t`).
    pub free_threaded: bool,
    /// `platform_machine`, e.g. `x86_64`.
    pub machine: String,
    arch: Arch,
    pub(crate) env: MarkerEnvironment,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = if self.free_threaded { "t" } else { "" };
        write!(
            f,
            "cp{}{}{t}-linux_{}",
            self.python.0, self.python.1, self.machine
        )
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// Parse `cp312-linux_x86_64` (any glibc Linux platform tag names the machine).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (py, platform) = s
            .split_once('-')
            .ok_or_else(|| TargetError::Syntax(s.to_owned()))?;
        let (python, free_threaded) =
            cpython_entry(py).ok_or_else(|| TargetError::Python(py.to_owned()))?;
        let arch =
            linux_arch(platform).ok_or_else(|| TargetError::Platform(platform.to_owned()))?;
        Target::new(python, free_threaded, arch.name())
    }
}

/// `cp312` → ((3, 12), false); `cp313t` → ((3, 13), true).
fn cpython_entry(tag: &str) -> Option<((u8, u8), bool)> {
    match AbiTag::from_str(tag).ok()? {
        AbiTag::CPython {
            python_version,
            variant,
        } if !variant.intersects(!CPythonAbiVariants::Freethreading) => Some((
            python_version,
            variant.contains(CPythonAbiVariants::Freethreading),
        )),
        _ => None,
    }
}

/// The architecture of a glibc Linux platform tag.
fn linux_arch(platform: &str) -> Option<Arch> {
    linux_arch_of(&PlatformTag::from_str(platform).ok()?)
}

/// The machine (`platform_machine`) of a glibc Linux platform tag: `x86_64` for
/// `linux_x86_64`, `manylinux_2_28_x86_64` and `manylinux2014_x86_64`; `None` for `any`,
/// `musllinux` and other operating systems.
pub fn linux_machine(platform: &str) -> Option<String> {
    linux_arch(platform).map(|a| a.name().to_owned())
}

/// The expanded tags of a wheel file name (`py2.py3-none-any` is two tags); empty for sdists
/// and names without valid tags.
pub fn filename_tags(filename: &str) -> Vec<WheelTag> {
    let Some(stem) = filename.strip_suffix(".whl") else {
        return Vec::new();
    };
    // name-version[-build]-python-abi-platform: the tags are the last three parts.
    let mut parts = stem.rsplitn(4, '-');
    let (Some(plat), Some(abi), Some(py), Some(_)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Vec::new();
    };
    WheelTag::expand(&format!("{py}-{abi}-{plat}")).unwrap_or_default()
}

/// A wheel tag parsed once, checked against many targets.
#[derive(Debug, Clone)]
pub(crate) struct ParsedTag {
    python: Option<LanguageTag>,
    abi: Option<AbiTag>,
    platform: Option<PlatformTag>,
}

impl ParsedTag {
    pub(crate) fn new(tag: &WheelTag) -> Self {
        Self {
            python: LanguageTag::from_str(&tag.python).ok(),
            abi: AbiTag::from_str(&tag.abi).ok(),
            platform: PlatformTag::from_str(&tag.platform).ok(),
        }
    }
}

impl Target {
    /// One target per allowed CPython tag (`cp312`, `cp313t`) and glibc Linux machine of a
    /// variant's platforms (`linux_x86_64`, `manylinux_2_28_aarch64` → `aarch64`), without
    /// duplicates. Other entries (`py3`, `pp310`, `any`, `win_amd64`, `musllinux_*`) define no
    /// target.
    pub fn for_variant(python_tags: &[String], platforms: &[String]) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        for py in python_tags {
            let Some((python, free_threaded)) = cpython_entry(py) else {
                continue;
            };
            for plat in platforms {
                let Some(arch) = linux_arch(plat) else {
                    continue;
                };
                if out.iter().any(|t| {
                    t.python == python && t.arch == arch && t.free_threaded == free_threaded
                }) {
                    continue;
                }
                if let Ok(t) = Target::new(python, free_threaded, arch.name()) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// A target for CPython `major.minor` (free-threaded or not) on Linux `machine`
    /// (`platform_machine` values such as `x86_64`, `aarch64`).
    pub fn new(
        python: (u8, u8),
        free_threaded: bool,
        machine: &str,
    ) -> Result<Target, TargetError> {
        let arch =
            Arch::from_str(machine).map_err(|_| TargetError::Platform(machine.to_owned()))?;
        let version = format!("{}.{}", python.0, python.1);
        let full = format!("{version}.0");
        let env = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name: "posix",
            platform_machine: arch.name(),
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: &full,
            python_version: &version,
            sys_platform: "linux",
        })
        .map_err(|e| TargetError::Environment {
            python: version.clone(),
            source: Box::new(e),
        })?;
        Ok(Target {
            python,
            free_threaded,
            machine: arch.name().to_owned(),
            arch,
            env,
        })
    }

    /// The PEP 508 marker environment of this target.
    pub fn marker_environment(&self) -> &MarkerEnvironment {
        &self.env
    }

    /// Whether a wheel with this tag installs here.
    ///
    /// Python: `py3`/`cp3` with ABI `none`; `py3X` with ABI `none` and X no newer than the
    /// target; `cpXY` with ABI `none` or its own ABI (`cp312`, `cp313t` only on free-threaded
    /// targets); `cp3X` with `abi3` (not on free-threaded targets) or `abi3t`, X no newer.
    /// Platform: `any`, `linux_<machine>` or any glibc `manylinux` tag of the machine.
    pub fn installs_tag(&self, tag: &WheelTag) -> bool {
        self.installs(&ParsedTag::new(tag))
    }

    pub(crate) fn installs(&self, tag: &ParsedTag) -> bool {
        let platform = match &tag.platform {
            Some(PlatformTag::Any) => true,
            Some(p) => linux_arch_of(p) == Some(self.arch),
            None => false,
        };
        platform && self.installs_python(tag.python, tag.abi)
    }

    fn installs_python(&self, py: Option<LanguageTag>, abi: Option<AbiTag>) -> bool {
        let (major, minor) = self.python;
        let (Some(py), Some(abi)) = (py, abi) else {
            return false;
        };
        match (py, abi) {
            (
                LanguageTag::Python {
                    major: m,
                    minor: None,
                }
                | LanguageTag::CPythonMajor { major: m },
                AbiTag::None,
            ) => m == major,
            (
                LanguageTag::Python {
                    major: m,
                    minor: Some(n),
                },
                AbiTag::None,
            ) => m == major && n <= minor,
            (LanguageTag::CPython { python_version }, AbiTag::None) => {
                python_version == self.python
            }
            (
                LanguageTag::CPython {
                    python_version: (m, n),
                },
                AbiTag::Abi3,
            ) => !self.free_threaded && m == major && n <= minor,
            (
                LanguageTag::CPython {
                    python_version: (m, n),
                },
                AbiTag::Abi3T,
            ) => m == major && n <= minor,
            (
                LanguageTag::CPython { python_version },
                AbiTag::CPython {
                    python_version: abi_version,
                    variant,
                },
            ) => {
                python_version == self.python
                    && abi_version == self.python
                    && variant.contains(CPythonAbiVariants::Freethreading) == self.free_threaded
                    && !variant.contains(CPythonAbiVariants::Debug)
            }
            _ => false,
        }
    }

    /// Whether `Requires-Python` admits some `X.Y.Z` release of this target's Python.
    pub fn admits_python(&self, requires_python: &VersionSpecifiers) -> bool {
        (0u64..=50).any(|patch| {
            let v = Version::new([u64::from(self.python.0), u64::from(self.python.1), patch]);
            requires_python.contains(&v)
        })
    }
}

fn linux_arch_of(p: &PlatformTag) -> Option<Arch> {
    match *p {
        PlatformTag::Linux { arch }
        | PlatformTag::Manylinux { arch, .. }
        | PlatformTag::Manylinux1 { arch }
        | PlatformTag::Manylinux2010 { arch }
        | PlatformTag::Manylinux2014 { arch } => Some(arch),
        _ => None,
    }
}

/// `Requires-Python` verdicts for one target, computed once per distinct specifier string.
pub(crate) struct PythonAdmits<'t> {
    target: &'t Target,
    seen: HashMap<String, bool>,
}

impl<'t> PythonAdmits<'t> {
    pub(crate) fn new(target: &'t Target) -> Self {
        Self {
            target,
            seen: HashMap::new(),
        }
    }

    /// Whether the (already parsed) specifiers `spec`, written `raw`, admit the target.
    pub(crate) fn admits(&mut self, raw: &str, spec: &VersionSpecifiers) -> bool {
        if let Some(&v) = self.seen.get(raw) {
            return v;
        }
        let v = self.target.admits_python(spec);
        self.seen.insert(raw.to_owned(), v);
        v
    }
}
