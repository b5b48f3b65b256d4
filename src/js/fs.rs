//! arangosh's `fs` module, native side: one `SYS.fs(operation, path, other)` call per operation. Results
//! are JSON values; failures are thrown as `{errorNum, errorMessage}` objects naming the path, which the
//! prelude turns into ArangoErrors (`ERROR_FILE_NOT_FOUND`, `ERROR_CANNOT_WRITE_FILE`, ...).

use crate::error::codes;
use boa_engine::{Context, JsError, JsResult, JsValue};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A failed file operation: an error number and a message that names the file.
struct FsError(i64, String);

type FsResult = Result<Value, FsError>;

fn io_error(num: i64, what: &str, path: &Path, e: std::io::Error) -> FsError {
    let num = if e.kind() == std::io::ErrorKind::NotFound {
        codes::FILE_NOT_FOUND
    } else {
        num
    };
    FsError(num, format!("{what} '{}': {e}", path.display()))
}

fn not_found(path: &Path) -> FsError {
    FsError(
        codes::FILE_NOT_FOUND,
        format!("file not found: '{}'", path.display()),
    )
}

/// `fs.normalize`: `.` and `..` resolved lexically, doubled separators removed (no file system access).
pub fn normalize(p: &str) -> String {
    let path = Path::new(p);
    let mut out: Vec<String> = Vec::new();
    let absolute = path.has_root();
    for c in path.components() {
        match c {
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..".into());
                }
            }
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
        }
    }
    let joined = out.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn mtime(path: &Path) -> FsResult {
    let m =
        std::fs::metadata(path).map_err(|e| io_error(codes::SYS_ERROR, "cannot stat", path, e))?;
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(json!(t))
}

fn size(path: &Path) -> FsResult {
    let m =
        std::fs::metadata(path).map_err(|e| io_error(codes::SYS_ERROR, "cannot stat", path, e))?;
    if !m.is_file() {
        return Err(FsError(
            codes::FILE_NOT_FOUND,
            format!("'{}' is not a file", path.display()),
        ));
    }
    Ok(json!(m.len()))
}

fn read(path: &Path) -> FsResult {
    let bytes =
        std::fs::read(path).map_err(|e| io_error(codes::SYS_ERROR, "cannot read file", path, e))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

fn write(path: &Path, content: &str, append: bool) -> FsResult {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| io_error(codes::CANNOT_WRITE_FILE, "cannot write file", path, e))?;
    f.write_all(content.as_bytes())
        .map_err(|e| io_error(codes::CANNOT_WRITE_FILE, "cannot write file", path, e))?;
    Ok(Value::Bool(true))
}

