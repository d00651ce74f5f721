//! Reading one wheel file and checking it against its own metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use sha2::{Digest, Sha256, Sha384, Sha512};
use uv_distribution_filename::WheelFilename;
use uv_normalize::PackageName;
use uv_pep440::Version;
use zip::ZipArchive;

use crate::dist_info::{header, header_values, parse_headers, parse_record, RecordEntry};
use crate::problem::{display_name, Problem, ProblemKind};

/// Buffer size for streaming file and member contents through hashers.
const BUF: usize = 1 << 20;
/// Largest `METADATA`/`WHEEL`/`RECORD` read into memory; anything bigger is rejected.
const MAX_DIST_INFO_FILE: u64 = 64 << 20;

/// One tag of a wheel's expanded tag set, e.g. `cp312-abi3-manylinux_2_28_x86_64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WheelTag {
    /// Interpreter tag, e.g. `py3`, `cp312`.
    pub python: String,
    /// ABI tag, e.g. `none`, `abi3`, `cp312`.
    pub abi: String,
    /// Platform tag, e.g. `any`, `manylinux_2_17_x86_64`.
    pub platform: String,
}

impl WheelTag {
    /// A tag from its three parts.
    pub fn new(
        python: impl Into<String>,
        abi: impl Into<String>,
        platform: impl Into<String>,
    ) -> Self {
        Self {
            python: python.into(),
            abi: abi.into(),
            platform: platform.into(),
        }
    }

    /// Expands a compressed tag set such as `py2.py3-none-any` into its tags, in file-name order
    /// (`py2-none-any`, `py3-none-any`). `None` unless the text has exactly three non-empty
    /// `-`-separated parts made of non-empty `.`-separated tags.
    pub fn expand(compressed: &str) -> Option<Vec<WheelTag>> {
        let parts: Vec<&str> = compressed.split('-').collect();
        let [py, abi, plat] = parts.as_slice() else {
            return None;
        };
        let split = |s: &'_ str| -> Option<Vec<String>> {
            let v: Vec<String> = s.split('.').map(str::to_string).collect();
            v.iter().all(|t| !t.is_empty()).then_some(v)
        };
        let (pys, abis, plats) = (split(py)?, split(abi)?, split(plat)?);
        let mut out = Vec::with_capacity(pys.len() * abis.len() * plats.len());
        for p in &pys {
            for a in &abis {
                for pl in &plats {
                    out.push(WheelTag::new(p.as_str(), a.as_str(), pl.as_str()));
                }
            }
        }
        Some(out)
    }
}

impl fmt::Display for WheelTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

impl FromStr for WheelTag {
    type Err = String;

    /// Parses one (uncompressed) tag, `python-abi-platform`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match WheelTag::expand(s).as_deref() {
            Some([one]) => Ok(one.clone()),
            _ => Err(format!(
                "`{s}` is not a single wheel tag (python-abi-platform)"
            )),
        }
    }
}

/// What [`inspect`] learned about a valid wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelInfo {
    /// The file.
    pub path: PathBuf,
    /// Its file name, e.g. `numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl`.
    pub filename: String,
    /// The project name normalized per PEP 503, e.g. `foo-bar` for `Foo_Bar`.
    pub project: String,
    /// The project name as written in `METADATA`.
    pub name: String,
    /// The version as written in `METADATA` (PEP 440-equal to the file name's).
    pub version: String,
    /// The file name's build tag, e.g. `13`.
    pub build_tag: Option<String>,
    /// The file name's expanded tag set, in file-name order.
    pub tags: Vec<WheelTag>,
    /// File size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the whole file.
    pub sha256: String,
    /// `Requires-Dist` values from `METADATA`, as written.
    pub requires_dist: Vec<String>,
    /// `Requires-Python` from `METADATA`, as written.
    pub requires_python: Option<String>,
}

/// The parts of a valid wheel file name.
struct ParsedName {
    project: PackageName,
    version: Version,
    escaped_name: String,
    version_text: String,
    build_tag: Option<String>,
    tags: Vec<WheelTag>,
}

