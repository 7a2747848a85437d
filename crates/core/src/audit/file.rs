//! The `file` audit device's options and sink (Vault's `builtin/audit/file`).
//!
//! The file is opened `O_APPEND` and written one whole line per entry under a lock, so lines
//! never interleave. Before each write the path is checked: a file that was moved or deleted
//! is reopened (without re-creating removed directories), and a regular file whose owner may
//! no longer write it is refused, even when the server runs as root, so that taking the
//! permission away makes the device fail closed.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::CoreError;

/// Where a file device writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The server's standard output.
    Stdout,
    /// Nowhere (entries are still built, so HMAC and format errors still surface).
    Discard,
    /// A file, appended to.
    File(PathBuf),
}

/// How a device renders entries (Vault's `FormatterConfig` plus the line prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FormatOptions {
    /// `log_raw`: nothing is HMAC'd.
    pub(crate) raw: bool,
    /// `hmac_accessor`: accessors are HMAC'd (default true).
    pub(crate) hmac_accessor: bool,
    /// `elide_list_responses`: list `keys` and `key_info` become counts.
    pub(crate) elide_list_responses: bool,
    /// `prefix`: written before every line.
    pub(crate) prefix: String,
}

/// A file device's parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileOptions {
    pub(crate) target: Target,
    /// The file mode to set; `None` for `0000` ("leave the mode alone").
    pub(crate) mode: Option<u32>,
    pub(crate) format: FormatOptions,
}

/// Go's `strconv.ParseBool`, with its error text.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {value:?}: invalid syntax"
        )),
    }
}

fn bool_option(
    options: &BTreeMap<String, String>,
    key: &str,
    default: bool,
) -> Result<bool, String> {
    options
        .get(key)
        .map_or(Ok(default), |value| parse_bool(value))
}

/// Parses the options of a `file` device, with Vault's errors.
pub(crate) fn parse_options(options: &BTreeMap<String, String>) -> Result<FileOptions, String> {
    let path = options
        .get("file_path")
        .or_else(|| options.get("path"))
        .ok_or_else(|| "\"file_path\" is required".to_owned())?;
    let target = if path.eq_ignore_ascii_case("stdout") {
        Target::Stdout
    } else if path.eq_ignore_ascii_case("discard") {
        Target::Discard
    } else if path.is_empty() {
        return Err("\"file_path\" is required".to_owned());
    } else {
        Target::File(PathBuf::from(path))
    };
    match options.get("format").map_or("json", String::as_str) {
        "json" => {}
        "jsonx" => {
            return Err(
                "jsonx formatting has been removed, consider switching to json by \
                        omitting \"format\" or setting it to \"json\""
                    .to_owned(),
            );
        }
        other => return Err(format!("unknown format type {other:?}")),
    }
    let format = FormatOptions {
        raw: bool_option(options, "log_raw", false)?,
        hmac_accessor: bool_option(options, "hmac_accessor", true)?,
        elide_list_responses: bool_option(options, "elide_list_responses", false)?,
        prefix: options.get("prefix").cloned().unwrap_or_default(),
    };
    let mode = match options.get("mode") {
        None => Some(0o600),
        Some(raw) => {
            let mode = u32::from_str_radix(raw, 8)
                .map_err(|_| format!("strconv.ParseUint: parsing {raw:?}: invalid syntax"))?;
            if mode > 0o7777 {
                return Err("file mode does not represent a regular file".to_owned());
            }
            // Executable bits are stripped (HCSEC-2025-14 / CVE-2025-6000).
            (mode != 0).then_some(mode & 0o666)
        }
    };
    if mode.is_none()
        && let Target::File(path) = &target
    {
        fs::metadata(path).map_err(|err| format!("stat {}: {err}", path.display()))?;
    }
    Ok(FileOptions {
        target,
        mode,
        format,
    })
}

/// Room for a typical entry (a request line is about 1 KiB, a response line 2 KiB), so the
/// line is serialized without regrowing.
const LINE_CAPACITY: usize = 2048;

/// Serializes an entry as one line: the prefix, Go-style JSON, a newline. The JSON is
/// written straight into the line; only the rare entry holding a byte Go escapes is rewritten.
pub(crate) fn encode_line(
    entry: &impl serde::Serialize,
    format: &FormatOptions,
) -> Result<Vec<u8>, CoreError> {
    let start = format.prefix.len();
    let mut out = Vec::with_capacity(start + LINE_CAPACITY);
    out.extend_from_slice(format.prefix.as_bytes());
    serde_json::to_writer(&mut out, entry)
        .map_err(|err| CoreError::internal(format!("failed to encode audit entry: {err}")))?;
    if let Some(first) = next_go_escaped(&out[start..]) {
        let json = out.split_off(start + first);
        go_escape(&json, &mut out);
    }
    out.push(b'\n');
    Ok(out)
}

