//! Issue 12's notebook acceptance: a headless Jupyter notebook (nbclient + ipykernel from PyPI)
//! whose cell `%pip install <pkg>` installs a promoted wheel from the guarded production index
//! through the real TLS front, and a later cell imports it. `%pip` runs `sys.executable -m pip`
//! in the kernel, so the kernel's environment (here `PIP_CONFIG_FILE` naming the file from
//! `wheelgate client-config --format pip`) is all the set-up a customer needs. Without the
//! client certificate the same cell is refused with the front's 403.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::customer_install::{clean, client_config, serve_one, Served};

/// A venv with nbclient, ipykernel and nbformat (from PyPI, with the machine's own settings),
/// made once under the target dir and kept for the next run when it works.
fn notebook_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("notebook-venv");
        let works = |d: &Path| {
            Command::new(d.join("bin/python"))
                .args(["-c", "import nbclient, nbformat, ipykernel"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if works(&dir) {
            return dir;
        }
        let tmp = dir.with_file_name(format!("notebook-venv.{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for c in [
            Command::new("python3").args(["-m", "venv"]).arg(&tmp),
            Command::new(tmp.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "nbclient",
                "nbformat",
                "ipykernel",
            ]),
        ] {
            let o = c.output().unwrap();
            assert!(
                o.status.success(),
                "{c:?} failed\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).unwrap();
        assert!(works(&dir), "the venv at {} does not work", dir.display());
        dir
    })
}

/// Runs `cells` in a fresh python3 kernel of the notebook venv, headless, with
/// `PIP_CONFIG_FILE=pip_conf` in the kernel's environment; the text each cell printed (streams,
/// results and errors), one string per cell.
fn run_notebook(served: &Served, pip_conf: &Path, cells: &[String], name: &str) -> Vec<String> {
    let dir = served.sb.dir.path();
    let nb_in = dir.join(format!("{name}.json"));
    std::fs::write(&nb_in, serde_json::to_string(cells).unwrap()).unwrap();
    let nb_out = dir.join(format!("{name}.ipynb"));
    let runner = r#"
import json, sys
import nbformat
from nbclient import NotebookClient
cells = json.load(open(sys.argv[1]))
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True).execute()
nbformat.write(nb, sys.argv[2])
out = []
for cell in nb.cells:
    text = ""
    for o in cell.outputs:
        if o.output_type == "stream":
            text += o.text
        elif o.output_type in ("execute_result", "display_data"):
            text += o.data.get("text/plain", "") + "\n"
        elif o.output_type == "error":
            text += "ERROR " + o.ename + ": " + o.evalue + "\n"
    out.append(text)
print(json.dumps(out))
"#;
    let python = notebook_venv().join("bin/python");
    let mut c = clean(&python, &served.sb);
    c.env("PIP_CONFIG_FILE", pip_conf)
        .arg("-c")
        .arg(runner)
        .arg(&nb_in)
        .arg(&nb_out);
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "the notebook did not run\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let last = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

async fn notebook_pip_installs_through_the_front(layout: &'static str) {
    let served = serve_one(layout);
    let (sb, front) = (&served.sb, &served.front);
    let with = [
        "--cert",
        served.cert.to_str().unwrap(),
        "--ca-bundle",
        front.ca_bundle.to_str().unwrap(),
    ];
    let pip_conf = client_config(sb, "pip", &with, "pip.conf");
    // The same file without its client-cert line: the front must refuse the cell.
    let no_cert = sb.dir.path().join("pip-no-cert.conf");
    std::fs::write(
        &no_cert,
        std::fs::read_to_string(&pip_conf)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("client-cert"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();

    let cells = |target: &Path| {
        let t = target.to_str().unwrap();
        vec![
            format!("%pip install -vv --no-deps --target {t} {}", served.project),
            format!(
                "import sys; sys.path.insert(0, {t:?})\nimport {m}\nprint('version', {m}.__version__)",
                m = served.module
            ),
        ]
    };

    let target = sb.dir.path().join("site-notebook");
    let out = run_notebook(&served, &pip_conf, &cells(&target), "with-cert");
    assert!(
        out[0].contains("Successfully installed"),
        "%pip cell:\n{}",
        out[0]
    );
    assert_eq!(out[1].trim(), "version 1.0", "import cell:\n{}", out[1]);

    let target = sb.dir.path().join("site-notebook-no-cert");
    let out = run_notebook(&served, &no_cert, &cells(&target), "no-cert");
    assert!(
        !out[0].contains("Successfully installed") && out[0].contains("403"),
        "%pip cell without a client certificate:\n{}",
        out[0]
    );
    assert!(
        out[1].contains("ModuleNotFoundError"),
        "import cell:\n{}",
        out[1]
    );
}

both_layouts!(notebook_pip_installs_through_the_front);
