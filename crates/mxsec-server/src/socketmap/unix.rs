//! The daemon's Unix socket: its file, mode and owner (`listen.unix`, `listen.unix_mode`,
//! `listen.unix_owner`, `listen.unix_group`).

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use tokio::net::UnixListener;

use super::config::UnixListen;

/// Binds the Unix socket: removes a stale socket file, then sets the mode and owner.
pub(crate) fn bind_unix(config: &UnixListen) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(&config.path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(&config.path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; remove it or choose another listen.unix",
                    config.path.display()
                ),
            ))
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(&config.path)?;
    std::fs::set_permissions(&config.path, std::fs::Permissions::from_mode(config.mode))?;
    let uid = config
        .owner
        .as_deref()
        .map(|name| lookup_id(Path::new("/etc/passwd"), name, "user"))
        .transpose()?;
    let gid = config
        .group
        .as_deref()
        .map(|name| lookup_id(Path::new("/etc/group"), name, "group"))
        .transpose()?;
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(&config.path, uid, gid)?;
    }
    Ok(listener)
}

/// A user or group number: `name` itself when numeric, else its entry in `file`
/// (`/etc/passwd` or `/etc/group`: `name:x:ID:...`).
fn lookup_id(file: &Path, name: &str, what: &str) -> io::Result<u32> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let entry = fields.next()?;
            let id = fields.nth(1)?.parse::<u32>().ok()?;
            (entry == name).then_some(id)
        })
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no {what} {name:?} in {}; give its number instead",
                    file.display()
                ),
            )
        })
}
