// swift-tools-version:6.1
// A package that uses Kiln as a library: Docs/DSL.md walks through its main.swift.
// Inside the Kiln repository it depends on Kiln by path; elsewhere, depend on a release:
//   .package(url: "https://…/kiln.git", from: "0.1.0")
// (`make consumer` builds it exactly that way, against a tagged copy of this repository.)
import PackageDescription

let package = Package(
    name: "FashionClassifier",
    dependencies: [
        .package(name: "Kiln", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "FashionClassifier", dependencies: [.product(name: "Kiln", package: "Kiln")]),
        // Loads the model FashionClassifier saved: predicts, exports ONNX, fine-tunes.
        .executableTarget(name: "FashionPredict", dependencies: [.product(name: "Kiln", package: "Kiln")]),
    ]
)
