#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::main::<booker::Booker>().await
}