/// Whether Go's encoder may escape this byte (0xE2 starts U+2028 and U+2029).
fn may_need_go_escape(byte: u8) -> bool {
    matches!(byte, b'<' | b'>' | b'&' | 0xE2)
}

/// The first byte that may need a Go escape. Whole chunks are tested with a branch-free fold
/// (the compiler turns it into vector compares), since nearly every entry has none.
fn next_go_escaped(bytes: &[u8]) -> Option<usize> {
    const CHUNK: usize = 64;
    let mut chunks = bytes.chunks_exact(CHUNK);
    let mut offset = 0;
    for chunk in &mut chunks {
        if chunk
            .iter()
            .fold(false, |hit, &byte| hit | may_need_go_escape(byte))
        {
            return chunk
                .iter()
                .position(|&byte| may_need_go_escape(byte))
                .map(|at| offset + at);
        }
        offset += CHUNK;
    }
    chunks
        .remainder()
        .iter()
        .position(|&byte| may_need_go_escape(byte))
        .map(|at| offset + at)
}

/// Go's encoder escapes `<`, `>`, `&`, U+2028 and U+2029; in JSON text they only occur
/// inside strings, so a byte-level rewrite is exact.
pub(crate) fn go_escape(json: &[u8], out: &mut Vec<u8>) {
    let mut rest = json;
    // Copy the runs between bytes that may need escaping in one go: most entries have none.
    while let Some(at) = next_go_escaped(rest) {
        out.extend_from_slice(&rest[..at]);
        let tail = &rest[at..];
        let consumed = match tail {
            [b'<', ..] => {
                out.extend_from_slice(br"\u003c");
                1
            }
            [b'>', ..] => {
                out.extend_from_slice(br"\u003e");
                1
            }
            [b'&', ..] => {
                out.extend_from_slice(br"\u0026");
                1
            }
            [0xE2, 0x80, 0xA8, ..] => {
                out.extend_from_slice(br"\u2028");
                3
            }
            [0xE2, 0x80, 0xA9, ..] => {
                out.extend_from_slice(br"\u2029");
                3
            }
            _ => {
                out.push(tail[0]);
                1
            }
        };
        rest = &tail[consumed..];
    }
    out.extend_from_slice(rest);
}

/// An open file and the identity of the inode it names.
#[derive(Debug)]
struct OpenFile {
    file: File,
    dev: u64,
    ino: u64,
}

/// The writer of one file device.
#[derive(Debug)]
pub(crate) struct Sink {
    target: Target,
    mode: Option<u32>,
    file: Mutex<Option<OpenFile>>,
}

impl Sink {
    /// Opens the device's file (creating it and its directories), as Vault's factory does
    /// for its sanity check.
    pub(crate) fn open(target: Target, mode: Option<u32>) -> io::Result<Self> {
        let sink = Self {
            target,
            mode,
            file: Mutex::new(None),
        };
        if let Target::File(path) = &sink.target {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)?;
            }
            let opened = open_file(path, sink.mode)?;
            *sink.lock() = Some(opened);
        }
        Ok(sink)
    }

    /// Whether entries go to a file (and so are worth writing in groups).
    pub(crate) fn is_file(&self) -> bool {
        matches!(self.target, Target::File(_))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OpenFile>> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one line. A failed write closes the file, reopens it once and retries, as
    /// Vault does.
    pub(crate) fn write(&self, line: &[u8]) -> io::Result<()> {
        let path = match &self.target {
            Target::Discard => return Ok(()),
            Target::Stdout => return io::stdout().lock().write_all(line),
            Target::File(path) => path,
        };
        let mut guard = self.lock();
        let file = self.checked(path, &mut guard)?;
        if file.write_all(line).is_ok() {
            return Ok(());
        }
        *guard = None;
        let mut reopened = open_file(path, self.mode)?;
        let result = reopened.file.write_all(line);
        *guard = Some(reopened);
        result
    }

    /// The open file, reopened first when the path no longer names it.
    fn checked<'a>(
        &self,
        path: &Path,
        guard: &'a mut Option<OpenFile>,
    ) -> io::Result<&'a mut File> {
        let current = match fs::metadata(path) {
            Ok(meta) => {
                refuse_unwritable(path, &meta)?;
                Some((meta.dev(), meta.ino()))
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        let stale = match (guard.as_ref(), current) {
            (Some(open), Some(id)) => (open.dev, open.ino) != id,
            _ => true,
        };
        if stale {
            *guard = None;
            *guard = Some(open_file(path, self.mode)?);
        }
        match guard.as_mut() {
            Some(open) => Ok(&mut open.file),
            None => Err(io::Error::other("audit file is not open")),
        }
    }

    /// Closes and reopens the file (SIGHUP, for log rotation).
    pub(crate) fn reopen(&self) -> io::Result<()> {
        let Target::File(path) = &self.target else {
            return Ok(());
        };
        let mut guard = self.lock();
        *guard = None;
        *guard = Some(open_file(path, self.mode)?);
        Ok(())
    }
}

