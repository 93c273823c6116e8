//! A text or path that many findings share, behind one thin pointer.
//!
//! Its own module, below findings and fixes alike (`diag` re-exports it): a fix's title is one
//! too, and fixes never name findings.
//!
//! A finding's help, label and file repeat word for word on each finding of a code in a file
//! and are shared (`diag::Shared`). As `Arc<str>` or `Arc<Path>` each costs sixteen bytes on
//! every finding; as `Thin` eight: 4.8 MB over a report of 200,000 findings (issue #11). The
//! price, a second allocation per distinct text, is paid once per text, not per finding.
//!
//! The text inside is itself an `Arc`, so code that keeps a text beyond the finding (a fix
//! run records 100,000 fix titles) takes a plain `Arc` of it (`Thin::shared`), not a copy.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Thin<T: ?Sized>(Arc<Arc<T>>);

impl<T: ?Sized> Thin<T> {
    /// Whether both are the one shared buffer.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// What it holds, as an `Arc` sharing the buffer: no copy.
    pub fn shared(&self) -> Arc<T> {
        Arc::clone(&self.0)
    }
}

impl<T: ?Sized> Clone for Thin<T> {
    fn clone(&self) -> Self {
        Thin(self.0.clone())
    }
}

impl<T: ?Sized> Deref for Thin<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> Borrow<T> for Thin<T> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> AsRef<T> for Thin<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Thin<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Thin<T> {}

/// Hashed as what it holds, so a set of them is searched by a `&str` or a `&Path`.
impl<T: ?Sized + Hash> Hash for Thin<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Thin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Thin<str> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl From<String> for Thin<str> {
    fn from(text: String) -> Self {
        Thin(Arc::new(Arc::from(text)))
    }
}

impl From<&str> for Thin<str> {
    fn from(text: &str) -> Self {
        Thin(Arc::new(Arc::from(text)))
    }
}

impl From<PathBuf> for Thin<Path> {
    fn from(path: PathBuf) -> Self {
        Thin(Arc::new(Arc::from(path)))
    }
}

impl From<&Path> for Thin<Path> {
    fn from(path: &Path) -> Self {
        Thin(Arc::new(Arc::from(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_thin_text_or_path_is_one_pointer_and_reads_as_what_it_holds() {
        assert_eq!(std::mem::size_of::<Option<Thin<str>>>(), 8);
        assert_eq!(std::mem::size_of::<Option<Thin<Path>>>(), 8);
        let help = Thin::<str>::from(format!("instar {} skips this job", "1.3"));
        assert_eq!(&*help, "instar 1.3 skips this job");
        assert_eq!(help.to_string(), "instar 1.3 skips this job");
        assert_eq!(
            format!("{help:?}"),
            format!("{:?}", "instar 1.3 skips this job")
        );
        let again = Thin::<str>::from("instar 1.3 skips this job");
        assert_eq!(help, again);
        assert!(!Thin::ptr_eq(&help, &again));
        assert!(Thin::ptr_eq(&help, &help.clone()));
        assert!(
            Arc::ptr_eq(&help.shared(), &help.clone().shared()),
            "one buffer, handed out without a copy"
        );
        let set: HashSet<Thin<str>> = [help.clone()].into_iter().collect();
        assert!(Thin::ptr_eq(
            set.get("instar 1.3 skips this job").unwrap(),
            &help
        ));
        let path = Thin::<Path>::from(PathBuf::from("/a/.instar/jobs.json"));
        assert_eq!(path.as_ref(), Path::new("/a/.instar/jobs.json"));
        assert_eq!(path, Thin::from(Path::new("/a/.instar/jobs.json")));
    }
}
