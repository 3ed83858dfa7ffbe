//! `--install-binfmt` / `--uninstall-binfmt`: lets `./app` run a HermitCore image through this proxy.
//!
//! The host kernel's binfmt_misc recognises an image by the first 20 bytes of its ELF header
//! (64-bit, little-endian, `EI_OSABI` 0xFF, `ET_EXEC`, x86-64) and runs
//! `<proxy> <image> <arguments>` for it, as the original's packaging did with its proxy.

use std::path::{Path, PathBuf};

/// Where binfmt_misc lives; mounted here if it is not yet.
const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// Name of the entry when none is given.
pub const DEFAULT_NAME: &str = "hermit";

/// The ELF header bytes that identify an image: `\x7fELF`, class 64, little-endian,
/// version 1, OSABI 0xFF; then (after 8 bytes the mask ignores) `ET_EXEC` and `EM_X86_64`.
const MAGIC: [u8; 20] = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0];
/// Which bytes of [`MAGIC`] must match.
const MASK: [u8; 20] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];

/// The line written to `register` for entry `name` with interpreter `proxy`.
fn registration(name: &str, proxy: &Path) -> Result<String, String> {
    let proxy = proxy.to_str().ok_or_else(|| format!("the proxy's path {proxy:?} is not UTF-8"))?;
    if name.is_empty() || name.contains([':', '/']) || name == "." || name == ".." {
        return Err(format!("{name:?} cannot name a binfmt_misc entry"));
    }
    if proxy.contains(':') {
        return Err(format!("binfmt_misc cannot take an interpreter path with ':' ({proxy})"));
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("\\x{b:02x}")).collect::<String>();
    Ok(format!(":{name}:M::{}:{}:{proxy}:", hex(&MAGIC), hex(&MASK)))
}

/// Mounts binfmt_misc at its usual place unless it is there.
fn ensure_mounted() -> Result<(), String> {
    if Path::new(BINFMT_DIR).join("register").exists() {
        return Ok(());
    }
    let status = std::process::Command::new("mount")
        .args(["-t", "binfmt_misc", "binfmt_misc", BINFMT_DIR])
        .status()
        .map_err(|e| format!("cannot run mount to mount binfmt_misc at {BINFMT_DIR}: {e}"))?;
    if !status.success() || !Path::new(BINFMT_DIR).join("register").exists() {
        return Err(format!("binfmt_misc is not available at {BINFMT_DIR} and could not be mounted (needs root)"));
    }
    Ok(())
}

fn entry(name: &str) -> PathBuf {
    Path::new(BINFMT_DIR).join(name)
}

/// Writes `-1` to the entry, which removes it.
fn remove(name: &str) -> Result<(), String> {
    std::fs::write(entry(name), "-1").map_err(|e| format!("cannot remove binfmt_misc entry {name}: {e}"))
}

/// Registers (or re-registers) entry `name` for this proxy binary.
pub fn install(name: &str) -> Result<String, String> {
    let proxy = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot find the proxy's own path: {e}"))?;
    let line = registration(name, &proxy)?;
    ensure_mounted()?;
    if entry(name).exists() {
        remove(name)?;
    }
    std::fs::write(Path::new(BINFMT_DIR).join("register"), &line)
        .map_err(|e| format!("cannot register binfmt_misc entry {name} (needs root): {e}"))?;
    Ok(format!(
        "registered binfmt_misc entry {name}: HermitCore images now run through {} when executed \
         (chmod +x app && ./app); remove it with proxy --uninstall-binfmt",
        proxy.display()
    ))
}

/// Removes entry `name`.
pub fn uninstall(name: &str) -> Result<String, String> {
    if !entry(name).exists() {
        return Err(format!("no binfmt_misc entry {name} is registered"));
    }
    remove(name)?;
    Ok(format!("removed binfmt_misc entry {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_line_matches_our_images_only() {
        let line = registration("hermit", Path::new("/opt/hermit/bin/proxy")).unwrap();
        assert!(line.starts_with(":hermit:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\xff"));
        assert!(line.ends_with(":/opt/hermit/bin/proxy:"));
        assert_eq!(line.matches(':').count(), 7);
    }

    #[test]
    fn mask_matches_accepted_images_and_not_linux_programs() {
        let matches = |file: &[u8]| MAGIC.iter().zip(MASK).zip(file).all(|((m, k), b)| m & k == b & k);
        let mut image = crate::elf::tests::image();
        assert!(crate::elf::parse(&image, 512 << 20).is_ok());
        assert!(matches(&image));
        image[7] = 0; // ELFOSABI_SYSV: a Linux program
        assert!(!matches(&image));
    }

    #[test]
    fn bad_names_and_paths_are_refused() {
        assert!(registration("a:b", Path::new("/p")).is_err());
        assert!(registration("", Path::new("/p")).is_err());
        assert!(registration("x", Path::new("/a:b/proxy")).is_err());
    }
}
