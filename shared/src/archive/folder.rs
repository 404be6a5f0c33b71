//! The archive in a local folder (`hookline serve --archive-dir`): the same keys as files.

use std::path::{Path, PathBuf};

use super::ArchiveError;

#[derive(Clone, Debug)]
pub struct FolderArchive {
    root: PathBuf,
}

impl FolderArchive {
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self {
            root: root.as_ref().to_path_buf(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ArchiveError> {
        // Keys are ours, but a key read back from a listing must never leave the folder.
        if key.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(ArchiveError::Unavailable(format!(
                "not an archive key: {key}"
            )));
        }
        Ok(self.root.join(key))
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        let path = self.path(key)?;
        let unavailable = |e: std::io::Error| ArchiveError::Unavailable(e.to_string());
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(unavailable)?;
        }
        // Written whole or not at all: a reader never sees half an object.
        let partial = path.with_extension(format!("partial-{:x}", fastrand::u64(..)));
        tokio::fs::write(&partial, bytes)
            .await
            .map_err(unavailable)?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(unavailable)
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            walk(&root, &root, &mut keys)?;
            keys.retain(|key| key.starts_with(&prefix) && key.ends_with(".jsonl"));
            keys.sort();
            Ok(keys)
        })
        .await
        .map_err(|e| ArchiveError::Unavailable(e.to_string()))?
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ArchiveError> {
        tokio::fs::read(self.path(key)?)
            .await
            .map_err(|e| ArchiveError::Unavailable(format!("{key}: {e}")))
    }
}

fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> Result<(), ArchiveError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ArchiveError::Unavailable(e.to_string())),
    };
    for entry in entries {
        let path = entry
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))?
            .path();
        if path.is_dir() {
            walk(root, &path, keys)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let key: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            keys.push(key.join("/"));
        }
    }
    Ok(())
}
