//! Checks mayfly-sys against include/mayfly/c.h and the built library:
//! - every function of c.h is declared here with the same parameter and
//!   return types, and nothing else is;
//! - every callback type and constant matches;
//! - every function links (a symbol missing from libmayfly.so fails the link
//!   of this test);
//! - the version constants match the library at run time.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::path::PathBuf;

use mayfly_sys::*;

fn repo_file(rel: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let path = root.join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn sys_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    std::fs::read_to_string(path).unwrap()
}

/// Removes C comments.
fn strip_c_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.map_or(true, |l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b..].find("*/").expect("unterminated comment");
                rest = &rest[b + end + 2..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Removes Rust line comments (the source has no block comments).
fn strip_rust_comments(s: &str) -> String {
    s.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// Splits on commas outside parentheses and angle brackets.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur.trim().to_string());
    }
    parts
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Maps a C type (with a trailing parameter name when `named`) to the Rust
/// spelling mayfly-sys must use, without spaces.
fn c_type_to_rust(decl: &str, named: bool, typedefs: &BTreeMap<String, String>) -> String {
    let decl = decl.trim();
    // An inline function pointer: RET (*name)(PARAMS).
    if let Some(star) = decl.find("(*") {
        let close = star + decl[star..].find(')').unwrap();
        let ret = &decl[..star];
        let params = &decl[close + 1..].trim();
        let params = &params[1..params.len() - 1];
        return fn_sig(ret, params, typedefs);
    }
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in decl.chars() {
        if is_ident_char(c) {
            word.push(c);
        } else {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if c == '*' {
                tokens.push("*".into());
            }
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    if named {
        let last = tokens.pop().expect("empty parameter");
        assert!(last != "*", "unnamed parameter in {decl:?}");
    }
    let mut it = tokens.into_iter().peekable();
    let mut is_const = false;
    if it.peek().map(String::as_str) == Some("const") {
        is_const = true;
        it.next();
    }
    let base = it.next().expect("no base type");
    let mut ty = match base.as_str() {
        "int" => "c_int".to_string(),
        "char" => "c_char".to_string(),
        "void" => "c_void".to_string(),
        "size_t" => "usize".to_string(),
        "uint8_t" => "u8".to_string(),
        "uint32_t" => "u32".to_string(),
        "int64_t" => "i64".to_string(),
        "uint64_t" => "u64".to_string(),
        other if other.starts_with("mayfly_") => {
            typedefs.get(other).cloned().unwrap_or_else(|| other.to_string())
        }
        other => panic!("unexpected C type {other} in {decl:?}"),
    };
    let mut pointers = 0;
    for t in it {
        match t.as_str() {
            "*" => {
                ty = format!("{}{}", if is_const { "*const" } else { "*mut" }, ty);
                is_const = false;
                pointers += 1;
            }
            "const" => is_const = true,
            other => panic!("unexpected token {other} in {decl:?}"),
        }
    }
    if ty == "c_void" && pointers == 0 {
        return "()".to_string();
    }
    ty
}

/// A callback's normalised signature: fn(A,B)->R.
fn fn_sig(ret: &str, params: &str, typedefs: &BTreeMap<String, String>) -> String {
    let params: Vec<String> = if params.trim() == "void" {
        Vec::new()
    } else {
        split_top(params).iter().map(|p| c_type_to_rust(p, true, typedefs)).collect()
    };
    format!("fn({})->{}", params.join(","), c_type_to_rust(ret, false, typedefs))
}

struct CHeader {
    functions: BTreeMap<String, (Vec<String>, String)>,
    callbacks: BTreeMap<String, String>,
    constants: BTreeMap<String, i64>,
}

fn parse_c_header() -> CHeader {
    let raw = repo_file("include/mayfly/c.h");
    let mut constants = BTreeMap::new();
    for line in raw.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        if let Ok(v) = value.parse::<i64>() {
            constants.insert(name.to_string(), v);
        }
    }
    let text: String = strip_c_comments(&raw)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut callbacks = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for stmt in text.split(';') {
        let stmt = stmt.replace('\n', " ");
        let stmt = stmt.trim();
        if let Some(rest) = stmt.strip_prefix("typedef") {
            if let Some(star) = rest.find("(*") {
                let close = star + rest[star..].find(')').unwrap();
                let name = rest[star + 2..close].trim().to_string();
                let params = rest[close + 1..].trim();
                let params = &params[1..params.len() - 1];
                let sig = fn_sig(&rest[..star], params, &BTreeMap::new());
                callbacks.insert(name, sig);
            }
            continue;
        }
        let Some(at) = stmt.find("MAYFLY_EXPORT") else {
            continue;
        };
        let decl = &stmt[at + "MAYFLY_EXPORT".len()..];
        let open = decl.find('(').unwrap();
        let head = decl[..open].trim_end();
        let name_start = head.rfind(|c: char| !is_ident_char(c)).map_or(0, |i| i + 1);
        let name = head[name_start..].to_string();
        let ret = c_type_to_rust(&head[..name_start], false, &callbacks);
        let params = decl[open + 1..decl.rfind(')').unwrap()].trim();
        let params: Vec<String> = if params == "void" {
            Vec::new()
        } else {
            split_top(params).iter().map(|p| c_type_to_rust(p, true, &callbacks)).collect()
        };
        assert!(
            functions.insert(name.clone(), (params, ret)).is_none(),
            "{name} declared twice in c.h"
        );
    }
    CHeader { functions, callbacks, constants }
}

struct RustDecls {
    functions: BTreeMap<String, (Vec<String>, String)>,
    callbacks: BTreeMap<String, String>,
    constants: BTreeMap<String, i64>,
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `Option<unsafe extern "C" fn(a: A, b: B) -> R>` as fn(A,B)->R.
fn rust_fn_sig(ty: &str) -> Option<String> {
    let ty = squash(ty);
    let inner = ty.strip_prefix("Option<unsafeextern\"C\"fn(")?.strip_suffix('>')?;
    let close = inner.rfind(')')?;
    let params: Vec<String> = split_top(&inner[..close])
        .iter()
        .map(|p| p.split_once(':').expect("unnamed callback parameter").1.to_string())
        .collect();
    let ret = inner[close + 1..].trim_end_matches(',');
    let ret = ret.strip_prefix("->").unwrap_or("()").to_string();
    Some(format!("fn({})->{}", params.join(","), ret))
}

fn parse_rust() -> RustDecls {
    let src = strip_rust_comments(&sys_source());
    let mut constants = BTreeMap::new();
    let mut callbacks = BTreeMap::new();
    let mut functions = BTreeMap::new();
    let (items, externs) = src.split_once("extern \"C\" {").expect("no extern block");
    for stmt in items.split(';') {
        let stmt = stmt.trim();
        let stmt = stmt.rsplit("\n\n").next().unwrap().trim();
        if let Some(rest) = stmt.strip_prefix("pub const ") {
            let (name, value) = rest.split_once('=').unwrap();
            let name = name.split(':').next().unwrap().trim();
            if let Ok(v) = value.trim().parse::<i64>() {
                constants.insert(name.to_string(), v);
            }
        } else if let Some(rest) = stmt.strip_prefix("pub type ") {
            let (name, ty) = rest.split_once('=').unwrap();
            if let Some(sig) = rust_fn_sig(ty) {
                callbacks.insert(name.trim().to_string(), sig);
            }
        }
    }
    let externs = &externs[..externs.rfind('}').unwrap()];
    for stmt in externs.split(';') {
        let stmt = squash(stmt);
        if stmt.is_empty() {
            continue;
        }
        let rest = stmt.strip_prefix("pubfn").expect(&stmt);
        let open = rest.find('(').unwrap();
        let close = rest.rfind(')').unwrap();
        let name = rest[..open].to_string();
        let params: Vec<String> = split_top(&rest[open + 1..close])
            .iter()
            .map(|p| {
                let ty = p.split_once(':').unwrap().1;
                callbacks.get(ty).cloned().unwrap_or_else(|| ty.to_string())
            })
            .collect();
        let ret = rest[close + 1..].strip_prefix("->").unwrap_or("()").to_string();
        functions.insert(name, (params, ret));
    }
    RustDecls { functions, callbacks, constants }
}

#[test]
fn functions_match_c_header() {
    let c = parse_c_header();
    let rust = parse_rust();
    assert!(c.functions.len() > 100, "parsed only {} functions", c.functions.len());
    let mut problems = Vec::new();
    for (name, sig) in &c.functions {
        match rust.functions.get(name) {
            None => problems.push(format!("{name} is not declared in mayfly-sys")),
            Some(r) if r != sig => {
                problems.push(format!("{name}: c.h has {sig:?}, mayfly-sys has {r:?}"))
            }
            Some(_) => {}
        }
    }
    for name in rust.functions.keys() {
        if !c.functions.contains_key(name) {
            problems.push(format!("{name} is declared in mayfly-sys but not in c.h"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn callback_types_match_c_header() {
    let c = parse_c_header();
    let rust = parse_rust();
    assert_eq!(c.callbacks.len(), 4);
    for (name, sig) in &c.callbacks {
        assert_eq!(rust.callbacks.get(name), Some(sig), "callback type {name}");
    }
    assert_eq!(rust.callbacks["mayfly_destroy_fn"], "fn(*mutc_void)->()");
}

#[test]
fn constants_match_c_header() {
    let c = parse_c_header();
    let rust = parse_rust();
    assert!(c.constants.len() >= 28, "parsed only {} constants", c.constants.len());
    for (name, value) in &c.constants {
        assert_eq!(rust.constants.get(name), Some(value), "constant {name}");
    }
    // The values the code uses, not only the source text.
    assert_eq!(MAYFLY_UNAUTHENTICATED, 16);
    assert_eq!(MAYFLY_KEY_RSA, 3);
    assert_eq!(MAYFLY_EVENT_SINK_FAILED, 4);
    assert_eq!(MAYFLY_TOKEN_REVOKE, 1);
}

#[test]
fn version_matches_library() {
    let number = unsafe { mayfly_version_number() };
    assert_eq!(number, MAYFLY_VERSION_NUMBER);
    let text = unsafe { CStr::from_ptr(mayfly_version()) };
    assert_eq!(text.to_str().unwrap(), MAYFLY_VERSION_STRING);
    let version_file = repo_file("VERSION");
    assert_eq!(version_file.trim(), MAYFLY_VERSION_STRING);
    assert_eq!(env!("CARGO_PKG_VERSION"), MAYFLY_VERSION_STRING);
}

#[test]
fn error_objects_carry_code_and_message() {
    unsafe {
        let mut key = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        let rc = mayfly_key_generate(99, &mut key, &mut err);
        assert_eq!(rc, MAYFLY_INVALID_ARGUMENT);
        assert!(key.is_null(), "output written on failure");
        assert!(!err.is_null());
        assert_eq!(mayfly_error_code(err), MAYFLY_INVALID_ARGUMENT);
        let msg = CStr::from_ptr(mayfly_error_message(err));
        assert!(!msg.to_bytes().is_empty());
        mayfly_error_free(err);
        mayfly_error_free(std::ptr::null_mut());
        mayfly_free(std::ptr::null_mut());
    }
}

macro_rules! linked {
    ($($f:ident),* $(,)?) => {
        vec![$((stringify!($f), $f as *const () as usize)),*]
    };
}

#[test]
fn every_function_links() {
    let linked: Vec<(&str, usize)> = linked![
        mayfly_version,
        mayfly_version_number,
        mayfly_free,
        mayfly_error_code,
        mayfly_error_message,
        mayfly_error_free,
        mayfly_certificate_inspect,
        mayfly_key_generate,
        mayfly_key_parse,
        mayfly_key_to_pem,
        mayfly_key_public_pem,
        mayfly_key_type,
        mayfly_key_free,
        mayfly_csr_new,
        mayfly_csr_parse,
        mayfly_csr_to_pem,
        mayfly_csr_free,
        mayfly_cert_parse,
        mayfly_cert_to_pem,
        mayfly_cert_to_der,
        mayfly_cert_serial,
        mayfly_cert_common_name,
        mayfly_cert_fingerprint,
        mayfly_cert_validity,
        mayfly_cert_free,
        mayfly_chain_parse,
        mayfly_chain_size,
        mayfly_chain_get,
        mayfly_chain_to_pem,
        mayfly_chain_free,
        mayfly_init_options_new,
        mayfly_init_options_free,
        mayfly_init_options_set_dir,
        mayfly_init_options_set_name,
        mayfly_init_options_add_dns_name,
        mayfly_init_options_set_address,
        mayfly_init_options_set_provisioner,
        mayfly_init_options_set_password,
        mayfly_init_options_set_provisioner_password,
        mayfly_init_options_set_key_type,
        mayfly_init_options_set_store,
        mayfly_init_options_set_overwrite,
        mayfly_init_options_set_kdf_iterations,
        mayfly_init_options_set_backdate,
        mayfly_pki_init,
        mayfly_init_result_config_path,
        mayfly_init_result_root_path,
        mayfly_init_result_root_fingerprint,
        mayfly_init_result_provisioner_kid,
        mayfly_init_result_free,
        mayfly_ca_open,
        mayfly_ca_free,
        mayfly_ca_roots,
        mayfly_ca_root_fingerprint,
        mayfly_provisioner_options_new,
        mayfly_provisioner_options_free,
        mayfly_provisioner_options_set_durations,
        mayfly_provisioner_options_set_disable_renewal,
        mayfly_provisioner_options_set_allow_renewal_after_expiry,
        mayfly_provisioner_options_set_kdf_iterations,
        mayfly_ca_add_provisioner,
        mayfly_ca_remove_provisioner,
        mayfly_ca_provisioners_json,
        mayfly_ca_sign,
        mayfly_ca_renew,
        mayfly_ca_renew_with_token,
        mayfly_ca_rekey,
        mayfly_ca_revoke,
        mayfly_ca_crl,
        mayfly_token_signer_new,
        mayfly_token_signer_from_ca,
        mayfly_token_signer_free,
        mayfly_token_options_new,
        mayfly_token_options_free,
        mayfly_token_options_set_subject,
        mayfly_token_options_set_ca_url,
        mayfly_token_options_set_purpose,
        mayfly_token_options_add_san,
        mayfly_token_options_set_root_fingerprint,
        mayfly_token_options_set_lifetime,
        mayfly_token_sign,
        mayfly_server_options_new,
        mayfly_server_options_free,
        mayfly_server_options_set_address,
        mayfly_server_options_set_worker_threads,
        mayfly_server_options_set_json_logs,
        mayfly_server_options_set_log_callback,
        mayfly_server_start,
        mayfly_server_port,
        mayfly_server_stop,
        mayfly_server_free,
        mayfly_client_new,
        mayfly_client_bootstrap,
        mayfly_client_free,
        mayfly_client_health,
        mayfly_client_roots,
        mayfly_client_provisioners_json,
        mayfly_client_sign,
        mayfly_client_sign_csr,
        mayfly_client_renew,
        mayfly_client_renew_with_token,
        mayfly_client_rekey,
        mayfly_client_revoke,
        mayfly_credentials_new,
        mayfly_credentials_free,
        mayfly_credentials_set,
        mayfly_credentials_current,
        mayfly_credentials_on_change,
        mayfly_event_type,
        mayfly_event_entry,
        mayfly_event_time_ms,
        mayfly_event_code,
        mayfly_event_message,
        mayfly_event_attempts,
        mayfly_event_next_attempt_ms,
        mayfly_event_chain,
        mayfly_scheduler_options_new,
        mayfly_scheduler_options_free,
        mayfly_scheduler_options_set_client,
        mayfly_scheduler_options_set_ca,
        mayfly_scheduler_options_set_event_callback,
        mayfly_scheduler_options_set_retry,
        mayfly_scheduler_new,
        mayfly_scheduler_free,
        mayfly_scheduler_start,
        mayfly_scheduler_stop,
        mayfly_scheduler_next_deadline_ms,
        mayfly_scheduler_run_due,
        mayfly_scheduler_size,
        mayfly_entry_options_new,
        mayfly_entry_options_free,
        mayfly_entry_options_add_credentials,
        mayfly_entry_options_add_files,
        mayfly_entry_options_add_exec,
        mayfly_entry_options_add_signal,
        mayfly_entry_options_add_callback,
        mayfly_scheduler_add,
        mayfly_scheduler_remove,
        mayfly_scheduler_update,
        mayfly_scheduler_entry_info,
    ];
    let c = parse_c_header();
    let names: Vec<&str> = linked.iter().map(|(n, _)| *n).collect();
    let expected: Vec<&str> = c.functions.keys().map(String::as_str).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected, "the list above must name every c.h function");
    for (name, addr) in linked {
        assert_ne!(addr, 0, "{name}");
    }
}
