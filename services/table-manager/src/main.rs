#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::main::<table_manager::TableManager>().await
}
