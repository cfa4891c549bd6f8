//! Links that reach a page: a package's tracking link, a driver's photo.
//!
//! Anything a provider or a user typed is data, never a script. A link is an
//! absolute `https:` or `http:` URL, parsed the way browsers parse it (the
//! WHATWG rules of the `url` crate), so what we accept is what a browser
//! would follow: `JaVaScRiPt:`, `java\tscript:` (browsers drop tabs and
//! newlines inside a URL), `data:`, `vbscript:` and relative links are all
//! refused. Staff input with such a link is a 400; a provider's is dropped
//! and its fact kept; the views drop any that was stored before the check.

use url::Url;

/// The longest link we keep; real tracking links are far shorter.
pub const MAX_LINK: usize = 2048;

/// A link a page may put in an `href` or `src`: an absolute http(s) URL with
/// a host and no credentials, in its serialised (normalised) form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebLink(String);

/// Why a link was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("must be an absolute https: or http: URL")]
    NotWeb,
    /// `https://carrier.example@evil.example/` reads as the carrier's.
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must be at most {MAX_LINK} characters")]
    TooLong,
}

impl WebLink {
    pub fn parse(raw: &str) -> Result<WebLink, LinkError> {
        if raw.chars().count() > MAX_LINK {
            return Err(LinkError::TooLong);
        }
        let url = Url::parse(raw.trim()).map_err(|_| LinkError::NotWeb)?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none_or(str::is_empty) {
            return Err(LinkError::NotWeb);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LinkError::Credentials);
        }
        // Percent-encoding can lengthen what was typed.
        if url.as_str().len() > MAX_LINK {
            return Err(LinkError::TooLong);
        }
        Ok(WebLink(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<WebLink> for String {
    fn from(link: WebLink) -> String {
        link.0
    }
}

/// What a view may show of a stored link: the link if a page may follow it,
/// otherwise nothing (links stored before they were checked included).
pub fn safe(link: Option<&str>) -> Option<String> {
    link.and_then(|l| WebLink::parse(l).ok()).map(String::from)
}

/// The scheme a refused link claimed, for the log: never the link itself,
/// which is whatever the sender chose to write into our log.
pub fn scheme_of(raw: &str) -> String {
    Url::parse(raw.trim())
        .map(|u| u.scheme().to_string())
        .unwrap_or_else(|_| "unparsable".into())
}

/// Links a provider or a person might send that would run script (or show
/// a page of the sender's) if a page followed them, however the scheme is
/// spelled: the hostile input every test of links uses.
#[cfg(any(test, feature = "testkit"))]
pub const HOSTILE_LINKS: [&str; 5] = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_links_are_kept_in_their_normal_form() {
        for (raw, kept) in [
            (
                "https://www.ups.com/track?tracknum=1Z999AA10123456784",
                "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            ),
            ("  HTTPS://Track.Example/CP1 ", "https://track.example/CP1"),
            ("http://tools.usps.com/go", "http://tools.usps.com/go"),
            ("https://track.example/a b", "https://track.example/a%20b"),
        ] {
            assert_eq!(
                WebLink::parse(raw).map(String::from),
                Ok(kept.into()),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn script_and_other_schemes_are_refused_however_they_are_spelled() {
        for raw in [
            "javascript:alert(document.domain)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "ftp://example.com/x",
            "//evil.example/x",
            "/relative/path",
            "track.example/x",
            "",
        ] {
            assert_eq!(WebLink::parse(raw), Err(LinkError::NotWeb), "{raw:?}");
            assert_eq!(safe(Some(raw)), None, "{raw:?}");
        }
    }

    #[test]
    fn credentials_and_overlong_links_are_refused() {
        assert_eq!(
            WebLink::parse("https://ups.com@evil.example/"),
            Err(LinkError::Credentials)
        );
        let long = format!("https://track.example/{}", "a".repeat(MAX_LINK));
        assert_eq!(WebLink::parse(&long), Err(LinkError::TooLong));
        let grows = format!("https://track.example/{}x", " ".repeat(MAX_LINK / 2));
        assert_eq!(WebLink::parse(&grows), Err(LinkError::TooLong));
    }

    #[test]
    fn the_log_learns_the_scheme_only() {
        assert_eq!(scheme_of("JaVaScRiPt:alert(1)"), "javascript");
        assert_eq!(scheme_of("not a url\nforged log line"), "unparsable");
    }
}
