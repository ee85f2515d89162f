//! The stack's ceiling on this machine: a bare actix-web handler (no authentication, no
//! store), driven by the same client the same way. Every server figure is reported as a
//! ratio to it.

use std::sync::mpsc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};

/// Starts the bare handler on a loopback port with `workers` threads; its base URL. It
/// runs until the process ends.
pub(crate) fn start(workers: usize) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let served = actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new()
                    .route(
                        "/get",
                        web::get().to(|| async {
                            HttpResponse::Ok()
                                .content_type("application/scim+json")
                                .body(r#"{"id":"2819c223","userName":"bjensen"}"#)
                        }),
                    )
                    .route(
                        "/post",
                        web::post().to(|body: web::Bytes| async move {
                            HttpResponse::Created()
                                .content_type("application/scim+json")
                                .body(body)
                        }),
                    )
            })
            .workers(workers.max(1))
            .disable_signals()
            .bind("127.0.0.1:0")?;
            tx.send(server.addrs()[0]).ok();
            server.run().await
        });
        if let Err(error) = served {
            eprintln!("the ceiling server failed: {error}");
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the ceiling server did not start".to_owned())?;
    Ok(format!("http://{addr}"))
}