fn list(path: &Path) -> FsResult {
    if !path.is_dir() {
        return Err(not_found(path));
    }
    let mut names: Vec<String> = std::fs::read_dir(path)
        .map_err(|e| io_error(codes::SYS_ERROR, "cannot list directory", path, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(json!(names))
}

/// Every entry below `root`, relative to it, the root itself first as `""` (arangosh's order).
fn list_tree(root: &Path) -> FsResult {
    if !root.exists() {
        return Err(not_found(root));
    }
    let mut out = vec![String::new()];
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        if !rel.as_os_str().is_empty() {
            out.push(rel.to_string_lossy().into_owned());
        }
        let dir = root.join(&rel);
        if !dir.is_dir() {
            continue;
        }
        let mut entries: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| io_error(codes::SYS_ERROR, "cannot list directory", &dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        for name in entries.into_iter().rev() {
            stack.push(rel.join(&name));
        }
    }
    Ok(json!(out))
}

fn make_directory(path: &Path, recursive: bool) -> FsResult {
    if recursive {
        std::fs::create_dir_all(path).map_err(|e| {
            FsError(
                codes::CANNOT_CREATE_DIRECTORY,
                format!("cannot create directory '{}': {e}", path.display()),
            )
        })?;
    } else if path.exists() {
        return Err(FsError(
            codes::FILE_EXISTS,
            format!("cannot create directory '{}': it exists", path.display()),
        ));
    } else {
        std::fs::create_dir(path).map_err(|e| {
            FsError(
                codes::CANNOT_CREATE_DIRECTORY,
                format!("cannot create directory '{}': {e}", path.display()),
            )
        })?;
    }
    Ok(Value::Bool(true))
}

fn remove_directory(path: &Path, recursive: bool) -> FsResult {
    if !path.is_dir() {
        return Err(FsError(
            codes::FILE_NOT_FOUND,
            format!("'{}' is not a directory", path.display()),
        ));
    }
    let r = if recursive {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_dir(path)
    };
    r.map_err(|e| io_error(codes::SYS_ERROR, "cannot remove directory", path, e))?;
    Ok(Value::Bool(true))
}

fn remove(path: &Path) -> FsResult {
    if path.is_dir() {
        return Err(FsError(
            codes::BAD_PARAMETER,
            format!(
                "'{}' is a directory: use removeDirectory or removeDirectoryRecursive",
                path.display()
            ),
        ));
    }
    std::fs::remove_file(path).map_err(|e| io_error(codes::SYS_ERROR, "cannot remove", path, e))?;
    Ok(Value::Bool(true))
}

/// `copyFile(src, dst)`: into `dst/<name of src>` if `dst` is a directory.
fn copy_file(src: &Path, dst: &Path) -> FsResult {
    if !src.is_file() {
        return Err(not_found(src));
    }
    let target = if dst.is_dir() {
        dst.join(src.file_name().unwrap_or_default())
    } else {
        dst.to_path_buf()
    };
    std::fs::copy(src, &target)
        .map_err(|e| io_error(codes::CANNOT_WRITE_FILE, "cannot copy to", &target, e))?;
    Ok(Value::Bool(true))
}

fn move_path(src: &Path, dst: &Path) -> FsResult {
    if !src.exists() {
        return Err(not_found(src));
    }
    std::fs::rename(src, dst)
        .map_err(|e| io_error(codes::CANNOT_OVERWRITE_FILE, "cannot move to", dst, e))?;
    Ok(Value::Bool(true))
}

fn temp_path() -> PathBuf {
    std::env::temp_dir()
}

/// `getTempFile(directory, createFile)`: a new name in the temporary directory (or in `directory`
/// below it), the file created empty if asked.
fn temp_file(directory: &str, create: bool) -> FsResult {
    let base = if directory.is_empty() {
        temp_path()
    } else {
        temp_path().join(directory)
    };
    std::fs::create_dir_all(&base).map_err(|e| {
        FsError(
            codes::CANNOT_CREATE_TEMP_FILE,
            format!("cannot create directory '{}': {e}", base.display()),
        )
    })?;
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = base.join(format!("tmp-{}-{nanos:x}{attempt}", std::process::id()));
        if p.exists() {
            continue;
        }
        if create {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(FsError(
                        codes::CANNOT_CREATE_TEMP_FILE,
                        format!("cannot create '{}': {e}", p.display()),
                    ));
                }
            }
        }
        return Ok(Value::String(p.to_string_lossy().into_owned()));
    }
    Err(FsError(
        codes::CANNOT_CREATE_TEMP_FILE,
        format!("no free temporary file name in '{}'", base.display()),
    ))
}

fn run(op: &str, a: &str, b: &str, flag: bool) -> FsResult {
    let pa = Path::new(a);
    match op {
        "normalize" => Ok(Value::String(normalize(a))),
        "exists" => Ok(Value::Bool(pa.exists())),
        "isFile" => Ok(Value::Bool(pa.is_file())),
        "isDirectory" => Ok(Value::Bool(pa.is_dir())),
        "size" => size(pa),
        "mtime" => mtime(pa),
        "read" => read(pa),
        "write" => write(pa, b, false),
        "append" => write(pa, b, true),
        "remove" => remove(pa),
        "list" => list(pa),
        "listTree" => list_tree(pa),
        "makeDirectory" => make_directory(pa, false),
        "makeDirectoryRecursive" => make_directory(pa, true),
        "removeDirectory" => remove_directory(pa, false),
        "removeDirectoryRecursive" => remove_directory(pa, true),
        "copyFile" => copy_file(pa, Path::new(b)),
        "move" => move_path(pa, Path::new(b)),
        "getTempPath" => Ok(Value::String(temp_path().to_string_lossy().into_owned())),
        "getTempFile" => temp_file(a, flag),
        "home" => Ok(Value::String(
            dirs::home_dir()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        )),
        _ => Err(FsError(
            codes::NOT_IMPLEMENTED,
            format!("fs.{op} is not supported"),
        )),
    }
}

/// `SYS.fs(operation, path, other, flag)`.
pub fn call(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let text = |i: usize, ctx: &mut Context| -> JsResult<String> {
        Ok(super::host::opt_string_arg(args, i, ctx)?.unwrap_or_default())
    };
    let op = text(0, ctx)?;
    let a = text(1, ctx)?;
    let b = text(2, ctx)?;
    let flag = args.get(3).is_some_and(JsValue::to_boolean);
    match run(&op, &a, &b, flag) {
        Ok(v) => JsValue::from_json(&v, ctx),
        Err(FsError(num, message)) => {
            let v = JsValue::from_json(&json!({"errorNum": num, "errorMessage": message}), ctx)?;
            Err(JsError::from_opaque(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normalize("a/../../b"), "../b");
        assert_eq!(normalize("./"), ".");
        assert_eq!(normalize("/.."), "/");
    }
}
