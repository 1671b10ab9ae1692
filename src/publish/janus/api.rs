//! Janus's HTTP API as messages, pure: the requests rtcam sends (create a session, attach the
//! VideoRoom plugin, join a room as a publisher with the offer, keep-alive, leave, destroy)
//! and what Janus answers or pushes through the long poll, read into [`Reply`]. No I/O here.

use serde_json::{json, Value};

/// The VideoRoom plugin's package name.
pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// A request body: `janus` is the verb; `transaction` ties the reply to it; `apisecret` is
/// added when the server wants one.
pub fn request(verb: &str, transaction: &str, apisecret: &str, mut extra: Value) -> Value {
    let body = extra.as_object_mut().expect("an object");
    body.insert("janus".into(), verb.into());
    body.insert("transaction".into(), transaction.into());
    if !apisecret.is_empty() {
        body.insert("apisecret".into(), apisecret.into());
    }
    extra
}

/// `create`: a new Janus session.
pub fn create(transaction: &str, apisecret: &str) -> Value {
    request("create", transaction, apisecret, json!({}))
}

/// `attach`: a handle on the VideoRoom plugin in the session.
pub fn attach(transaction: &str, apisecret: &str) -> Value {
    request(
        "attach",
        transaction,
        apisecret,
        json!({ "plugin": VIDEOROOM }),
    )
}

/// Join `room` as a publisher named `display` and publish the offer at once.
pub fn join_and_publish(
    transaction: &str,
    apisecret: &str,
    room: u64,
    display: &str,
    offer_sdp: &str,
) -> Value {
    request(
        "message",
        transaction,
        apisecret,
        json!({
            "body": {
                "request": "joinandconfigure",
                "room": room,
                "ptype": "publisher",
                "display": display,
                "audio": true,
                "video": true,
            },
            "jsep": { "type": "offer", "sdp": offer_sdp },
        }),
    )
}

/// Leave the room (unpublishes).
pub fn leave(transaction: &str, apisecret: &str) -> Value {
    request(
        "message",
        transaction,
        apisecret,
        json!({ "body": { "request": "leave" } }),
    )
}

/// Keep the session alive (Janus drops a session after 60 s without a request).
pub fn keepalive(transaction: &str, apisecret: &str) -> Value {
    request("keepalive", transaction, apisecret, json!({}))
}

/// End the session and everything in it.
pub fn destroy(transaction: &str, apisecret: &str) -> Value {
    request("destroy", transaction, apisecret, json!({}))
}

/// What a reply or a pushed event says.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `success` with the new session's or handle's id.
    Created(u64),
    /// `success` without data, `ack`: done, or accepted (an event follows).
    Done,
    /// The long poll's "nothing happened for a while".
    Idle,
    /// A VideoRoom event: joined (with the answer), or a plugin error.
    Joined { publisher_id: u64, answer: String },
    /// Janus's ICE and DTLS are up with the device.
    WebrtcUp,
    /// Janus ended the PeerConnection (`reason`), or detached the handle.
    Hangup(String),
    /// Janus or its plugin refused (`code`, `reason`): e.g. 458 no such session, 426 no
    /// such room, 403 unauthorized.
    Error { code: i64, reason: String },
    /// Anything else (media, slowlink, other plugin news): nothing to act on.
    Other(String),
}

/// Janus's error code for a session it does not know (after a restart, or timed out).
pub const NO_SUCH_SESSION: i64 = 458;

/// Reads one JSON object from Janus.
pub fn parse(v: &Value) -> Reply {
    let verb = v["janus"].as_str().unwrap_or("");
    match verb {
        "success" => match v["data"]["id"].as_u64() {
            Some(id) => Reply::Created(id),
            None => Reply::Done,
        },
        "ack" => Reply::Done,
        "keepalive" => Reply::Idle,
        "error" => Reply::Error {
            code: v["error"]["code"].as_i64().unwrap_or(0),
            reason: v["error"]["reason"].as_str().unwrap_or("").to_string(),
        },
        "webrtcup" => Reply::WebrtcUp,
        "hangup" => Reply::Hangup(v["reason"].as_str().unwrap_or("hangup").to_string()),
        "detached" => Reply::Hangup("the plugin handle was detached".into()),
        "event" => plugin_event(v),
        other => Reply::Other(other.to_string()),
    }
}

