//! The daemon's shutdown signal, shared by the accept loops, the connections and the refresh.

use tokio::sync::watch;

/// Returns once `shutdown` is true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
