// swift-tools-version:6.0
// Builds Apple's swift-openapi-generator command, which .ci/openapi-client runs to generate
// Sources/MyDataClient/Generated from docs/openapi.yaml (and to check that the committed code is
// what the document gives). A package of its own so that building the broker never builds it.
import PackageDescription

let package = Package(
    name: "openapi-generator",
    dependencies: [.package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3")],
    targets: [.executableTarget(name: "placeholder", path: "placeholder")]
)