/// Checks the file name. uv's parser validates the name, version and build tag; the tags are
/// taken from the text because uv drops tags it does not know (forward compatibility), and the
/// validator must compare them exactly.
fn parse_filename(filename: &str) -> Result<ParsedName, String> {
    let parsed = WheelFilename::from_str(filename).map_err(|e| e.to_string())?;
    let stem = filename.strip_suffix(".whl").unwrap_or(filename);
    let parts: Vec<&str> = stem.split('-').collect();
    let (build_tag, compressed) = match parts.as_slice() {
        [_, _, py, abi, plat] => (None, format!("{py}-{abi}-{plat}")),
        [_, _, build, py, abi, plat] => (Some((*build).to_string()), format!("{py}-{abi}-{plat}")),
        _ => {
            return Err(format!(
                "\"{filename}\" must have 5 or 6 `-`-separated parts"
            ))
        }
    };
    let tags = WheelTag::expand(&compressed)
        .ok_or_else(|| format!("\"{filename}\" has an empty tag in `{compressed}`"))?;
    Ok(ParsedName {
        project: parsed.name.clone(),
        version: parsed.version.clone(),
        escaped_name: parts[0].to_string(),
        version_text: parts[1].to_string(),
        build_tag,
        tags,
    })
}

/// Collects the problems of one file.
struct Report<'a> {
    path: &'a Path,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn add(&mut self, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(Problem::new(self.path, kind, message));
    }
}

/// Inspects one wheel and reports every problem it has, or what it is.
///
/// Checks, in order: the `.whl` extension (nothing else is checked without it), the PEP 427 file
/// name, that the file is a zip, that `<name>-<version>.dist-info/` holds `METADATA`, `WHEEL` and
/// `RECORD`, that `METADATA`'s `Name`/`Version` equal the file name's (PEP 503 / PEP 440), that
/// `WHEEL`'s `Tag:` lines are the file name's expanded tags, that every zip member is in `RECORD`
/// with a matching hash and size (and vice versa; `RECORD` itself and `RECORD.jws`/`RECORD.p7s`
/// are exempt), and that no member path escapes the install directory.
///
/// Members are streamed through their hashers and the whole-file sha256 is computed in a second
/// streaming pass (only when the file is valid), so memory use does not depend on the file size.
pub fn inspect(path: &Path) -> Result<WheelInfo, Vec<Problem>> {
    let mut report = Report {
        path,
        problems: Vec::new(),
    };
    let filename = display_name(path);
    if !filename.ends_with(".whl") {
        report.add(
            ProblemKind::NotAWheel,
            "not a wheel: the file name does not end in .whl",
        );
        return Err(report.problems);
    }
    let parsed = match parse_filename(&filename) {
        Ok(p) => Some(p),
        Err(e) => {
            report.add(
                ProblemKind::BadFilename,
                format!("not a valid wheel file name (PEP 427): {e}"),
            );
            None
        }
    };

    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.add(
                ProblemKind::Unreadable,
                format!("cannot open the file: {e}"),
            );
            return Err(report.problems);
        }
    };
    let mut zip = match ZipArchive::new(BufReader::new(file)) {
        Ok(z) => z,
        Err(e) => {
            report.add(
                ProblemKind::NotZip,
                format!("not a readable zip archive: {e}"),
            );
            return Err(report.problems);
        }
    };

    let metadata = check_contents(&mut zip, parsed.as_ref(), &mut report);

    let (Some(parsed), Some(metadata), true) = (parsed, metadata, report.problems.is_empty())
    else {
        return Err(report.problems);
    };
    drop(zip);
    let (size, sha256) = match sha256_file(path) {
        Ok(v) => v,
        Err(e) => {
            report.add(
                ProblemKind::Unreadable,
                format!("cannot read the file: {e}"),
            );
            return Err(report.problems);
        }
    };
    Ok(WheelInfo {
        path: path.to_path_buf(),
        filename,
        project: parsed.project.to_string(),
        name: metadata.name,
        version: metadata.version,
        build_tag: parsed.build_tag,
        tags: parsed.tags,
        size,
        sha256,
        requires_dist: metadata.requires_dist,
        requires_python: metadata.requires_python,
    })
}

/// The `METADATA` fields a [`WheelInfo`] carries.
struct Metadata {
    name: String,
    version: String,
    requires_dist: Vec<String>,
    requires_python: Option<String>,
}

/// One zip member, from the central directory.
struct Member {
    index: usize,
    name: String,
    size: u64,
}

