//! `cargo run -p scim-axum-example [ADDRESS]`: the product's service with SCIM mounted,
//! and one customer whose IdP key is printed. Try:
//!
//! ```sh
//! curl -s http://127.0.0.1:8080/api/projects
//! curl -s -H "Authorization: Bearer <key>" http://127.0.0.1:8080/scim/v2/Users
//! ```

use std::error::Error;
use std::net::SocketAddr;

use scim_axum_example::Product;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let product = Product::new()?;
    let (tenant, key) = product.add_customer("acme").await?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!(
        "tenant {}: its IdP sends 'Authorization: Bearer {key}'",
        tenant.slug
    );
    let app = product.router();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
