//! The terminal's screens, tested the gitui way: drive the pure `update`
//! with keys and account-task reports, then draw into a `TestBackend` at
//! 80x24 and compare with a snapshot (tests/screens/snapshots/). The
//! fixtures are fixed (keys, times, paths), so nothing volatile needs
//! masking; docs/user-guide.md shows these same captures and a test checks
//! that it still does.

/// Snapshots the screen of `$app` under `$name` (no module prefix, so the
/// user guide can name the files).
macro_rules! snapshot {
    ($name:literal, $app:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, crate::fixtures::screen(&$app));
        })
    };
}

mod fixtures;
mod guide;
mod member;
mod store;
mod update;