/// Checks everything inside the zip; returns the `METADATA` fields when they could be read.
fn check_contents<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    parsed: Option<&ParsedName>,
    report: &mut Report<'_>,
) -> Option<Metadata> {
    let mut members = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        match zip.by_index_raw(index) {
            Ok(f) => {
                if f.enclosed_name().is_none() {
                    report.add(
                        ProblemKind::UnsafePath,
                        format!(
                            "zip member `{}` has an absolute path or one that escapes the \
                             install directory",
                            f.name()
                        ),
                    );
                }
                if !f.is_dir() {
                    members.push(Member {
                        index,
                        name: f.name().to_string(),
                        size: f.size(),
                    });
                }
            }
            Err(e) => report.add(
                ProblemKind::NotZip,
                format!("cannot read zip entry #{index}: {e}"),
            ),
        }
    }

    let dist_info = find_dist_info(&members, parsed, report)?;
    let by_name: BTreeMap<&str, &Member> = members.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut read = |file: &str, report: &mut Report<'_>| -> Option<Vec<u8>> {
        let name = format!("{dist_info}/{file}");
        let Some(member) = by_name.get(name.as_str()) else {
            report.add(
                ProblemKind::MissingMetadata,
                format!("the wheel has no {name}"),
            );
            return None;
        };
        if member.size > MAX_DIST_INFO_FILE {
            report.add(
                ProblemKind::InvalidMetadata,
                format!(
                    "{name} is {} bytes, larger than the {MAX_DIST_INFO_FILE}-byte limit",
                    member.size
                ),
            );
            return None;
        }
        let mut buf = Vec::new();
        let result = zip
            .by_index(member.index)
            .map_err(io::Error::other)
            .and_then(|f| f.take(MAX_DIST_INFO_FILE).read_to_end(&mut buf));
        match result {
            Ok(_) => Some(buf),
            Err(e) => {
                report.add(ProblemKind::NotZip, format!("cannot read {name}: {e}"));
                None
            }
        }
    };
    let metadata_bytes = read("METADATA", report);
    let wheel_bytes = read("WHEEL", report);
    let record_bytes = read("RECORD", report);

    let metadata = metadata_bytes.and_then(|b| check_metadata(&dist_info, &b, parsed, report));
    if let Some(b) = wheel_bytes {
        check_wheel_file(&dist_info, &b, parsed, report);
    }
    if let Some(b) = record_bytes {
        check_record(zip, &members, &dist_info, &b, report);
    }
    metadata
}

/// Finds the `.dist-info` directory: the one named after the file name's project and version,
/// else the only one there is. Reports a missing, misnamed or repeated directory.
fn find_dist_info(
    members: &[Member],
    parsed: Option<&ParsedName>,
    report: &mut Report<'_>,
) -> Option<String> {
    let found: BTreeSet<&str> = members
        .iter()
        .filter_map(|m| m.name.split_once('/'))
        .map(|(top, _)| top)
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    let expected = parsed.map(|p| format!("{}-{}.dist-info", p.escaped_name, p.version_text));
    let matches = |dir: &str| -> bool {
        let Some(p) = parsed else { return false };
        let Some((name, version)) = dir.trim_end_matches(".dist-info").split_once('-') else {
            return false;
        };
        PackageName::from_str(name).is_ok_and(|n| n == p.project)
            && Version::from_str(version).is_ok_and(|v| v == p.version)
    };
    let listed = found.iter().copied().collect::<Vec<_>>().join(", ");
    let chosen = found.iter().copied().find(|d| matches(d));
    if found.len() > 1 {
        report.add(
            ProblemKind::InvalidMetadata,
            format!("the wheel has more than one .dist-info directory: {listed}"),
        );
    }
    let expected_text = expected.as_deref().unwrap_or("<name>-<version>.dist-info");
    match (chosen, found.len()) {
        (Some(d), _) => Some(d.to_string()),
        (None, 0) => {
            report.add(
                ProblemKind::MissingMetadata,
                format!(
                    "the wheel has no {expected_text} directory (no METADATA, WHEEL or RECORD)"
                ),
            );
            None
        }
        (None, _) => {
            if parsed.is_some() {
                report.add(
                    ProblemKind::MissingMetadata,
                    format!("the wheel has no {expected_text} directory (it has {listed})"),
                );
            }
            // Check the contents of what is there all the same.
            found.first().map(|d| (*d).to_string())
        }
    }
}

fn utf8<'a>(name: &str, bytes: &'a [u8], report: &mut Report<'_>) -> Option<&'a str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(e) => {
            report.add(
                ProblemKind::InvalidMetadata,
                format!("{name} is not UTF-8: {e}"),
            );
            None
        }
    }
}

