//! Embeds a mayfly CA in a Rust program and issues a certificate.
//!
//!     cargo run --example embed_ca [CA_DIR]
//!
//! Makes a new PKI in CA_DIR (default: a fresh folder under the system temp
//! directory, removed afterwards), opens the CA in-process on a memory store,
//! makes a one-time token as the "admin" provisioner, signs a CSR for a new
//! key and prints the certificate's serial, validity and description.

use std::time::{SystemTime, UNIX_EPOCH};

use mayfly::{init_pki, Ca, Csr, InitOptions, Key, KeyType, TokenOptions, TokenSigner};

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (dir, temporary) = match std::env::args_os().nth(1) {
        Some(d) => (std::path::PathBuf::from(d), false),
        None => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
            let d = std::env::temp_dir()
                .join(format!("mayfly-embed-ca-{}-{nanos}", std::process::id()));
            (d, true)
        }
    };
    let password = "example-password";

    // The PKI: root, intermediate and a JWK provisioner "admin". Few KDF
    // iterations keep the example quick; keep the default in production.
    let pki = init_pki(&InitOptions {
        name: Some("Example CA".into()),
        dns_names: vec!["ca.example.internal".into()],
        kdf_iterations: Some(10_000),
        ..InitOptions::new(&dir, password)
    })?;
    println!("PKI in {} (root fingerprint {})", dir.display(), pki.root_fingerprint);

    let ca = Ca::open(&pki.config_path, password, Some("memory:"))?;
    let signer = TokenSigner::from_ca(&ca, "admin", password)?;
    let token = signer.sign(
        &TokenOptions::sign("web.example.internal", "https://ca.example.internal")
            .with_sans(["web.example.internal", "10.0.0.7"]),
    )?;

    let key = Key::generate(KeyType::P256)?;
    let csr = Csr::new(&key, Some("web.example.internal"), &["web.example.internal", "10.0.0.7"])?;
    let chain = ca.sign(&csr, &token)?;

    let leaf = chain.leaf();
    let validity = leaf.validity()?;
    println!("serial: {}", leaf.serial()?);
    println!("common name: {}", leaf.common_name()?);
    println!(
        "valid: {} .. {} (unix seconds, {} s)",
        unix_seconds(validity.not_before),
        unix_seconds(validity.not_after),
        validity.lifetime().as_secs()
    );
    println!("chain: {} certificates", chain.len());
    println!("{}", leaf.inspect()?);

    if temporary {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
