//! `Secret`: a string that never prints and is wiped from memory when dropped.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::Error;

/// A client secret (or any other credential string).
///
/// `Debug` and `Display` print `[redacted]`; the bytes are zeroed on drop. The only way to read
/// the value is [`Secret::expose`], which keeps every use greppable.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// Reads the secret from an environment variable (the variable's name may appear in errors,
    /// its value never does).
    pub fn from_env(var: &str) -> Result<Self, Error> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            Ok(_) => Err(Error::config("client_secret", format!("environment variable {var} is empty"))),
            Err(_) => {
                Err(Error::config("client_secret", format!("environment variable {var} is not set or not valid UTF-8")))
            }
        }
    }

    /// Reads the secret from a file; one trailing newline (`\n` or `\r\n`) is removed, so files
    /// written by `echo` or by Kubernetes secret mounts both work. Only a regular file (or a
    /// symlink to one) of at most 64 KiB is read: a FIFO, a device or a directory is refused
    /// without blocking.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read_credential_file(path, "client_secret", "secret file")?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::config("client_secret", format!("secret file {} is not UTF-8", shown(path))))?;
        let mut text = Zeroizing::new(text.to_string());
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            return Err(Error::config("client_secret", format!("secret file {} is empty", shown(path))));
        }
        Ok(Secret(text))
    }

    /// The secret value. Every call site is a place where the secret leaves this type.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The largest credential file cctoken reads (a secret, a PEM key or certificate chain, a JWK).
pub(crate) const MAX_CREDENTIAL_FILE: u64 = 64 * 1024;

/// A path as error messages quote it: bounded, on one line.
fn shown(path: &Path) -> String {
    crate::redact::quote(&path.to_string_lossy())
}

/// Reads a credential file without ever blocking or growing without bound: opened
/// non-blocking (a FIFO would otherwise wait for a writer forever), then checked on the open
/// descriptor to be a regular file of at most [`MAX_CREDENTIAL_FILE`] bytes, then read up to
/// one byte past the limit (a file that grows meanwhile is still refused).
pub(crate) fn read_credential_file(path: &Path, field: &'static str, what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    use std::io::Read as _;
    let fail = |why: String| Error::config(field, format!("{what} {}: {why}", shown(path)));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| fail(format!("cannot open: {}", e.kind())))?;
    let meta = file.metadata().map_err(|e| fail(format!("cannot stat: {}", e.kind())))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > MAX_CREDENTIAL_FILE {
        return Err(fail(format!("larger than {} KiB", MAX_CREDENTIAL_FILE / 1024)));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(MAX_CREDENTIAL_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {}", e.kind())))?;
    if bytes.len() as u64 > MAX_CREDENTIAL_FILE {
        return Err(fail(format!("larger than {} KiB", MAX_CREDENTIAL_FILE / 1024)));
    }
    Ok(bytes)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// Where the client secret comes from. A file source is re-read before every fetch (when asked),
/// so a rotated Kubernetes/Vault file is picked up without a restart.
#[derive(Clone, Debug)]
pub(crate) enum SecretSource {
    Value(Secret),
    File { path: PathBuf, reread: bool, last: Secret },
}

impl SecretSource {
    /// The secret to use for the next request.
    pub(crate) fn current(&self) -> Result<Secret, Error> {
        match self {
            SecretSource::Value(s) => Ok(s.clone()),
            SecretSource::File { path, reread: true, .. } => Secret::from_file(path),
            SecretSource::File { last, .. } => Ok(last.clone()),
        }
    }
}