fn check_metadata(
    dist_info: &str,
    bytes: &[u8],
    parsed: Option<&ParsedName>,
    report: &mut Report<'_>,
) -> Option<Metadata> {
    let file = format!("{dist_info}/METADATA");
    let headers = parse_headers(utf8(&file, bytes, report)?);
    let name = header(&headers, "Name");
    let version = header(&headers, "Version");
    if name.is_none() {
        report.add(ProblemKind::InvalidMetadata, "METADATA has no Name field");
    }
    if version.is_none() {
        report.add(
            ProblemKind::InvalidMetadata,
            "METADATA has no Version field",
        );
    }
    let (name, version) = (name?, version?);

    match PackageName::from_str(name) {
        Err(e) => report.add(
            ProblemKind::InvalidMetadata,
            format!("METADATA has an invalid Name: {name} ({e})"),
        ),
        Ok(n) => {
            if let Some(p) = parsed.filter(|p| p.project != n) {
                report.add(
                    ProblemKind::NameMismatch,
                    format!(
                        "METADATA says Name: {name} but the filename says {}",
                        p.escaped_name
                    ),
                );
            }
        }
    }
    match Version::from_str(version) {
        Err(e) => report.add(
            ProblemKind::InvalidMetadata,
            format!("METADATA has an invalid Version: {version} ({e})"),
        ),
        Ok(v) => {
            if let Some(p) = parsed.filter(|p| p.version != v) {
                report.add(
                    ProblemKind::VersionMismatch,
                    format!(
                        "METADATA says Version: {version} but the filename says {}",
                        p.version_text
                    ),
                );
            }
        }
    }
    Some(Metadata {
        name: name.to_string(),
        version: version.to_string(),
        requires_dist: header_values(&headers, "Requires-Dist")
            .map(str::to_string)
            .collect(),
        requires_python: header(&headers, "Requires-Python").map(str::to_string),
    })
}

fn check_wheel_file(
    dist_info: &str,
    bytes: &[u8],
    parsed: Option<&ParsedName>,
    report: &mut Report<'_>,
) {
    let file = format!("{dist_info}/WHEEL");
    let Some(text) = utf8(&file, bytes, report) else {
        return;
    };
    let headers = parse_headers(text);
    match header(&headers, "Wheel-Version") {
        None => report.add(
            ProblemKind::InvalidMetadata,
            "WHEEL has no Wheel-Version field",
        ),
        Some(v) if v.split('.').next() != Some("1") => report.add(
            ProblemKind::InvalidMetadata,
            format!("WHEEL says Wheel-Version: {v}; only 1.x is supported"),
        ),
        Some(_) => {}
    }
    let Some(p) = parsed else { return };
    let listed: BTreeSet<&str> = header_values(&headers, "Tag").collect();
    let expected: Vec<String> = p.tags.iter().map(ToString::to_string).collect();
    let expected_set: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    if listed.is_empty() {
        report.add(
            ProblemKind::TagMismatch,
            format!(
                "WHEEL has no Tag lines but the filename says {}",
                expected.join(", ")
            ),
        );
    } else if listed != expected_set {
        report.add(
            ProblemKind::TagMismatch,
            format!(
                "WHEEL says Tag: {} but the filename says {}",
                listed.iter().copied().collect::<Vec<_>>().join(", "),
                expected.join(", ")
            ),
        );
    }
    let build = header(&headers, "Build");
    if build != p.build_tag.as_deref() {
        report.add(
            ProblemKind::TagMismatch,
            format!(
                "WHEEL says Build: {} but the filename's build tag is {}",
                build.unwrap_or("(none)"),
                p.build_tag.as_deref().unwrap_or("(none)")
            ),
        );
    }
}

/// Files that need no `RECORD` entry (or whose entry has no hash).
fn record_exempt(dist_info: &str, name: &str) -> bool {
    name.strip_prefix(dist_info)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|f| matches!(f, "RECORD" | "RECORD.jws" | "RECORD.p7s"))
}

fn check_record<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    members: &[Member],
    dist_info: &str,
    bytes: &[u8],
    report: &mut Report<'_>,
) {
    let entries = match parse_record(bytes) {
        Ok(e) => e,
        Err(e) => {
            report.add(ProblemKind::InvalidMetadata, e);
            return;
        }
    };
    let mut buf = vec![0u8; BUF];
    let mut seen = BTreeSet::new();
    for m in members {
        seen.insert(m.name.as_str());
        if record_exempt(dist_info, &m.name) {
            continue;
        }
        let Some(entry) = entries.get(&m.name) else {
            report.add(
                ProblemKind::RecordMismatch,
                format!("{} is in the zip but not in RECORD", m.name),
            );
            continue;
        };
        check_member(zip, m, entry, &mut buf, report);
    }
    for (path, entry) in &entries {
        if !seen.contains(path.as_str()) && !path.ends_with('/') && !record_exempt(dist_info, path)
        {
            report.add(
                ProblemKind::RecordMismatch,
                format!(
                    "RECORD line {} lists {path} but the zip has no such file",
                    entry.line
                ),
            );
        }
    }
}

