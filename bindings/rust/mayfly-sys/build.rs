//! Finds libmayfly.so and tells cargo how to link it.
//!
//! Where it looks, in order:
//! 1. `MAYFLY_LIB_DIR`: a directory holding libmayfly.so (such as a CMake
//!    build directory);
//! 2. the build directory of the mayfly checkout this crate lives in
//!    (`<repo>/build`, the directory scripts/build uses);
//! 3. `pkg-config --variable=libdir mayfly` (an installed mayfly.pc);
//! 4. otherwise the system linker path alone.
//!
//! For a found directory it emits the search path, and an rpath so that this
//! crate's tests run without LD_LIBRARY_PATH. Dependents cannot inherit
//! link arguments, so the directory is also published as `DEP_MAYFLY_LIB_DIR`
//! (this crate `links = "mayfly"`) for their build scripts to add the rpath.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const LIB_FILE: &str = "libmayfly.so";

fn has_lib(dir: &Path) -> bool {
    dir.join(LIB_FILE).exists()
}

fn from_env() -> Option<PathBuf> {
    let dir = PathBuf::from(env::var_os("MAYFLY_LIB_DIR")?);
    if !has_lib(&dir) {
        // Named explicitly: say so, but still use it (the linker reports a
        // missing library more precisely than we can).
        println!("cargo:warning=MAYFLY_LIB_DIR={} holds no {}", dir.display(), LIB_FILE);
    }
    Some(dir)
}

fn from_repo() -> Option<PathBuf> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    // bindings/rust/mayfly-sys -> the repository root.
    let root = manifest.parent()?.parent()?.parent()?;
    let dir = root.join("build");
    has_lib(&dir).then_some(dir)
}

fn from_pkg_config() -> Option<PathBuf> {
    let out = Command::new("pkg-config").args(["--variable=libdir", "mayfly"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    has_lib(&dir).then_some(dir)
}

fn main() {
    println!("cargo:rerun-if-env-changed=MAYFLY_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");

    let dir = from_env().or_else(from_repo).or_else(from_pkg_config);
    if let Some(dir) = &dir {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        println!("cargo:lib_dir={}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=mayfly");
}
