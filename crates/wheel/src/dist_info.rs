//! Parsers for the text files in a wheel's `.dist-info` directory.
//!
//! `METADATA` and `WHEEL` are RFC 822-style headers (core metadata spec); only the few fields
//! the validator needs are read, so a dozen lines here replace uv's metadata crate, which would
//! bring in the PEP 508 parser and much more. `RECORD` is CSV and read with the `csv` crate.

use std::collections::BTreeMap;

/// The headers of a `METADATA` or `WHEEL` file, in order, stopping at the first blank line (the
/// body, e.g. a long description, follows it). Keys keep their case; continuation lines (starting
/// with a space or tab) are appended to the previous value after a newline.
pub(crate) fn parse_headers(text: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    headers
}

/// Every value of header `key` (case-insensitive).
pub(crate) fn header_values<'a>(
    headers: &'a [(String, String)],
    key: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// The first value of header `key` (case-insensitive).
pub(crate) fn header<'a>(headers: &'a [(String, String)], key: &'a str) -> Option<&'a str> {
    header_values(headers, key).next()
}

/// One `RECORD` line: `path,hash,size` where hash is `algo=urlsafe-b64-nopad` or empty and size
/// is a byte count or empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordEntry {
    /// 1-based line number, for messages.
    pub line: u64,
    /// `algo=digest`, or empty.
    pub hash: String,
    /// The size field as written (may be empty).
    pub size: String,
}

/// Parses `RECORD` into path → entry (the first entry wins for a repeated path). Returns the
/// message of the first malformed line as an error.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<BTreeMap<String, RecordEntry>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut entries = BTreeMap::new();
    for (i, row) in reader.records().enumerate() {
        let line = i as u64 + 1;
        let row = row.map_err(|e| format!("RECORD line {line} is not valid CSV: {e}"))?;
        if row.len() == 1 && row.get(0).is_some_and(str::is_empty) {
            continue;
        }
        if row.len() != 3 {
            return Err(format!(
                "RECORD line {line} has {} fields, expected 3 (path,hash,size)",
                row.len()
            ));
        }
        let path = row.get(0).unwrap_or_default().to_string();
        if path.is_empty() {
            return Err(format!("RECORD line {line} has an empty path"));
        }
        entries.entry(path).or_insert(RecordEntry {
            line,
            hash: row.get(1).unwrap_or_default().to_string(),
            size: row.get(2).unwrap_or_default().to_string(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_stop_at_body_and_join_continuations() {
        let text = "Metadata-Version: 2.1\nName: demo\nSummary: first\n  second\n\
                    Requires-Dist: a\nrequires-dist: b ; extra == 'x'\n\nName: body\n";
        let h = parse_headers(text);
        assert_eq!(header(&h, "name"), Some("demo"));
        assert_eq!(header(&h, "Summary"), Some("first\nsecond"));
        assert_eq!(
            header_values(&h, "Requires-Dist").collect::<Vec<_>>(),
            vec!["a", "b ; extra == 'x'"]
        );
        assert_eq!(header(&h, "Version"), None);
    }

    #[test]
    fn record_parses_quoted_paths_and_rejects_bad_rows() {
        let r =
            parse_record(b"a/b.py,sha256=abc,12\n\"a/c,d.py\",,\nx.dist-info/RECORD,,\n").unwrap();
        assert_eq!(r["a/b.py"].hash, "sha256=abc");
        assert_eq!(r["a/b.py"].size, "12");
        assert_eq!(r["a/c,d.py"].line, 2);
        assert!(r.contains_key("x.dist-info/RECORD"));
        let err = parse_record(b"a.py,sha256=x\n").unwrap_err();
        assert!(err.contains("line 1 has 2 fields"), "{err}");
    }
}