/// A hasher for one of the algorithms `RECORD` may use (PEP 427 forbids md5 and sha1).
enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    fn new(algo: &str) -> Option<Self> {
        match algo {
            "sha256" => Some(Hasher::Sha256(Sha256::new())),
            "sha384" => Some(Hasher::Sha384(Sha384::new())),
            "sha512" => Some(Hasher::Sha512(Sha512::new())),
            _ => None,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn finish_b64(self) -> String {
        let digest = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    }
}

fn check_member<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    m: &Member,
    entry: &RecordEntry,
    buf: &mut [u8],
    report: &mut Report<'_>,
) {
    let expected_size = if entry.size.is_empty() {
        None
    } else {
        match entry.size.parse::<u64>() {
            Ok(s) => Some(s),
            Err(_) => {
                report.add(
                    ProblemKind::RecordMismatch,
                    format!(
                        "RECORD line {} has an invalid size `{}` for {}",
                        entry.line, entry.size, m.name
                    ),
                );
                None
            }
        }
    };
    if let Some(s) = expected_size.filter(|s| *s != m.size) {
        report.add(
            ProblemKind::RecordMismatch,
            format!("{} is {} bytes but RECORD says {s}", m.name, m.size),
        );
    }
    let Some((algo, expected)) = entry.hash.split_once('=') else {
        report.add(
            ProblemKind::RecordMismatch,
            format!("RECORD has no hash for {}", m.name),
        );
        return;
    };
    let Some(mut hasher) = Hasher::new(algo) else {
        report.add(
            ProblemKind::RecordMismatch,
            format!(
                "RECORD uses unsupported hash algorithm `{algo}` for {} (use sha256)",
                m.name
            ),
        );
        return;
    };
    let streamed = zip
        .by_index(m.index)
        .map_err(io::Error::other)
        .and_then(|mut f| {
            let mut n = 0u64;
            loop {
                let k = f.read(buf)?;
                if k == 0 {
                    return Ok(n);
                }
                hasher.update(&buf[..k]);
                n += k as u64;
            }
        });
    match streamed {
        Err(e) => report.add(ProblemKind::NotZip, format!("cannot read {}: {e}", m.name)),
        Ok(_) => {
            let actual = hasher.finish_b64();
            if actual != expected.trim_end_matches('=') {
                report.add(
                    ProblemKind::RecordMismatch,
                    format!(
                        "{} has {algo}={actual} but RECORD says {algo}={expected}",
                        m.name
                    ),
                );
            }
        }
    }
}

/// Size and lower-case hex sha256 of a file, streamed with a 1 MiB buffer.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// The bytes of a wheel's `<name>-<version>.dist-info/METADATA`, the file PEP 658 serves as
/// `<wheel>.metadata`. `Ok(None)` when the file is not a zip, has no or more than one
/// `.dist-info/METADATA`, or it is larger than the limit [`inspect`] applies: the caller then
/// gets the metadata another way. Errors are only those of opening or reading the file.
pub fn core_metadata(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let file = File::open(path)?;
    let Ok(mut zip) = ZipArchive::new(BufReader::new(file)) else {
        return Ok(None);
    };
    let mut found = None;
    for index in 0..zip.len() {
        let Ok(f) = zip.by_index_raw(index) else {
            return Ok(None);
        };
        let is_metadata = f
            .name()
            .split_once('/')
            .is_some_and(|(top, rest)| top.ends_with(".dist-info") && rest == "METADATA");
        if is_metadata {
            if found.is_some() || f.size() > MAX_DIST_INFO_FILE {
                return Ok(None);
            }
            found = Some(index);
        }
    }
    let Some(index) = found else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    let read = match zip.by_index(index) {
        Ok(f) => f.take(MAX_DIST_INFO_FILE).read_to_end(&mut buf).map(Some),
        Err(_) => Ok(None),
    };
    Ok(read?.map(|_| buf))
}
