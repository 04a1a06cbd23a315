#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::main::<notifier::Notifier>().await
}
