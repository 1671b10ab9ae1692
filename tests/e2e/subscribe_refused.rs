//! A broker that refuses the device's subscriptions (mosquitto answers SUBACK 0x80): the
//! device must not claim to be online (it could not hear a single answer), must keep asking,
//! and must come online and stream by itself once the ACL is fixed — no restart.

use std::time::Duration;

use crate::support;
use support::mosquitto::Mosquitto;
use support::viewer::{TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-acl";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_subscriptions_are_retried_until_the_broker_grants_them() {
    if !support::netns::enter(
        module_path!(),
        "refused_subscriptions_are_retried_until_the_broker_grants_them",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtcam-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // mosquitto's dynamic-security plugin (its acl_file never refuses a subscription): every
    // client is anonymous, in one group whose role denies subscribing to the device's
    // session topics and allows the admin topic the test uses to lift that later.
    let dynsec = dir.join("dynsec.json");
    let config = serde_json::json!({
        "defaultACLAccess": {
            "publishClientSend": true, "publishClientReceive": true,
            "subscribe": true, "unsubscribe": true
        },
        "clients": [],
        "groups": [{"groupname": "anon", "roles": [{"rolename": "locked"}], "clients": []}],
        "roles": [{"rolename": "locked", "acls": [
            {"acltype": "subscribePattern", "topic": format!("rtcam/{DEVICE}/session/#"),
             "priority": 10, "allow": false},
            {"acltype": "publishClientSend", "topic": "$CONTROL/dynamic-security/#",
             "priority": 0, "allow": true}
        ]}],
        "anonymousGroup": "anon"
    });
    std::fs::write(&dynsec, config.to_string()).unwrap();
    // mosquitto (running as its own user) saves the changed config back.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&dynsec, std::fs::Permissions::from_mode(0o666)).unwrap();
    let conf = format!(
        "plugin /usr/lib/{arch}-linux-gnu/mosquitto_dynamic_security.so\n\
         plugin_opt_config_file {}",
        dynsec.display(),
        arch = std::env::consts::ARCH
    );
    let Some(broker) = Mosquitto::start_with(&conf) else {
        return;
    };
    let port = broker.port;
    let device = support::Device::start(support::device_config(port, DEVICE));

    // Refused: no online status (and so no offer a viewer would answer in vain).
    let mut watcher = TestMqtt::connect("127.0.0.1", port, "acl-watch").await;
    watcher.subscribe(&format!("rtcam/{DEVICE}/status")).await;
    let online = |_: &str, p: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(p)
            .map(|v| v["state"] == "online")
            .unwrap_or(false)
    };
    let early = watcher.next_matching(Duration::from_secs(4), online).await;
    assert!(
        early.is_none(),
        "online although the broker refused its subscriptions: {early:?}"
    );

    // The ACL is lifted: the device subscribes again and comes online by itself.
    let lift = serde_json::json!({"commands": [{
        "command": "removeRoleACL", "rolename": "locked",
        "acltype": "subscribePattern", "topic": format!("rtcam/{DEVICE}/session/#")
    }]});
    watcher
        .publish("$CONTROL/dynamic-security/v1".into(), lift)
        .await;
    let started = std::time::Instant::now();
    // mosquitto disconnects every client of a changed role, this watcher included: wait for
    // that before the next watcher connects, or mosquitto may drop it between its Subscribe
    // and the SubAck (the role change applied after it connected), and the SubAck never
    // comes.
    assert!(
        watcher.wait_dropped(Duration::from_secs(10)).await,
        "mosquitto applied the role change (and dropped its clients) within 10 s"
    );
    drop(watcher);
    let mut watcher = TestMqtt::connect("127.0.0.1", port, "acl-watch-2").await;
    watcher.subscribe(&format!("rtcam/{DEVICE}/status")).await;
    let online_now = watcher.next_matching(Duration::from_secs(20), online).await;
    assert!(online_now.is_some(), "online after the ACL was fixed");
    println!(
        "SUBSCRIBE RETRY: online {:?} after the ACL was lifted",
        started.elapsed()
    );

    let viewer = Viewer::join(ViewerOptions::new(port, DEVICE, "acl-viewer"))
        .await
        .expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        viewer
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
            .await,
        "the viewer plays"
    );
    viewer.hangup().await;
    device.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
