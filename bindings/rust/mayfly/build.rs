//! Adds an rpath to the directory mayfly-sys found libmayfly.so in, so this
//! crate's tests and examples run without LD_LIBRARY_PATH (link arguments of
//! a dependency's build script do not reach dependents).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MAYFLY_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_MAYFLY_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
