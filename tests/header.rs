//! The committed header must equal the one cbindgen generates from src/ffi (drift check), and
//! its version macros must match Cargo.toml. `make header` re-blesses the committed copy.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/cctoken.h"));
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include/cctoken.h");

#[test]
fn committed_header_matches_generated() {
    if std::env::var_os("CCTOKEN_BLESS_HEADER").is_some() {
        std::fs::write(COMMITTED, GENERATED).expect("write include/cctoken.h");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).expect("include/cctoken.h exists");
    assert!(committed == GENERATED, "include/cctoken.h is stale: run `make header` and commit it");
}

#[test]
fn version_macros_match_cargo_toml() {
    let define = |name: &str| -> String {
        let prefix = format!("#define {name} ");
        GENERATED
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{name} missing from the header"))
            .trim()
            .to_string()
    };
    assert_eq!(define("CCT_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(define("CCT_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(define("CCT_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    let v = unsafe { std::ffi::CStr::from_ptr(cctoken::ffi::cct_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(cctoken::ffi::cct_abi_version(), define("CCT_ABI_VERSION").parse::<u32>().unwrap());
}
