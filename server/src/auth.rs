//! Tokens and roles. A server with tokens asks every connection for one; the token's role says
//! what it may do: `read` (queries), `write` (queries and mutations), `admin` (everything,
//! admin requests included). Tokens are compared in constant time.
//!
//! The token list is text: entries `role:token`, separated by newlines or commas; blank lines
//! and lines starting with `#` are skipped. It comes from a file or an environment variable.

use subtle::ConstantTimeEq;

/// What a token may do, each role including the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Queries.
    Read,
    /// Queries and mutations.
    Write,
    /// Everything, admin requests included.
    Admin,
}

/// The configured tokens.
///
/// ```
/// use quiver_server::auth::{Role, Tokens};
/// let t = Tokens::parse("read:reader-token , admin:admin-token").unwrap();
/// assert_eq!(t.role_of("admin-token"), Some(Role::Admin));
/// assert_eq!(t.role_of("nope"), None);
/// ```
#[derive(Clone, Debug)]
pub struct Tokens {
    entries: Vec<(Vec<u8>, Role)>,
}

impl Tokens {
    /// Parses a token list; the error names the entry.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut entries = Vec::new();
        for (n, entry) in text.split(['\n', ',']).map(str::trim).enumerate() {
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let Some((role, token)) = entry.split_once(':') else {
                return Err(format!("token entry {} is not role:token", n + 1));
            };
            let role = match role.trim() {
                "read" => Role::Read,
                "write" => Role::Write,
                "admin" => Role::Admin,
                other => {
                    return Err(format!(
                        "token entry {}: unknown role {other:?} (read, write or admin)",
                        n + 1
                    ));
                }
            };
            let token = token.trim();
            if token.len() < 8 {
                return Err(format!("token entry {}: a token needs at least 8 characters", n + 1));
            }
            entries.push((token.as_bytes().to_vec(), role));
        }
        if entries.is_empty() {
            return Err("the token list holds no token".into());
        }
        Ok(Tokens { entries })
    }

    /// The role of `token`, comparing it with every configured token in constant time.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let mut found = None;
        for (t, role) in &self.entries {
            if bool::from(t.as_slice().ct_eq(token.as_bytes())) {
                found = Some(*role);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lists() {
        let t = Tokens::parse("# ops\nread:reader-1\nwrite:writer-1\n\nadmin:admin-01").unwrap();
        assert_eq!(t.role_of("writer-1"), Some(Role::Write));
        assert_eq!(t.role_of("reader-1"), Some(Role::Read));
        assert_eq!(t.role_of("reader-"), None);
        assert!(Role::Admin > Role::Write && Role::Write > Role::Read);
        assert_eq!(Tokens::parse("reader").unwrap_err(), "token entry 1 is not role:token");
        assert_eq!(
            Tokens::parse("root:abcdefgh").unwrap_err(),
            "token entry 1: unknown role \"root\" (read, write or admin)"
        );
        assert_eq!(
            Tokens::parse("read:short").unwrap_err(),
            "token entry 1: a token needs at least 8 characters"
        );
        assert_eq!(Tokens::parse("# none\n").unwrap_err(), "the token list holds no token");
    }
}
