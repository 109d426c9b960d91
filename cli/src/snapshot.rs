//! `vfio-iommu-info snapshot -o FILE`, and reading the file `--snapshot` names.

use std::path::Path;

use vfio_iommu_info::{HostPaths, Snapshot};

use crate::{output, Failure, EXIT_FAILURE, EXIT_MALFORMED};

/// Takes a snapshot of this host into a new file `path`, and says what it holds on stderr.
pub fn take(path: &Path, force: bool) -> Result<(), Failure> {
    output::check_writable(path, force).map_err(|e| Failure::new(e, EXIT_FAILURE))?;
    let snapshot = vfio_iommu_info::snapshot::take(&HostPaths::default());
    let text = snapshot.to_text();
    output::write_new(path, text.as_bytes(), force).map_err(|e| Failure::new(e, EXIT_FAILURE))?;
    let answered = snapshot
        .containers
        .iter()
        .filter(|c| c.answer.is_ok())
        .count();
    eprintln!(
        "vfio-iommu-info: wrote {}: {} bytes, {} files and links, {} containers ({answered} answered)",
        path.display(),
        text.len(),
        snapshot.files.len(),
        snapshot.containers.len(),
    );
    Ok(())
}

/// The snapshot file `path`; unreadable or malformed is exit status 3, as `decode`'s.
pub fn load(path: &Path) -> Result<Snapshot, Failure> {
    Snapshot::read(path).map_err(|e| Failure {
        status: EXIT_MALFORMED,
        ..Failure::lib(e)
    })
}
