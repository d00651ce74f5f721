//! Which names from a server (or the command line) may become local path components.

/// Whether `name` is safe as one path component below the destination: not empty, not `.` or
/// `..`, not hidden (the mirror's own temporary and generation names start with `.`), no path
/// separator, no control character, not longer than 255 bytes.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// Like [`is_safe_name`], for the directory names that come from the command line (product,
/// release, variant); the same rules.
pub fn is_safe_segment(name: &str) -> bool {
    is_safe_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../evil.whl",
            "a/b.whl",
            "a\\b.whl",
            "/etc/passwd",
            ".hidden.whl",
            "a\nb.whl",
            "a\u{7f}.whl",
            "a\0.whl",
        ] {
            assert!(!is_safe_name(bad), "{bad:?} accepted");
        }
        let long = "a".repeat(256);
        assert!(!is_safe_name(&long));
        for good in [
            "numpy-2.0.0-cp312-cp312-linux_x86_64.whl",
            "x-1.0+local.tar.gz",
            "cuda12.9-ubi9",
            "3.0",
        ] {
            assert!(is_safe_name(good), "{good:?} refused");
        }
    }
}
