//! What the command line says about itself: the long version, shell completions and man pages.

use clap::CommandFactory;
use std::io::Write;
use std::path::Path;

/// `--version`: the crate version, the git commit it was built from (`unknown` when built without
/// git, as in the image) and the Kubernetes API version the CRDs and the client target.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CCS_GIT_COMMIT"),
    ", Kubernetes API ",
    env!("CCS_KUBERNETES_API"),
    ")"
);

/// Writes the completion script of `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "ccs-operator", out);
}

/// Writes the man page of `ccs-operator` (section 1) to `out`.
pub fn man_page(out: &mut dyn Write) -> anyhow::Result<()> {
    match clap_mangen::Man::new(crate::cli::Cli::command()).render(out) {
        // `ccs-operator man | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Writes `ccs-operator.1` and one page per subcommand (`ccs-operator-run.1`...) into `dir`;
/// returns the files written.
pub fn man_pages_to(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let failed = |e: std::io::Error| anyhow::anyhow!("writing man pages to {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(failed)?;
    clap_mangen::generate_to(crate::cli::Cli::command(), dir).map_err(failed)?;
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .map_err(failed)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "1")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("ccs-operator"))
        })
        .collect();
    pages.sort();
    Ok(pages)
}
