//! The WHIP client's side of RFC 9725, pure: ICE servers from `Link: <…>; rel="ice-server"`
//! headers, the session URL from a (possibly relative) `Location`, and the
//! `application/trickle-ice-sdpfrag` body that carries late candidates (RFC 8840).

use url::Url;

use crate::config::ResolvedIceServer;

/// The ICE servers in `Link` header values (each may list several links).
pub fn ice_servers(links: &[&str]) -> Vec<ResolvedIceServer> {
    links
        .iter()
        .flat_map(|v| split_links(v))
        .filter_map(|link| parse_link(&link))
        .collect()
}

/// Splits a header value into its links (commas inside `<…>` or quotes do not split).
fn split_links(value: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut in_url, mut in_quote) = (false, false);
    for c in value.chars() {
        match c {
            '<' if !in_quote => in_url = true,
            '>' if !in_quote => in_url = false,
            '"' if !in_url => in_quote = !in_quote,
            ',' if !in_url && !in_quote => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn parse_link(link: &str) -> Option<ResolvedIceServer> {
    let link = link.trim();
    let url = link.strip_prefix('<')?.split_once('>')?;
    let (target, params) = (url.0.trim(), url.1);
    let mut rel = None;
    let (mut username, mut credential) = (String::new(), String::new());
    for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "rel" => rel = Some(v),
            "username" => username = v,
            "credential" => credential = v,
            _ => {}
        }
    }
    let is_ice = rel.is_some_and(|r| r.split_whitespace().any(|r| r == "ice-server"));
    let known = ["stun:", "stuns:", "turn:", "turns:"]
        .iter()
        .any(|p| target.starts_with(p));
    (is_ice && known).then(|| ResolvedIceServer {
        urls: vec![target.to_string()],
        username,
        credential,
    })
}

/// The session's URL: `location` resolved against the URL the offer was posted to.
pub fn session_url(posted_to: &Url, location: &str) -> Result<Url, String> {
    posted_to
        .join(location.trim())
        .map_err(|e| format!("the Location {location:?} is not a URL: {e}"))
}

/// An `application/trickle-ice-sdpfrag` body for `candidates` (lines after `a=`), with
/// `a=end-of-candidates` when `end`: the offer's ICE credentials and first media section
/// (with BUNDLE every candidate belongs to it).
pub fn sdpfrag(offer: &str, candidates: &[String], end: bool) -> Option<String> {
    let find = |prefix: &str| {
        offer
            .lines()
            .find_map(|l| l.trim_end().strip_prefix(prefix).map(str::to_string))
    };
    let ufrag = find("a=ice-ufrag:")?;
    let pwd = find("a=ice-pwd:")?;
    let mline = find("m=")?;
    let mid = find("a=mid:")?;
    let mut frag =
        format!("a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\nm={mline}\r\na=mid:{mid}\r\n");
    for c in candidates {
        let c = c.strip_prefix("candidate:").unwrap_or(c);
        frag += &format!("a=candidate:{c}\r\n");
    }
    if end {
        frag += "a=end-of-candidates\r\n";
    }
    Some(frag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_stun_and_turn_servers() {
        let servers = ice_servers(&[
            "<stun:stun.example.net>; rel=\"ice-server\"",
            "<turn:turn.example.net?transport=udp>; rel=\"ice-server\"; username=\"user\"; \
             credential=\"pass,word\"; credential-type=\"password\", \
             <https://example.net/doc>; rel=\"help\"",
        ]);
        assert_eq!(servers.len(), 2, "{servers:?}");
        assert_eq!(servers[0].urls, vec!["stun:stun.example.net".to_string()]);
        assert_eq!(
            servers[1].urls,
            vec!["turn:turn.example.net?transport=udp".to_string()]
        );
        assert_eq!(
            (servers[1].username.as_str(), servers[1].credential.as_str()),
            ("user", "pass,word")
        );
        // Junk is skipped, never a panic.
        assert!(ice_servers(&["garbage", "<>", "<http://x>; rel=ice-server", ""]).is_empty());
    }

    #[test]
    fn a_relative_location_is_resolved_against_the_endpoint() {
        let posted = Url::parse("http://sfu.lan:8889/cam/whip").unwrap();
        assert_eq!(
            session_url(&posted, "/cam/whip/session/42")
                .unwrap()
                .as_str(),
            "http://sfu.lan:8889/cam/whip/session/42"
        );
        assert_eq!(
            session_url(&posted, "session/42").unwrap().as_str(),
            "http://sfu.lan:8889/cam/session/42"
        );
        assert_eq!(
            session_url(&posted, "https://other.example/s/1")
                .unwrap()
                .as_str(),
            "https://other.example/s/1"
        );
    }

    #[test]
    fn sdpfrag_carries_credentials_the_first_media_section_and_candidates() {
        let offer = "v=0\r\na=group:BUNDLE 0 1\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n\
                     a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretpassword\r\n\
                     m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n";
        let frag = sdpfrag(
            offer,
            &["candidate:1 1 udp 1 198.18.0.1 5000 typ srflx raddr 0.0.0.0 rport 5000".into()],
            true,
        )
        .unwrap();
        assert_eq!(
            frag,
            "a=ice-ufrag:abcd\r\na=ice-pwd:secretpassword\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n\
             a=mid:0\r\na=candidate:1 1 udp 1 198.18.0.1 5000 typ srflx raddr 0.0.0.0 rport 5000\r\n\
             a=end-of-candidates\r\n"
        );
        assert!(sdpfrag("v=0\r\n", &[], true).is_none());
    }
}
