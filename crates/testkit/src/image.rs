//! Container images for the base-image tests: the local stand-in for the UBI 9 Python image
//! (made once per machine and cached by config/customer/base-image.sh), podman builds the way
//! this kind of machine allows them (`--isolation=chroot --network=host`; `podman run` does not
//! work here, so images are proven by builds whose `RUN` steps check), and images tagged per
//! test run that are removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Run;

/// The tag of the stand-in for `registry.access.redhat.com/ubi9/python-312` (a venv at
/// `/opt/app-root` on `PATH`, user 1001, uv in the venv), made by
/// `config/customer/base-image.sh ensure` the first time a process asks: podman and mmdebstrap
/// are installed when missing, the image is built once per machine under a lock shared by all
/// checkouts, and a warm machine only checks that podman has it.
pub fn standin() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let script = crate::workspace_root().join("config/customer/base-image.sh");
        let o = Command::new("bash")
            .arg(&script)
            .arg("ensure")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            o.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let tag = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        assert!(!tag.is_empty(), "{} printed no tag", script.display());
        tag
    })
}

/// A tag nobody else uses: `localhost/wheelgate-test/<what>:<unique id>`.
pub fn unique_tag(what: &str) -> String {
    format!("localhost/wheelgate-test/{what}:{}", crate::unique_id())
}

/// An image this test built under a [`unique_tag`]; dropping it removes that tag (and nothing
/// else: not the stand-in, not another checkout's images).
#[derive(Debug)]
pub struct Image {
    /// The tag.
    pub tag: String,
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rmi", "--force", "--ignore"])
            .arg(&self.tag)
            .output();
    }
}

/// One `podman build --isolation=chroot --network=host --pull=never --layers=false`: a
/// Containerfile in a context directory, build arguments and build secrets.
#[derive(Debug, Clone)]
pub struct Build {
    context: PathBuf,
    containerfile: PathBuf,
    build_args: Vec<(String, String)>,
    secrets: Vec<(String, PathBuf)>,
}

impl Build {
    /// A build of `containerfile` (a path, or a file name in `context`) in `context`.
    pub fn new(context: &Path, containerfile: impl AsRef<Path>) -> Self {
        Self {
            context: context.to_path_buf(),
            containerfile: context.join(containerfile),
            build_args: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// `--build-arg name=value`.
    pub fn arg(mut self, name: &str, value: &str) -> Self {
        self.build_args.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `--secret id=<id>,src=<file>`.
    pub fn secret(mut self, id: &str, file: &Path) -> Self {
        self.secrets.push((id.to_owned(), file.to_path_buf()));
        self
    }

    fn command(&self, tag: Option<&str>) -> Command {
        let mut c = Command::new("podman");
        c.args([
            "build",
            "--isolation=chroot",
            "--network=host",
            "--pull=never",
            "--layers=false",
        ]);
        for (k, v) in &self.build_args {
            c.arg("--build-arg").arg(format!("{k}={v}"));
        }
        for (id, file) in &self.secrets {
            c.arg("--secret")
                .arg(format!("id={id},src={}", file.display()));
        }
        if let Some(tag) = tag {
            c.arg("--tag").arg(tag);
        }
        c.arg("--file").arg(&self.containerfile).arg(&self.context);
        c
    }

    /// Run the build without keeping an image (a build whose `RUN` steps are the check); the
    /// run (podman's output: the steps on stdout, errors on stderr).
    pub fn run(&self) -> Run {
        // A tag is needed to find and remove what a successful build leaves.
        let image = Image {
            tag: unique_tag("check"),
        };
        self.command(Some(&image.tag)).output().unwrap().into()
    }

    /// Run the build tagged with a [`unique_tag`] of `what`; the run and, when it succeeded,
    /// the image (removed when dropped).
    pub fn image(&self, what: &str) -> (Run, Option<Image>) {
        let image = Image {
            tag: unique_tag(what),
        };
        let run: Run = self.command(Some(&image.tag)).output().unwrap().into();
        let image = (run.code == 0).then_some(image);
        (run, image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_run_the_way_this_machine_allows() {
        let dir = Path::new("/ctx");
        let c = Build::new(dir, "Containerfile")
            .arg("BASE_IMAGE", "localhost/x:1")
            .secret("index-cert", Path::new("/s/client.pem"))
            .command(Some("localhost/wheelgate-test/t:1"));
        let args: Vec<_> = c.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "build",
                "--isolation=chroot",
                "--network=host",
                "--pull=never",
                "--layers=false",
                "--build-arg",
                "BASE_IMAGE=localhost/x:1",
                "--secret",
                "id=index-cert,src=/s/client.pem",
                "--tag",
                "localhost/wheelgate-test/t:1",
                "--file",
                "/ctx/Containerfile",
                "/ctx",
            ]
        );
    }

    #[test]
    fn unique_tags_are_local_and_differ() {
        let (a, b) = (unique_tag("base"), unique_tag("base"));
        assert!(a.starts_with("localhost/wheelgate-test/base:") && a != b);
    }
}
