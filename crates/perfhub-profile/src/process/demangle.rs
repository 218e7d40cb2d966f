//! Readable names of mangled symbols, and only of mangled ones.
//!
//! A C++ demangler given a plain C name reads it as a mangled *type*: `f` is
//! `float`, `g` is `__float128`, `i` is `int`. So a name is demangled only
//! when it carries a mangling prefix: `_Z` (Itanium C++, and Rust's legacy
//! `_ZN…17h<hash>E` scheme), `_R` (Rust v0), each also with the extra
//! leading underscore Mach-O adds. Every other name (C, Go, Swift, D, JIT
//! names, and names a demangler rejects) is kept as it is.

use std::borrow::Cow;

/// `name` demangled if it is a mangled Rust or C++ symbol, else `name`.
/// Rust names lose their hash suffix (`core::ptr::drop_in_place<T>`);
/// C++ names keep their parameters (`ns::f(int)`).
pub(crate) fn demangle(name: &str) -> Cow<'_, str> {
    let bare = name.strip_prefix('_').unwrap_or(name);
    let rust_v0 = bare.starts_with("_R") || name.starts_with("_R");
    let itanium = bare.starts_with("_Z") || name.starts_with("_Z");
    if !rust_v0 && !itanium {
        return Cow::Borrowed(name);
    }
    // Rust first: its legacy scheme is valid Itanium too, which a C++
    // demangler would show with the hash.
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        return Cow::Owned(format!("{rust:#}"));
    }
    if itanium
        && let Ok(symbol) = cpp_demangle::Symbol::new(name)
        && let Ok(readable) = symbol.demangle()
    {
        return Cow::Owned(readable);
    }
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_letter_c_names_are_kept_verbatim() {
        // Every Itanium builtin-type code, which a C++ demangler would read
        // as `void`, `wchar_t`, `bool`, ... `float`, `double`, `__float128`.
        for name in "v w b c a h s t i j l m x y n o f d e g z".split(' ') {
            assert_eq!(demangle(name), name);
        }
        for name in [
            "main",
            "f",
            "Dv",
            "St",
            "memcpy",
            "__libc_start_main",
            "_start",
            "__memmove_avx_unaligned_erms",
            "_dl_start",
            "_IO_file_write",
            "PyEval_EvalFrameDefault",
            "runtime.mallocgc",
            "$s4main3fooyyF",
            "_D4main3fooFZv",
            "LazyCompile:*sieveOfPrimes [eval]:1",
            "",
        ] {
            assert_eq!(demangle(name), name, "{name}");
        }
    }

    #[test]
    fn mangled_cpp_and_rust_names_are_demangled() {
        let cases = [
            ("_Z1fv", "f()"),
            ("_Z1gi", "g(int)"),
            ("_ZN2ns5Shape4areaEv", "ns::Shape::area()"),
            (
                "_ZNSt6vectorIiSaIiEE9push_backERKi",
                "std::vector<int, std::allocator<int> >::push_back(int const&)",
            ),
            ("_ZN3foo3barEd", "foo::bar(double)"),
            // GCC's clone suffixes.
            ("_Z4workPi.isra.0", "work(int*) [clone .isra.0]"),
            // Rust legacy, hash dropped.
            (
                "_ZN4core3ptr13drop_in_place17h0123456789abcdefE",
                "core::ptr::drop_in_place",
            ),
            (
                "_ZN3hot13hot_one_share17hd7a7b3c5f2b1e0a9E",
                "hot::hot_one_share",
            ),
            // Rust v0.
            (
                "_RNvCskwGfYPst2Cb_3foo16example_function",
                "foo::example_function",
            ),
            // Mach-O's extra underscore.
            ("__Z1fv", "f()"),
        ];
        for (mangled, readable) in cases {
            assert_eq!(demangle(mangled), readable, "{mangled}");
        }
    }

    #[test]
    fn malformed_mangled_names_are_kept() {
        for name in ["_Z", "_Zzz", "_R", "_RX", "_Z1"] {
            assert_eq!(demangle(name), name);
        }
    }
}
