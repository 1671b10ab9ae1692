use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::files::resolve;
use super::request::{parse_request, Reply, Request};
use super::*;

#[test]
fn requests_are_parsed_and_limited_to_get_and_head() {
    assert_eq!(
        parse_request(b"GET /a%20b.js?x=1 HTTP/1.1\r\n\r\n").unwrap(),
        Request {
            head_only: false,
            path: "/a b.js".into()
        }
    );
    assert!(parse_request(b"HEAD / HTTP/1.0\r\n\r\n").unwrap().head_only);
    assert!(matches!(
        parse_request(b"POST / HTTP/1.1\r\n\r\n"),
        Err(Reply::Status { code: 405, .. })
    ));
    assert!(matches!(
        parse_request(b"garbage\r\n\r\n"),
        Err(Reply::Status { code: 400, .. })
    ));
    assert!(matches!(
        parse_request(b"GET /%zz HTTP/1.1\r\n\r\n"),
        Err(Reply::Status { code: 400, .. })
    ));
}

#[test]
fn paths_never_leave_the_root() {
    let root = Path::new("/srv/www");
    assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
    assert_eq!(resolve(root, "/viewer.js"), Some(root.join("viewer.js")));
    assert_eq!(resolve(root, "/a/"), Some(root.join("a/index.html")));
    assert_eq!(resolve(root, "/../etc/passwd"), None);
    assert_eq!(resolve(root, "/a/../../x"), None);
    assert_eq!(resolve(root, "/./x"), Some(root.join("x")));
}

#[tokio::test]
async fn serves_files_config_and_refuses_the_rest() {
    let dir = std::env::temp_dir().join(format!("rtcam-http-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html>hi").unwrap();
    std::fs::write(dir.join("viewer.js"), "let x = 1;").unwrap();
    let site = Site {
        root: Some(dir.canonicalize().unwrap()),
        config_json: config_json("ws://{host}:8083/mqtt", "rtcam", "demo", &[]),
    };
    let (_tx, rx) = watch::channel(false);
    let addr = serve("127.0.0.1:0".parse().unwrap(), site, rx)
        .await
        .unwrap();
    async fn get(addr: SocketAddr, req: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
            .await
            .unwrap()
            .unwrap();
        out
    }
    let r = get(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("text/html") && r.ends_with("hi"), "{r}");
    let r = get(addr, "GET /viewer.js HTTP/1.1\r\n\r\n").await;
    assert!(
        r.contains("text/javascript") && r.ends_with("let x = 1;"),
        "{r}"
    );
    let r = get(addr, "HEAD /viewer.js HTTP/1.1\r\n\r\n").await;
    assert!(
        r.contains("Content-Length: 10") && r.ends_with("\r\n\r\n"),
        "{r}"
    );
    let r = get(addr, "GET /config.json HTTP/1.1\r\n\r\n").await;
    let body = r.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["device"], "demo");
    assert_eq!(v["broker"], "ws://{host}:8083/mqtt");
    let r = get(addr, "GET /../../etc/passwd HTTP/1.1\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = get(addr, "GET /missing.js HTTP/1.1\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = get(addr, "DELETE / HTTP/1.1\r\n\r\n").await;
    assert!(
        r.starts_with("HTTP/1.1 405") && r.contains("Allow: GET, HEAD"),
        "{r}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn without_a_built_viewer_a_help_page_explains_how_to_build_it() {
    let site = Site {
        root: None,
        config_json: "{}".into(),
    };
    let (_tx, rx) = watch::channel(false);
    let addr = serve("127.0.0.1:0".parse().unwrap(), site, rx)
        .await
        .unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(out.contains("npm run build"), "{out}");
}