fn plugin_event(v: &Value) -> Reply {
    let data = &v["plugindata"]["data"];
    if let Some(code) = data["error_code"].as_i64() {
        return Reply::Error {
            code,
            reason: data["error"].as_str().unwrap_or("").to_string(),
        };
    }
    let answer = v["jsep"]["sdp"]
        .as_str()
        .filter(|_| v["jsep"]["type"] == "answer");
    match (data["videoroom"].as_str(), answer) {
        (Some("joined"), Some(sdp)) | (Some("event"), Some(sdp)) => Reply::Joined {
            publisher_id: data["id"].as_u64().unwrap_or(0),
            answer: sdp.to_string(),
        },
        (kind, _) => Reply::Other(format!("videoroom {}", kind.unwrap_or("?"))),
    }
}

/// The long poll's body: one object, or an array of them (`maxev` > 1).
pub fn events(v: &Value) -> Vec<Reply> {
    match v {
        Value::Array(list) => list.iter().map(parse).collect(),
        one => vec![parse(one)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_the_verb_the_transaction_and_the_secret_when_set() {
        let r = join_and_publish("t3", "s3cret", 1234, "garden", "v=0\r\n");
        assert_eq!(r["janus"], "message");
        assert_eq!(r["transaction"], "t3");
        assert_eq!(r["apisecret"], "s3cret");
        assert_eq!(r["body"]["request"], "joinandconfigure");
        assert_eq!(r["body"]["room"], 1234);
        assert_eq!(r["body"]["ptype"], "publisher");
        assert_eq!(r["jsep"]["type"], "offer");
        assert!(create("t1", "").get("apisecret").is_none());
        assert_eq!(attach("t2", "")["plugin"], VIDEOROOM);
        assert_eq!(leave("t4", "")["body"]["request"], "leave");
        assert_eq!(keepalive("t5", "")["janus"], "keepalive");
        assert_eq!(destroy("t6", "")["janus"], "destroy");
    }

    #[test]
    fn replies_and_events_are_read() {
        assert_eq!(
            parse(&json!({"janus":"success","transaction":"t","data":{"id":42}})),
            Reply::Created(42)
        );
        assert_eq!(
            parse(&json!({"janus":"ack","transaction":"t"})),
            Reply::Done
        );
        assert_eq!(parse(&json!({"janus":"keepalive"})), Reply::Idle);
        assert_eq!(
            parse(&json!({"janus":"error","error":{"code":458,"reason":"No such session 7"}})),
            Reply::Error {
                code: NO_SUCH_SESSION,
                reason: "No such session 7".into()
            }
        );
        let joined = json!({"janus":"event","sender":9,"plugindata":{"plugin":VIDEOROOM,
            "data":{"videoroom":"joined","room":1234,"id":77}},
            "jsep":{"type":"answer","sdp":"v=0 answer"}});
        assert_eq!(
            parse(&joined),
            Reply::Joined {
                publisher_id: 77,
                answer: "v=0 answer".into()
            }
        );
        let no_room = json!({"janus":"event","plugindata":{"plugin":VIDEOROOM,
            "data":{"videoroom":"event","error_code":426,"error":"No such room (1234)"}}});
        assert_eq!(
            parse(&no_room),
            Reply::Error {
                code: 426,
                reason: "No such room (1234)".into()
            }
        );
        assert_eq!(
            parse(&json!({"janus":"webrtcup","sender":9})),
            Reply::WebrtcUp
        );
        assert_eq!(
            parse(&json!({"janus":"hangup","reason":"DTLS alert"})),
            Reply::Hangup("DTLS alert".into())
        );
        // A joined event without an answer is news, not the answer.
        let bare = json!({"janus":"event","plugindata":{"data":{"videoroom":"joined","id":1}}});
        assert!(matches!(parse(&bare), Reply::Other(_)));
        // Junk never panics.
        assert!(matches!(parse(&json!(17)), Reply::Other(_)));
        assert_eq!(
            events(&json!([{"janus":"webrtcup"},{"janus":"media","type":"video"}])).len(),
            2
        );
    }
}