/// A regular file whose owner-write bit is clear is not written, whoever we run as.
fn refuse_unwritable(path: &Path, meta: &fs::Metadata) -> io::Result<()> {
    let mode = meta.permissions().mode();
    if meta.is_file() && mode & 0o200 == 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not writable (mode {:04o})",
                path.display(),
                mode & 0o7777
            ),
        ));
    }
    Ok(())
}

/// Opens `path` for appending, creating it with `mode`, then sets the mode in case the
/// file already existed (not for devices such as `/dev/null`).
fn open_file(path: &Path, mode: Option<u32>) -> io::Result<OpenFile> {
    if let Ok(meta) = fs::metadata(path) {
        refuse_unwritable(path, &meta)?;
    }
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode.unwrap_or(0o600))
        .open(path)?;
    let meta = file.metadata()?;
    if let Some(mode) = mode
        && meta.is_file()
        && meta.permissions().mode() & 0o7777 != mode
    {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(OpenFile {
        dev: meta.dev(),
        ino: meta.ino(),
        file,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn options_follow_vault() {
        let parsed = parse_options(&options(&[("file_path", "STDOUT")])).unwrap();
        assert_eq!(parsed.target, Target::Stdout);
        assert_eq!(parsed.mode, Some(0o600));
        assert!(parsed.format.hmac_accessor && !parsed.format.raw);
        let parsed = parse_options(&options(&[("path", "Discard"), ("log_raw", "true")])).unwrap();
        assert_eq!(parsed.target, Target::Discard);
        assert!(parsed.format.raw);
        let parsed =
            parse_options(&options(&[("file_path", "/x/a.log"), ("mode", "0755")])).unwrap();
        assert_eq!(parsed.mode, Some(0o644));
        let error = |pairs: &[(&str, &str)]| parse_options(&options(pairs)).unwrap_err();
        assert_eq!(error(&[]), "\"file_path\" is required");
        assert_eq!(
            error(&[("file_path", "stdout"), ("format", "xml")]),
            "unknown format type \"xml\""
        );
        assert!(
            error(&[("file_path", "stdout"), ("format", "jsonx")]).starts_with("jsonx formatting")
        );
        assert_eq!(
            error(&[("file_path", "stdout"), ("hmac_accessor", "yes")]),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(
            error(&[("file_path", "stdout"), ("mode", "9")]),
            "strconv.ParseUint: parsing \"9\": invalid syntax"
        );
        assert_eq!(
            error(&[("file_path", "stdout"), ("mode", "40755")]),
            "file mode does not represent a regular file"
        );
        assert!(
            error(&[("file_path", "/nonexistent/x.log"), ("mode", "0000")]).starts_with("stat ")
        );
    }

    /// A directory removed when the test ends.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new() -> Self {
            let path = std::env::temp_dir().join(format!("warden-audit-{}", uuid::Uuid::new_v4()));
            fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn sink_appends_reopens_and_fails_closed() {
        let dir = TempDir::new();
        let path = dir.path().join("sub/audit.log");
        let sink = Sink::open(Target::File(path.clone()), Some(0o600)).unwrap();
        sink.write(b"one\n").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Rotated away: the next write goes to a fresh file at the path.
        fs::rename(&path, dir.path().join("rotated.log")).unwrap();
        sink.write(b"two\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(
            fs::read_to_string(dir.path().join("rotated.log")).unwrap(),
            "one\n"
        );
        // Permission taken away: refused, then accepted again once restored.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        assert!(sink.write(b"three\n").is_err());
        assert!(sink.reopen().is_err());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        sink.write(b"four\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\nfour\n");
        // The directory removed: not re-created, the write fails.
        fs::remove_dir_all(dir.path().join("sub")).unwrap();
        assert!(sink.write(b"five\n").is_err());
    }
}
