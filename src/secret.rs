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
    /// written by `echo` or by Kubernetes secret mounts both work.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let mut text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Error::config("client_secret", format!("cannot read secret file {}: {}", path.display(), e.kind()))
        })?);
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            return Err(Error::config("client_secret", format!("secret file {} is empty", path.display())));
        }
        Ok(Secret(text))
    }

    /// The secret value. Every call site is a place where the secret leaves this type.
    pub fn expose(&self) -> &str {
        &self.0
    }
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
