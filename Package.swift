// swift-tools-version:6.1
import Foundation
import PackageDescription

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .library(name: "KilnNN", targets: ["KilnNN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries: Debian's OpenBLAS and LLVM 14 (installed by the Makefile).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CLLVM", path: "Sources/CLLVM"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        .target(name: "KilnIR"),
        .target(name: "KilnPasses", dependencies: ["KilnIR"]),
        .target(name: "KilnRuntime", dependencies: ["KilnIR", "KilnPasses", "CBLAS", "CZlib"]),
        .target(name: "KilnCodegen", dependencies: ["KilnIR"]),
        .target(
            name: "KilnJIT",
            dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnCodegen", "CLLVM", "CBLAS"],
            cSettings: [.unsafeFlags(["-I/usr/lib/llvm-14/include"])],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I/usr/lib/llvm-14/include"])],
            linkerSettings: [.unsafeFlags(["-L/usr/lib/llvm-14/lib"])]
        ),
        .target(name: "KilnData", dependencies: ["KilnIR", "KilnRuntime", "CZlib"]),
        .target(name: "KilnONNX", dependencies: ["KilnIR", "KilnRuntime", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "KilnNN", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnData", "KilnJIT"]),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnIR", "KilnPasses", "KilnRuntime", "KilnNN", "KilnData", "KilnCodegen", "KilnJIT", "KilnONNX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "KilnIRTests", dependencies: ["KilnIR", "KilnPasses"], resources: [.copy("Malformed"), .copy("Expected")]),
        .testTarget(name: "KilnPassesTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime"], resources: [.copy("Golden")]),
        .testTarget(name: "KilnRuntimeTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime"]),
        .testTarget(name: "KilnNNTests", dependencies: ["KilnIR", "KilnPasses", "KilnRuntime", "KilnNN"]),
        .testTarget(name: "KilnCLITests", dependencies: ["kiln", "KilnData", "KilnIR", "KilnPasses", "KilnRuntime", "KilnNN"]),
        .testTarget(name: "KilnDataTests", dependencies: ["KilnData", "KilnRuntime"]),
        .testTarget(name: "KilnJITTests", dependencies: ["KilnJIT", "KilnCodegen", "KilnIR", "KilnPasses", "KilnRuntime"], exclude: ["Golden"]),
        .testTarget(name: "KilnONNXTests", dependencies: ["KilnONNX", "KilnIR", "KilnPasses", "KilnRuntime", .product(name: "SwiftProtobuf", package: "swift-protobuf")], resources: [.copy("Models")]),
        .testTarget(name: "KilnCodegenTests", dependencies: ["KilnCodegen", "KilnIR", "KilnPasses"], resources: [.copy("Golden")]),
    ],
    swiftLanguageModes: [.v5]
)

// `make fuzz` builds the libFuzzer target with KILN_FUZZ=1 (and -sanitize=fuzzer); ordinary
// builds never see it, since without libFuzzer's `main` it would not link.
if ProcessInfo.processInfo.environment["KILN_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "kiln-fuzz", dependencies: ["KilnIR", "KilnRuntime", "KilnData"], path: "Fuzz/Targets"))
}
